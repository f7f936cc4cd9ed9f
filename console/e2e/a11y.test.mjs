// Accessibility of every page: axe-core (from console/'s lockfile) run in
// Chromium on each route, failing on serious and critical violations; and
// each route at 375 px wide must not scroll sideways.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { after, before, test } from "node:test";
import { base, launch, screenshot, signIn } from "./browser.mjs";

// routes are the pages checked: path under /console/, what shows the page
// has loaded (a heading's name in English), and optionally prepare(page),
// run after that, to bring the page into the state to check. Add a page
// here.
export const routes = [
  { path: "", ready: "Sender settings" },
  { path: "logs", ready: "Email logs", prepare: withMessage },
  { name: "message", path: "logs", ready: "Email logs", prepare: openMessage },
  { path: "templates", ready: "Templates", prepare: openTemplate },
  { path: "senders", ready: "Senders" },
  { path: "branded", ready: "Branded address" },
  { path: "domains", ready: "Sending domains" },
  { path: "suppressions", ready: "Suppressions" },
  { path: "webhooks", ready: "Webhooks" },
  { path: "partners", ready: "Partner clients" },
  { path: "audit", ready: "Audit log" },
];

async function withMessage(page) {
  await page.evaluate(async (url) => {
    const token = sessionStorage.getItem("outbox.console.token");
    await fetch(url + "/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
      body: JSON.stringify({
        query: "mutation($input: SendNotificationInput!) { sendNotification(input: $input) { id } }",
        variables: { input: { to: ["kunde@example.com"], subject: "Accessible order", text: "x", tags: ["order"], metadata: { orderId: "7" } } },
      }),
    });
  }, base);
  await page.getByTestId("message-row").first().waitFor();
}

async function openMessage(page) {
  await withMessage(page);
  await page.getByTestId("message-link").first().click();
  await page.getByTestId("message-detail").waitFor();
}

async function openTemplate(page) {
  await page.getByTestId("template-item").first().click();
  await page.getByTestId("preview-template").click();
  await page.getByTestId("template-preview").waitFor();
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

// One signed-in page serves every route, resized for the narrow check.
let browser, page;
before(async () => {
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
  await signIn(page, { lang: "en" });
});
after(async () => { await browser?.close(); });

// settled waits until the page rendered what it has (two frames).
async function settled(page) {
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
}

async function open(page, path, lang = "en") {
  await page.goto(`${base}/console/${path}?lang=${lang}`);
}

// axe returns the page's serious and critical violations, one line each
// with up to five of the elements; lesser ones go to the test's
// diagnostics.
async function axe(page, t) {
  await page.addScriptTag({ content: axeSource });
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({
      impact: v.impact,
      line: `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 5).map((n) => n.target.join(" ")).join("\n    ")}`,
    }));
  });
  const bad = (v) => v.impact === "serious" || v.impact === "critical";
  for (const v of found.filter((v) => !bad(v))) t.diagnostic(v.line);
  return found.filter(bad).map((v) => v.line);
}

test("a11y: the sign-in page has no serious or critical axe violations", async (t) => {
  const page = await browser.newPage();
  await page.goto(`${base}/console/?lang=en`);
  await page.locator("#signin-tenant").waitFor();
  assert.deepEqual(await axe(page, t), []);
  await page.close();
});

test("a11y: the operator's tenants page has no serious or critical axe violations", async (t) => {
  const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
  await page.goto(`${base}/console/?lang=en`);
  await page.locator("#signin-tenant").fill("a11y-operator");
  await page.locator("#signin-role").selectOption("operator");
  await page.getByTestId("sign-in").click();
  await page.getByRole("heading", { name: "Tenants", exact: true }).waitFor();
  await settled(page);
  assert.deepEqual(await axe(page, t), []);
  await page.close();
});

for (const r of routes) {
  const name = r.name ?? (r.path || "settings");
  test(`a11y: ${name} (/console/${r.path}) has no serious or critical axe violations`, async (t) => {
    await page.setViewportSize({ width: 1000, height: 800 });
    await open(page, r.path);
    await page.getByRole("heading", { name: r.ready, exact: true }).waitFor();
    if (r.prepare) await r.prepare(page);
    await settled(page);
    assert.deepEqual(await axe(page, t), []);
  });

  test(`a11y: ${name} (/console/${r.path}) fits 375 px without scrolling sideways`, async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    await open(page, r.path);
    await page.getByRole("heading", { name: r.ready, exact: true }).waitFor();
    if (r.prepare) await r.prepare(page);
    // The language picker keeps the page's state; German and Japanese
    // words break lines differently.
    for (const lang of ["en", "ja", "de"]) {
      await page.locator("header select").selectOption(lang);
      await page.waitForFunction((l) => document.documentElement.lang === l, lang);
      await settled(page);
      const { scroll, client, wide } = await page.evaluate(() => {
        const el = document.documentElement;
        const wide = [...document.querySelectorAll("body *")]
          .filter((e) => e.getBoundingClientRect().right > el.clientWidth + 1 && !e.closest(".table-wrap"))
          .slice(0, 5).map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + String(e.className).split(" ").join(".") : ""));
        return { scroll: el.scrollWidth, client: el.clientWidth, wide };
      });
      assert.ok(scroll <= client, `${lang}: the page is ${scroll} px wide in a ${client} px window; too wide: ${wide.join(", ")}`);
    }
    await screenshot(page, `narrow-${name}`);
  });
}
