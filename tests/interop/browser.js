#!/usr/bin/env node
// Headless Chromium (through playwright-core) on the latency demo page served by our server
// (tests/tests/browser.rs): the browser build of engine.io-client, in a real browser.
//
//   node browser.js --url http://127.0.0.1:PORT [--mode upgrade|polling|websocket] [--screenshot FILE]
//
// One browser, a fresh page per mode, in turn: URL/?interval=50 (mode "upgrade": the page's
// default transports, polling then the upgrade), URL/?interval=50&transport=polling, and
// &transport=websocket; all three unless --mode names one. Each
// waits until the page has 5 round-trip samples (upgrade: and 2 more once upgraded) and
// prints one JSON line: {"mode", "ok", "sid", "latency": window.latency, "console_errors",
// "page_errors", "failed_requests"}. The Rust test asserts on it. The screenshot is of the
// default page.
'use strict';

const { chromium } = require('playwright-core');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
const { url, screenshot } = args;
const MODES = ['upgrade', 'polling', 'websocket'];
if (!url || (args.mode && !MODES.includes(args.mode))) {
  console.error('usage: browser.js --url URL [--mode upgrade|polling|websocket] [--screenshot FILE]');
  process.exit(2);
}

const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

/** Loads the page in `mode` and reports what it measured. */
async function measure(browser, mode) {
  const result = { mode, ok: false, sid: null, console_errors: [], page_errors: [], failed_requests: [] };
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('console', (msg) => { if (msg.type() === 'error') result.console_errors.push(msg.text()); });
  page.on('pageerror', (err) => result.page_errors.push(String(err)));
  page.on('requestfailed', (req) => {
    result.failed_requests.push(`${req.method()} ${req.url()}: ${req.failure() && req.failure().errorText}`);
  });
  try {
    const query = mode === 'upgrade' ? '' : `&transport=${mode}`;
    await page.goto(`${url}/?interval=50${query}`, { timeout: 10000 });
    await page.waitForFunction(() => window.latency && window.latency.samples.length >= 5, null, { timeout: 10000 });
    if (mode === 'upgrade') {
      // Upgraded, then two more samples: at least one round trip wholly on the WebSocket.
      await page.waitForFunction(() => window.latency.upgraded, null, { timeout: 5000 });
      const upgradedAt = await page.evaluate(() => window.latency.samples.length);
      await page.waitForFunction((n) => window.latency.samples.length >= n + 2, upgradedAt, { timeout: 5000 });
      if (screenshot) await page.screenshot({ path: screenshot });
    }
    result.ok = true;
  } catch (err) {
    result.error = String(err && err.message || err);
  }
  // The page's `const socket` is a global binding of its script.
  result.sid = await page.evaluate(() => (typeof socket === 'undefined' ? null : socket.id)).catch(() => null);
  result.latency = await page.evaluate(() => window.latency).catch(() => null);
  await context.close();
  return result;
}

async function main() {
  // A fresh profile per launch (playwright's default), a fresh context per page.
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS, timeout: 15000 });
  try {
    for (const mode of args.mode ? [args.mode] : MODES) {
      console.log(JSON.stringify(await measure(browser, mode)));
    }
  } finally {
    await browser.close();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
