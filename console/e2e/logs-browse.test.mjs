// The email logs page: filters that narrow the list and live in the URL,
// the next keyset page loading when the list's end scrolls into view, a
// message's detail with its attempts, and cancelling a scheduled message.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { sendMany } from "./api.mjs";
import { base, launch, screenshot, signIn } from "./browser.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const tomorrow = () => new Date(Date.now() + 24 * 3600 * 1000).toISOString();
const rows = (page) => page.getByTestId("message-row");

test("logs: filters narrow the list and live in the URL; the second page loads on scroll", async () => {
  const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
  await signIn(page, { lang: "en" });
  // 60 scheduled (never sent during the test) plus two sent now with a tag
  // and metadata of their own.
  const bulk = Array.from({ length: 60 }, (_, i) => ({
    to: [`bulk-${i}@example.com`], subject: `Bulk ${i}`, text: "x", tags: ["bulk"], sendAt: tomorrow(),
  }));
  await sendMany(page, bulk);
  const [order] = await sendMany(page, [
    { to: ["kunde@example.com"], subject: "Order 1042 shipped", text: "x", tags: ["order"], metadata: { orderId: "1042" } },
    { to: ["other@example.com"], subject: "Order 1043 shipped", text: "x", tags: ["order"], metadata: { orderId: "1043" } },
  ]);

  await page.getByRole("link", { name: "Email logs" }).click();
  await page.getByRole("heading", { name: "Email logs" }).waitFor();
  // One keyset page: 50 of 62, and the button says there is more.
  await page.getByText("50 messages shown, more to load").waitFor();
  assert.equal(await rows(page).count(), 50);
  await page.getByTestId("load-more").waitFor();

  // Scrolling to the end loads the second page.
  await page.getByTestId("load-more").scrollIntoViewIfNeeded();
  await page.getByText("62 messages", { exact: true }).waitFor();
  assert.equal(await rows(page).count(), 62);
  assert.equal(await page.getByTestId("load-more").count(), 0);

  // Tag narrows to the two orders, metadata to one, and the URL says so.
  await page.getByLabel("Tag").fill("order");
  await page.getByTestId("apply-filters").click();
  await page.getByText("2 messages", { exact: true }).waitFor();
  assert.match(page.url(), /[?&]tag=order\b/);
  await page.getByLabel("Metadata key").fill("orderId");
  await page.getByLabel("Metadata value").fill("1042");
  await page.getByTestId("apply-filters").click();
  await page.getByText("1 message", { exact: true }).waitFor();
  assert.equal(await page.locator(`[data-testid="message-row"][data-id="${order}"]`).count(), 1);

  // The URL restores the filters after a reload.
  await page.reload();
  await page.getByText("1 message", { exact: true }).waitFor();
  assert.equal(await page.getByLabel("Tag").inputValue(), "order");

  // Status and recipient and search each narrow too.
  await page.getByRole("button", { name: "Clear filters" }).click();
  await page.getByLabel("Status").selectOption("SCHEDULED");
  await page.getByTestId("apply-filters").click();
  await page.getByText("50 messages shown, more to load").waitFor();
  await page.getByRole("button", { name: "Clear filters" }).click();
  await page.getByLabel("Recipient (exact address)").fill("bulk-7@example.com");
  await page.getByTestId("apply-filters").click();
  await page.getByText("1 message", { exact: true }).waitFor();
  await rows(page).getByText("Bulk 7", { exact: true }).waitFor();
  await page.getByRole("button", { name: "Clear filters" }).click();
  await page.getByLabel("Search in subjects").fill("1043");
  await page.getByTestId("apply-filters").click();
  await page.getByText("1 message", { exact: true }).waitFor();
  await rows(page).getByText("Order 1043 shipped").waitFor();
  await page.getByRole("button", { name: "Clear filters" }).click();
  await page.getByLabel("Until").fill("2000-01-01T00:00");
  await page.getByTestId("apply-filters").click();
  await page.getByText("No messages", { exact: true }).waitFor();
  await page.close();
});

test("logs: a message's detail shows its attempts, and a scheduled one can be cancelled (Japanese)", async () => {
  const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
  await signIn(page, { lang: "ja" });
  const [sent] = await sendMany(page, [{ to: ["kunde@example.com"], subject: "ご注文ありがとうございます", text: "x", tags: ["order"] }]);
  const [later] = await sendMany(page, [{ to: ["later@example.com"], subject: "あとで届くメール", text: "x", sendAt: tomorrow() }]);

  await page.getByRole("link", { name: "メールログ" }).click();
  const sentRow = page.locator(`[data-testid="message-row"][data-id="${sent}"]`);
  await sentRow.getByTestId("message-status").filter({ hasText: /^SENT$/ }).waitFor({ timeout: 30_000 });
  await sentRow.getByTestId("message-link").click();
  const detail = page.getByTestId("message-detail");
  await detail.waitFor();
  await page.getByRole("heading", { name: "ご注文ありがとうございます" }).waitFor();
  await detail.getByTestId("attempt").first().waitFor();
  assert.ok(await detail.getByTestId("attempt").count() >= 1);
  await page.getByRole("heading", { name: "配信の試行 1 回" }).waitFor();
  assert.ok(await detail.getByTestId("message-event").count() >= 2, "QUEUED … SENT");
  assert.equal(await page.getByTestId("cancel-message").count(), 0, "a sent message cannot be cancelled");
  await screenshot(page, "message-ja");

  await page.goto(`${base}/console/logs/${encodeURIComponent(later)}?lang=ja`);
  await detail.getByTestId("message-status").filter({ hasText: /^SCHEDULED$/ }).waitFor();
  await page.getByTestId("cancel-message").click();
  await detail.getByTestId("message-status").filter({ hasText: /^CANCELLED$/ }).waitFor();
  await page.getByText("メッセージの送信をキャンセルしました。").waitFor();
  assert.equal(await page.getByTestId("cancel-message").count(), 0);

  // Resend makes a new message and opens it.
  await page.getByTestId("resend-message").click();
  await page.waitForURL((u) => !u.pathname.endsWith(encodeURIComponent(later)));
  await page.getByRole("term").filter({ hasText: "再送元" }).waitFor();
  await page.close();
});
