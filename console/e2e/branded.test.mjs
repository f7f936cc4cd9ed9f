// The branded address page in a real browser: an API error at its field,
// a verification link requested, the resend cooldown counting down, the
// link opened from the dev mailbox and verified, and the page following
// it to VERIFIED (then in German); then the same page in Japanese at
// 375 px.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launch, linkFor, screenshot, signIn } from "./browser.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// cooldownSeconds reads the number of the countdown, or null when it says
// that resending is possible now.
async function cooldownSeconds(page) {
  const text = await page.getByTestId("resend-cooldown").innerText();
  const m = /(\d+)/.exec(text);
  return m ? Number(m[1]) : null;
}

test("branded: request, cooldown counting down, verify through the dev mailbox", async () => {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  await signIn(page, { lang: "en" });
  await page.getByRole("link", { name: "Branded address" }).click();
  await page.getByRole("heading", { name: "Branded address", level: 1 }).waitFor();

  // The API's error is shown at the field it names.
  await page.getByLabel("Email address").fill("not-an-address");
  await page.getByTestId("request-verification").click();
  await page.locator('[data-testid="field-error"][data-field="email"]').waitFor();
  assert.equal(await page.getByLabel("Email address").getAttribute("aria-invalid"), "true");

  const address = `brand-${Date.now()}@shop.example`;
  await page.getByLabel("Email address").fill(address);
  await page.getByLabel("Email address").press("Enter"); // the keyboard submits
  await page.getByTestId("notice").filter({ hasText: address }).waitFor();
  const item = page.locator(`[data-testid="verification"][data-email="${address}"]`);
  await item.getByTestId("verification-status").filter({ hasText: /^PENDING$/ }).waitFor();

  // The cooldown the API reports counts down, with Resend disabled meanwhile.
  await item.getByTestId("resend-cooldown").filter({ hasText: /You can resend in \d+ seconds?\./ }).waitFor();
  assert.ok(await item.getByTestId("resend-verification").isDisabled(), "Resend waits for the cooldown");
  const first = await cooldownSeconds(page);
  assert.ok(first !== null && first > 1 && first <= 65, `a cooldown of about 60 s (the clocks of browser and server may differ by a little), got ${first}`);
  await page.waitForFunction((n) => {
    const m = /(\d+)/.exec(document.querySelector('[data-testid="resend-cooldown"]')?.textContent ?? "");
    return m && Number(m[1]) < n;
  }, first, { timeout: 5_000 });
  await screenshot(page, "branded-pending");

  // Open the link from the mail: the page asks to press Verify.
  const link = await linkFor(address);
  const mailPage = await browser.newPage();
  await mailPage.goto(link);
  await mailPage.getByRole("button", { name: "Verify" }).click();
  await mailPage.waitForLoadState();
  await mailPage.close();

  // The console follows: VERIFIED, and mail goes out from the address.
  await item.getByTestId("verification-status").filter({ hasText: /^VERIFIED$/ }).waitFor({ timeout: 15_000 });
  await page.getByTestId("branded-mode").filter({ hasText: "your verified address" }).waitFor();
  assert.equal(await item.getByTestId("resend-verification").count(), 0, "nothing to resend once verified");
  await screenshot(page, "branded-verified");

  // The language picker switches the page to German at once, dates included.
  await page.getByLabel("Language").selectOption("de");
  await page.getByRole("heading", { name: "Eigene Absenderadresse", level: 1 }).waitFor();
  await item.getByText(/^Bestätigt am \d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}:\d{2}: E-Mails gehen von dieser Adresse hinaus\.$/).waitFor();
  await page.close();
});

test("branded in Japanese at 375 px: the countdown in Japanese, no sideways scrolling", async () => {
  const context = await browser.newContext({ locale: "ja-JP", viewport: { width: 375, height: 812 } });
  const page = await context.newPage();
  await signIn(page);
  await page.getByRole("link", { name: "独自アドレス" }).click();
  await page.getByRole("heading", { name: "独自アドレス", level: 1 }).waitFor();
  const address = `ja-${Date.now()}@shop.example`;
  await page.getByLabel("メールアドレス").fill(address);
  await page.getByTestId("request-verification").click();
  await page.getByTestId("resend-cooldown").filter({ hasText: /あと \d+ 秒で再送信できます。/ }).waitFor();
  await page.getByTestId("verification-status").filter({ hasText: /^PENDING$/ }).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than 375 px`);
  await screenshot(page, "branded-ja-375");
  await context.close();
});
