// The webhooks page against a real receiver: a node HTTP server on
// loopback started here. An endpoint is created (its whsec_ secret shown
// once), a test event is sent and its delivery appears with the attempt
// the receiver answered, then it is replayed with the same webhook-id.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { launch, screenshot, signIn } from "./browser.mjs";

let browser;
let receiver;
const received = [];
before(async () => {
  browser = await launch();
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => { body += c; });
    req.on("end", () => {
      received.push({ path: req.url, headers: req.headers, body });
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end("thanks from the receiver");
    });
  });
  await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
});
after(async () => {
  await browser?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

test("webhooks: create an endpoint, send a test event, see its delivery and replay it", async () => {
  const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
  await signIn(page, { lang: "en" });
  await page.getByRole("link", { name: "Webhooks" }).click();
  await page.getByRole("heading", { name: "Webhooks", level: 1 }).waitFor();
  await page.getByText("No endpoints yet.").waitFor();

  // The API's own error, next to the URL field.
  await page.getByLabel("Endpoint URL").fill("ftp://127.0.0.1/hook");
  await page.getByTestId("webhook-create").click();
  const urlError = page.locator('[data-testid="field-error"][data-field="url"]');
  await urlError.waitFor();
  assert.match(await urlError.textContent(), /http/);
  assert.equal(await page.getByLabel("Endpoint URL").getAttribute("aria-invalid"), "true");

  const url = `http://127.0.0.1:${receiver.address().port}/hook`;
  await page.getByLabel("Endpoint URL").fill(url);
  await page.getByLabel("webhook.test").check();
  await page.getByTestId("webhook-create").click();
  const secret = page.getByTestId("webhook-secret-value");
  await secret.waitFor();
  const signingSecret = await secret.textContent();
  assert.match(signingSecret, /^whsec_/);
  assert.equal(await page.evaluate(() => document.activeElement?.id), "wh-secret-title", "the focus moves to the new secret");
  await page.getByRole("button", { name: "Copy secret" }).waitFor();
  await page.getByRole("button", { name: "I have saved it" }).click();
  await secret.waitFor({ state: "detached" });
  assert.equal(await urlError.count(), 0, "the error went with the valid URL");

  const endpoint = page.locator(`[data-testid="webhook-endpoint"][data-url="${url}"]`);
  await endpoint.waitFor();
  await endpoint.getByText("Receives 1 event type: webhook.test").waitFor();
  await endpoint.getByTestId("webhook-enabled").filter({ hasText: "Enabled" }).waitFor();

  // A test event: its delivery appears and reaches Delivered with the
  // receiver's answer in its attempt.
  await endpoint.getByTestId("webhook-test").click();
  const first = endpoint.locator('[data-testid="webhook-delivery"][data-type="webhook.test"]');
  await first.first().waitFor();
  await first.first().getByTestId("webhook-delivery-status").filter({ hasText: /^Delivered$/ }).waitFor({ timeout: 30_000 });
  assert.equal(await first.count(), 1);
  assert.equal(await first.getByTestId("webhook-attempt-code").textContent(), "200");
  assert.equal(await first.getByTestId("webhook-attempt-response").textContent(), "thanks from the receiver");
  assert.equal(received.length, 1, "the receiver got the test event once");
  const webhookId = received[0].headers["webhook-id"];
  assert.ok(webhookId, "the delivery carries a webhook-id");
  assert.match(received[0].headers["webhook-signature"] ?? "", /^v1,/);
  assert.equal(JSON.parse(received[0].body).type, "webhook.test");
  // The README's Node snippet: the specification's own library verifies
  // the signature with the secret the page showed.
  const verify = (r) => new Webhook(signingSecret).verify(r.body, {
    "webhook-id": r.headers["webhook-id"],
    "webhook-timestamp": r.headers["webhook-timestamp"],
    "webhook-signature": r.headers["webhook-signature"],
  });
  assert.equal(verify(received[0]).type, "webhook.test");
  assert.throws(() => verify({ ...received[0], body: received[0].body.replace("webhook.test", "webhook.tesT") }), "a changed body fails");
  await endpoint.getByText("webhook-id: " + webhookId).waitFor();
  await first.getByText("The body sent").click();
  assert.deepEqual(JSON.parse(await first.locator("pre").textContent()), JSON.parse(received[0].body), "the page shows the exact body sent");
  await screenshot(page, "webhooks");
  await page.setViewportSize({ width: 375, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page fits 375 px (overflow ${overflow} px)`);

  // Replay: a second delivery of the same event, marked as a replay.
  await first.getByTestId("webhook-replay").click();
  await endpoint.getByTestId("webhook-delivery-replay").waitFor();
  const replay = endpoint.locator('[data-testid="webhook-delivery"]').filter({ has: page.getByTestId("webhook-delivery-replay") });
  await replay.getByTestId("webhook-delivery-status").filter({ hasText: /^Delivered$/ }).waitFor({ timeout: 30_000 });
  assert.equal(await endpoint.locator('[data-testid="webhook-delivery"]').count(), 2);
  assert.equal(received.length, 2);
  assert.equal(received[1].headers["webhook-id"], webhookId, "a replay keeps the webhook-id");
  assert.equal(verify(received[1]).type, "webhook.test", "the replay is signed too");

  // Disable, then a replay is refused (CONFLICT) and shown; enable again.
  await endpoint.getByTestId("webhook-toggle").click();
  await endpoint.getByTestId("webhook-enabled").filter({ hasText: "Disabled" }).waitFor();
  await replay.getByTestId("webhook-replay").click();
  await replay.getByRole("alert").waitFor();
  await endpoint.getByTestId("webhook-toggle").click();
  await endpoint.getByTestId("webhook-enabled").filter({ hasText: "Enabled" }).waitFor();

  // Rotating shows a new secret once.
  await endpoint.getByTestId("webhook-rotate").click();
  await secret.waitFor();
  const rotated = await secret.textContent();
  assert.match(rotated, /^whsec_/);
  assert.notEqual(rotated, signingSecret);
  await page.getByRole("button", { name: "I have saved it" }).click();
  await endpoint.getByText(/the previous secret still signs until/).waitFor();
  // Both secrets verify the next delivery, so a receiver can switch
  // without a gap.
  await endpoint.getByTestId("webhook-test").click();
  for (let i = 0; received.length < 3; i++) {
    assert.ok(i < 300, "the test event after the rotation arrives");
    await page.waitForTimeout(100);
  }
  const verifyWith = (key, r) => new Webhook(key).verify(r.body, {
    "webhook-id": r.headers["webhook-id"], "webhook-timestamp": r.headers["webhook-timestamp"], "webhook-signature": r.headers["webhook-signature"],
  });
  assert.equal(verifyWith(rotated, received[2]).type, "webhook.test", "the new secret verifies");
  assert.equal(verifyWith(signingSecret, received[2]).type, "webhook.test", "the previous secret still verifies");

  // Delete, confirmed.
  // Delete by keyboard: the focus moves to the confirmation.
  await endpoint.getByRole("button", { name: "Delete" }).focus();
  await page.keyboard.press("Enter");
  await endpoint.getByTestId("webhook-delete-confirm").waitFor();
  await page.waitForFunction(() => document.activeElement?.getAttribute("data-testid") === "webhook-delete-confirm");
  await page.keyboard.press("Enter");
  await page.getByText("No endpoints yet.").waitFor();
  await page.close();
});
