// A real workspace for the browser tests, the screenshots and the benchmark: a fresh SQLite store in
// a temporary folder, users added with `flopline user add`, model files recorded with `flopline
// import`, and `flopline serve` on 127.0.0.1 at a port the OS picks. Debian's chromium is driven by
// playwright-core.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.FLOPLINE_CHROMIUM ?? '/usr/bin/chromium';

// The users the tests log in as: one per role that matters to the dashboard.
export const USERS = {
  officer: { name: 'olivia', role: 'compliance-officer', password: 'officer-password-1' },
  engineer: { name: 'emil', role: 'engineer', password: 'engineer-password-1' },
  auditor: { name: 'audrey', role: 'auditor', password: 'auditor-password-1' },
};

export function exampleModels(source) {
  const dir = path.join(source, 'examples', 'models');
  return fs.readdirSync(dir).filter((f) => f.endsWith('.toml')).sort().map((f) => path.join(dir, f));
}

// The example evidence (examples/evidence/): kind, file, and the model each is about.
export function exampleEvidence(source) {
  const file = (name) => path.join(source, 'examples', 'evidence', `${name}.json`);
  return [
    { kind: 'capability-assessment', file: file('capability-assessment'), model: 'acme-f1' },
    { kind: 'test-results', file: file('test-results'), model: 'acme-f1' },
    { kind: 'incident-report', file: file('incident-report'), model: 'acme-f1' },
    { kind: 'statement-of-compliance', file: file('statement-of-compliance'), model: 'acme-f1' },
    { kind: 'shutdown-drill', file: file('shutdown-drill') },
  ];
}

// Starts a workspace: {base, dir, store, stop()}. `models`: model files to import; `evidence`:
// records appended with `flopline ledger append`.
export async function startWorkspace({
  binary, source, models = exampleModels(source), users = Object.values(USERS), evidence = exampleEvidence(source),
}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flopline-web-'));
  const store = `sqlite:${path.join(dir, 'workspace.db')}`;
  const law = ['--regimes-dir', path.join(source, 'regimes'), '--data-dir', path.join(source, 'data')];
  const run = (args, input) => execFileSync(binary, args, { input: input ?? '', stdio: ['pipe', 'pipe', 'inherit'], cwd: dir });
  // The first command creates the store and its log (the key beside it); the users come first.
  for (const u of users) run(['user', 'add', '--store', store, '--name', u.name, '--role', u.role, ...law], `${u.password}\n`);
  if (models.length) run(['import', '--store', store, '--data-dir', path.join(source, 'data'), ...models]);
  for (const e of evidence) {
    run(['ledger', 'append', '--store', store, '--kind', e.kind, '--file', e.file, ...(e.model ? ['--model', e.model] : [])]);
  }

  const server = spawn(binary, ['serve', '--store', store, '--listen', '127.0.0.1:0', ...law], {
    cwd: dir, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  server.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise((resolve) => server.on('exit', (code, signal) => resolve({ code, signal })));
  const base = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`flopline serve printed no address in 60 s: ${stderr}`)), 60000);
    server.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    exited.then(({ code }) => reject(new Error(`flopline serve exited (${code}) before listening: ${stderr}`)));
  });

  return {
    base,
    dir,
    store,
    serverErrors: () => stderr,
    async stop() {
      server.kill('SIGTERM');
      const status = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 20000))]);
      if (!status) server.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
      return { status, stderr };
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

// A new browser context on a laptop-sized screen, in a time zone other than UTC so that a local
// time and its UTC differ.
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({
    viewport: { width: 1366, height: 768 },
    timezoneId: 'America/Los_Angeles',
    locale: 'en-US',
    ...options,
  });
  const page = await context.newPage();
  // FLOPLINE_WEB_DEV_DIR=web: the page's files from that folder instead of the binary's embedded
  // copy (to try a change to web/ without rebuilding; the API still comes from the server).
  const dev = process.env.FLOPLINE_WEB_DEV_DIR;
  if (dev) {
    await page.route((url) => !url.pathname.startsWith('/api/'), async (route) => {
      const url = new URL(route.request().url());
      const file = path.join(dev, url.pathname === '/' ? 'index.html' : url.pathname);
      if (!fs.existsSync(file)) return route.continue();
      const type = { '.html': 'text/html', '.css': 'text/css', '.js': 'text/javascript', '.mjs': 'text/javascript' }[path.extname(file)];
      return route.fulfill({ body: fs.readFileSync(file), contentType: type ?? 'application/octet-stream' });
    });
  }
  const errors = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 40[0-9]/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  page.jsErrors = errors;
  return page;
}

export async function login(page, base, user) {
  await page.goto(`${base}/`);
  await page.getByLabel('Name').fill(user.name);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
}
