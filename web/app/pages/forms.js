// The forms that write: record an incident (its clocks appear at once), record an event, append
// evidence. GOV.UK style: one question per field with its label and hint, an error summary naming
// each field (from the page's own checks, or the server's problem document), nothing half-stored.
import { useMemo, useState } from 'preact/hooks';

import { get, post, query, useGet } from '../api.js';
import { fromLocalInput, isoSeconds, toLocalInput, when } from '../format.js';
import { html } from '../html.js';
import { EVENT_KINDS, EVIDENCE_KINDS, eventLabel } from '../kinds.js';
import {
  Countdown, ErrorSummary, FILERS, Field, PageTitle, fieldId, RECORDERS, Time, can, href, regimeShort, useNow, useSession,
} from '../ui.js';

const LABELS = {
  model: 'Model', kind: 'Kind', at: 'When', document: 'Document', redactions: 'Redactions', role: '', body: 'Form',
};
const GROUNDS = ['public-safety', 'trade-secret', 'confidential-information', 'cybersecurity', 'national-security', 'legal-compliance'];

// The server's refusal of a role, said as what to do.
function explain(e, me, what) {
  if (e.status === 403) {
    return [{ field: 'role', message: `Your role (${me.role}) can read the workspace but not ${what}: ask a compliance officer, an engineer or an administrator` }];
  }
  return e.errors;
}

function ReadOnlyNotice({ me, roles, what }) {
  if (can(me, roles)) return null;
  const words = { 'developer-admin': 'an administrator', 'compliance-officer': 'a compliance officer', engineer: 'an engineer', board: 'a board member' };
  const who = roles.map((r) => words[r] ?? r);
  return html`<div class="panel panel-info" role="note"><p>Your role (${me.role}) can read the workspace but not ${what}. The server will refuse the form; ask ${who.slice(0, -1).join(', ')} or ${who.at(-1)}.</p></div>`;
}

// The model ids to suggest (the first 1,000; any id may be typed).
function ModelInput({ f, value, onInput }) {
  const { data } = useGet(`/models${query({ limit: 1000 })}`, 0);
  return html`<input id=${f.id} list="model-ids" value=${value} autocomplete="off" spellcheck="false"
      aria-invalid=${f.invalid} aria-describedby=${f.describedBy} onInput=${(e) => onInput(e.target.value)} />
    <datalist id="model-ids">${(data?.items ?? []).map((m) => html`<option value=${m.id}>${m.developer}</option>`)}</datalist>`;
}

// When something happened: local time in the input, UTC said beside it.
function WhenInput({ f, value, onInput }) {
  const d = fromLocalInput(value);
  return html`<input id=${f.id} type="datetime-local" value=${value} aria-invalid=${f.invalid}
      aria-describedby=${f.describedBy} onInput=${(e) => onInput(e.target.value)} />
    <span class="beside">${d ? `= ${when(isoSeconds(d)).utc}` : ''}</span>`;
}

const key = (o) => `${o.model}|${o.regime}|${o.id}|${o.due}`;

// The obligations of `model` that the write started: those open now that were not before.
function startedClocks(before, after, model) {
  const had = new Set(before.map(key));
  return after.filter((o) => o.model === model && !had.has(key(o)) && (o.state === 'open' || o.state === 'overdue'));
}

function Clocks({ clocks }) {
  const now = useNow(1000);
  if (!clocks.length) return html`<p>No new clock started: no regime ties a deadline to this event for this model (or its clock started earlier).</p>`;
  return html`<ul class="clocks">${clocks.map((o) => html`<li class="clock">
    <div class="big"><${Countdown} due=${o.due} now=${now} state=${o.state} /></div>
    <div>${o.text} — ${regimeShort(o.regime)} <cite>${o.cite}</cite></div>
    <div class="sub">Due <${Time} iso=${o.due} /></div>
  </li>`)}</ul>`;
}

function EventFormBody({ params, fixedKind, title, intro }) {
  const { me } = useSession();
  const [model, setModel] = useState(params.model ?? '');
  const [kind, setKind] = useState(fixedKind ?? params.kind ?? '');
  const [at, setAt] = useState(toLocalInput(new Date()));
  const [errors, setErrors] = useState([]);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(null);

  const submit = async (ev) => {
    ev.preventDefault();
    const mine = [];
    if (!model.trim()) mine.push({ field: 'model', message: 'Enter the id of the model' });
    if (!kind) mine.push({ field: 'kind', message: 'Choose what happened' });
    const d = fromLocalInput(at);
    if (!d) mine.push({ field: 'at', message: 'Enter the date and time it happened, for example 26/11/2026 09:30' });
    else if (d.getTime() > Date.now() + 60000) mine.push({ field: 'at', message: 'Enter a time that has passed: an event records what has happened' });
    if (mine.length) return setErrors(mine);
    setBusy(true);
    try {
      const clocks = `/obligations${query({ model: model.trim(), limit: 1000 })}`;
      const before = (await get(clocks)).items;
      const event = await post('/events', { model: model.trim(), kind, at: isoSeconds(d) });
      const after = (await get(clocks)).items;
      setErrors([]);
      setDone({ event, clocks: startedClocks(before, after, event.model) });
    } catch (e) {
      setErrors(explain(e, me, 'record events'));
    } finally {
      setBusy(false);
    }
  };

  if (done) {
    return html`<section>
      <${PageTitle} title=${fixedKind ? 'Incident recorded' : 'Event recorded'} />
      <div class="panel panel-success" role="status">
        <p><strong>${eventLabel(done.event.kind)}</strong> recorded for <a href=${href(`/models/${encodeURIComponent(done.event.model)}`)}>${done.event.model}</a> at <${Time} iso=${done.event.at} />. It is an entry in the workspace's log.</p>
      </div>
      <h2>The clocks it started</h2>
      <${Clocks} clocks=${done.clocks} />
      <p class="actions">
        ${fixedKind ? html`<a class="button" href=${href('/evidence/new', { kind: 'incident-report', model: done.event.model })}>File the incident report as evidence</a>` : ''}
        <a href="#/obligations">See everything that is due</a>
        <button type="button" class="link" onClick=${() => { setDone(null); setAt(toLocalInput(new Date())); }}>Record another</button>
      </p>
    </section>`;
  }

  return html`<section class="form-page">
    <${PageTitle} title=${title} />
    ${intro}
    <${ReadOnlyNotice} me=${me} roles=${RECORDERS} what="record events" />
    <${ErrorSummary} errors=${errors} labels=${{ ...LABELS, kind: 'What happened', at: fixedKind ? 'When it was discovered' : 'When it happened' }} />
    <form onSubmit=${submit} novalidate>
      <${Field} name="model" label="Model" hint="The model's id in the inventory, for example acme-f1." errors=${errors}>
        ${(f) => html`<${ModelInput} f=${f} value=${model} onInput=${setModel} />`}
      <//>
      ${fixedKind ? '' : html`<${Field} name="kind" label="What happened" errors=${errors}>
        ${(f) => html`<select id=${f.id} value=${kind} aria-invalid=${f.invalid} aria-describedby=${f.describedBy} onChange=${(e) => setKind(e.target.value)}>
          <option value="">Choose…</option>
          ${EVENT_KINDS.map(([k, label]) => html`<option value=${k}>${label}</option>`)}
        </select>`}
      <//>`}
      <${Field} name="at" label=${fixedKind ? 'When it was discovered' : 'When it happened'}
        hint=${`In your time zone (${Intl.DateTimeFormat().resolvedOptions().timeZone}); the UTC time is shown beside it. Now, unless you change it.`} errors=${errors}>
        ${(f) => html`<${WhenInput} f=${f} value=${at} onInput=${setAt} />`}
      <//>
      <${ErrorSummaryRole} errors=${errors} />
      <button type="submit" class=${fixedKind ? 'button button-incident' : 'button'} disabled=${busy}>${fixedKind ? 'Record the incident and start its clocks' : 'Record the event'}</button>
    </form>
  </section>`;
}

// A refusal that names no form field (the role) is said again beside the button.
function ErrorSummaryRole({ errors }) {
  const role = errors.find((e) => e.field === 'role');
  return role ? html`<p class="error-message" id="field-role">${role.message}</p>` : null;
}

export function IncidentForm({ params }) {
  return html`<${EventFormBody} params=${params} fixedKind="incident-discovered" title="Record an incident"
    intro=${html`<p class="lead">Record when a safety incident was discovered. That starts the law's reporting clocks
      (72 hours under SB 1047 and NY RAISE for a covered model); they are shown as soon as it is recorded.</p>`} />`;
}

export function EventForm({ params }) {
  return html`<${EventFormBody} params=${params} title="Record an event"
    intro=${html`<p class="lead">Events are what starts and discharges the obligations' clocks: training started, a release, a protocol published.</p>`} />`;
}

// The document as the API takes it: a JSON object when the text is one, else the text itself.
function parseDocument(text) {
  const t = text.trim();
  if (!t) return { error: 'Enter the document, or load it from a file' };
  if (t.startsWith('{')) {
    try {
      const value = JSON.parse(t);
      return { value, fields: Object.keys(value) };
    } catch (e) {
      return { error: `is not valid JSON: ${e.message}. Correct it, or give plain text that does not start with “{”` };
    }
  }
  return { value: text, fields: [] };
}

function template(kind) {
  const k = EVIDENCE_KINDS.find((x) => x.kind === kind);
  if (!k?.fields.length) return '';
  return `${JSON.stringify(Object.fromEntries(k.fields.map((f) => [f, ''])), null, 2)}\n`;
}

export function EvidenceForm({ params }) {
  const { me } = useSession();
  const [kind, setKind] = useState(params.kind ?? '');
  const [model, setModel] = useState(params.model ?? '');
  const [text, setText] = useState(template(params.kind ?? ''));
  const [redactions, setRedactions] = useState({});
  const [errors, setErrors] = useState([]);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(null);
  const spec = EVIDENCE_KINDS.find((k) => k.kind === kind);
  const doc = useMemo(() => parseDocument(text), [text]);

  const chooseKind = (k) => {
    if (!text.trim() || text === template(kind)) setText(template(k));
    setKind(k);
  };
  const loadFile = async (e) => {
    const file = e.target.files?.[0];
    if (file) setText(await file.text());
  };

  const submit = async (ev) => {
    ev.preventDefault();
    const mine = [];
    if (!kind) mine.push({ field: 'kind', message: 'Choose the kind of record' });
    if (spec?.model && !model.trim()) mine.push({ field: 'model', message: `Enter the model this ${spec.label.toLowerCase()} is for` });
    if (doc.error) mine.push({ field: 'document', message: doc.error });
    if (mine.length) return setErrors(mine);
    const body = { kind, document: doc.value };
    if (model.trim()) body.model = model.trim();
    const withheld = Object.fromEntries(Object.entries(redactions).filter(([f, g]) => g && (f === '*' || doc.fields.includes(f))));
    if (Object.keys(withheld).length) body.redactions = withheld;
    setBusy(true);
    try {
      const record = await post('/evidence', body);
      setErrors([]);
      setDone(record);
    } catch (e) {
      setErrors(explain(e, me, 'file evidence'));
    } finally {
      setBusy(false);
    }
  };

  if (done) {
    return html`<section>
      <${PageTitle} title="Evidence appended" />
      <div class="panel panel-success" role="status">
        <p>Appended as record <strong>${done.index}</strong> (${done.kind}${done.model ? ` for ${done.model}` : ''}) at <${Time} iso=${done.recorded_at} />.</p>
        <p>Its fingerprint: <code class="hash">${done.leaf_hash}</code></p>
      </div>
      ${done.notices?.length ? html`<div class="panel panel-info"><h2>Please note</h2><ul>${done.notices.map((n) => html`<li>${n}</li>`)}</ul></div>` : ''}
      <p class="actions"><a class="button" href=${`#/evidence/${done.index}`}>Check its proof</a>
        <a href="#/evidence">See all evidence</a>
        <button type="button" class="link" onClick=${() => { setDone(null); setText(template(kind)); setRedactions({}); }}>Append another</button></p>
    </section>`;
  }

  return html`<section class="form-page">
    <${PageTitle} title="Append evidence" />
    <p class="lead">The document goes into the workspace's store; the log keeps a salted commitment to it, so its proof can be checked later without showing it. Fields you withhold are left out of public copies, on the ground you give.</p>
    <${ReadOnlyNotice} me=${me} roles=${FILERS} what="file evidence" />
    <${ErrorSummary} errors=${errors} labels=${{ ...LABELS, kind: 'Kind of record' }} />
    <form onSubmit=${submit} novalidate>
      <${Field} name="kind" label="Kind of record" errors=${errors}>
        ${(f) => html`<select id=${f.id} value=${kind} aria-invalid=${f.invalid} aria-describedby=${f.describedBy} onChange=${(e) => chooseKind(e.target.value)}>
          <option value="">Choose…</option>
          ${EVIDENCE_KINDS.map((k) => html`<option value=${k.kind}>${k.label} (${k.serves})</option>`)}
        </select>`}
      <//>
      <${Field} name="model" label=${spec?.model === false ? 'Model (optional)' : 'Model'} hint="The model the record is about." errors=${errors}>
        ${(f) => html`<${ModelInput} f=${f} value=${model} onInput=${setModel} />`}
      <//>
      <${Field} name="document" label="Document"
        hint=${`A JSON object (its fields can be withheld one by one) or plain text.${spec?.fields.length ? ` This kind needs the fields ${spec.fields.join(', ')}.` : ''}`} errors=${errors}>
        ${(f) => html`<textarea id=${f.id} rows="9" spellcheck="false" aria-invalid=${f.invalid} aria-describedby=${f.describedBy}
          value=${text} onInput=${(e) => setText(e.target.value)}></textarea>`}
      <//>
      <div class="field">
        <label for="field-file">Or load the document from a file</label>
        <input id="field-file" type="file" accept=".json,.txt,.md,application/json,text/plain" onChange=${loadFile} />
      </div>
      <fieldset class="field" aria-describedby="redactions-hint">
        <legend>Redactions</legend>
        <div class="hint" id="redactions-hint">Each field is published unless you withhold it (SB 1047 §22603(a)(7), SB 53 §22757.12(f)).</div>
        ${[...(doc.fields ?? []), '*'].map((name) => html`<div class="field inline">
          <label for=${fieldId(name === '*' ? 'redactions.all' : `redactions.${name}`)}>${name === '*' ? 'The whole document' : html`Field <code>${name}</code>`}</label>
          <select id=${fieldId(name === '*' ? 'redactions.all' : `redactions.${name}`)} value=${redactions[name] ?? ''}
            onChange=${(e) => setRedactions({ ...redactions, [name]: e.target.value })}>
            <option value="">${name === '*' ? 'Published as the fields say' : 'Published'}</option>
            ${GROUNDS.map((g) => html`<option value=${g}>Withheld: ${g.replaceAll('-', ' ')}</option>`)}
          </select>
        </div>`)}
      </fieldset>
      <${ErrorSummaryRole} errors=${errors} />
      <button type="submit" class="button" disabled=${busy}>Append to the log</button>
    </form>
  </section>`;
}
