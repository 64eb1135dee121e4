// A model: the answer per regime first (status, basis, margins to every line, obligations with
// their clocks), the reasoning one click away (the clause trace), each reading side by side where
// the statute has several; the lineage graph; compute as its own stages and along its lineage, each
// with its range, against every line.
import { useEffect, useRef, useState } from 'preact/hooks';

import { get, query, useGet } from '../api.js';
import { flop, money } from '../format.js';
import { html } from '../html.js';
import {
  Countdown, Loading, PageTitle, Problem, RECORDERS, Status, Time, can, href, isCurrentRegime, liveState, obligationWord,
  regimeShort, statusWord, useNow, useSession,
} from '../ui.js';

const FLOP_UNITS = new Set(['FLOP', 'operations']);

function Steps({ steps }) {
  if (!steps?.length) return html`<p class="muted">No steps recorded.</p>`;
  return html`<ol class="trace">${steps.map((s) => html`<li>${s.text}${s.cite ? html` <cite>${s.cite}</cite>` : ''}</li>`)}</ol>`;
}

const sideName = (name) => String(name).replace(/^param\./, '');

function Holds({ holds }) {
  if (holds === true || holds === 'true') return html`<span class="yes"><span aria-hidden="true">✔ </span>Met</span>`;
  if (holds === false || holds === 'false') return html`<span class="no"><span aria-hidden="true">✘ </span>Not met</span>`;
  return html`<span class="status-depends"><span aria-hidden="true">? </span>Not known</span>`;
}

function Margins({ margins, caption }) {
  if (!margins?.length) return null;
  return html`<table class="data margins">
    <caption>${caption}</caption>
    <thead><tr><th scope="col">Line</th><th scope="col" class="num">This model</th><th scope="col" class="num">The line</th>
      <th scope="col">Met?</th><th scope="col">Margin</th></tr></thead>
    <tbody>${margins.map((m) => html`<tr>
      <td><code>${sideName(m.left)} ${m.op} ${sideName(m.right)}</code></td>
      <td class="num">${number(m.value, m.left, m.right)}</td>
      <td class="num">${number(m.threshold, m.right, m.left)}</td>
      <td><${Holds} holds=${m.holds} /></td>
      <td>${m.margin}</td>
    </tr>`)}</tbody>
  </table>`;
}

// A quantity written in its unit, told by the names of the two sides of its line.
function number(v, name = '', other = '') {
  if (typeof v !== 'number') return String(v ?? '—');
  const names = `${name} ${other}`;
  if (/usd|cost|revenue/i.test(names)) return money(v);
  if (/eur|turnover/i.test(names)) return money(v, 'EUR');
  if (/flop|compute/i.test(names)) return flop(v);
  return Math.abs(v) >= 1e4 ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}

// One reading of the statute: its answer, and its lines and trace one click away.
function Reading({ r }) {
  return html`<section class="reading" aria-label=${`Reading ${r.reading}`}>
    <h5>${r.reading}</h5>
    <p><${Status} status=${r.status} /></p>
    ${r.developer ? html`<p class="sub">Developer of record: ${r.developer}</p>` : ''}
    ${r.rule ? html`<p class="sub">Rule <code>${r.rule}</code>${r.cite ? html` · <cite>${r.cite}</cite>` : ''}</p>` : ''}
    ${r.margins?.length ? html`<ul class="plain lines">${r.margins.map((m) => html`<li><code>${sideName(m.left)} ${m.op} ${sideName(m.right)}</code>:
      ${number(m.value, m.left, m.right)} against ${number(m.threshold, m.right, m.left)}, ${m.margin} <${Holds} holds=${m.holds} /></li>`)}</ul>` : ''}
    <details><summary>Its clause trace (${r.explanation?.length ?? 0} steps)</summary><${Steps} steps=${r.explanation} /></details>
  </section>`;
}

// Each reading side by side: open when they disagree (the answer depends on the reading), one
// click away when they agree.
function Readings({ readings }) {
  if (!readings || readings.length < 2) return null;
  const agree = readings.every((r) => r.status === readings[0].status);
  const cards = html`<div class="side-by-side">${readings.map((r) => html`<${Reading} r=${r} />`)}</div>`;
  if (agree) {
    return html`<details class="readings"><summary>All ${readings.length} readings of the statute agree: ${statusWord(readings[0].status)}. Compare them side by side</summary>${cards}</details>`;
  }
  return html`<div class="readings">
    <h4>The answer depends on the reading: each reading side by side</h4>
    ${cards}
  </div>`;
}

function ObligationTable({ rows, now, caption }) {
  return html`<table class="data obligations">
    <caption class="visually-hidden">${caption}</caption>
    <thead><tr><th scope="col">Duty</th><th scope="col">State</th><th scope="col">Due</th><th scope="col">Clock</th></tr></thead>
    <tbody>${rows.map(({ o, state }) => html`<tr class=${state === 'overdue' ? 'row-overdue' : ''}>
      <td>${o.text}<div class="sub"><cite>${o.cite}</cite>${o.detail ? ` — ${o.detail}` : ''}</div></td>
      <td>${obligationWord(state)}</td>
      <td><${Time} iso=${o.due} /></td>
      <td><${Countdown} due=${o.due} now=${now} state=${state} /></td>
    </tr>`)}</tbody>
  </table>`;
}

// A regime's obligations: what is open or overdue first; met, standing and not-applicable duties
// one click away; those whose triggering event has not happened are left out.
export function Obligations({ obligations, now }) {
  const rows = (obligations ?? []).map((o) => ({ o, state: liveState(o.status ?? o.state, o.due, now) }))
    .filter(({ state }) => state !== 'not-triggered');
  const active = rows.filter(({ state }) => state === 'open' || state === 'overdue')
    .sort((a, b) => (a.state === b.state ? String(a.o.due ?? '~').localeCompare(String(b.o.due ?? '~')) : a.state === 'overdue' ? -1 : 1));
  const rest = rows.filter(({ state }) => state !== 'open' && state !== 'overdue');
  if (!rows.length) return html`<p class="muted">No obligation has started: their clocks start with the events that trigger them (training started, released, an incident discovered).</p>`;
  return html`${active.length ? html`<${ObligationTable} rows=${active} now=${now} caption="Open and overdue obligations" />`
      : html`<p>Nothing open or overdue.</p>`}
    ${rest.length ? html`<details><summary>Met, standing and not applicable (${rest.length})</summary>
      <${ObligationTable} rows=${rest} now=${now} caption="Met, standing and not applicable obligations" /></details>` : ''}`;
}

function Determination({ d, regime, now }) {
  const penalty = d.penalty_max !== null && d.penalty_max !== undefined;
  return html`<section class="regime card" aria-labelledby=${`regime-${d.regime}`}>
    <div class="card-head">
      <h3 id=${`regime-${d.regime}`}>${regime?.title ?? d.regime}</h3>
      <${Status} status=${d.status} covered=${d.covered} />
    </div>
    ${regime?.note ? html`<p class="note">${regime.note}</p>` : ''}
    ${d.in_force === false ? html`<p class="note">Not in force on this date: shown as the statute would apply.</p>` : ''}
    <p class="answer">
      ${d.basis?.length ? html`Basis: ${d.basis.map((b, i) => html`${i ? '; ' : ''}<cite>${b}</cite>`)}. ` : ''}
      ${d.developer_of_record ? html`Developer of record: ${d.developer_of_record}.` : ''}
    </p>
    <${Margins} margins=${d.margins} caption="Margins to every line" />
    <${Readings} readings=${d.readings} />
    <details class="why">
      <summary>Why: the clause trace</summary>
      <${Steps} steps=${d.explanation} />
      ${d.parameters?.length ? html`<table class="data params">
        <caption>The regime's figures on this date</caption>
        <thead><tr><th scope="col">Parameter</th><th scope="col" class="num">Value</th><th scope="col">Source</th></tr></thead>
        <tbody>${d.parameters.map((p) => html`<tr><td><code>${p.name}</code></td>
          <td class="num">${FLOP_UNITS.has(p.unit) ? flop(p.value) : p.unit === 'USD' ? money(p.value) : `${p.value} ${p.unit}`}</td>
          <td><cite>${p.cite}</cite>${p.basis ? html`<div class="sub">${p.basis}</div>` : ''}</td></tr>`)}</tbody>
      </table>` : ''}
    </details>
    <h4>Obligations</h4>
    <${Obligations} obligations=${d.obligations} now=${now} />
    ${penalty ? html`<p class="sub">Penalty: up to ${money(d.penalty_max, d.penalty_currency ?? 'USD')} for a first violation${
      d.penalty_subsequent_max ? `, ${money(d.penalty_subsequent_max, d.penalty_currency ?? 'USD')} for later ones` : ''}${
      d.penalty_condition ? ` (${d.penalty_condition})` : ''} — <cite>${d.penalty_cite}</cite></p>` : ''}
    ${d.notes?.length ? html`<ul class="notes">${d.notes.map((n) => html`<li>${n}</li>`)}</ul>` : ''}
  </section>`;
}

// The model's ancestors (walking `base`) and, among the first 1,000 models, its descendants.
function useLineage(model, generation) {
  const [lineage, setLineage] = useState(null);
  useEffect(() => {
    if (!model) return undefined;
    let cancelled = false;
    (async () => {
      const ancestors = [];
      for (let at = model.base, guard = 0; at && guard < 64; guard++) {
        try {
          const m = await get(`/models/${encodeURIComponent(at)}`);
          ancestors.unshift(m);
          at = m.base;
        } catch {
          break;
        }
      }
      // Every model whose lineage passes through this one (the API's derived_from filter).
      const page = await get(`/models${query({ derived_from: model.id, limit: 1000 })}`).catch(() => ({ items: [] }));
      if (!cancelled) setLineage({ ancestors, descendants: page.items, partial: Boolean(page.next_cursor) });
    })();
    return () => {
      cancelled = true;
    };
  }, [model?.id, model?.base, generation]);
  return lineage;
}

function LineageGraph({ model, lineage }) {
  const ref = useRef(null);
  const [svg, setSvg] = useState(null);
  const nodes = lineage ? [...lineage.ancestors, model, ...lineage.descendants] : [];
  useEffect(() => {
    if (!lineage) return;
    let cancelled = false;
    import('dagre').then(({ default: dagre }) => {
      const g = new dagre.graphlib.Graph();
      g.setGraph({ rankdir: 'LR', nodesep: 16, ranksep: 56, marginx: 8, marginy: 8 });
      g.setDefaultEdgeLabel(() => ({}));
      for (const n of nodes) g.setNode(n.id, { width: Math.max(120, n.id.length * 8 + 24), height: 40, model: n });
      for (const n of nodes) if (n.base && g.hasNode(n.base)) g.setEdge(n.base, n.id, { label: n.derivation, width: n.derivation.length * 7, height: 14 });
      dagre.layout(g);
      if (!cancelled) setSvg(g);
    });
    return () => {
      cancelled = true;
    };
  }, [lineage]);
  if (!lineage) return html`<${Loading} />`;
  if (nodes.length === 1) return html`<p class="muted">${model.id} has no base and, among the models listed, no derivatives.</p>`;
  const graph = svg?.graph();
  return html`<figure class="lineage" ref=${ref}>
    ${svg ? html`<svg width=${graph.width} height=${graph.height} viewBox=${`0 0 ${graph.width} ${graph.height}`} role="group" aria-labelledby="lineage-caption">
      <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#505a5f" /></marker></defs>
      ${svg.edges().map((e) => {
        const edge = svg.edge(e);
        const d = edge.points.map((p, i) => `${i ? 'L' : 'M'}${p.x},${p.y}`).join(' ');
        return html`<g class="edge"><path d=${d} marker-end="url(#arrow)" />
          <text x=${edge.x} y=${edge.y + 4} text-anchor="middle">${edge.label}</text></g>`;
      })}
      ${svg.nodes().map((id) => {
        const n = svg.node(id);
        const self = id === model.id;
        return html`<a href=${href(`/models/${encodeURIComponent(id)}`)} aria-current=${self ? 'page' : undefined} class=${self ? 'node self' : 'node'}>
          <title>${id} (${n.model.developer})</title>
          <rect x=${n.x - n.width / 2} y=${n.y - n.height / 2} width=${n.width} height=${n.height} rx="6" />
          <text x=${n.x} y=${n.y + 5} text-anchor="middle">${id}</text>
        </a>`;
      })}
    </svg>` : html`<${Loading} />`}
    <figcaption id="lineage-caption">Lineage of ${model.id}: ${nodes.filter((n) => n.base).map((n) => `${n.id} is a ${n.derivation} of ${n.base}`).join('; ')}.
      ${lineage.descendants.length ? html` <a href=${href('/models', { derived_from: model.id })}>${lineage.partial ? 'The first 1,000 of its derivatives' : `Its ${lineage.descendants.length === 1 ? 'derivative' : `${lineage.descendants.length} derivatives`}`} in the inventory</a>.` : ''}</figcaption>
  </figure>`;
}

const range = ([, low, high]) => (low === high ? 'no range given: exact as recorded' : `range ${flop(low)} – ${flop(high)}`);

// Compute: each stage of the model and its ancestors with its range; the model's own training and
// its total along the lineage; a chart of the running total against every compute line.
function Compute({ model, lineage, det }) {
  const chain = lineage ? [...lineage.ancestors, model] : [model];
  const stages = chain.flatMap((m) => (m.training ?? []).map((s) => ({ ...s, model: m.id })));
  const own = (model.training ?? []).reduce((a, s) => [a[0] + s.flop, a[1] + s.flop_low, a[2] + s.flop_high], [0, 0, 0]);
  const total = stages.reduce((a, s) => [a[0] + s.flop, a[1] + s.flop_low, a[2] + s.flop_high], [0, 0, 0]);
  const lines = [];
  for (const d of det?.model?.determinations ?? []) {
    if (!isCurrentRegime(d.regime)) continue;
    for (const p of d.parameters ?? []) if (FLOP_UNITS.has(p.unit)) lines.push({ regime: d.regime, name: p.name, value: p.value, cite: p.cite });
  }
  return html`<div class="compute">
    <dl class="figures">
      <div><dt>Its own training</dt><dd>${flop(det?.model?.training_flop ?? own[0])}</dd>
        <dd class="sub">${range(own)}</dd></div>
      <div><dt>Along its lineage</dt><dd>${flop(det?.model?.cumulative_flop ?? total[0])}</dd>
        <dd class="sub">${range(total)}${lineage ? '' : ' (ancestors loading)'}</dd></div>
      <div><dt>Cost, own / along lineage</dt><dd>${money(det?.model?.cost_usd)} / ${money(det?.model?.cumulative_cost_usd)}</dd></div>
    </dl>
    ${stages.length ? html`<table class="data stages">
      <caption>Training stages (the model's and its ancestors')</caption>
      <thead><tr><th scope="col">Model</th><th scope="col">Stage</th><th scope="col">Started</th><th scope="col" class="num">Compute</th>
        <th scope="col" class="num">Range</th><th scope="col">How it was counted</th><th scope="col" class="num">Cost</th></tr></thead>
      <tbody>${stages.map((s) => html`<tr>
        <td>${s.model}</td><td>${s.kind}</td><td>${s.start}</td><td class="num">${flop(s.flop)}</td>
        <td class="num">${s.flop_low === s.flop_high ? 'exact as given' : `${flop(s.flop_low)} – ${flop(s.flop_high)}`}</td>
        <td>${s.flop_method}</td><td class="num">${money(s.cost_usd)}<div class="sub">${s.cost_source}</div></td>
      </tr>`)}</tbody>
    </table>` : html`<p class="muted">No training stage is recorded for ${model.id}${model.base ? ' or its ancestors' : ''}.</p>`}
    ${stages.length && lines.length ? html`<${ComputeChart} stages=${stages} lines=${lines} asOf=${det?.as_of} />` : ''}
  </div>`;
}

// The running total of compute along the lineage (with its range as a band), step by step as each
// stage started, up to the date of the determination, against each compute line (log scale).
function ComputeChart({ stages, lines, asOf }) {
  const ref = useRef(null);
  useEffect(() => {
    let plot;
    let cancelled = false;
    import('uplot').then(({ default: uPlot }) => {
      if (cancelled || !ref.current) return;
      const day = 86400;
      const sorted = [...stages].sort((a, b) => a.start.localeCompare(b.start));
      const t = (d) => Date.parse(`${d}T00:00:00Z`) / 1000;
      const xs = [t(sorted[0].start) - 30 * day];
      const mid = [null];
      const lo = [null];
      const hi = [null];
      let acc = [0, 0, 0];
      for (const s of sorted) {
        acc = [acc[0] + s.flop, acc[1] + s.flop_low, acc[2] + s.flop_high];
        const x = t(s.start);
        if (x === xs.at(-1)) {
          mid[mid.length - 1] = acc[0];
          lo[lo.length - 1] = acc[1];
          hi[hi.length - 1] = acc[2];
          continue;
        }
        xs.push(x);
        mid.push(acc[0]);
        lo.push(acc[1]);
        hi.push(acc[2]);
      }
      const end = Math.max(asOf ? t(asOf) : 0, xs.at(-1) + 30 * day);
      xs.push(end);
      mid.push(acc[0]);
      lo.push(acc[1]);
      hi.push(acc[2]);
      // Lines at the same figure are one line, named for every regime that draws it.
      const byValue = new Map();
      for (const l of lines) byValue.set(l.value, [...(byValue.get(l.value) ?? []), `${regimeShort(l.regime)} ${l.name}`]);
      const unique = [...byValue].sort((a, b) => b[0] - a[0]).slice(0, 6).map(([value, names]) => ({ value, label: names.join(', ') }));
      const all = [...mid, ...lo, ...hi, ...unique.map((l) => l.value)].filter((v) => v > 0);
      const [yMin, yMax] = uPlot.rangeLog(Math.min(...all) / 3, Math.max(...all) * 3, 10, true);
      const palette = ['#b10e1e', '#4c2c92', '#00703c', '#7a4100', '#1d4ed8', '#4b5563'];
      const data = [xs, mid, lo, hi, ...unique.map((l) => xs.map(() => l.value))];
      const width = Math.min(ref.current.clientWidth || 720, 1000);
      const step = uPlot.paths.stepped({ align: 1 });
      plot = new uPlot({
        width,
        height: 280,
        title: 'Compute along the lineage against each line',
        scales: { y: { distr: 3, range: () => [yMin, yMax] } },
        axes: [{}, {
          // One label per power of ten.
          splits: () => {
            const out = [];
            for (let e = Math.round(Math.log10(yMin)); 10 ** e <= yMax * 1.0001; e++) out.push(10 ** e);
            return out;
          },
          values: (u, vals) => vals.map((v) => (v === null ? '' : `1e${Math.round(Math.log10(v))}`)),
          size: 56,
        }],
        series: [
          {},
          { label: 'Compute', stroke: '#0b0c0c', width: 2.5, paths: step, value: (u, v) => flop(v) },
          { label: 'Low', stroke: '#4b5563', dash: [3, 3], paths: step, value: (u, v) => flop(v) },
          { label: 'High', stroke: '#4b5563', dash: [3, 3], paths: step, value: (u, v) => flop(v) },
          ...unique.map((l, i) => ({ label: l.label, stroke: palette[i], width: 1.5, dash: [10, 5], points: { show: false }, value: (u, v) => flop(v) })),
        ],
        bands: [{ series: [3, 2], fill: 'rgba(75,85,99,0.12)' }],
      }, data, ref.current);
    });
    return () => {
      cancelled = true;
      plot?.destroy();
    };
  }, [stages, lines, asOf]);
  return html`<figure class="chart">
    <div ref=${ref} role="img" aria-label=${`Chart: the running total of training compute along the lineage, with its range, against ${lines.length} compute lines.`}></div>
  </figure>`;
}

export function ModelPage({ id }) {
  const { generation, me } = useSession();
  const now = useNow(1000);
  const path = `/models/${encodeURIComponent(id)}`;
  const { data: model, error } = useGet(path, generation);
  const { data: det, error: detError } = useGet(`${path}/determination`, generation);
  const lineage = useLineage(model, generation);
  const regimes = new Map((det?.regimes ?? []).map((r) => [r.id, r]));
  const determinations = det?.model?.determinations ?? [];
  const current = determinations.filter((d) => isCurrentRegime(d.regime));
  const earlier = determinations.filter((d) => !isCurrentRegime(d.regime));

  return html`<article>
    <p class="crumbs"><a href="#/models">Models</a> › ${id}</p>
    <div class="page-head">
      <${PageTitle} title=${id} />
      <span class="head-actions"><a class="button secondary" href=${href(`/models/${encodeURIComponent(id)}/documents`)}>Documents</a>
      ${can(me, RECORDERS) ? html` <a class="button secondary" href=${href('/events/new', { model: id })}>Record an event for ${id}</a>` : ''}</span>
    </div>
    <${Problem} error=${error} />
    ${model ? html`<p class="lead">${model.developer} · ${model.base ? html`${model.derivation} of <a href=${href(`/models/${encodeURIComponent(model.base)}`)}>${model.base}</a>` : 'pretrained from scratch'}${
      model.foundation_model ? ' · foundation model' : ''}${model.open_source ? ' · open weights' : ''}</p>` : ''}
    ${det ? html`<section class="summary" aria-label="Status per regime">
      <ul class="regime-summary">${current.map((d) => html`<li><a href=${`#regime-${d.regime}`} onClick=${(e) => { e.preventDefault(); document.getElementById(`regime-${d.regime}`)?.scrollIntoView(); }}>${regimeShort(d.regime)}</a> <${Status} status=${d.status} covered=${d.covered} /></li>`)}</ul>
      <p class="sub">As of ${det.as_of}.</p>
    </section>` : ''}
    <${Problem} error=${detError} />
    ${model ? html`<section aria-labelledby="compute-h"><h2 id="compute-h">Compute</h2><${Compute} model=${model} lineage=${lineage} det=${det} /></section>
      <section aria-labelledby="lineage-h"><h2 id="lineage-h">Lineage</h2><${LineageGraph} model=${model} lineage=${lineage} /></section>` : ''}
    ${det ? html`<section aria-labelledby="det-h"><h2 id="det-h">Determination per regime</h2>
      ${current.map((d) => html`<${Determination} d=${d} regime=${regimes.get(d.regime)} now=${now} />`)}
      ${earlier.length ? html`<details class="earlier"><summary>Earlier versions of the statutes (${earlier.length})</summary>
        ${earlier.map((d) => html`<${Determination} d=${d} regime=${regimes.get(d.regime)} now=${now} />`)}</details>` : ''}
    </section>` : !detError ? html`<${Loading} />` : ''}
    ${model ? html`<section aria-labelledby="events-h"><h2 id="events-h">Events</h2>
      ${model.events?.length ? html`<table class="data events"><caption class="visually-hidden">Events of ${id}</caption>
        <thead><tr><th scope="col">Event</th><th scope="col">When</th></tr></thead>
        <tbody>${[...model.events].reverse().map((e) => html`<tr><td>${e.kind}</td><td><${Time} iso=${e.at} /></td></tr>`)}</tbody></table>`
        : html`<p class="muted">No events yet. Record one (training started, released, …) and the obligations' clocks start.</p>`}
    </section>` : ''}
  </article>`;
}
