// Evidence: the records in the log with their proof status, the latest signed checkpoint, and for
// any record its proof checked here in the browser and said in words (verify.js): "Verified: in the
// log since ..., covered by the signed checkpoint of N records".
import { useEffect, useState } from 'preact/hooks';

import { post, query, useGet } from '../api.js';
import { html } from '../html.js';
import { evidenceKind, EVIDENCE_KINDS } from '../kinds.js';
import {
  Empty, FILERS, Loading, OFFICERS, PageTitle, Problem, Time, can, href, navigate, useSession,
} from '../ui.js';
import { checkRecord, parseNote, verifyNote } from '../verify.js';

const VERDICTS = {
  verified: ['✔', 'Verified', 'verified'],
  pending: ['◷', 'In the log, awaiting a checkpoint', 'pending'],
  failed: ['✘', 'Proof failed', 'failed'],
  unavailable: ['?', 'Not fully checked', 'pending'],
};

export function Verdict({ verdict }) {
  if (!verdict) return html`<span class="muted">Not checked</span>`;
  const [icon, word, kind] = VERDICTS[verdict];
  return html`<span class=${`verdict verdict-${kind}`}><span aria-hidden="true">${icon} </span>${word}</span>`;
}

// The proof of one record, checked and explained.
export function ProofDetails({ result }) {
  const leaf = result.leaf ?? {};
  const redactions = Object.entries(leaf.redactions ?? {});
  const fields = Object.keys(leaf.fields ?? {});
  return html`<div class="proof">
    <ol class="checks">${result.steps.map((s) => html`<li class=${s.ok === true ? 'ok' : s.ok === false ? 'bad' : 'info'}>
      <span aria-hidden="true">${s.ok === true ? '✔' : s.ok === false ? '✘' : 'ℹ'} </span>${s.text}</li>`)}</ol>
    <dl class="facts">
      <div><dt>Kind</dt><dd>${leaf.kind}${leaf.serves ? html` — serves <cite>${leaf.serves}</cite>` : ''}</dd></div>
      <div><dt>Recorded</dt><dd><${Time} iso=${leaf.recorded_at} /></dd></div>
      ${leaf.model ? html`<div><dt>Model</dt><dd>${leaf.model}</dd></div>` : ''}
      <div><dt>Document</dt><dd>${leaf.document ? `${leaf.document.type === 'json' ? 'JSON' : 'file'}, ${Number(leaf.document.size).toLocaleString()} bytes; the log holds a salted commitment to it, never the document` : '—'}</dd></div>
      ${fields.length ? html`<div><dt>Fields committed</dt><dd>${fields.join(', ')}</dd></div>` : ''}
      <div><dt>Redactions</dt><dd>${redactions.length
        ? html`<ul class="plain">${redactions.map(([field, ground]) => html`<li>${field === '*' ? 'the whole document' : html`<code>${field}</code>`} withheld from public copies: ${ground}</li>`)}</ul>`
        : 'none: a public copy may show the whole document'}</dd></div>
      <div><dt>Position</dt><dd>${result.proof.index} of ${Number(result.proof.tree_size).toLocaleString()}</dd></div>
      <div><dt>Fingerprint (leaf hash)</dt><dd><code class="hash">${result.proof.leaf_hash}</code></dd></div>
      <div><dt>Root</dt><dd><code class="hash">${result.proof.root}</code></dd></div>
    </dl>
    <details><summary>The audit path (${result.proof.hashes.length} hashes)</summary>
      <ol class="hashes">${result.proof.hashes.map((h) => html`<li><code class="hash">${h}</code></li>`)}</ol></details>
  </div>`;
}

function Checkpoint({ generation, me }) {
  const { data, error, loading } = useGet('/checkpoint', generation);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(null);
  const sign = async () => {
    setBusy(true);
    setProblem(null);
    try {
      await post('/checkpoint', {});
    } catch (e) {
      setProblem(e);
    } finally {
      setBusy(false);
    }
  };
  let note = null;
  try {
    note = data ? parseNote(data.note) : null;
  } catch {
    note = null;
  }
  // The signature, checked here against the key the checkpoint names.
  const [signature, setSignature] = useState(null);
  useEffect(() => {
    setSignature(null);
    if (data) verifyNote(data.note, data.verifier_key).then(setSignature, (e) => setSignature({ ok: false, reason: e.message }));
  }, [data?.note, data?.verifier_key]);
  return html`<section class="card checkpoint" aria-labelledby="cp-h">
    <div class="card-head"><h2 id="cp-h">Latest signed checkpoint</h2>
      ${can(me, OFFICERS) ? html`<button type="button" class="button secondary" disabled=${busy} onClick=${sign}>Verify the log and sign a checkpoint</button>` : ''}</div>
    ${loading && !data && !error ? html`<${Loading} />` : ''}
    ${error?.status === 404 ? html`<p>No checkpoint has been signed yet. A checkpoint fixes the log's size and root under the workspace's key, so that anyone can later check that no record was changed or removed.${can(me, OFFICERS) ? ' Sign one with the button.' : ' A compliance officer can sign one.'}</p>` : html`<${Problem} error=${error} />`}
    ${data ? html`<dl class="facts">
      <div><dt>Records covered</dt><dd>${Number(data.size).toLocaleString()}</dd></div>
      <div><dt>Log</dt><dd>${note?.origin ?? '—'}</dd></div>
      <div><dt>Root</dt><dd><code class="hash">${note?.root ?? '—'}</code></dd></div>
      <div><dt>Signed by</dt><dd><code class="hash">${data.verifier_key}</code></dd></div>
      <div><dt>Signature</dt><dd>${!signature ? 'checking…'
        : signature.ok === true ? html`<span class="verdict verdict-verified"><span aria-hidden="true">✔ </span>valid: checked in your browser</span>`
        : signature.ok === null ? html`<span class="verdict verdict-pending">not checked: ${signature.reason}</span>`
        : html`<span class="verdict verdict-failed"><span aria-hidden="true">✘ </span>does not verify: ${signature.reason}</span>`}</dd></div>
    </dl>` : ''}
    <${Problem} error=${problem} />
  </section>`;
}

// What a public copy of a record withholds, and on which ground (the leaf says it).
function Redactions({ redactions }) {
  const withheld = Object.entries(redactions ?? {});
  if (!withheld.length) return html`<span class="muted">None</span>`;
  return html`<ul class="plain redactions">${withheld.map(([field, ground]) => html`<li>
    ${field === '*' ? 'Whole document' : html`<code>${field}</code>`}<span class="sub">: ${ground}</span></li>`)}</ul>`;
}

function Row({ e, result, onCheck }) {
  const kind = evidenceKind(e.kind);
  return html`<tr>
    <td class="num"><a href=${`#/evidence/${e.index}`}>${e.index}</a></td>
    <td>${kind?.label ?? e.kind}<div class="sub"><cite>${kind?.serves ?? ''}</cite></div></td>
    <td>${e.model ? html`<a href=${href(`/models/${encodeURIComponent(e.model)}`)}>${e.model}</a>` : html`<span class="muted">—</span>`}</td>
    <td><${Time} iso=${e.recorded_at} /></td>
    <td><code class="hash short" title=${e.leaf_hash}>${e.leaf_hash.slice(0, 12)}…</code></td>
    <td><${Redactions} redactions=${e.redactions} /></td>
    <td>${e.purged ? html`<span class="muted">Purged: retention ended</span>` : result?.error
      ? html`<span class="verdict verdict-failed">${result.error}</span>`
      : result && !result.verdict ? html`<span class="muted">Checking…</span>`
      : html`<${Verdict} verdict=${result?.verdict} />${result ? html` <a href=${`#/evidence/${e.index}`} class="sub">why</a>` : ''}`}</td>
    <td>${e.purged ? '' : html`<button type="button" class="link" onClick=${() => onCheck(e)}
      aria-label=${`Check the proof of record ${e.index}`}>${result ? 'Check again' : 'Check proof'}</button>`}</td>
  </tr>`;
}

export function EvidencePage({ params }) {
  const { generation, me } = useSession();
  const path = `/evidence${query({ kind: params.kind, model: params.model, cursor: params.cursor, limit: 100 })}`;
  const { data, error, loading } = useGet(path, generation);
  const [results, setResults] = useState({});
  const items = data?.items ?? [];
  const check = async (e) => {
    setResults((r) => ({ ...r, [e.index]: { verdict: null } }));
    try {
      const result = await checkRecord(e.index, e.leaf_hash);
      setResults((r) => ({ ...r, [e.index]: result }));
    } catch (err) {
      setResults((r) => ({ ...r, [e.index]: { error: err.message } }));
    }
  };
  const checkAll = () => items.filter((e) => !e.purged).forEach(check);
  const set = (key) => (ev) => navigate('/evidence', { ...params, [key]: ev.target.value, cursor: '' }, { replace: true });
  const filtered = params.kind || params.model;

  return html`<section>
    <div class="page-head">
      <${PageTitle} title="Evidence" />
      ${can(me, FILERS) ? html`<a class="button secondary" href="#/evidence/new">Append evidence</a>` : ''}
    </div>
    <p class="lead">Every record in the workspace's log. A proof shows that a record is in the log and unchanged since it was recorded; your browser checks it, trusting nothing the server says.</p>
    <${Checkpoint} generation=${generation} me=${me} />
    <form class="filters" onSubmit=${(ev) => ev.preventDefault()}>
      <div class="field inline">
        <label for="ev-kind">Kind</label>
        <select id="ev-kind" value=${params.kind ?? ''} onChange=${set('kind')}>
          <option value="">Every kind</option>
          ${EVIDENCE_KINDS.map((k) => html`<option value=${k.kind}>${k.label}</option>`)}
        </select>
      </div>
      <div class="field inline">
        <label for="ev-model">Model</label>
        <input id="ev-model" type="search" value=${params.model ?? ''} onChange=${set('model')} />
      </div>
      ${items.length ? html`<button type="button" class="button secondary" onClick=${checkAll}>Check every proof on this page</button>` : ''}
    </form>
    <${Problem} error=${error} />
    ${loading && !data ? html`<${Loading} />` : ''}
    ${data && !items.length ? html`<${Empty} title=${filtered ? 'No record matches' : 'No evidence yet'}>
      ${filtered ? html`<p>No record matches these filters. <a href="#/evidence">See every record</a>.</p>`
        : html`<p>Append the documents the law asks you to keep (a safety and security protocol, test results, an incident report)${can(me, FILERS) ? html`: <a href="#/evidence/new">Append evidence</a>` : ''}, or from a shell:</p>
          <pre><code>flopline ledger append --store sqlite:WORKSPACE.db --kind test-results --model MODEL --file FILE.json</code></pre>`}
    <//>` : ''}
    ${items.length ? html`<table class="data evidence">
      <caption class="visually-hidden">Evidence records</caption>
      <thead><tr><th scope="col" class="num">#</th><th scope="col">Kind</th><th scope="col">Model</th><th scope="col">Recorded</th>
        <th scope="col">Fingerprint</th><th scope="col">Withheld from public copies</th><th scope="col">Proof</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
      <tbody>${items.map((e) => html`<${Row} key=${e.index} e=${e} result=${results[e.index]} onCheck=${check} />`)}</tbody>
    </table>` : ''}
    <nav class="pager" aria-label="Pages of evidence">
      ${params.cursor ? html`<a href=${href('/evidence', { ...params, cursor: '' })}>First page</a>` : ''}
      ${data?.next_cursor ? html`<a rel="next" href=${href('/evidence', { ...params, cursor: data.next_cursor })}>Next 100 records →</a>` : ''}
    </nav>
  </section>`;
}

// One record and its proof, checked when the page opens.
export function EvidenceRecordPage({ index }) {
  const { generation } = useSession();
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let cancelled = false;
    setError(null);
    checkRecord(index).then((r) => !cancelled && setResult(r), (e) => !cancelled && setError(e));
    return () => {
      cancelled = true;
    };
  }, [index, generation]);
  return html`<article>
    <p class="crumbs"><a href="#/evidence">Evidence</a> › record ${index}</p>
    <${PageTitle} title=${`Record ${index}`} />
    <${Problem} error=${error} />
    ${result ? html`<p class="verdict-line"><${Verdict} verdict=${result.verdict} /></p><${ProofDetails} result=${result} />` : !error ? html`<${Loading} />` : ''}
  </article>`;
}
