// The sending domains page in a real browser: an API error at its field, a
// domain added with its records, a record copied, "Check now" before the
// DKIM record is published (MISSING) and after it is (VERIFIED) against
// the loopback DNS server e2e/browser_test.go runs (DNS_CONTROL_URL), and
// the domain removed; the page at 375 px.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { base, launch, screenshot, signIn } from "./browser.mjs";

const dnsControl = process.env.DNS_CONTROL_URL ?? "";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function publish(name, value) {
  const r = await fetch(dnsControl + "/txt", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name, values: [value] }),
  });
  assert.equal(r.status, 204, "the loopback DNS server took the record");
}

test("domains: add, records with copy buttons, Check now before and after publishing, remove", async () => {
  assert.ok(dnsControl, "DNS_CONTROL_URL is set by e2e/browser_test.go");
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  const page = await context.newPage();
  await signIn(page, { lang: "en" });
  await page.getByRole("link", { name: "Sending domains" }).click();
  await page.getByRole("heading", { name: "Sending domains", level: 1 }).waitFor();

  await page.getByLabel("Domain", { exact: true }).fill("owner@shop.example");
  await page.getByTestId("add-domain").click();
  await page.locator('[data-testid="field-error"][data-field="domain"]').waitFor();
  assert.equal(await page.getByLabel("Domain", { exact: true }).getAttribute("aria-invalid"), "true");

  const domain = `shop-${Date.now()}.test`;
  await page.getByLabel("Domain", { exact: true }).fill(domain);
  await page.getByLabel("Domain", { exact: true }).press("Enter");
  const card = page.locator(`[data-testid="domain"][data-domain="${domain}"]`);
  await card.getByTestId("domain-status").filter({ hasText: /^PENDING$/ }).waitFor();
  const records = card.getByTestId("dns-record");
  const purposes = await records.evaluateAll((els) => els.map((e) => e.dataset.purpose));
  assert.ok(purposes.includes("DKIM") && purposes.includes("SPF") && purposes.includes("DMARC"), `records: ${purposes}`);
  assert.deepEqual(await records.evaluateAll((els) => [...new Set(els.map((e) => e.dataset.status))]), ["PENDING"]);

  // Copy the DKIM value: the clipboard holds exactly the value shown.
  const dkim = card.locator('[data-testid="dns-record"][data-purpose="DKIM"]');
  const name = await dkim.getByTestId("record-name").innerText();
  const value = await dkim.getByTestId("record-value").innerText();
  assert.match(value, /^v=DKIM1;/);
  await dkim.getByRole("button", { name: "Copy the value of the DKIM record" }).click();
  await dkim.getByText("Copied.").waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), value);

  // Check now before anything is published: the DKIM record is missing.
  await card.getByTestId("check-domain").click();
  await card.getByTestId("check-result").filter({ hasText: "the DKIM record was not found yet" }).waitFor();
  await card.locator('[data-testid="dns-record"][data-purpose="DKIM"][data-status="MISSING"]').waitFor();
  assert.equal(await card.getByTestId("domain-status").innerText(), "PENDING");
  await card.getByText(/Last checked/).waitFor();

  // Publish the DKIM record at the DNS server and check again.
  await publish(name, value);
  await card.getByTestId("check-domain").click();
  await card.getByTestId("domain-status").filter({ hasText: /^VERIFIED$/ }).waitFor();
  await card.locator('[data-testid="dns-record"][data-purpose="DKIM"][data-status="VERIFIED"]').waitFor();
  const spf = card.locator('[data-testid="dns-record"][data-purpose="SPF"]');
  assert.equal(await spf.getAttribute("data-status"), "MISSING", "SPF is reported, not ignored");
  await card.getByTestId("check-result").filter({ hasText: "the domain is verified" }).waitFor();
  await screenshot(page, "domains-verified");

  // At 375 px the long record values wrap instead of widening the page.
  await page.setViewportSize({ width: 375, height: 812 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than 375 px`);
  await screenshot(page, "domains-375");

  // Remove asks first, then the domain is gone.
  await card.getByTestId("remove-domain").click();
  await card.getByTestId("remove-domain-confirm").click();
  await card.waitFor({ state: "detached" });
  await page.getByText("No sending domain yet.").waitFor();
  await context.close();
});
