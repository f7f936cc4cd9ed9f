// Screenshots of the console's main pages for the README, in English and
// Japanese, written to $SCREENSHOTS (scripts/screenshots sets it to
// docs/screenshots). Not part of the suite (no .test in its name):
// scripts/screenshots runs it on the suite's server. Viewport shots at
// 1000×760, so the files stay small.
import { mkdirSync } from "node:fs";
import { after, before, test } from "node:test";
import { sendMany } from "./api.mjs";
import { fillSMTP, launch, signIn } from "./browser.mjs";

const dir = process.env.SCREENSHOTS;
if (!dir) throw new Error("SCREENSHOTS names the directory to write to");
mkdirSync(dir, { recursive: true });
const viewport = { width: 1000, height: 760 };
const tenant = "tea-shop-" + Date.now();

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// shot writes the viewport, scrolled to the top or to the element given.
async function shot(page, name, at) {
  if (at) await page.locator(at).first().evaluate((e) => e.scrollIntoView({ block: "center" }));
  else await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: `${dir}/${name}.png` });
}

test("screenshots", async () => {
  // English: an SMTP sender whose test passed, then saved.
  const page = await browser.newPage({ viewport });
  await signIn(page, { lang: "en", tenant });
  await fillSMTP(page, { fromName: "Kyoto Tea Shop" });
  await page.getByTestId("send-test").click();
  await page.getByTestId("test-status").filter({ hasText: /^PASSED$/ }).waitFor({ timeout: 30_000 });
  await shot(page, "settings-en", '[data-testid="test-status"]');
  await page.getByTestId("save-settings").click();
  await page.getByText("Saved: mail now goes out with these settings.").waitFor();

  const soon = new Date(Date.now() + 3 * 3600 * 1000).toISOString();
  const [first] = await sendMany(page, [
    { to: ["aiko@example.com"], template: "order.confirmed", variables: { customerName: "Aiko", orderNumber: "1042" }, tags: ["order"], metadata: { orderId: "1042" } },
    { to: ["jonas@example.com"], template: "order.shipped", variables: { customerName: "Jonas", orderNumber: "1041" }, tags: ["order"] },
    { to: ["mika@example.com"], subject: "Your tea subscription for December", text: "Hello Mika", tags: ["subscription"] },
    { to: ["ren@example.com"], subject: "Spring sencha is back", text: "Hello Ren", tags: ["news"], sendAt: soon },
  ]).catch(async () => sendMany(page, [
    { to: ["aiko@example.com"], subject: "Order 1042 confirmed", text: "Hello Aiko", tags: ["order"], metadata: { orderId: "1042" } },
    { to: ["jonas@example.com"], subject: "Order 1041 shipped", text: "Hello Jonas", tags: ["order"] },
    { to: ["ren@example.com"], subject: "Spring sencha is back", text: "Hello Ren", tags: ["news"], sendAt: soon },
  ]));
  await page.getByRole("link", { name: "Email logs" }).click();
  const row = page.locator(`[data-testid="message-row"][data-id="${first}"]`);
  await row.getByTestId("message-status").filter({ hasText: /^SENT$/ }).waitFor({ timeout: 30_000 });
  await shot(page, "logs-en", "table.logs");
  await row.getByTestId("message-link").click();
  await page.getByTestId("attempt").first().waitFor();
  await shot(page, "message-en");

  await page.getByRole("link", { name: "Templates" }).click();
  await page.locator('[data-testid="template-item"][data-key="order.confirmed"]').click();
  await page.getByLabel("Plain text").fill("Hello {{.customerName}},\n\nthank you for order {{.orderNumber}}.\nTotal: {{.total | yen}}");
  await page.getByTestId("preview-template").click();
  await page.locator('[data-testid="field-error"][data-field="text"]').waitFor();
  await shot(page, "templates-en", "#tf-text");
  await page.close();

  // Japanese: the same tenant.
  const ja = await browser.newPage({ viewport, locale: "ja-JP" });
  await signIn(ja, { lang: "ja", tenant });
  await shot(ja, "settings-ja");
  await ja.getByRole("link", { name: "メールログ" }).click();
  await ja.getByTestId("message-row").first().waitFor();
  await shot(ja, "logs-ja", "table.logs");
  await ja.getByRole("link", { name: "テンプレート" }).click();
  await ja.locator('[data-testid="template-item"][data-key="order.confirmed"]').click();
  await ja.getByTestId("preview-template").click();
  await ja.getByTestId("template-preview").waitFor();
  await shot(ja, "templates-ja", '[data-testid="template-preview"]');
  await ja.close();
});
