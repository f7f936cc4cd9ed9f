// The senders page in a real browser: a sender added (the API's error at
// its field first), reached from the list, chosen in the settings page's
// picker and on the branded address page, then deleted.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launch, signIn } from "./browser.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test("senders: add one, open its settings and branded page, delete it", async () => {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  await signIn(page, { lang: "en" });
  await page.getByRole("link", { name: "Senders", exact: true }).click();
  await page.getByRole("heading", { name: "Senders", level: 1 }).waitFor();
  await page.locator('[data-testid="sender"][data-key="default"]').waitFor();
  assert.equal(await page.locator('[data-testid="sender"][data-key="default"] [data-testid="delete-sender"]').count(), 0,
    "the default sender cannot be deleted");

  await page.getByLabel("Key", { exact: true }).fill("Bad Key");
  await page.getByLabel("Name", { exact: true }).fill("Vendor One");
  await page.getByTestId("create-sender").click();
  await page.locator('[data-testid="field-error"][data-field="key"]').waitFor();
  assert.equal(await page.getByLabel("Key", { exact: true }).getAttribute("aria-invalid"), "true");

  await page.getByLabel("Key", { exact: true }).fill("vendor-1");
  await page.getByLabel("Key", { exact: true }).press("Enter");
  const item = page.locator('[data-testid="sender"][data-key="vendor-1"]');
  await item.waitFor();
  await page.getByText(/^2 senders of at most 10/).waitFor();

  await item.getByRole("link", { name: "Settings" }).click();
  await page.getByTestId("mode-SMTP").waitFor();
  assert.equal(await page.getByLabel("Sender", { exact: true }).inputValue(), "vendor-1");
  await page.getByRole("link", { name: "Branded address" }).click();
  await page.getByLabel("Sender", { exact: true }).selectOption("vendor-1");
  await page.waitForURL(/\/console\/branded\/vendor-1/);

  await page.getByRole("link", { name: "Senders", exact: true }).click();
  await item.getByTestId("delete-sender").click();
  await item.waitFor({ state: "detached" });
  await page.close();
});
