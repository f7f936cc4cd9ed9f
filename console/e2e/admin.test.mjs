// A tenant admin's pages: suppressions (add with a reason, the API's error
// next to its field, remove), the audit entries those changes leave (in
// German), and partner clients (register with a public key, rotate its
// keys, revoke).
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, test } from "node:test";
import { launch, screenshot, signIn } from "./browser.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test("suppressions: add and remove, and the audit log shows both", async () => {
  const page = await browser.newPage({ viewport: { width: 375, height: 800 } });
  await signIn(page, { lang: "en" });
  await page.getByRole("link", { name: "Suppressions" }).click();
  await page.getByRole("heading", { name: "Suppressions", level: 1 }).waitFor();
  await page.getByText("No suppressed addresses.").waitFor();

  await page.getByLabel("Email address").fill("not-an-address");
  await page.getByTestId("suppression-add").click();
  const emailError = page.locator('[data-testid="field-error"][data-field="email"]');
  await emailError.waitFor();
  assert.equal(await page.getByLabel("Email address").getAttribute("aria-invalid"), "true");

  await page.getByLabel("Email address").fill("Blocked@Example.com");
  await page.getByLabel("Reason").selectOption("COMPLAINT");
  await page.getByTestId("suppression-add").click();
  const blocked = page.locator('[data-testid="suppression-row"][data-email="blocked@example.com"]');
  await blocked.waitFor();
  await blocked.getByText("Spam complaint").waitFor();
  await blocked.getByText("All mail").waitFor();
  assert.equal(await emailError.count(), 0);

  await page.getByLabel("Email address").fill("leaver@example.com");
  await page.getByLabel("Reason").selectOption("UNSUBSCRIBED");
  await page.getByText("An unsubscribe stops subscription mail only", { exact: false }).waitFor();
  await page.getByTestId("suppression-add").click();
  const leaver = page.locator('[data-testid="suppression-row"][data-email="leaver@example.com"]');
  await leaver.getByText("Subscription mail only").waitFor();
  assert.equal(await page.getByTestId("suppression-row").count(), 2);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  const wide = await page.evaluate(() => [...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5).map((e) => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right)).slice(0, 12).join("; "));
  assert.ok(overflow <= 0, `the page fits 375 px (overflow ${overflow} px): ${wide}`);
  await screenshot(page, "suppressions");

  // Remove one by keyboard: its button named for the address.
  await page.getByRole("button", { name: "Remove the suppression of blocked@example.com" }).focus();
  await page.keyboard.press("Enter");
  await blocked.waitFor({ state: "detached" });
  await page.getByTestId("suppression-status").filter({ hasText: "blocked@example.com is no longer suppressed." }).waitFor();
  // The list is loaded again after a change: wait for it, then count.
  await leaver.waitFor();
  assert.equal(await page.getByTestId("suppression-row").count(), 1);

  // The audit log, in German.
  await page.getByLabel("Language").selectOption("de");
  await page.getByRole("link", { name: "Audit-Protokoll" }).click();
  await page.getByRole("heading", { name: "Audit-Protokoll", level: 1 }).waitFor();
  const added = page.locator('[data-testid="audit-row"][data-action="suppression.add"][data-target="blocked@example.com"]');
  const removed = page.locator('[data-testid="audit-row"][data-action="suppression.remove"][data-target="blocked@example.com"]');
  await added.getByText("Adresse gesperrt").waitFor();
  await removed.getByText("Sperre entfernt").waitFor();
  assert.equal(await page.locator('[data-testid="audit-row"][data-action="suppression.add"]').count(), 2);
  // Newest first: the removal above its addition.
  const actions = await page.getByTestId("audit-row").evaluateAll((rows) => rows.map((r) => r.dataset.action + " " + r.dataset.target));
  assert.ok(actions.indexOf("suppression.remove blocked@example.com") < actions.indexOf("suppression.add blocked@example.com"), actions.join("; "));
  // The time in German: a month name or a dd.mm.yyyy date.
  assert.match(await added.locator("time").textContent(), /\d{2}\.\d{2}\.\d{4}|\d+\. \p{L}+/u);
  const auditOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(auditOverflow <= 0, `the audit log fits 375 px (overflow ${auditOverflow} px)`);
  await screenshot(page, "audit-de");
  await page.close();
});

test("partner clients: a bad key is shown at its field, a good one registers, keys rotate, revoke", async () => {
  const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
  await signIn(page, { lang: "en" });
  await page.getByRole("link", { name: "Partner clients" }).click();
  await page.getByRole("heading", { name: "Partner clients", level: 1 }).waitFor();
  await page.getByText("No partner clients yet.").waitFor();

  await page.getByLabel("Name").fill("Reviews app");
  await page.getByLabel("messages:send").check();
  await page.getByLabel("Key id (kid)").fill("k1");
  await page.getByLabel("Public key").fill("not a key");
  await page.getByRole("button", { name: "Register", exact: true }).click();
  await page.locator("#f-partner-new-pem-error").waitFor();
  assert.equal(await page.getByLabel("Public key").getAttribute("aria-invalid"), "true");

  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  await page.getByLabel("Public key").fill(publicKey.export({ type: "spki", format: "pem" }));
  await page.getByRole("button", { name: "Register", exact: true }).click();
  const client = page.getByTestId("partner-client").filter({ hasText: "Reviews app" });
  await client.waitFor();
  await client.getByText("messages:send").waitFor();
  await client.getByText("ES256").waitFor();
  await page.getByText(/Reviews app is registered: its tokens use iss /).waitFor();

  // Rotation: add a second key (a bad one is refused at its field, a kid
  // the client has already with a CONFLICT naming no field), then remove
  // the first key.
  await client.getByRole("button", { name: "Add key" }).click();
  await client.getByLabel("Key id (kid)").fill("k1");
  await client.getByLabel("Public key").fill("still not a key");
  await client.getByRole("button", { name: "Add key" }).click();
  await client.locator('[data-testid="field-error"]').first().waitFor();
  assert.equal(await client.getByLabel("Public key").getAttribute("aria-invalid"), "true");
  const second = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" });
  await client.getByLabel("Public key").fill(second);
  await client.getByRole("button", { name: "Add key" }).click();
  await client.getByRole("alert").filter({ hasText: "kid" }).waitFor();
  await client.getByLabel("Key id (kid)").fill("k2");
  await client.getByRole("button", { name: "Add key" }).click();
  await client.getByText("Key k2 added.").waitFor();
  await client.getByText("EdDSA").waitFor();
  await client.getByRole("button", { name: "Remove key k1" }).click();
  await client.getByText("Key k1 removed.").waitFor();
  await client.getByText("ES256").waitFor({ state: "detached" });

  await page.setViewportSize({ width: 375, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page fits 375 px (overflow ${overflow} px)`);

  await client.getByRole("button", { name: "Revoke" }).click();
  await client.getByRole("button", { name: "Yes, revoke" }).click();
  await client.getByText("Revoked", { exact: true }).waitFor();
  await page.close();
});
