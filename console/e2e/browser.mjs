// Shared set-up of the browser suite: Debian's Chromium driven by
// playwright-core (never a downloaded browser), against the outbox serve
// that e2e/browser_test.go starts (OUTBOX_URL).
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

export const base = process.env.OUTBOX_URL ?? "http://127.0.0.1:8080";
export const smtp = {
  port: process.env.SMTP_PORT ?? "2525",
  user: process.env.SMTP_USER ?? "shop@example.com",
  password: process.env.SMTP_PASSWORD ?? "right-password",
};
export const artifacts = process.env.ARTIFACTS ?? "";

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

// signIn opens the console and signs in with the development sign-in as
// an admin of a fresh tenant.
export async function signIn(page, { lang, tenant, query = "" } = {}) {
  const q = new URLSearchParams(query);
  if (lang) q.set("lang", lang);
  const qs = q.toString();
  await page.goto(base + "/console/" + (qs ? "?" + qs : ""));
  await page.locator("#signin-tenant").fill(tenant ?? "shop-" + Date.now() + "-" + Math.floor(Math.random() * 1e6));
  await page.locator("#signin-role").selectOption("admin");
  await page.getByTestId("sign-in").click();
  await page.getByTestId("mode-SMTP").waitFor();
}

export async function screenshot(page, name) {
  if (artifacts) await page.screenshot({ path: `${artifacts}/${name}.png`, fullPage: true });
}

// linkFor polls the dev mailbox (/dev/mailbox.json, outside production)
// for the verification mail to address and returns its link.
export async function linkFor(address) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await fetch(base + "/dev/mailbox.json", { headers: { Accept: "application/json" } });
    assert.equal(r.status, 200, "the dev mailbox answers");
    const mails = await r.json();
    const mail = mails.find((m) => (m.envelopeTo ?? []).includes(address));
    const link = mail?.links?.find((l) => l.includes("/verify?token="));
    if (link) return link;
    if (Date.now() > deadline) assert.fail(`no verification mail to ${address} in the dev mailbox`);
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

// fillSMTP fills the sender settings' SMTP form for the suite's loopback
// server by the fields' ids (fieldId), so that it works in every language.
export async function fillSMTP(page, { password = smtp.password, fromName = "Browser Shop" } = {}) {
  await page.getByTestId("mode-SMTP").check();
  await page.getByTestId("preset").selectOption("custom");
  await page.locator("#f-smtp-host").fill("127.0.0.1");
  await page.locator("#f-smtp-port").fill(smtp.port);
  await page.locator("#f-smtp-security").selectOption("NONE");
  await page.locator("#f-smtp-auth").selectOption("PLAIN");
  await page.locator("#f-smtp-username").fill(smtp.user);
  await page.locator("#f-smtp-password").fill(password);
  await page.locator("#f-fromName").fill(fromName);
  await page.locator("#f-fromEmail").fill(smtp.user);
  await page.locator("#f-testRecipient").fill("owner@example.com");
}
