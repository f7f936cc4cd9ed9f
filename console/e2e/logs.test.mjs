// The email logs page in German: a message sent while the page is open
// appears and reaches SENT live (the messageEvents subscription), without
// a reload.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { base, launch, screenshot, signIn } from "./browser.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test("logs: a new message shows up and its status changes live (German)", async () => {
  const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
  await signIn(page, { lang: "de" });
  // The subscription's websocket: the row can only come through it once
  // the list was loaded empty.
  const subscribed = new Promise((resolve) => {
    page.on("websocket", (ws) => ws.on("framesent", (f) => {
      if (String(f.payload).includes('"subscribe"') && String(f.payload).includes("messageEvents")) resolve();
    }));
  });
  await page.getByRole("link", { name: "E-Mail-Protokoll" }).click();
  await page.getByRole("heading", { name: "E-Mail-Protokoll" }).waitFor();
  await page.getByText("Keine Nachrichten", { exact: true }).waitFor();
  await subscribed;

  const id = await page.evaluate(async (url) => {
    const token = sessionStorage.getItem("outbox.console.token");
    const r = await fetch(url + "/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
      body: JSON.stringify({
        query: "mutation($input: SendNotificationInput!) { sendNotification(input: $input) { id status } }",
        variables: { input: { to: ["kunde@example.com"], subject: "Ihre Bestellung", text: "Danke!" } },
      }),
    });
    const body = await r.json();
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data.sendNotification.id;
  }, base);

  const row = page.locator(`[data-testid="message-row"][data-id="${id}"]`);
  await row.waitFor({ timeout: 20_000 });
  await row.getByTestId("message-status").filter({ hasText: /^SENT$/ }).waitFor({ timeout: 30_000 });
  assert.equal(await page.getByTestId("message-row").count(), 1);
  await page.getByText("1 Nachricht", { exact: true }).waitFor();
  await screenshot(page, "logs-de");
  await page.close();
});
