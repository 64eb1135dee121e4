// A model's documents: each document the statutes ask of it, with what is still missing or stale
// (element by element, the statute's words), the versions filed and who signed them; a preview of
// the draft in a sandboxed frame (it runs nothing: the HTML is the server's, but holds text people
// wrote), downloads of HTML and PDF; writing and filing one (the fill: text, signatory, redactions);
// and a filed document's page: its proof checked here in the browser and said in words, its public
// copy and unredacted original, and signing it.
import { useEffect, useState } from 'preact/hooks';

import { post, useGet } from '../api.js';
import { html } from '../html.js';
import {
  ErrorSummary, Field, Loading, PageTitle, Problem, Time, can, href, navigate, regimeShort, statusWord, useSession,
} from '../ui.js';
import { checkRecord } from '../verify.js';
import { ProofDetails, Verdict } from './evidence.js';

// Who may do what (src/server/document_routes.cc decides; these only shape the page).
export const DOCUMENT_FILERS = ['developer-admin', 'compliance-officer'];
export const DOCUMENT_SIGNERS = ['developer-admin', 'compliance-officer', 'board'];
export const ORIGINAL_READERS = ['developer-admin', 'compliance-officer', 'board', 'auditor', 'regulator-readonly'];

const STATE_WORDS = {
  complete: ['✔', 'Complete', 'ok'],
  missing: ['✘', 'Missing', 'bad'],
  stale: ['◷', 'Stale', 'stale'],
  partial: ['◐', 'Partly filled', 'info'],
  'not-applicable': ['–', 'Not required here', 'info'],
};

function ElementState({ state }) {
  const [icon, word, kind] = STATE_WORDS[state] ?? ['?', state, 'info'];
  return html`<span class=${`element-state element-${kind}`}><span aria-hidden="true">${icon} </span>${word}</span>`;
}

// The HTML of a document, shown in a sandboxed frame (no scripts, no same origin).
function Preview({ url, title }) {
  const [doc, setDoc] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let cancelled = false;
    setDoc(null);
    fetch(url, { credentials: 'same-origin' })
      .then(async (r) => {
        if (!r.ok) throw new Error(`the server answered ${r.status}`);
        return r.text();
      })
      .then((t) => !cancelled && setDoc(t), (e) => !cancelled && setError(e));
    return () => {
      cancelled = true;
    };
  }, [url]);
  if (error) return html`<p class="error-message">The preview could not be loaded: ${error.message}</p>`;
  if (doc === null) return html`<${Loading} />`;
  return html`<iframe class="document-preview" sandbox="" srcdoc=${doc} title=${title}></iframe>`;
}

function Downloads({ base, label, name }) {
  return html`<span class="downloads">${label}:
    <a href=${`${base}${base.includes('?') ? '&' : '?'}format=html`} download=${`${name}.html`}>HTML</a> ·
    <a href=${`${base}${base.includes('?') ? '&' : '?'}format=pdf`} download=${`${name}.pdf`}>PDF</a></span>`;
}

function Filed({ f }) {
  return html`<li>
    <a href=${`#/documents/${f.index}`}>Version ${f.version ?? '?'}</a>, filed <${Time} iso=${f.recorded_at} />, ledger entry ${f.index}
    ${f.complete ? '' : html` <span class="element-state element-bad">(filed incomplete)</span>`}
    ${f.redacted ? html` · ${f.redacted} element${f.redacted > 1 ? 's' : ''} withheld from the public copy` : ''}
    ${f.signatures.length
      ? html`<div class="sub">${f.signatures.map((s) => html`<span class="signed"><span aria-hidden="true">✍ </span>Signed by ${s.signer} (${s.role}), <${Time} iso=${s.signed_at} /></span>`)}</div>`
      : html`<div class="sub muted">Not signed yet.</div>`}
  </li>`;
}

function DocumentCard({ d, model, me }) {
  const [open, setOpen] = useState(false);
  const missing = d.incomplete.filter((i) => i.state === 'missing');
  const stale = d.incomplete.filter((i) => i.state === 'stale');
  const draft = `/api/v1/models/${encodeURIComponent(model)}/documents/${d.kind}`;
  return html`<section class="card document" aria-labelledby=${`doc-${d.kind}`} data-kind=${d.kind}>
    <div class="card-head">
      <h2 id=${`doc-${d.kind}`}>${d.title}</h2>
      <span class="sub"><cite>${d.required_by}</cite></span>
    </div>
    <p>${d.owed
      ? html`Owed: the model is <strong>${statusWord(d.status)}</strong> under ${regimeShort(d.regime)}.`
      : html`Not owed: the model is ${statusWord(d.status)} under ${regimeShort(d.regime)}; the law asks it of ${d.applies_to.map(statusWord).join(', ')}.`}
      ${d.signer ? html` To be signed by ${d.signer} (<cite>${d.signer_cite}</cite>).` : ''}</p>
    <p class="completeness">${d.complete
      ? html`<span class="element-state element-ok"><span aria-hidden="true">✔ </span>Complete from the record</span>`
      : html`<span class="element-state element-bad"><span aria-hidden="true">✘ </span>${missing.length} missing</span>${stale.length ? html`, <span class="element-state element-stale">${stale.length} stale</span>` : ''}: what the record cannot fill, and what people must write`}</p>
    ${d.incomplete.length ? html`<table class="data elements">
      <caption class="visually-hidden">What ${d.title} still needs</caption>
      <thead><tr><th scope="col">Element</th><th scope="col">State</th><th scope="col">Why</th></tr></thead>
      <tbody>${d.incomplete.map((i) => html`<tr data-element=${i.element}>
        <td>${i.heading}</td><td><${ElementState} state=${i.state} /></td><td>${i.why}</td></tr>`)}</tbody>
    </table>` : ''}
    ${d.filed.length ? html`<h3>Filed</h3><ul class="filed">${d.filed.map((f) => html`<${Filed} key=${f.index} f=${f} />`)}</ul>`
      : html`<p class="muted">Not filed yet.</p>`}
    <div class="actions">
      <button type="button" class="button secondary" aria-expanded=${open} onClick=${() => setOpen(!open)}>${open ? 'Hide the draft' : 'Preview the draft'}</button>
      <${Downloads} base=${draft} label="Draft" name=${`${d.kind}-${model}-draft`} />
      ${can(me, DOCUMENT_FILERS) ? html`<a class="button" href=${href(`/models/${encodeURIComponent(model)}/documents/${d.kind}/file`)}>Write and file</a>` : ''}
    </div>
    ${open ? html`<${Preview} url=${`${draft}?format=html`} title=${`Draft of ${d.title} for ${model}`} />` : ''}
  </section>`;
}

export function ModelDocumentsPage({ id }) {
  const { generation, me } = useSession();
  const { data, error, loading } = useGet(`/models/${encodeURIComponent(id)}/documents`, generation);
  const owed = (data?.documents ?? []).filter((d) => d.owed);
  const other = (data?.documents ?? []).filter((d) => !d.owed);
  return html`<article>
    <p class="crumbs"><a href="#/models">Models</a> › <a href=${href(`/models/${encodeURIComponent(id)}`)}>${id}</a> › Documents</p>
    <${PageTitle} title=${`Documents for ${id}`} />
    <p class="lead">The documents the statutes ask of this model, each element filled from the evidence log where it can be, with its source. What is missing is listed in the statute's words; filing one puts it in the log, where its public copy and its original can both be proven.</p>
    <${Problem} error=${error} />
    ${loading && !data ? html`<${Loading} />` : ''}
    ${data?.warnings?.length ? html`<div class="panel panel-info" role="note"><ul class="plain">${data.warnings.map((w) => html`<li>${w}</li>`)}</ul></div>` : ''}
    ${data ? html`<p class="sub">Facts as of ${data.as_of}, from a log of ${Number(data.log_size).toLocaleString()} entries.</p>` : ''}
    ${data && !owed.length ? html`<p>No statute owes a document of this model under its status; the others are listed below.</p>` : ''}
    ${owed.map((d) => html`<${DocumentCard} key=${d.kind} d=${d} model=${id} me=${me} />`)}
    ${other.length ? html`<details class="earlier"><summary>Not owed under the model's status (${other.length})</summary>
      ${other.map((d) => html`<${DocumentCard} key=${d.kind} d=${d} model=${id} me=${me} />`)}</details>` : ''}
  </article>`;
}

// ---- writing and filing one ------------------------------------------------------------------

const LABELS = { body: 'Form', as_of: 'Facts as of', fill: '', role: '', kind: 'Kind', id: 'Model' };

export function FileDocumentPage({ id, kind }) {
  const { me } = useSession();
  const { data, error } = useGet(`/models/${encodeURIComponent(id)}/documents`, 0);
  const d = data?.documents?.find((k) => k.kind === kind);
  const [values, setValues] = useState({});
  const [errors, setErrors] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (name) => (ev) => setValues((v) => ({ ...v, [name]: ev.target.value }));
  if (error) return html`<${Problem} error=${error} />`;
  if (!d) return data ? html`<${Problem} error=${{ status: 404, message: `no document kind '${kind}'` }} />` : html`<${Loading} />`;
  const writable = d.elements.filter((e) => e.text !== 'none' && e.state !== 'not-applicable');
  const redactable = d.elements.filter((e) => e.redactable && e.state !== 'not-applicable');
  const labels = { ...LABELS, 'fill.signatory.name': 'Signatory’s name', 'fill.signatory.role': 'Signatory’s office', 'fill.signatory': 'Signatory' };
  for (const e of d.elements) {
    labels[`fill.elements.${e.id}`] = e.heading;
    labels[`fill.redact.${e.id}`] = `Withhold ${e.heading}`;
    labels[`fill.redact.${e.id}.ground`] = `Ground for withholding ${e.heading}`;
    labels[`fill.redact.${e.id}.why`] = `Why ${e.heading} is withheld`;
  }
  const submit = async (ev) => {
    ev.preventDefault();
    const fill = { elements: {}, redact: {} };
    if (values.signer || values.signer_role) fill.signatory = { name: values.signer ?? '', role: values.signer_role ?? '' };
    for (const e of writable) {
      const text = (values[`el-${e.id}`] ?? '').trim();
      if (!text) continue;
      fill.elements[e.id] = e.input === 'list' ? text.split('\n').map((l) => l.trim()).filter(Boolean) : text;
    }
    for (const e of redactable) {
      const ground = values[`red-${e.id}`];
      if (ground) fill.redact[e.id] = { ground, why: values[`why-${e.id}`] ?? '' };
    }
    setBusy(true);
    setErrors(null);
    try {
      const filed = await post(`/models/${encodeURIComponent(id)}/documents/${kind}`, { fill });
      navigate(`/documents/${filed.index}`, { filed: 1 });
    } catch (e) {
      setErrors(e.status === 403
        ? [{ field: 'role', message: `Your role (${me.role}) cannot file documents: a compliance officer or an administrator files them` }]
        : e.errors);
    } finally {
      setBusy(false);
    }
  };
  const textField = (name, label, hint, key, multiline) => html`<${Field} name=${name} label=${label} hint=${hint} errors=${errors}>
    ${(f) => (multiline
      ? html`<textarea id=${f.id} rows="5" value=${values[key] ?? ''} aria-invalid=${f.invalid} aria-describedby=${f.describedBy} onInput=${set(key)}></textarea>`
      : html`<input id=${f.id} value=${values[key] ?? ''} aria-invalid=${f.invalid} aria-describedby=${f.describedBy} onInput=${set(key)} />`)}
  <//>`;
  return html`<article>
    <p class="crumbs"><a href="#/models">Models</a> › <a href=${href(`/models/${encodeURIComponent(id)}`)}>${id}</a> › <a href=${href(`/models/${encodeURIComponent(id)}/documents`)}>Documents</a> › File</p>
    <${PageTitle} title=${`File: ${d.title}`} />
    <p class="lead">${d.summary} <cite>${d.required_by}</cite></p>
    ${!can(me, DOCUMENT_FILERS) ? html`<div class="panel panel-info" role="note"><p>Your role (${me.role}) can read documents but not file them; a compliance officer or an administrator files them.</p></div>` : ''}
    <${ErrorSummary} errors=${errors} labels=${labels} />
    <form class="form" onSubmit=${submit} novalidate>
      <fieldset><legend>Who signs</legend>
        <p class="hint">${d.signer ? html`The statute names the signer: ${d.signer} (<cite>${d.signer_cite}</cite>).` : 'The statute names no signer; name one if the document is to be signed.'}</p>
        ${textField('fill.signatory.name', 'Signatory’s name', '', 'signer', false)}
        ${textField('fill.signatory.role', 'Signatory’s office', 'e.g. Chief Technology Officer', 'signer_role', false)}
      </fieldset>
      <fieldset><legend>What people write</legend>
        ${writable.map((e) => textField(`fill.elements.${e.id}`, e.heading,
          `${e.cite}: ${e.law}${e.input === 'list' ? ' (one item per line)' : ' (paragraphs separated by a blank line)'}`, `el-${e.id}`, true))}
      </fieldset>
      ${redactable.length ? html`<fieldset><legend>What the public copy withholds</legend>
        <p class="hint">${d.redaction_cite}${d.describe_redactions ? ' Each redaction must say why.' : ''}</p>
        ${redactable.map((e) => html`<div class="redaction">
          <${Field} name=${`fill.redact.${e.id}.ground`} label=${`Withhold “${e.heading}”`} errors=${errors}>
            ${(f) => html`<select id=${f.id} value=${values[`red-${e.id}`] ?? ''} aria-invalid=${f.invalid} aria-describedby=${f.describedBy} onChange=${set(`red-${e.id}`)}>
              <option value="">No: the public copy shows it</option>
              ${d.redaction_grounds.map((g) => html`<option value=${g}>Yes, ground: ${g}</option>`)}
            </select>`}
          <//>
          ${values[`red-${e.id}`] ? textField(`fill.redact.${e.id}.why`, `Why “${e.heading}” is withheld`, 'said in the public copy', `why-${e.id}`, false) : ''}
        </div>`)}
      </fieldset>` : ''}
      <button type="submit" class="button" disabled=${busy}>File the document</button>
    </form>
  </article>`;
}

// ---- a filed document --------------------------------------------------------------------------

function SignForm({ index, doc, onSigned }) {
  const [values, setValues] = useState({ signer: '', role: '' });
  const [errors, setErrors] = useState(null);
  const [busy, setBusy] = useState(false);
  const { me } = useSession();
  const submit = async (ev) => {
    ev.preventDefault();
    setBusy(true);
    setErrors(null);
    try {
      await post(`/documents/${index}/signatures`, { signer: values.signer, role: values.role });
      onSigned();
    } catch (e) {
      setErrors(e.status === 403 && e.errors[0]?.field === 'role' ? [{ field: 'role', message: e.message }] : e.errors);
    } finally {
      setBusy(false);
    }
  };
  const input = (name, label, hint) => html`<${Field} name=${name} label=${label} hint=${hint} errors=${errors}>
    ${(f) => html`<input id=${f.id} value=${values[name]} aria-invalid=${f.invalid} aria-describedby=${f.describedBy}
      onInput=${(e) => setValues((v) => ({ ...v, [name]: e.target.value }))} />`}
  <//>`;
  return html`<section class="card" aria-labelledby="sign-h"><h2 id="sign-h">Sign it</h2>
    <p>Signing records who signed this version and when, as an entry of the log. ${doc.signer_named_by_law ?? ''}</p>
    <${ErrorSummary} errors=${errors} labels=${{ signer: 'Name', role: 'Office', body: 'Form' }} />
    <form class="form" onSubmit=${submit} novalidate>
      ${input('signer', 'Name', 'as the document names its signatory')}
      ${input('role', 'Office', `e.g. Chief Technology Officer (you are logged in as ${me.name})`)}
      <button type="submit" class="button" disabled=${busy}>Sign this version</button>
    </form>
  </section>`;
}

export function FiledDocumentPage({ index, params }) {
  const { generation, me } = useSession();
  const [signed, setSigned] = useState(0);
  const { data, error } = useGet(`/documents/${index}/proof`, generation + signed);
  const [browser, setBrowser] = useState(null);
  const [showing, setShowing] = useState(null);
  useEffect(() => {
    setBrowser(null);
    if (data) checkRecord(index, data.leaf_hash).then(setBrowser, (e) => setBrowser({ error: e.message }));
  }, [data?.leaf_hash, data?.checkpoint_size, index]);
  const name = data ? `${data.document_kind}-${data.model}-v${data.version}` : `document-${index}`;
  return html`<article>
    <p class="crumbs"><a href="#/models">Models</a> › ${data ? html`<a href=${href(`/models/${encodeURIComponent(data.model)}`)}>${data.model}</a> › <a href=${href(`/models/${encodeURIComponent(data.model)}/documents`)}>Documents</a> › ` : ''}entry ${index}</p>
    <${PageTitle} title=${data ? `${data.title}, version ${data.version}` : `Document ${index}`} />
    ${params.filed ? html`<div class="panel panel-success" role="status"><p>Filed as ledger entry ${index}. Its proof is checked below.</p></div>` : ''}
    <${Problem} error=${error} />
    ${!data && !error ? html`<${Loading} />` : ''}
    ${data ? html`
      <section class="card" aria-labelledby="proof-h">
        <h2 id="proof-h">Is this the document that was filed?</h2>
        <p class="verdict-line">${browser?.error ? html`<span class="verdict verdict-failed">${browser.error}</span>` : html`<${Verdict} verdict=${browser?.verdict} />`}
          ${browser?.verdict === 'verified' && data.verified ? html` <span>Both copies match the record, and the record is in the signed log.</span>` : ''}</p>
        <h3>What the server checked</h3>
        <ol class="checks">${data.checks.map((c) => html`<li class=${c.ok ? 'ok' : 'bad'}><span aria-hidden="true">${c.ok ? '✔' : '✘'} </span>${c.text}</li>`)}</ol>
        <h3>What your browser checked</h3>
        ${browser && !browser.error ? html`<${ProofDetails} result=${browser} />` : html`<${Loading} />`}
      </section>
      <section class="card" aria-labelledby="sig-h"><h2 id="sig-h">Signatures</h2>
        ${data.signatures.length ? html`<ul class="plain">${data.signatures.map((s) => html`<li><span aria-hidden="true">✍ </span>Signed by <strong>${s.signer}</strong> (${s.role}), <${Time} iso=${s.signed_at} />; ledger entry ${s.index}${s.signer_named_by_law ? html` · the statute names ${s.signer_named_by_law}` : ''}</li>`)}</ul>`
          : html`<p>Not signed yet.</p>`}
      </section>
      ${can(me, DOCUMENT_SIGNERS) ? html`<${SignForm} index=${index} doc=${data} onSigned=${() => setSigned((n) => n + 1)} />` : ''}
      <section class="card" aria-labelledby="copies-h"><h2 id="copies-h">The copies</h2>
        <p>The public copy withholds what the law lets be withheld, and says on which ground; the unredacted original opens the same record.</p>
        <p><${Downloads} base=${`/api/v1/documents/${index}/public`} label="Public copy" name=${`${name}-public`} />
          ${can(me, ORIGINAL_READERS) ? html` · <${Downloads} base=${`/api/v1/documents/${index}/original`} label="Unredacted original" name=${`${name}-original`} />` : ''}</p>
        <div class="tabs" role="group" aria-label="Copy shown">
          <button type="button" class="button secondary" aria-pressed=${showing === 'public'} onClick=${() => setShowing(showing === 'public' ? null : 'public')}>Show the public copy</button>
          ${can(me, ORIGINAL_READERS) ? html`<button type="button" class="button secondary" aria-pressed=${showing === 'original'} onClick=${() => setShowing(showing === 'original' ? null : 'original')}>Show the original</button>` : ''}
        </div>
        ${showing ? html`<${Preview} url=${`/api/v1/documents/${index}/${showing}?format=html`} title=${`${showing === 'public' ? 'Public copy' : 'Unredacted original'} of ${data.title}`} />` : ''}
      </section>` : ''}
  </article>`;
}

// The model page's link to its documents.
export function documentsHref(id) {
  return href(`/models/${encodeURIComponent(id)}/documents`);
}

