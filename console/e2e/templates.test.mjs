// The templates page: an error of the API is shown at the line it names,
// the preview renders with sample variables, and a saved template joins
// the list.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launch, screenshot, signIn } from "./browser.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test("templates: an error at its line, a preview with sample variables, save", async () => {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  await signIn(page, { lang: "en" });
  await page.getByRole("link", { name: "Templates" }).click();
  await page.getByRole("heading", { name: "Templates", exact: true }).waitFor();
  // The built-in defaults are listed; one previews with its own samples.
  await page.getByTestId("template-item").first().waitFor();
  await page.locator('[data-testid="template-item"][data-key="order.confirmed"]').click();
  await page.getByTestId("preview-template").click();
  await page.getByTestId("preview-subject").filter({ hasText: /confirmed/ }).waitFor();

  await page.getByTestId("new-template").click();
  await page.getByLabel("Key").fill("shipping-note");
  await page.getByLabel("Subject").fill("Shipped: {{.orderNumber}}");
  await page.getByLabel("Plain text").fill("Hello {{.customerName}},\n\nyour parcel {{.parcel | shout}}\nis on its way.");
  await page.getByTestId("save-template").click();
  const err = page.locator('[data-testid="field-error"][data-field="text"]');
  await err.waitFor();
  assert.equal(await err.getAttribute("data-line"), "3");
  assert.match(await err.textContent(), /^Line 3: /);
  const mark = page.locator("#tf-text").locator("xpath=..").getByTestId("error-line");
  assert.equal(await mark.getAttribute("data-line"), "3");
  await screenshot(page, "templates-error");

  // Fixed, the preview renders the variables given.
  await page.getByLabel("Plain text").fill("Hello {{.customerName}},\n\nyour parcel {{.parcel}}\nis on its way.");
  await page.getByLabel("Sample variables (JSON)").fill('{"orderNumber": "1042", "customerName": "Aiko", "parcel": "JP-77"}');
  await page.getByTestId("preview-template").click();
  await page.getByTestId("preview-subject").filter({ hasText: "Shipped: 1042" }).waitFor();
  assert.match(await page.getByTestId("preview-text").textContent(), /Hello Aiko,\s+your parcel JP-77/);
  assert.equal(await page.getByTestId("error-line").count(), 0, "the line mark went with the error");

  // Variables that are not JSON are refused before asking the API.
  await page.getByLabel("Sample variables (JSON)").fill("{oops");
  await page.getByTestId("preview-template").click();
  await page.locator('[data-testid="field-error"][data-field="variables"]').waitFor();
  await page.getByLabel("Sample variables (JSON)").fill("{}");

  await page.getByTestId("save-template").click();
  await page.getByText("Saved shipping-note.").waitFor();
  await page.locator('[data-testid="template-item"][data-key="shipping-note"]').waitFor();
  await page.close();
});
