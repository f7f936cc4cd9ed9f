// How the embedding platform signs the console in: a token in the URL
// fragment (removed at once) or posted into the console's frame.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { base, launch } from "./browser.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// mint gets a token from the development sign-in, standing in for the
// platform's own token service.
async function mint(tenant) {
  const r = await fetch(base + "/console/dev/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ tenant, roles: ["admin"], subject: "platform-user" }),
  });
  assert.equal(r.status, 200);
  return (await r.json()).token;
}

test("a token in the URL fragment signs in and leaves the address bar at once", async () => {
  const token = await mint("fragment-shop");
  const page = await browser.newPage();
  await page.goto(`${base}/console/?lang=en#token=${token}`);
  await page.getByTestId("mode-SMTP").waitFor();
  assert.equal(await page.evaluate(() => window.location.hash), "");
  assert.ok(!page.url().includes(token), "the token is not in the URL");
  await page.getByText("platform-user · fragment-shop · admin").waitFor();
  await page.close();
});

test("a token posted by the embedding page signs the framed console in", async () => {
  const token = await mint("framed-shop");
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.setContent(`<iframe id="console" title="Outbox" src="${base}/console/?lang=en" style="width:800px;height:600px"></iframe>`);
  const frame = page.frameLocator("#console");
  await frame.getByTestId("sign-in").waitFor();
  await page.evaluate((t) => {
    document.getElementById("console").contentWindow.postMessage({ type: "outbox:token", token: t }, "*");
  }, token);
  await frame.getByTestId("mode-SMTP").waitFor();
  await frame.getByText("platform-user · framed-shop · admin").waitFor();
  assert.deepEqual(errors, [], "no errors in the frame, though it may be refused storage");
  await page.close();
});
