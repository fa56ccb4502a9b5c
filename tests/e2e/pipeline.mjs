// End-to-end test of the Pipeline page in headless Chromium (Debian's
// package) driven by playwright-core, against a real `threatmapper serve` on
// loopback and a local feed server. Run by scripts/e2e; screenshots go to
// $E2E_ARTIFACTS.
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import assert from "node:assert/strict";

const BIN = process.env.THREATMAPPER_BIN;
const ART = process.env.E2E_ARTIFACTS || path.join(os.tmpdir(), "threatmapper-e2e");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
fs.mkdirSync(ART, { recursive: true });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tm-e2e-"));
const db = `sqlite://${path.join(dir, "e2e.db")}`;
const children = [];

function feedServer() {
  const rss = `<?xml version="1.0"?><rss version="2.0"><channel><title>Vendor</title>
<item><title>Stealer uses new C2</title><link>https://vendor.example.com/stealer</link><description>C2 203.0.113[.]50 and bad-cdn[.]example[.]net</description></item>
<item><title>Patch now for CVE-2024-3094</title><link>https://vendor.example.com/xz</link><description>CVE-2024-3094 backdoor</description></item>
</channel></rss>`;
  const server = http.createServer((req, res) => {
    if (req.url === "/feed.xml") { res.writeHead(200, { "content-type": "application/rss+xml" }); res.end(rss); }
    else { res.writeHead(404); res.end(); }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, base: `http://127.0.0.1:${server.address().port}` })));
}

function serve(extraEnv) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ["serve", "--bind", "127.0.0.1:0"], {
      env: { ...process.env, DATABASE_URL: db, SCHEDULER_ENABLED: "false", FETCH_ALLOW_PRIVATE_NETWORKS: "true", RUST_LOG: "warn", ...extraEnv },
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(child);
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[^\s]+)\//);
      if (m) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`threatmapper serve exited with ${code}`)));
  });
}

const BUNDLE = JSON.stringify({
  type: "bundle", id: "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
  objects: [
    { type: "report", spec_version: "2.1", id: "report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
      created: "2026-11-30T00:00:00Z", modified: "2026-11-30T00:00:00Z", name: "<script>alert(1)</script> Loader campaign",
      published: "2026-11-30T00:00:00Z", description: "The loader beacons to 198.51.100.7 and evil-domain.com every hour.",
      object_refs: ["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"] },
    { type: "indicator", spec_version: "2.1", id: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
      created: "2026-11-30T00:00:00Z", modified: "2026-11-30T00:00:00Z", pattern_type: "stix", valid_from: "2026-11-30T00:00:00Z",
      pattern: "[ipv4-addr:value = '198.51.100.7'] OR [domain-name:value = 'evil-domain.com']" },
  ],
});

async function main() {
  const feed = await feedServer();
  const base = await serve({});
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    page.on("dialog", async (d) => {
      if (d.type() === "confirm") return d.accept();
      throw new Error(`unexpected dialog: ${d.message()}`);
    });
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const resp = await page.goto(base + "/");
    assert.match(resp.headers()["content-security-policy"], /default-src 'self'/);
    await page.waitForSelector("body[data-ready=true]");
    assert.match(await page.textContent("#who"), /local \(admin\)/);

    // Import a STIX bundle by pasting it.
    await page.click("#tabs button[data-view=import]");
    await page.selectOption("#import-form select[name=kind]", "stix");
    await page.fill("#import-form textarea[name=text]", BUNDLE);
    await page.click("#import-form button[type=submit]");
    await page.waitForSelector("#import-result:not([hidden])");
    assert.match(await page.textContent("#import-counts"), /new reports\s*1/);
    await page.screenshot({ path: path.join(ART, "01-import.png"), fullPage: true });

    // It is in Intake, its hostile title shown as text; open and accept it.
    await page.click("#tabs button[data-view=intake]");
    const title = page.locator("#intake-table tbody button.link").first();
    await title.waitFor();
    assert.equal(await title.textContent(), "<script>alert(1)</script> Loader campaign");
    await title.click();
    await page.waitForSelector("#report:not([hidden])");
    assert.equal(await page.locator("#report-content mark").count(), 2, "both observables highlighted");
    assert.equal(await page.locator("#report-content mark").first().textContent(), "198.51.100.7");
    await page.click("#accept");
    await page.waitForFunction(() => document.querySelector("#report-meta").textContent.includes("accepted by local"));
    await page.screenshot({ path: path.join(ART, "02-intake-report.png"), fullPage: true });

    // Add a source pointing to the local feed server and run it.
    await page.click("#tabs button[data-view=sources]");
    await page.fill("#source-form input[name=url]", `${feed.base}/feed.xml`);
    await page.click("#source-form button[type=submit]");
    await page.locator("#sources-table tbody button", { hasText: "Run now" }).first().click();
    await page.waitForSelector("#runs:not([hidden])");
    await page.waitForFunction(() => document.querySelector("#runs-table tbody td:nth-child(2)")?.textContent === "ok");
    assert.equal(await page.locator("#runs-table tbody tr").first().locator("td").nth(3).textContent(), "2");
    await page.screenshot({ path: path.join(ART, "03-sources.png"), fullPage: true });

    // Detection Studio: generate Sigma for the report, validate, edit, save v2, compare.
    await page.click("#tabs button[data-view=studio]");
    await page.fill("#gen-form input[name=report]", "1");
    await page.selectOption("#gen-form select[name=language]", "sigma");
    await page.click("#gen-form button[type=submit]");
    await page.waitForFunction(() => document.querySelector("#rule-text").value.includes("REPLACE_WITH_BEHAVIOR"));
    await page.click("#validate");
    await page.waitForSelector("#diagnostics li.warning");
    const text = await page.inputValue("#rule-text");
    await page.fill("#rule-text", text.replaceAll("REPLACE_WITH_BEHAVIOR", "-EncodedCommand"));
    await page.click("#validate");
    await page.waitForFunction(() => document.querySelector("#rule-status").textContent.startsWith("Ready"));
    await page.click("#save-version");
    await page.waitForFunction(() => document.querySelector("#version-select").value === "2");
    await page.selectOption("#compare-select", "1");
    await page.click("#compare");
    assert.ok((await page.locator("#diff .add").count()) > 0, "the diff shows the edit");
    await page.screenshot({ path: path.join(ART, "04-studio.png"), fullPage: true });

    // Audit trail and chain verification.
    await page.click("#tabs button[data-view=audit]");
    await page.click("#verify");
    await page.waitForFunction(() => document.querySelector("#verify-result").textContent.startsWith("Chain intact"));
    assert.ok((await page.locator("#audit-table tbody tr").count()) >= 6);

    // Keyboard: tabs move with the arrow keys.
    await page.focus("#tabs button[data-view=audit]");
    await page.keyboard.press("ArrowLeft");
    assert.equal(await page.getAttribute("#tabs button[data-view=studio]", "aria-selected"), "true");

    // A narrow window.
    await page.setViewportSize({ width: 390, height: 800 });
    await page.click("#tabs button[data-view=intake]");
    await page.screenshot({ path: path.join(ART, "05-narrow.png"), fullPage: true });
    assert.deepEqual(errors, [], "no script errors");
    await ctx.close();

    // A viewer in team mode sees no mutation controls; the server refuses anyway.
    const teamBase = await serve({ AUTH_ENABLED: "true" });
    const viewer = await browser.newContext({ viewport: { width: 1280, height: 800 }, extraHTTPHeaders: { "X-Auth-User": "vic", "X-Auth-Roles": "viewer" } });
    const vp = await viewer.newPage();
    await vp.goto(teamBase + "/");
    await vp.waitForSelector("body[data-ready=true]");
    assert.match(await vp.textContent("#who"), /vic \(viewer\) — read-only/);
    for (const sel of ["#accept", "#source-form", "#import-form", "#obs-add", "#gen-form", "#save-version"]) {
      assert.equal(await vp.locator(sel).isVisible(), false, `${sel} hidden for a viewer`);
    }
    await vp.click("#tabs button[data-view=sources]");
    assert.equal(await vp.locator("#sources-table tbody button", { hasText: "Run now" }).count(), 0);
    const denied = await vp.evaluate(async () => (await fetch("/api/pipeline/observables", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ kind: "ipv4", value: "192.0.2.1" }) })).status);
    assert.equal(denied, 403);
    await vp.screenshot({ path: path.join(ART, "06-viewer.png"), fullPage: true });
    await viewer.close();
    console.log(`e2e: all checks passed; screenshots in ${ART}`);
  } finally {
    await browser.close();
    feed.server.close();
    for (const c of children) c.kill("SIGTERM");
  }
}

main().catch((e) => {
  console.error(e);
  for (const c of children) c.kill("SIGTERM");
  process.exit(1);
});
