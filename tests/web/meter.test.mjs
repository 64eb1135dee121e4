// The dashboard's Compute meter page in a real Chromium against a real `flopline serve` (harness.mjs):
// an empty workspace says how to start metering; then two synthetic runs are metered into its store
// with `flopline meter simulate` and `flopline meter watch --store` (tests/cli/meter_seed.sh), and
// the page's numbers are checked against the meter's own report: FLOP so far, the fraction of the
// nearest line, its projected crossing with the range, unmet duties flagged; a run's page charts
// its history with the lines, lists each line with its duties and the crossing with its record.
// axe finds no serious or critical violation and nothing scrolls sideways at 1366x768.
//
// Usage: node --test-reporter=spec tests/web/meter.test.mjs FLOPLINE_BINARY SOURCE_DIR
// (FLOPLINE_SCREENSHOTS=DIR saves the pages as PNG: scripts/dashboard-screenshots.sh).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import AxeBuilder from '@axe-core/playwright';

import { USERS, launchBrowser, login, newPage, startWorkspace } from './harness.mjs';

const [binary, source] = process.argv.slice(2).map((p) => path.resolve(p));
if (!binary || !source) {
  console.error('usage: node tests/web/meter.test.mjs FLOPLINE_BINARY SOURCE_DIR');
  process.exit(2);
}
const { flop } = await import(path.join(source, 'web/app/format.js'));
const shots = process.env.FLOPLINE_SCREENSHOTS;
// The pages docs/screenshots/ shows (scripts/dashboard-screenshots.sh).
const SHOT_PAGES = new Set(['meter', 'meter-run']);

let ws;
let browser;
let page;

before(async () => {
  ws = await startWorkspace({ binary, source, models: [], evidence: [], users: [USERS.officer] });
  browser = await launchBrowser();
  page = await newPage(browser);
  await login(page, ws.base, USERS.officer);
});

after(async () => {
  await browser?.close();
  const stopped = await ws?.stop();
  assert.doesNotMatch(stopped?.stderr ?? '', /AddressSanitizer|runtime error/, 'the server ran clean under the sanitizers');
});

async function checkPage(name) {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`), [],
    `axe on ${name}`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `${name} scrolls sideways by ${overflow}px on a 1366px screen`);
  assert.deepEqual(page.jsErrors, [], `${name}: no script errors`);
  if (shots && SHOT_PAGES.has(name)) await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: name === 'meter-run' });
}

// As the page writes a fraction of a line (pages/meter.js).
const percent = (f) => `${(100 * f).toFixed(f < 0.1 ? 1 : 0)}%`;
const ofLine = (f) => (f >= 10 ? `${Math.round(f)}× the line` : f >= 1 ? `${percent(f)} (crossed)` : percent(f));
// The text of a <time>: as the page writes it, checked by its datetime attribute.
const times = (locator) => locator.locator('time').evaluateAll((ts) => ts.map((t) => t.getAttribute('datetime')));

test('an empty workspace says how to start metering', async () => {
  await page.getByRole('link', { name: 'Compute meter' }).click();
  await page.getByRole('heading', { level: 1, name: 'Compute meter' }).waitFor();
  await page.getByText('No run is metered into this workspace yet').waitFor();
  assert.match(await page.locator('main pre').innerText(), /flopline meter watch .*--store STORE/);
  await checkPage('meter-empty');
});

let reports;
test('the runs table shows the meter\'s own figures', async () => {
  const seed = path.join(ws.dir, 'seed');
  execFileSync('bash', [path.join(source, 'tests/cli/meter_seed.sh'), binary, source, ws.store, seed], { stdio: 'inherit' });
  reports = Object.fromEntries(['r1', 'r2'].map((r) => [r, JSON.parse(fs.readFileSync(path.join(seed, `report-${r}.json`)))]));
  await page.reload();
  const table = page.getByRole('table', { name: 'Metered runs, by id' });
  await table.waitFor();
  for (const [run, report] of Object.entries(reports)) {
    const row = table.locator(`tr[data-run="${run}"]`);
    assert.equal(await row.locator('[data-field="flop"]').innerText(), flop(report.flop), `${run}: FLOP so far`);
    assert.equal(await row.getByRole('link', { name: report.model }).getAttribute('href'), `#/models/${report.model}`);
  }
  // r1: past 80% of the EU's line, its crossing projected with a range; its SB 1047 protocol not recorded.
  const eu = reports.r1.lines.find((l) => l.regime === 'eu-ai-act-gpai' && l.param === 'systemic_flop');
  const r1 = table.locator('tr[data-run="r1"]');
  assert.equal(await r1.locator('[data-field="fraction"]').innerText(), percent(eu.fraction));
  assert.equal(percent(eu.fraction), '82%');
  const pc = eu.projected_crossing;
  assert.deepEqual(await times(r1.locator('[data-field="crossing"]')), [pc.point, pc.earliest, pc.latest]);
  const unmet = reports.r1.lines.flatMap((l) => l.duties.filter((d) => d.unmet).map((d) => `${l.regime}/${d.id}`));
  assert.match(await r1.locator('[data-field="duties"]').innerText(), new RegExp(`^⚠ ${new Set(unmet).size} unmet`));
  // r1 crossed the GPAI line (1e23); r2 that and the systemic-risk line (1e25).
  assert.match(await r1.locator('[data-field="crossing"]').innerText(), /1 line crossed/);
  assert.match(await table.locator('tr[data-run="r2"] [data-field="crossing"]').innerText(), /2 lines crossed/);
  await checkPage('meter');
});

test('a run\'s page: the chart, each line with its duties, the crossings', async () => {
  await page.getByRole('link', { name: 'r1', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Run r1' }).waitFor();
  const report = reports.r1;
  assert.equal(await page.locator('[data-field="flop"]').innerText(), flop(report.flop));
  assert.equal(await page.locator('[data-field="tokens"]').innerText(), Number(report.tokens).toLocaleString('en-US'));
  await page.locator('figure.chart canvas').waitFor();
  const legend = await page.locator('figure.chart .u-legend').innerText();
  assert.match(legend, /Counted/);
  assert.match(legend, /Projected/);
  assert.match(legend, /EU AI Act/);
  const lines = page.getByRole('table', { name: 'Each regime\'s compute line the run moves' });
  for (const l of report.lines.filter((x) => x.moved_by_run)) {
    const row = lines.locator(`tr[data-line="${l.regime}/${l.param}/${l.readings.join('+')}"]`);
    assert.equal(await row.locator('[data-field="fraction"]').innerText(), ofLine(l.fraction), `${l.regime} ${l.param}`);
    for (const d of l.duties) {
      const duty = row.locator(`li[data-duty="${d.id}"]`);
      assert.match(await duty.innerText(), d.met ? /Met/ : d.unmet ? /Not recorded|Overdue/ : /./, `${l.param} ${d.id}`);
    }
  }
  const sb = report.lines.find((l) => l.regime === 'ca-sb1047' && l.param === 'covered_flop');
  assert.ok(sb.duties.some((d) => d.id === 'ssp-before-training' && d.unmet), 'the seed leaves the protocol unrecorded');
  // r1 crossed only the GPAI line (1e23), with its record.
  assert.deepEqual(await page.locator('li[data-crossing]').evaluateAll((ls) => ls.map((l) => l.dataset.crossing)), ['gpai_flop']);
  await checkPage('meter-run');

  await page.goto(`${ws.base}/#/meter/r2`);
  await page.getByRole('heading', { level: 1, name: 'Run r2' }).waitFor();
  const crossing = page.locator('li[data-crossing="systemic_flop"]');
  await crossing.waitFor();
  assert.match(await crossing.innerText(), /crossed at .* 1e25 FLOP/);
  assert.match(await crossing.getByRole('link').getAttribute('href'), /^#\/evidence\/\d+$/);
  await checkPage('meter-run-crossed');
});

test('an unknown run: the server\'s problem, said on the page', async () => {
  await page.goto(`${ws.base}/#/meter/r9`);
  await page.getByRole('heading', { level: 1, name: 'Run r9' }).waitFor();
  await page.getByText("no run 'r9' has been metered into this workspace").waitFor();
});
