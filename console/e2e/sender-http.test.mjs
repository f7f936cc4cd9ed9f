// Sender settings beyond SMTP in a real browser: the HTTP provider forms
// (a preset's fields, limits and notes; the API's validation error at its
// field) and the OAuth "Connect" buttons of a preset (the server has no
// OAuth app configured: the error says so at the buttons), in English and
// Japanese.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launch, screenshot, signIn } from "./browser.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test("HTTP: generic API without a URL is refused at the URL field; Mailgun asks for its domain", async () => {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  await signIn(page, { lang: "en" });
  await page.getByTestId("mode-HTTP").check();
  await page.getByLabel("API", { exact: true }).selectOption("GENERIC");
  await page.getByLabel("Auth header").fill("X-Api-Key");
  await page.getByLabel("API key or token").fill("secret-key");
  await page.getByLabel("From address").fill("shop@shop.example");
  await page.getByLabel("Send the test email to").fill("owner@example.com");
  await page.getByTestId("send-test").click();
  const urlError = page.locator('[data-testid="field-error"][data-field="http.url"]');
  await urlError.waitFor();
  assert.equal(await page.getByLabel("Endpoint URL").getAttribute("aria-invalid"), "true");
  assert.match(await page.getByLabel("Endpoint URL").getAttribute("aria-describedby"), /f-http-url-error/);
  assert.ok(await page.getByTestId("save-settings").isDisabled(), "nothing to save without a passed test");

  // A provider preset: its own fields, its limits and its note.
  await page.getByLabel("API", { exact: true }).selectOption("MAILGUN");
  await page.getByLabel("Sending domain").waitFor();
  assert.deepEqual(await page.getByLabel("Region").locator("option").allInnerTexts(),
    ["US (api.mailgun.net)", "EU (api.eu.mailgun.net)"], "Mailgun's two regions to choose from");
  await page.getByLabel("Region").selectOption("EU");
  assert.equal(await page.getByLabel("Endpoint URL").count(), 0, "a provider has no endpoint to enter");
  await page.getByText(/Limits: 1,000 recipients per mail/).waitFor();
  await page.getByLabel("Base URL (optional)").waitFor();
  await page.getByTestId("send-test").click();
  await page.locator('[data-testid="field-error"][data-field="http.domain"]').waitFor();
  await screenshot(page, "settings-http");
  await page.close();
});

test("OAuth: a Gmail preset offers Connect Google first; without an OAuth app the error shows at the buttons", async () => {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  await signIn(page, { lang: "en" });
  await page.getByTestId("mode-SMTP").check();
  await page.getByTestId("preset").selectOption("gmail");
  assert.equal(await page.getByLabel("Authentication").inputValue(), "XOAUTH2");
  const buttons = page.locator('[data-testid^="oauth-connect-"]');
  assert.deepEqual(await buttons.allInnerTexts(), ["Connect Google", "Connect Microsoft 365"]);
  await page.getByText("No mailbox connected to this sender yet.").waitFor();
  await buttons.first().press("Enter"); // keyboard
  const err = page.locator('[data-testid="field-error"][data-field="provider"]');
  await err.waitFor();
  assert.match(await err.innerText(), /OUTBOX_OAUTH_GOOGLE_CLIENT_ID/);

  await page.getByTestId("preset").selectOption("microsoft365");
  assert.deepEqual(await buttons.allInnerTexts(), ["Connect Microsoft 365", "Connect Google"]);
  await page.close();
});

test("Japanese at 375 px: Japanese presets first, the OAuth and HTTP forms in Japanese", async () => {
  const context = await browser.newContext({ locale: "ja-JP", viewport: { width: 375, height: 812 } });
  const page = await context.newPage();
  await signIn(page);
  await page.getByTestId("mode-SMTP").check();
  const options = await page.getByTestId("preset").locator("option").allInnerTexts();
  assert.deepEqual(options.slice(1, 6).map((o) => o.replace(/.*\((.*)\)$/, "$1")),
    ["Sakura", "Xserver", "Lolipop", "Muumuu Mail", "Onamae.com"]);
  await page.getByTestId("preset").selectOption("gmail");
  await page.getByRole("button", { name: "Google に接続" }).waitFor();
  await page.getByTestId("mode-HTTP").check();
  await page.getByRole("combobox", { name: "API" }).selectOption("SES");
  await page.getByLabel("アクセスキー ID").waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than 375 px`);
  await screenshot(page, "settings-http-ja-375");
  await context.close();
});
