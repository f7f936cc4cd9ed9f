// The sender settings page in a real browser: the SMTP flow with a failing
// then a passing test and the Save button's state at each step, an API
// error shown at its field, the token renewed before it expires, and a
// Japanese run at 375 px.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launch, screenshot, signIn, smtp } from "./browser.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const expectSave = async (page, enabled, why) => {
  const save = page.getByTestId("save-settings");
  if (enabled) await save.waitFor({ state: "visible" });
  // Poll: the state follows the form and the streamed test.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const disabled = await save.isDisabled();
    if (disabled === !enabled) return;
    if (Date.now() > deadline) assert.fail(`Save should be ${enabled ? "enabled" : "disabled"}: ${why}`);
    await page.waitForTimeout(50);
  }
};

const waitStatus = async (page, want) => {
  await page.getByTestId("test-status").filter({ hasText: new RegExp(`^${want}$`) }).waitFor({ timeout: 30_000 });
};

async function fillSMTP(page, password) {
  await page.getByTestId("mode-SMTP").check();
  await page.getByTestId("preset").selectOption("custom");
  await page.getByLabel("Host").fill("127.0.0.1");
  await page.getByLabel("Port").fill(smtp.port);
  await page.getByLabel("Security").selectOption("NONE");
  await page.getByLabel("Authentication").selectOption("PLAIN");
  await page.getByLabel("User name").fill(smtp.user);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("From name").fill("Browser Shop");
  await page.getByLabel("From address").fill(smtp.user);
  await page.getByLabel("Send the test email to").fill("owner@example.com");
}

test("SMTP: a failing then a passing test, Save enabled only for the passed form", async () => {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  await signIn(page, { lang: "en" });
  assert.equal(await page.getByTestId("save-settings").count(), 0, "PLATFORM mode needs no test");
  await page.getByTestId("mode-SMTP").check();
  await expectSave(page, false, "no test yet");

  // An error of the API is shown at its field.
  await page.getByLabel("Host").fill("");
  await page.getByLabel("Send the test email to").fill("owner@example.com");
  await page.getByTestId("send-test").click();
  const hostError = page.locator('[data-testid="field-error"][data-field="smtp.host"]');
  await hostError.waitFor();
  assert.equal(await page.getByLabel("Host").getAttribute("aria-invalid"), "true");
  await expectSave(page, false, "the test was refused");

  // A wrong password: the test FAILS at AUTH, with its steps shown as they
  // come, into room kept for them: the list neither moves nor grows.
  await fillSMTP(page, "wrong-password");
  await expectSave(page, false, "not tested");
  // (Measured inside the test's card: the host's error above it goes when
  // the test is sent, which moves the whole card; the failure's hint below
  // the steps comes with the final status.)
  const stepsBox = () => page.locator("ol.steps").evaluate((ol) => {
    const card = ol.closest("fieldset").getBoundingClientRect(), box = ol.getBoundingClientRect();
    return { top: box.top - card.top, height: box.height };
  });
  const before = await stepsBox();
  await page.getByTestId("send-test").click();
  await waitStatus(page, "FAILED");
  assert.deepEqual(await stepsBox(), before, "the steps streamed in without moving the page");
  const failed = page.locator('[data-testid="test-step"][data-ok="false"]');
  assert.ok((await failed.count()) >= 1, "a failed step");
  assert.match(await failed.first().innerText(), /AUTH/);
  assert.ok((await page.locator('[data-testid="test-step"][data-ok="true"]').count()) >= 1, "the steps before AUTH passed");
  await expectSave(page, false, "the test FAILED");
  await screenshot(page, "settings-failed");

  // The right password: a change of the form, so still nothing to save.
  await page.getByLabel("Password", { exact: true }).fill(smtp.password);
  await expectSave(page, false, "the form changed after the failed test");
  // Send with the keyboard: Enter in a field submits the test.
  await page.getByLabel("Send the test email to").press("Enter");
  await waitStatus(page, "PASSED");
  const steps = page.getByTestId("test-step");
  assert.ok((await steps.count()) >= 4, "the steps of the passed test");
  assert.equal(await page.locator('[data-testid="test-step"][data-ok="false"]').count(), 0);
  await expectSave(page, true, "the test of exactly this form PASSED");
  await screenshot(page, "settings-passed");

  // Any change disables Save again; back to the tested form enables it.
  await page.getByLabel("From name").fill("Browser Shop 2");
  await expectSave(page, false, "a field changed after the passed test");
  await page.getByTestId("test-stale").waitFor();
  await page.getByLabel("From name").fill("Browser Shop");
  await expectSave(page, true, "the form is again exactly the tested one");

  await page.getByTestId("save-settings").click();
  await page.getByTestId("notice").filter({ hasText: "Saved" }).waitFor();
  await page.getByText("Mail goes out now as your SMTP server.").waitFor();
  await expectSave(page, false, "the test's settings are saved");
  await page.close();
});

test("the development sign-in renews a token before it expires", async () => {
  const page = await browser.newPage();
  await signIn(page, { lang: "en", query: "ttl=32" });
  const first = await page.evaluate(() => sessionStorage.getItem("outbox.console.token"));
  assert.ok(first);
  await page.waitForFunction((t) => {
    const now = sessionStorage.getItem("outbox.console.token");
    return now && now !== t;
  }, first, { timeout: 15_000 });
  await page.getByTestId("mode-SMTP").waitFor();
  assert.equal(await page.locator("#signin-tenant").count(), 0, "still signed in");
  await page.close();
});

test("Japanese at 375 px: browser language, Japanese presets first, steps in Japanese", async () => {
  const context = await browser.newContext({ locale: "ja-JP", viewport: { width: 375, height: 812 } });
  const page = await context.newPage();
  await signIn(page); // no ?lang=: the browser's language
  assert.equal(await page.evaluate(() => document.documentElement.lang), "ja");
  await page.getByRole("heading", { name: "送信元の設定" }).waitFor();

  await page.getByTestId("mode-SMTP").check();
  const options = await page.getByTestId("preset").locator("option").allInnerTexts();
  assert.match(options[0], /その他/);
  assert.deepEqual(options.slice(1, 6).map((o) => o.replace(/.*\((.*)\)$/, "$1")),
    ["Sakura", "Xserver", "Lolipop", "Muumuu Mail", "Onamae.com"]);

  // A preset fills the form and shows its limits and notes.
  await page.getByTestId("preset").selectOption("xserver");
  assert.equal(await page.getByLabel("ポート").inputValue(), "587");
  assert.equal(await page.getByLabel("暗号化").inputValue(), "STARTTLS");
  await page.getByText("ホスト名の形式: sv****.xserver.jp").waitFor();

  // The same flow in Japanese, against the loopback server.
  await page.getByTestId("preset").selectOption("custom");
  await page.getByLabel("ホスト").fill("127.0.0.1");
  await page.getByLabel("ポート").fill(smtp.port);
  await page.getByLabel("暗号化").selectOption("NONE");
  await page.getByLabel("認証方式").selectOption("PLAIN");
  await page.getByLabel("ユーザー名").fill(smtp.user);
  await page.getByLabel("パスワード", { exact: true }).fill("wrong-password");
  await page.getByLabel("差出人アドレス").fill(smtp.user);
  await page.getByLabel("テストメールの送信先").fill("owner@example.com");
  assert.equal(await page.getByTestId("send-test").innerText(), "テストメールを送信");
  await page.getByTestId("send-test").click();
  await waitStatus(page, "FAILED");
  await page.locator('[data-testid="test-step"][data-ok="false"]').filter({ hasText: "失敗" }).first().waitFor();
  assert.ok(await page.getByTestId("save-settings").isDisabled());

  await page.getByLabel("パスワード", { exact: true }).fill(smtp.password);
  await page.getByTestId("send-test").click();
  await waitStatus(page, "PASSED");
  await expectSave(page, true, "passed");
  await page.getByText("テストに成功しました。この設定を保存できます。").waitFor();

  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than 375 px`);
  await screenshot(page, "settings-ja-375");
  await context.close();
});
