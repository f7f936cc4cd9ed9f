// A new user's whole first visit, once in each of the console's languages:
// sign in, set up an SMTP sender (Save disabled until the test of exactly
// the current form PASSED), verify a branded address through the dev
// mailbox, then send from the email log's test form and watch the message
// reach SENT live. Fields are found by their ids and test ids, so the
// same steps run whatever the language; each language's own heading is
// checked on the way.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { base, fillSMTP, launch, linkFor, screenshot, signIn } from "./browser.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const headings = {
  en: { logs: "Email logs", branded: "Branded address" },
  ja: { logs: "メールログ", branded: "独自アドレス" },
  de: { logs: "E-Mail-Protokoll", branded: "Eigene Absenderadresse" },
};

async function saveDisabled(page) {
  return page.getByTestId("save-settings").isDisabled();
}

for (const lang of ["en", "ja", "de"]) {
  test(`journey (${lang}): SMTP sender, branded address, a message SENT live`, async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    await signIn(page, { lang });
    assert.equal(await page.evaluate(() => document.documentElement.lang), lang);

    // 1. SMTP: Save stays disabled until the current form's test PASSED.
    await fillSMTP(page, { fromName: "Journey Shop" });
    assert.ok(await saveDisabled(page), "Save is disabled before a test");
    await page.getByTestId("send-test").click();
    await page.getByTestId("test-status").filter({ hasText: /^PASSED$/ }).waitFor({ timeout: 30_000 });
    await page.getByTestId("save-settings").waitFor();
    for (let i = 0; await saveDisabled(page); i++) {
      assert.ok(i < 100, "Save is enabled once the test PASSED");
      await page.waitForTimeout(50);
    }
    // A change of the form disables it again; undoing the change does not
    // bring back a test of another form.
    await page.locator("#f-fromName").fill("Journey Shop!");
    assert.ok(await saveDisabled(page), "Save is disabled after a change");
    await page.locator("#f-fromName").fill("Journey Shop");
    await page.getByTestId("send-test").click();
    await page.getByTestId("test-status").filter({ hasText: /^PASSED$/ }).waitFor({ timeout: 30_000 });
    await page.waitForFunction(() => !document.querySelector('[data-testid="save-settings"]')?.disabled, null, { timeout: 5_000 });
    await page.getByTestId("save-settings").click();
    await page.getByTestId("notice").waitFor();
    await screenshot(page, `journey-${lang}-smtp`);

    // 2. Branded address, verified through the dev mailbox.
    await page.locator('nav a[href$="/console/branded"]').click();
    await page.getByRole("heading", { name: headings[lang].branded, level: 1 }).waitFor();
    const address = `journey-${lang}-${Date.now()}@shop.example`;
    await page.locator("#f-email").fill(address);
    await page.getByTestId("request-verification").click();
    const item = page.locator(`[data-testid="verification"][data-email="${address}"]`);
    await item.getByTestId("verification-status").filter({ hasText: /^PENDING$/ }).waitFor();
    const mailPage = await browser.newPage();
    await mailPage.goto(await linkFor(address));
    await mailPage.locator('form button[type="submit"]').click();
    await mailPage.waitForLoadState();
    await mailPage.close();
    await item.getByTestId("verification-status").filter({ hasText: /^VERIFIED$/ }).waitFor({ timeout: 15_000 });

    // 3. The email log: a message sent from its form reaches SENT live.
    const subscribed = new Promise((resolve) => {
      page.on("websocket", (ws) => ws.on("framesent", (f) => {
        if (String(f.payload).includes('"subscribe"') && String(f.payload).includes("messageEvents")) resolve();
      }));
    });
    await page.locator('nav a[href$="/console/logs"]').click();
    await page.getByRole("heading", { name: headings[lang].logs, level: 1 }).waitFor();
    await subscribed;
    const to = `customer-${lang}@example.com`;
    await page.locator("#f-to").fill(to);
    await page.getByTestId("send-message").click();
    await page.getByTestId("send-notice").waitFor();
    const row = page.getByTestId("message-row").filter({ hasText: to });
    await row.getByTestId("message-status").filter({ hasText: /^SENT$/ }).waitFor({ timeout: 30_000 });
    assert.equal(await row.count(), 1, "one message, updated in place");
    await screenshot(page, `journey-${lang}-logs`);
    await page.close();
  });
}

// The form's error for an address the API refuses is shown at its field.
test("email log's test form: an invalid recipient is refused at its field", async () => {
  const page = await browser.newPage({ viewport: { width: 375, height: 812 } });
  await signIn(page, { lang: "en" });
  await page.goto(base + "/console/logs?lang=en");
  await page.getByRole("heading", { name: "Email logs", level: 1 }).waitFor();
  await page.locator("#f-to").fill("not-an-address");
  await page.getByTestId("send-message").click();
  await page.locator('[data-testid="field-error"][data-field="to"]').waitFor();
  assert.equal(await page.locator("#f-to").getAttribute("aria-invalid"), "true");
  await page.close();
});
