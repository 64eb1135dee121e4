// The dashboard's first render of a large inventory in Chromium, and what it transfers.
//
// A workspace of N synthetic models (bench/assess_inventory.py, recorded with `flopline import`) is
// served by `flopline serve`; a logged-in browser with an empty cache opens #/models and the clock
// stops when the first page of rows is on screen (performance.now() from the navigation's start).
// Transferred: the bytes on the wire for everything that page loaded (Resource Timing's
// transferSize, headers included: gzip-compressed by the server when the browser accepts it), and
// what the same bodies are gzip-compressed at level 6 (a check on the server's figure). The server
// judges every model as of today as it starts (then keeps the summary up to date as models change);
// the first inventory page fetched right after the start may wait for that: it is reported apart
// from the browser runs. Medians of ROUNDS runs.
//
// Usage: node bench/dashboard_bench.mjs FLOPLINE_BINARY SOURCE_DIR [MODELS=10000] [ROUNDS=7]
// (tests/web's packages installed: tests/web/npm-ci.sh). Prints a JSON summary.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

import { USERS, launchBrowser, login, newPage, startWorkspace } from '../tests/web/harness.mjs';

const [binary, source] = process.argv.slice(2, 4).map((p) => path.resolve(p));
const models = Number(process.argv[4] ?? 10000);
const rounds = Number(process.argv[5] ?? 7);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flopline-dash-bench-'));
const inventory = path.join(tmp, `inventory-${models}.toml`);
execFileSync('python3', [path.join(source, 'bench/assess_inventory.py'), '--models', String(models), '--format', 'toml', '--out', inventory]);
const ws = await startWorkspace({ binary, source, models: [inventory], users: [USERS.officer], evidence: [] });
const browser = await launchBrowser();

async function firstRender() {
  const page = await newPage(browser);
  await login(page, ws.base, USERS.officer);
  const cookies = await page.context().cookies();
  await page.context().close();
  // A fresh context: an empty cache, the session cookie only.
  const fresh = await newPage(browser);
  await fresh.context().addCookies(cookies);
  await fresh.goto(`${ws.base}/#/models`, { waitUntil: 'commit' });
  await fresh.waitForFunction(() => document.querySelectorAll('table.inventory tbody tr').length >= 100, null, { timeout: 600000 });
  const m = await fresh.evaluate(() => {
    const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
    return {
      ms: performance.now(),
      transfer: entries.reduce((n, e) => n + (e.transferSize || 0), 0),
      body: entries.reduce((n, e) => n + (e.decodedBodySize || 0), 0),
      urls: entries.filter((e) => !e.name.includes('/events/stream')).map((e) => e.name),
      rows: document.querySelectorAll('table.inventory tbody tr').length,
    };
  });
  // What gzip would make of the same responses (fetched again with the same cookie).
  const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  let gzip = 0;
  for (const url of m.urls) {
    const res = await fetch(url, { headers: { cookie } });
    const body = Buffer.from(await res.arrayBuffer());
    gzip += zlib.gzipSync(body, { level: 6 }).length;
  }
  m.gzip = gzip;
  m.encoding = (await fetch(`${ws.base}/app/main.js`, { headers: { 'accept-encoding': 'gzip, br' } })).headers.get('content-encoding');
  await fresh.context().close();
  return m;
}

// The server's first answer for the inventory: it assesses every model once, then caches.
async function serverCold() {
  const login = await fetch(`${ws.base}/api/v1/session`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: USERS.officer.name, password: USERS.officer.password }),
  });
  const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const t0 = performance.now();
  const res = await fetch(`${ws.base}/api/v1/models?limit=100`, { headers: { cookie } });
  await res.arrayBuffer();
  const first = performance.now() - t0;
  const t1 = performance.now();
  await (await fetch(`${ws.base}/api/v1/models?limit=100`, { headers: { cookie } })).arrayBuffer();
  return { first, again: performance.now() - t1, status: res.status };
}

try {
  const server = await serverCold();
  const cold = await firstRender();
  const warm = [];
  for (let i = 0; i < rounds; i++) warm.push(await firstRender());
  const out = {
    models,
    rounds,
    chromium: browser.version(),
    server_first_inventory_page_ms: Math.round(server.first),
    server_inventory_page_cached_ms: Math.round(server.again),
    first_render_ms_first_browser: Math.round(cold.ms),
    warm_first_render_ms_median: Math.round(median(warm.map((w) => w.ms))),
    warm_first_render_ms_all: warm.map((w) => Math.round(w.ms)),
    rows_rendered: warm[0].rows,
    requests: warm[0].urls.length,
    transferred_bytes: median(warm.map((w) => w.transfer)),
    body_bytes: median(warm.map((w) => w.body)),
    gzip_bytes_if_compressed: median(warm.map((w) => w.gzip)),
    server_content_encoding: warm[0].encoding ?? 'none',
  };
  console.log(JSON.stringify(out, null, 2));
} finally {
  await browser.close();
  await ws.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
