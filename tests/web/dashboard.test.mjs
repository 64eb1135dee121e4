// The dashboard in a real Chromium against a real `flopline serve` (harness.mjs): log in, see the
// example inventory and filter it (the filters in the URL), open a covered model and its clause
// trace, record an incident and watch its 72-hour clock appear (on this page, and live on another
// dashboard through the server's event stream), append evidence and check its proof, be refused as
// an auditor when writing (nothing stored), the forms' error summaries, keyboard reach, no
// horizontal scrolling on a laptop screen, and axe: no serious or critical violation on any page.
//
// Usage: node --test-reporter=spec tests/web/dashboard.test.mjs FLOPLINE_BINARY SOURCE_DIR
// (FLOPLINE_SCREENSHOTS=DIR also saves the main pages as PNG: scripts/dashboard-screenshots.sh).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';

import AxeBuilder from '@axe-core/playwright';

import { USERS, launchBrowser, login, newPage, startWorkspace } from './harness.mjs';

const [binary, source] = process.argv.slice(2).map((p) => path.resolve(p));
if (!binary || !source) {
  console.error('usage: node tests/web/dashboard.test.mjs FLOPLINE_BINARY SOURCE_DIR');
  process.exit(2);
}
const { EVENT_KINDS, EVIDENCE_KINDS } = await import(path.join(source, 'web/app/kinds.js'));
const shots = process.env.FLOPLINE_SCREENSHOTS;
// The pages docs/screenshots/ shows (scripts/dashboard-screenshots.sh).
const SHOT_PAGES = new Set(['login-error', 'obligations', 'inventory', 'model', 'model-derivative', 'incident-recorded',
  'evidence-form', 'evidence-record', 'evidence', 'event-form-errors', 'auditor-refused', 'killswitch', 'documents',
  'document-file', 'document-filed']);

let ws;
let browser;
let page; // the compliance officer's
const axeChecked = [];

before(async () => {
  ws = await startWorkspace({ binary, source });
  browser = await launchBrowser();
  page = await newPage(browser);
});

after(async () => {
  await browser?.close();
  const stopped = await ws?.stop();
  assert.doesNotMatch(stopped?.stderr ?? '', /AddressSanitizer|runtime error/, 'the server ran clean under the sanitizers');
});

// axe on the page as it is now: no serious or critical violation; the page fits a laptop screen.
async function checkPage(p, name) {
  const results = await new AxeBuilder({ page: p }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`), [],
    `axe on ${name}`);
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `${name} scrolls sideways by ${overflow}px on a 1366px screen`);
  assert.deepEqual(p.jsErrors, [], `${name}: no script errors`);
  axeChecked.push(name);
  if (shots && SHOT_PAGES.has(name)) await p.screenshot({ path: path.join(shots, `${name}.png`), fullPage: false });
}

// The API as the officer's browser sees it (same session cookie).
const apiGet = (p, url) => p.evaluate(async (u) => (await fetch(`/api/v1${u}`)).json(), url);

test('the login page: a wrong password is named in the error summary', async () => {
  await page.goto(`${ws.base}/`);
  await page.getByRole('heading', { name: 'Log in to flopline' }).waitFor();
  await checkPage(page, 'login');
  await page.getByLabel('Name').fill(USERS.officer.name);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  const summary = page.getByRole('alert').filter({ hasText: 'There is a problem' });
  await summary.waitFor();
  assert.match(await summary.innerText(), /Password: The name or the password is wrong/);
  // The summary's link takes the focus to the field it names.
  await summary.getByRole('link').click();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'field-password');
  await checkPage(page, 'login-error');
});

test('log in and see what is due first, then the example inventory', async () => {
  await login(page, ws.base, USERS.officer);
  await page.getByRole('heading', { name: 'What is due', level: 1 }).waitFor();
  await page.locator('.tally').waitFor();
  // The calendar is the server's first page (current statutes), its tally the server's group counts.
  const calendar = await apiGet(page, '/obligations?versions=current&limit=100');
  const tally = await page.locator('.tally').innerText();
  assert.match(tally, new RegExp(`${calendar.groups.overdue}\\s+overdue`));
  assert.match(tally, new RegExp(`${calendar.groups.met}\\s+met`));
  const shownRows = await page.locator('table.obligations tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.obligation));
  assert.deepEqual(shownRows.sort(), calendar.items.map((o) => o.id).sort(), 'the rows are the API\'s page');
  await checkPage(page, 'obligations');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Models' }).click();
  await page.getByRole('heading', { name: 'Models', level: 1 }).waitFor();
  const table = page.locator('table.inventory');
  await table.waitFor();
  const ids = await table.locator('tbody th a').allInnerTexts();
  for (const id of ['acme-f1', 'acme-f1-chat', 'acme-f1-partner-copy']) assert.ok(ids.includes(id), `${id} listed`);
  const acme = table.locator('tbody tr', { has: page.getByRole('link', { name: 'acme-f1', exact: true }) });
  assert.match(await acme.innerText(), /1\.2e26 FLOP/);
  assert.match(await acme.innerText(), /Covered model/);
  // Each regime's margin and next deadline, as the API gives them for the same list.
  const listed = (await apiGet(page, '/models?search=acme-f1')).items.find((m) => m.id === 'acme-f1');
  const sb1047 = listed.determinations['ca-sb1047'];
  assert.ok(sb1047.margin, 'the API gives the SB 1047 margin');
  assert.equal(await acme.locator('.margin').first().innerText(), sb1047.margin.replaceAll('_', ' '));
  const deadlines = await acme.locator('.next-deadline .duty').allInnerTexts();
  const nexts = Object.entries(listed.determinations).filter(([r, d]) => !r.includes('@') && d.next_deadline).map(([, d]) => d.next_deadline.text);
  assert.deepEqual(deadlines.sort(), nexts.sort(), 'each current regime\'s next deadline');
  await checkPage(page, 'inventory');

  // Filters live in the URL: a search and a regime status, then the URL alone restores them.
  await page.getByLabel('Search id or developer').fill('acme');
  await page.waitForURL(/search=acme/);
  await page.getByLabel('Status').selectOption('covered');
  await page.waitForURL(/status=covered/);
  await page.getByLabel('Regime').selectOption('ca-sb1047');
  await page.waitForURL(/regime=ca-sb1047/);
  await page.waitForFunction(() => {
    const ids = [...document.querySelectorAll('table.inventory tbody th a')].map((a) => a.textContent);
    return ids.length > 0 && ids.every((id) => id.includes('acme'));
  });
  const filtered = await table.locator('tbody th a').allInnerTexts();
  assert.ok(filtered.length >= 1 && filtered.every((id) => id.includes('acme')), `only acme models: ${filtered}`);
  const url = page.url();
  await page.goto(`${ws.base}/#/`);
  await page.goto(url);
  await page.locator('table.inventory').waitFor();
  assert.equal(await page.getByLabel('Search id or developer').inputValue(), 'acme');
  assert.equal(await page.getByLabel('Regime').inputValue(), 'ca-sb1047');
  assert.deepEqual(await page.locator('table.inventory tbody th a').allInnerTexts(), filtered);

  // The derivatives of a model: the filter in the URL, the list the API's derived_from gives.
  await page.goto(`${ws.base}/#/models`);
  await page.locator('table.inventory').waitFor();
  await page.getByLabel('Derivatives of').fill('acme-f1');
  await page.getByLabel('Derivatives of').press('Enter');
  await page.waitForURL(/derived_from=acme-f1/);
  const derived = (await apiGet(page, '/models?derived_from=acme-f1')).items.map((m) => m.id);
  await page.waitForFunction((want) => {
    const ids = [...document.querySelectorAll('table.inventory tbody th a')].map((a) => a.textContent);
    return ids.join() === want.join();
  }, derived);
  assert.ok(derived.includes('acme-f1-chat') && !derived.includes('acme-f1'), `derivatives: ${derived}`);
});

test('a covered model: the answer per regime, its clause trace, readings side by side, lineage, compute', async () => {
  await page.goto(`${ws.base}/#/models`);
  await page.locator('table.inventory').getByRole('link', { name: 'acme-f1', exact: true }).click();
  await page.getByRole('heading', { name: 'acme-f1', level: 1 }).waitFor();
  const sb1047 = page.locator('section.regime').filter({ has: page.getByRole('heading', { name: /SB 1047/ }) }).first();
  await sb1047.waitFor();
  assert.match(await sb1047.locator('.card-head').innerText(), /Covered model/);
  // The answer first (margins to every line), the reasoning one click away.
  assert.match(await sb1047.locator('table.margins').first().innerText(), /1e26 FLOP/);
  const trace = sb1047.locator('details.why');
  assert.equal(await trace.locator('ol.trace').isVisible(), false);
  await trace.locator('summary').click();
  const steps = await trace.locator('ol.trace > li').allInnerTexts();
  assert.ok(steps.length >= 2, 'the clause trace has its steps');
  assert.ok(steps.some((s) => /§22602/.test(s)), `the trace cites the statute: ${steps.join(' | ')}`);
  // The lineage graph: the fine-tune and the partner's copy hang off this model, as links.
  const graph = page.locator('figure.lineage svg');
  await graph.waitFor();
  for (const id of ['acme-f1-chat', 'acme-f1-partner-copy']) assert.equal(await graph.locator(`a:has(title:text-is("${id}"))`).count() + await graph.getByText(id, { exact: true }).count() > 0, true, `${id} in the lineage`);
  // Compute: its own and along the lineage, with a range, against the lines.
  assert.match(await page.locator('.compute .figures').innerText(), /Its own training\s+1\.2e26 FLOP/);
  await page.locator('.compute .uplot').waitFor();
  await page.evaluate(() => window.scrollTo(0, 0));
  await checkPage(page, 'model');

  // A derivative whose status depends on the reading shows each reading side by side.
  await page.goto(`${ws.base}/#/models/acme-f1-chat`);
  await page.getByRole('heading', { name: 'acme-f1-chat', level: 1 }).waitFor();
  await page.locator('section.regime').first().waitFor();
  assert.ok(await page.locator('.side-by-side .reading').count() >= 2, 'readings side by side');
  await page.locator('div.readings').first().scrollIntoViewIfNeeded();
  await page.evaluate(() => document.querySelector('div.readings')?.closest('section.regime')?.scrollIntoView());
  await checkPage(page, 'model-derivative');
});

test('record an incident: its 72-hour clock appears, here and live on another dashboard', async () => {
  // Another officer's dashboard, open on the calendar, is to update by itself.
  const other = await newPage(browser);
  await login(other, ws.base, USERS.officer);
  await other.getByRole('heading', { name: 'What is due', level: 1 }).waitFor();
  await other.locator('.tally').waitFor();
  const soonBefore = await other.locator('section.group-soon tbody tr').count();

  await page.goto(`${ws.base}/#/models`);
  await page.getByRole('link', { name: 'Record incident' }).click();
  await page.getByRole('heading', { name: 'Record an incident', level: 1 }).waitFor();
  await checkPage(page, 'incident-form');
  await page.getByLabel('Model').fill('acme-f1');
  await page.getByRole('button', { name: 'Record the incident and start its clocks' }).click();
  await page.getByRole('heading', { name: 'Incident recorded', level: 1 }).waitFor();
  const clocks = page.locator('ul.clocks li');
  await clocks.first().waitFor();
  const texts = await clocks.allInnerTexts();
  assert.ok(texts.some((t) => /due in 7[12] h/.test(t) && /§22603\(g\)/.test(t)), `a 72-hour clock under SB 1047 §22603(g): ${texts.join(' | ')}`);
  // The clock runs: local time with UTC beside.
  assert.match(texts.join(' '), /PST.*\(.*UTC\)/s);
  await checkPage(page, 'incident-recorded');

  // The other dashboard shows it without a reload (server-sent events).
  await other.waitForFunction((n) => document.querySelectorAll('section.group-soon tbody tr').length > n, soonBefore, { timeout: 15000 });
  const row = other.locator('section.group-soon tbody tr', { hasText: '§22603(g)' }).first();
  assert.match(await row.innerText(), /acme-f1[\s\S]*due in 7[12] h/);
  await other.context().close();
});

test('append evidence with a redaction and check its proof, before and after a checkpoint', async () => {
  await page.goto(`${ws.base}/#/evidence/new`);
  await page.getByRole('heading', { name: 'Append evidence', level: 1 }).waitFor();
  await page.getByLabel('Kind of record').selectOption('test-results');
  await page.getByLabel('Model', { exact: true }).fill('acme-f1');
  await page.getByLabel('Document', { exact: true }).fill(JSON.stringify({ suite: 'cyber-range-v2', result: 'no uplift found', harness_config: 'internal' }));
  await page.getByLabel('Field harness_config').selectOption('trade-secret');
  await checkPage(page, 'evidence-form');
  await page.getByRole('button', { name: 'Append to the log' }).click();
  await page.getByRole('heading', { name: 'Evidence appended', level: 1 }).waitFor();
  const appended = await page.getByRole('status').innerText();
  const index = Number(/record (\d+)/.exec(appended)[1]);

  await page.getByRole('link', { name: 'Check its proof' }).click();
  await page.getByRole('heading', { name: `Record ${index}`, level: 1 }).waitFor();
  await page.locator('.verdict-line .verdict').waitFor();
  const before = await page.locator('article').innerText();
  assert.match(before, /The record's contents hash to the fingerprint listed for it/);
  assert.match(before, /The proof places it at position/);
  assert.match(before, /harness_config withheld from public copies: trade-secret/);
  assert.match(await page.locator('.verdict-line').innerText(), /In the log, awaiting a checkpoint|Verified/);
  await checkPage(page, 'evidence-record');

  // A compliance officer signs a checkpoint; the proof then ends in the signed checkpoint.
  await page.goto(`${ws.base}/#/evidence`);
  await page.getByRole('button', { name: 'Verify the log and sign a checkpoint' }).click();
  await page.locator('.checkpoint dl').waitFor();
  await page.goto(`${ws.base}/#/evidence/${index}`);
  await page.getByRole('heading', { name: `Record ${index}`, level: 1 }).waitFor();
  await page.locator('.verdict-line .verdict-verified').waitFor();
  assert.match(await page.locator('article').innerText(), /signed by the workspace's key/);

  // The list checks every record's proof in place.
  await page.goto(`${ws.base}/#/evidence`);
  await page.locator('table.evidence').waitFor();
  await page.getByRole('button', { name: 'Check every proof on this page' }).click();
  await page.waitForFunction(() => [...document.querySelectorAll('table.evidence tbody tr')].every((r) => /Verified|awaiting|Purged/.test(r.innerText)));
  assert.equal(await page.locator('table.evidence .verdict-failed').count(), 0);
  // What each record withholds from public copies, in the list.
  const row = page.locator('table.evidence tbody tr', { has: page.getByRole('link', { name: String(index), exact: true }) });
  assert.match(await row.locator('ul.redactions').innerText(), /harness_config\s*: trade-secret/);
  await checkPage(page, 'evidence');
});

test('a covered model\'s documents: what is missing, file the statement of compliance, its proof verified', async () => {
  await page.goto(`${ws.base}/#/models/acme-f1`);
  await page.getByRole('heading', { name: 'acme-f1', level: 1 }).waitFor();
  await page.getByRole('link', { name: 'Documents', exact: true }).click();
  await page.getByRole('heading', { name: 'Documents for acme-f1', level: 1 }).waitFor();
  const card = page.locator('section.document[data-kind="sb1047-statement-of-compliance"]');
  await card.waitFor();
  // What the record cannot fill is named, element by element, in the statute's words.
  const missing = await card.locator('table.elements tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.element));
  for (const element of ['f2A', 'f2B', 'f2C', 'signatory']) assert.ok(missing.includes(element), `${element} missing: ${missing}`);
  assert.match(await card.innerText(), /Owed: the model is Covered model under SB 1047/);
  // The numbers on the page are the API's.
  const listing = await apiGet(page, '/models/acme-f1/documents');
  const statement = listing.documents.find((d) => d.kind === 'sb1047-statement-of-compliance');
  assert.match(await card.locator('.completeness').innerText(), new RegExp(`${statement.incomplete.filter((i) => i.state === 'missing').length} missing`));
  await page.evaluate(() => window.scrollTo(0, 0));
  // axe before a preview opens: it cannot enter a frame that runs no script.
  await checkPage(page, 'documents');
  await card.getByRole('button', { name: 'Preview the draft' }).click();
  const preview = card.frameLocator('iframe.document-preview');
  await preview.locator('h1').waitFor();
  assert.match(await preview.locator('h1').innerText(), /Statement of compliance/);
  assert.equal(await card.locator('iframe.document-preview').getAttribute('sandbox'), '');

  await card.getByRole('link', { name: 'Write and file' }).click();
  await page.getByRole('heading', { name: /^File: Statement of compliance/, level: 1 }).waitFor();
  // The server's refusal names the field: no signatory, which the statement's record needs.
  await page.getByRole('button', { name: 'File the document' }).click();
  const summary = page.locator('.error-summary');
  await summary.waitFor();
  assert.match(await summary.innerText(), /Signatory: a statement-of-compliance record needs its 'signer'/);
  await page.getByLabel('Signatory’s name').fill('Dana Reyes');
  await page.getByLabel('Signatory’s office').fill('Chief Technology Officer');
  const heading = (id) => statement.elements.find((e) => e.id === id).heading;
  await page.getByLabel(heading('f2A'), { exact: true }).fill('The assessment found no critical capability <b>with safeguards</b>.');
  await page.getByLabel(heading('f2B'), { exact: true }).fill('Residual risk lies in under-elicited evaluations (margin 0.5x).');
  await page.getByLabel(heading('f2C'), { exact: true }).fill('Reviewed the protocol.\nObserved the quarterly drill.');
  await page.getByLabel(`Withhold “${heading('f2B')}”`).selectOption('trade-secret');
  await page.getByLabel(`Why “${heading('f2B')}” is withheld`).fill('names the evaluation margins');
  await checkPage(page, 'document-file');
  await page.getByRole('button', { name: 'File the document' }).click();
  await page.getByRole('status').filter({ hasText: 'Filed as ledger entry' }).waitFor();
  const index = Number(/entry (\d+)/.exec(await page.getByRole('status').innerText())[1]);
  await page.locator('ol.checks li').first().waitFor();
  const checks = await page.locator('ol.checks').first().innerText();
  assert.match(checks, /The public copy's fields open the same record/);
  assert.match(checks, /The unredacted original opens the same record/);
  // The public copy withholds the redacted element and says why; what people wrote is text, not markup.
  await page.getByRole('button', { name: 'Show the public copy' }).click();
  const copy = page.frameLocator('iframe.document-preview');
  await copy.locator('h1').waitFor();
  const shown = await copy.locator('body').innerText();
  assert.match(shown, /Withheld from this public copy on the ground trade-secret: names the evaluation margins/);
  assert.doesNotMatch(shown, /margin 0\.5x/);
  assert.match(shown, /<b>with safeguards<\/b>/);

  // Signed checkpoint: the proof, checked in the browser, ends in it.
  await page.goto(`${ws.base}/#/evidence`);
  await page.getByRole('button', { name: 'Verify the log and sign a checkpoint' }).click();
  await page.waitForFunction((n) => /Records covered/.test(document.querySelector('.checkpoint')?.innerText ?? '') &&
    Number(document.querySelector('.checkpoint dd')?.textContent.replace(/,/g, '')) > n, index);
  await page.goto(`${ws.base}/#/documents/${index}`);
  await page.locator('.verdict-line .verdict-verified').waitFor();
  assert.match(await page.locator('.verdict-line').innerText(), /Both copies match the record/);
  // Signing it: the signature is recorded and listed.
  await page.getByLabel('Name', { exact: true }).fill('Dana Reyes');
  await page.getByLabel('Office', { exact: true }).fill('Chief Technology Officer');
  await page.getByRole('button', { name: 'Sign this version' }).click();
  await page.waitForFunction(() => /Signed by Dana Reyes/.test(document.querySelector('#sig-h')?.parentElement?.innerText ?? ''));
  await page.evaluate(() => window.scrollTo(0, 0));
  await checkPage(page, 'document-filed');
  const proof = await apiGet(page, `/documents/${index}/proof`);
  assert.equal(proof.verified, true);
  assert.deepEqual(proof.signatures.map((x) => x.signer), ['Dana Reyes']);
});

test('forms name the field in error: the page\'s own checks and the server\'s', async () => {
  await page.goto(`${ws.base}/#/events/new`);
  await page.getByRole('heading', { name: 'Record an event', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Record the event' }).click();
  const summary = page.locator('.error-summary');
  await summary.waitFor();
  assert.match(await summary.innerText(), /Model: Enter the id of the model/);
  assert.match(await summary.innerText(), /What happened: Choose what happened/);
  assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('error-summary')), true);
  await checkPage(page, 'event-form-errors');
  // The server's problem document names the field: a model it does not know.
  await page.getByLabel('Model').fill('no-such-model');
  await page.getByLabel('What happened').selectOption('released');
  await page.getByRole('button', { name: 'Record the event' }).click();
  await page.waitForFunction(() => /no model 'no-such-model'/.test(document.querySelector('.error-summary')?.innerText ?? ''));
  assert.match(await summary.innerText(), /Model: no model 'no-such-model'/);
  assert.match(await page.locator('.field-error').innerText(), /no model 'no-such-model'/);
});

test('an auditor reads everything and is refused when writing; nothing is stored', async () => {
  const auditor = await newPage(browser);
  await login(auditor, ws.base, USERS.auditor);
  const events = async () => (await apiGet(page, '/events?limit=1000')).items.length;
  const evidence = async () => (await apiGet(page, '/evidence?limit=1000')).items.length;
  const [eventsBefore, evidenceBefore] = [await events(), await evidence()];

  await auditor.getByRole('link', { name: 'Record incident' }).click();
  await auditor.getByRole('heading', { name: 'Record an incident', level: 1 }).waitFor();
  assert.match(await auditor.getByRole('note').innerText(), /Your role \(auditor\) can read the workspace but not record events/);
  await auditor.getByLabel('Model').fill('acme-f1');
  await auditor.getByRole('button', { name: 'Record the incident and start its clocks' }).click();
  const summary = auditor.locator('.error-summary');
  await summary.waitFor();
  assert.match(await summary.innerText(), /Your role \(auditor\) can read the workspace but not record events/);
  await checkPage(auditor, 'auditor-refused');

  await auditor.goto(`${ws.base}/#/evidence/new`);
  await auditor.getByLabel('Kind of record').selectOption('shutdown-drill');
  await auditor.getByLabel('Document', { exact: true }).fill('{"scope": "test"}');
  await auditor.getByRole('button', { name: 'Append to the log' }).click();
  await auditor.locator('.error-summary').waitFor();
  assert.match(await auditor.locator('.error-summary').innerText(), /not file evidence/);
  // The auditor sees no officer's button, and the store holds no new event or record.
  await auditor.goto(`${ws.base}/#/evidence`);
  await auditor.locator('.checkpoint dl').waitFor();
  assert.equal(await auditor.getByRole('button', { name: 'Verify the log and sign a checkpoint' }).count(), 0);
  assert.equal(await events(), eventsBefore);
  assert.equal(await evidence(), evidenceBefore);
  await auditor.context().close();
});

test('the kill switch page and the keyboard: "Record incident" is reached by Tab from any page', async () => {
  await page.goto(`${ws.base}/#/killswitch`);
  await page.getByRole('heading', { name: 'Kill switch', level: 1 }).waitFor();
  await page.locator('#drill-h').waitFor();
  // The agents the recorded drill reached, as the API lists them.
  const { agents } = await apiGet(page, '/killswitch/agents');
  assert.ok(agents.length >= 1, 'the example drill reached agents');
  await page.locator('table.agents').waitFor();
  const listedAgents = await page.locator('table.agents tbody th').allInnerTexts();
  assert.deepEqual(listedAgents, agents.map((a) => a.id));
  assert.match(await page.locator(`table.agents tr[data-agent="${agents[0].id}"]`).innerText(), /Drill 7[\s\S]*Stopped/);
  await checkPage(page, 'killswitch');
  // From the page's heading, through the page (the agents' and the records' links), round to the header.
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(() => document.activeElement?.textContent === 'Record incident')) break;
  }
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Record incident');
  // Where the focus is the moment the new page's heading appears: on it, in the same task (a
  // focus given a frame later left a keystroke in between on the link followed, and made this
  // test fail now and then when it read the focus before that frame).
  await page.evaluate(() => {
    window.focusAtHeading = new Promise((resolve) => {
      const seen = new MutationObserver(() => {
        const h1 = [...document.querySelectorAll('main h1')].find((e) => e.textContent === 'Record an incident');
        if (!h1) return;
        seen.disconnect();
        resolve(document.activeElement?.tagName);
      });
      seen.observe(document.body, { childList: true, subtree: true });
    });
  });
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Record an incident', level: 1 }).waitFor();
  assert.equal(await page.evaluate(() => window.focusAtHeading), 'H1', 'the new page\'s heading has the focus as it appears');
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1', 'the new page\'s heading has the focus');
});

test('every kind the dashboard offers is one the server knows', async () => {
  // An unknown event kind is refused with the list of known ones (workspace/model_json.cc).
  const refused = await page.evaluate(async () => {
    const csrf = document.cookie.match(/flopline_csrf=([^;]*)/)[1];
    const r = await fetch('/api/v1/events', {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify({ model: 'acme-f1', kind: 'not-a-kind', at: '2026-01-01T00:00:00Z' }),
    });
    return { status: r.status, body: await r.json() };
  });
  assert.equal(refused.status, 400);
  const known = refused.body.detail.replace(/^.*is not one of: /, '').split(', ');
  assert.deepEqual(EVENT_KINDS.map(([k]) => k).sort(), [...known].sort());
  for (const k of EVIDENCE_KINDS) assert.match(k.serves, /§|Art\./, `${k.kind} names its clause`);
});

test('every page was checked with axe', () => {
  for (const name of ['login', 'obligations', 'inventory', 'model', 'incident-form', 'incident-recorded', 'evidence-form',
    'evidence-record', 'evidence', 'event-form-errors', 'auditor-refused', 'killswitch', 'documents', 'document-file',
    'document-filed']) {
    assert.ok(axeChecked.includes(name), `${name} checked`);
  }
});
