// The platform operator's tenants page, in Japanese at 375 px: a tenant
// that has used the API is listed with its plan, which the operator
// changes; pausing needs a reason (the API's error at the field), the
// tenant's own users see the pause, and reinstating lifts it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { base, launch, screenshot } from "./browser.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function mint(body) {
  const r = await fetch(base + "/console/dev/token", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  assert.equal(r.status, 200);
  return (await r.json()).token;
}

async function gql(token, query) {
  const r = await fetch(base + "/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
    body: JSON.stringify({ query }),
  });
  const body = await r.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

test("operator: sees the tenant with its plan, changes it, pauses it with a reason and reinstates it (Japanese, 375 px)", async () => {
  // Slugs sort first with a leading "a", so the tenant is on the first page.
  const slug = "a-op-" + Date.now();
  const admin = await mint({ tenant: slug, roles: ["admin"], subject: "owner" });
  assert.equal((await gql(admin, "{ viewer { tenant { slug status } } }")).viewer.tenant.status, "ACTIVE");

  const page = await browser.newPage({ viewport: { width: 375, height: 800 } });
  await page.goto(base + "/console/?lang=ja");
  await page.locator("#signin-role").selectOption("operator");
  await page.getByTestId("sign-in").click();
  await page.getByRole("heading", { name: "テナント", level: 1 }).waitFor();
  await page.getByRole("link", { name: "テナント" }).waitFor();
  assert.equal(await page.getByRole("link", { name: "Webhook" }).count(), 0, "no tenant admin pages for an operator");

  const card = page.locator(`[data-testid="tenant"][data-slug="${slug}"]`);
  await card.waitFor();
  await card.getByTestId("tenant-status").filter({ hasText: "稼働中" }).waitFor();
  await card.getByText("PLATFORM", { exact: false }).first().waitFor();
  await card.getByText("送信元の上限").waitFor();
  await card.getByTestId("tenant-reputation").waitFor();

  // The plan: a limit the API refuses shows at its field; then saved.
  await card.getByTestId("tenant-plan-edit").click();
  const plan = card.getByTestId("tenant-plan");
  await plan.getByLabel("送信元の上限").fill("0");
  await plan.getByTestId("tenant-plan-save").click();
  await plan.locator('[data-testid="field-error"]').waitFor();
  assert.equal(await plan.getByLabel("送信元の上限").getAttribute("aria-invalid"), "true");
  await plan.getByLabel("送信元の上限").fill("7");
  await plan.getByLabel("1 日の上限").fill("1000");
  await plan.getByTestId("tenant-plan-save").click();
  await plan.waitFor({ state: "detached" });
  await card.getByText("1 日 1,000 通").waitFor();
  const ent = (await gql(admin, "{ viewer { tenant { entitlements { maxSenders dailyQuota } } } }")).viewer.tenant.entitlements;
  assert.deepEqual(ent, { maxSenders: 7, dailyQuota: 1000 });

  // No reason: the API refuses, next to the reason field.
  await card.getByTestId("tenant-pause").click();
  const reason = card.getByLabel("一時停止の理由");
  await card.locator('[data-testid="field-error"]').waitFor();
  assert.equal(await reason.getAttribute("aria-invalid"), "true");

  await reason.fill("Spam complaints from a purchased list");
  await card.getByTestId("tenant-pause").click();
  await card.getByTestId("tenant-status").filter({ hasText: "一時停止中" }).waitFor();
  await card.getByTestId("tenant-reason").filter({ hasText: "Spam complaints from a purchased list" }).waitFor();
  const paused = (await gql(admin, "{ viewer { tenant { status statusReason } } }")).viewer.tenant;
  assert.deepEqual(paused, { status: "PAUSED", statusReason: "Spam complaints from a purchased list" });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page fits 375 px (overflow ${overflow} px)`);
  await screenshot(page, "tenants-ja");

  // A reload shows the server's state, then reinstate by keyboard.
  await page.reload();
  await card.getByTestId("tenant-status").filter({ hasText: "一時停止中" }).waitFor();
  await card.getByTestId("tenant-reinstate").focus();
  await page.keyboard.press("Enter");
  await card.getByTestId("tenant-status").filter({ hasText: "稼働中" }).waitFor();
  assert.equal((await gql(admin, "{ viewer { tenant { status } } }")).viewer.tenant.status, "ACTIVE");
  await page.close();
});
