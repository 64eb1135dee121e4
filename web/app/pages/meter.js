// The live compute meter (issue 15): every run metered into the workspace (`flopline meter watch
// --store`), against each regime's compute line, with when it will cross at its current rate and
// whether the duties owed before the line are recorded as done; a run's page charts its counted
// FLOP over time with the lines and the projection. The figures are the meter's own, as recorded in
// the log (GET /api/v1/meter, /api/v1/meter/runs/{run}); each names the record it comes from.
import { useEffect, useRef } from 'preact/hooks';

import { useGet } from '../api.js';
import { flop } from '../format.js';
import { html } from '../html.js';
import { Empty, Loading, PageTitle, Problem, Status, Time, href, regimeShort, statusWord, useSession } from '../ui.js';

const percent = (f) => (Number.isFinite(f) ? `${(100 * f).toFixed(f < 0.1 ? 1 : 0)}%` : '—');
// Of a line: "82%", or past it "82× the line".
const ofLine = (f) => (f >= 10 ? `${Math.round(f)}× the line` : f >= 1 ? `${percent(f)} (crossed)` : percent(f));
const lineName = (l) => `${regimeShort(l.regime)}: ${l.line}`;
// The clause, without the words of the statute that follow it ("Art. 51(2)"); the whole in a tooltip.
const Cite = ({ cite }) => html`<span title=${cite}>${String(cite ?? '').split(':')[0]}</span>`;

// "5.5e20 FLOP/s (4.9e20 to 6.1e20)"
function Rate({ rate }) {
  if (!rate || !rate.flop_per_second) return html`<span class="muted">not known yet</span>`;
  const per = (x) => flop(x).replace(' FLOP', '');
  return html`<span>${per(rate.flop_per_second)} FLOP/s <span class="sub">(${per(rate.low)} to ${per(rate.high)}, over the last ${Math.round(rate.window_seconds / 60)} min)</span></span>`;
}

// The projected crossing: its date, and the range from the fastest to the slowest recent rate.
function Crossing({ projection, met }) {
  if (met) return html`<strong><span aria-hidden="true">▲ </span>Crossed</strong>`;
  if (!projection?.point) return html`<span class="muted">no projection (rate unknown)</span>`;
  return html`<span><${Time} iso=${projection.point} />
    <div class="sub">range <${Time} iso=${projection.earliest} /> to <${Time} iso=${projection.latest} /></div></span>`;
}

function DutiesFlag({ unmet, duties = [] }) {
  if (!unmet) return html`<span><span aria-hidden="true">✔ </span>None unmet</span>`;
  return html`<strong class="countdown overdue"><span aria-hidden="true">⚠ </span>${duties.length || ''} unmet</strong>
    ${duties.length ? html`<div class="sub">${duties.map((d, i) => html`${i ? '; ' : ''}<span title=${d.id}>${regimeShort(d.regime)} ${d.cite}</span>`)}</div>` : ''}`;
}

function Source({ state }) {
  return html`<a href=${`#/evidence/${state.index}`} title=${`meter-state record ${state.index}, leaf ${state.leaf_hash}`}>record ${state.index}</a>`;
}

function EmptyMeter() {
  return html`<${Empty} title="No run is metered into this workspace yet">
    <p>Meter a training run into the workspace's store and it appears here, with each regime's line and its projected crossing:</p>
    <pre><code>flopline meter watch --follow steps.jsonl --run RUN=MODEL --models models.toml --store STORE</code></pre>
    <p>Use the store this server was started with (<code>flopline serve --store STORE</code>). The step events, framework logs and telemetry the meter reads: <code>docs/meter.md</code>.</p>
  <//>`;
}

export function MeterPage() {
  const { generation } = useSession();
  const { data, error, loading } = useGet('/meter', generation);
  const runs = data?.runs ?? [];
  return html`<section>
    <${PageTitle} title="Compute meter" />
    <p class="lead">Training runs as the meter counts them, against each regime's compute line: how close each is to the nearest line, when it will cross it at its current rate, and whether the duties owed before the line are recorded as done.</p>
    <${Problem} error=${error} />
    ${loading && !data ? html`<${Loading} />` : ''}
    ${data && !runs.length ? html`<${EmptyMeter} />` : ''}
    ${runs.length ? html`<table class="data meter-runs">
      <caption class="visually-hidden">Metered runs, by id</caption>
      <thead><tr><th scope="col">Run</th><th scope="col">Model</th><th scope="col" class="num">FLOP so far</th>
        <th scope="col">Nearest line</th><th scope="col" class="num">Of the line</th><th scope="col">Projected crossing</th>
        <th scope="col">Duties before a line</th><th scope="col">As of</th></tr></thead>
      <tbody>${runs.map((r) => html`<tr data-run=${r.run} class=${r.duties_unmet ? 'row-warn' : ''}>
        <th scope="row"><a href=${href(`/meter/${encodeURIComponent(r.run)}`)}>${r.run}</a></th>
        <td class="nowrap"><a href=${href(`/models/${encodeURIComponent(r.model)}`)}>${r.model}</a></td>
        <td class="num" data-field="flop">${flop(r.flop)}</td>
        <td>${r.nearest ? html`${lineName(r.nearest)}<div class="sub"><${Cite} cite=${r.nearest.cite} />, ${flop(r.nearest.threshold_flop)}</div>`
          : html`<span class="muted">${r.lines_met ? `every line crossed (${r.lines_met})` : 'no line (no model files given to the meter)'}</span>`}</td>
        <td class="num" data-field="fraction">${r.nearest ? percent(r.nearest.fraction) : '—'}</td>
        <td data-field="crossing">${r.nearest ? html`<${Crossing} projection=${r.nearest.projected_crossing} />` : '—'}
          ${r.lines_met ? html`<div class="sub"><span aria-hidden="true">▲ </span>${r.lines_met} line${r.lines_met === 1 ? '' : 's'} crossed</div>` : ''}</td>
        <td data-field="duties"><${DutiesFlag} unmet=${r.duties_unmet} duties=${r.unmet_duties} /></td>
        <td>${r.last_event ? html`<${Time} iso=${r.last_event} />` : '—'}<div class="sub"><${Source} state=${r.state} /></div></td>
      </tr>`)}</tbody>
    </table>` : ''}
  </section>`;
}

// The run's counted FLOP over time, each line the run moves as a horizontal rule (at the run's FLOP
// where it is met), and the projection to the nearest line as a dashed segment to its point, with
// dotted ones to the earliest and latest of its range.
function MeterChart({ run }) {
  const ref = useRef(null);
  useEffect(() => {
    let plot;
    let cancelled = false;
    import('uplot').then(({ default: uPlot }) => {
      if (cancelled || !ref.current) return;
      const sec = (iso) => Date.parse(iso) / 1000;
      const history = run.history.map((p) => [sec(p.at), p.flop]);
      const near = run.nearest;
      const target = near ? (run.lines.find((l) => l.param === near.param && l.regime === near.regime && l.line === near.line)?.run_flop_at_line ?? null) : null;
      const pc = near?.projected_crossing;
      const last = history.at(-1);
      const ends = target && pc?.point ? { point: sec(pc.point), earliest: sec(pc.earliest), latest: sec(pc.latest) } : null;
      const xs = [...new Set([...history.map((p) => p[0]), ...(ends ? [ends.earliest, ends.point, ends.latest] : [])])].sort((a, b) => a - b);
      const at = (pairs) => xs.map((x) => pairs.find((p) => p[0] === x)?.[1] ?? null);
      // The lines: those met, and the nearest not met (the others lie beyond the chart's time).
      const top = Math.max(target ?? 0, ...history.map((p) => p[1]));
      // A line far below the chart's scale (crossed long ago) is left to the table.
      const rules = run.lines.filter((l) => l.moved_by_run && l.run_flop_at_line !== null && l.run_flop_at_line <= top * 1.0001
        && l.run_flop_at_line >= top / 50);
      const byValue = new Map();
      for (const l of rules) byValue.set(l.run_flop_at_line, [...(byValue.get(l.run_flop_at_line) ?? []), lineName(l)]);
      const unique = [...byValue].sort((a, b) => b[0] - a[0]).slice(0, 5);
      const palette = ['#b10e1e', '#4c2c92', '#00703c', '#7a4100', '#1d4ed8'];
      const projection = (end) => at(ends ? [[last[0], last[1]], [end, target]] : []);
      const data = [xs, at(history), projection(ends?.point), projection(ends?.earliest), projection(ends?.latest),
        ...unique.map(([v]) => xs.map(() => v))];
      const width = Math.min(ref.current.clientWidth || 720, 1000);
      plot = new uPlot({
        width,
        height: 300,
        title: 'Counted FLOP over time, against the lines',
        scales: { y: { range: () => [0, top * 1.12] } },
        axes: [{}, { values: (u, vals) => vals.map((v) => flop(v).replace(' FLOP', '')), size: 70 }],
        series: [
          {},
          { label: 'Counted', stroke: '#0b0c0c', width: 2.5, spanGaps: true, value: (u, v) => flop(v) },
          { label: 'Projected', stroke: '#0b0c0c', width: 1.5, dash: [8, 5], spanGaps: true, points: { show: false }, value: (u, v) => flop(v) },
          { label: 'Fastest', stroke: '#4b5563', width: 1, dash: [2, 4], spanGaps: true, points: { show: false }, value: (u, v) => flop(v) },
          { label: 'Slowest', stroke: '#4b5563', width: 1, dash: [2, 4], spanGaps: true, points: { show: false }, value: (u, v) => flop(v) },
          ...unique.map(([, names], i) => ({ label: names.join(', '), stroke: palette[i], width: 1.5, points: { show: false }, value: (u, v) => flop(v) })),
        ],
      }, data, ref.current);
    });
    return () => {
      cancelled = true;
      plot?.destroy();
    };
  }, [run]);
  return html`<figure class="chart">
    <div ref=${ref} role="img" aria-label=${`Chart: the run's counted FLOP at ${run.history.length} recorded states, the lines as horizontal rules, and the projection to the nearest line with its range.`}></div>
  </figure>`;
}

function DutyList({ duties }) {
  if (!duties?.length) return html`<span class="muted">none owed just past it</span>`;
  return html`<ul class="duties">${duties.map((d) => html`<li data-duty=${d.id} class=${d.unmet ? 'unmet' : ''}>
    ${d.met ? html`<span><span aria-hidden="true">✔ </span>Met</span>` : d.unmet ? html`<strong class="countdown overdue"><span aria-hidden="true">⚠ </span>${d.state === 'overdue' ? 'Overdue' : 'Not recorded'}</strong>` : html`<span>${statusWord(d.state)}</span>`}
    ${' '}${d.text?.split(/[.;]/)[0] ?? d.id} <span class="sub">(${d.cite}${d.met_by ? `; recorded by a ${d.met_by} event` : ''})</span>
  </li>`)}</ul>`;
}

export function MeterRunPage({ run: id }) {
  const { generation } = useSession();
  const { data: run, error, loading } = useGet(`/meter/runs/${encodeURIComponent(id)}`, generation);
  const lines = (run?.lines ?? []).filter((l) => l.moved_by_run);
  return html`<section>
    <p class="crumbs"><a href="#/meter">Compute meter</a></p>
    <${PageTitle} title=${`Run ${id}`} />
    <${Problem} error=${error} />
    ${loading && !run ? html`<${Loading} />` : ''}
    ${run ? html`
      <p class="lead">Trains <a href=${href(`/models/${encodeURIComponent(run.model)}`)}>${run.model}</a>. As the meter counted it at its last event, <${Time} iso=${run.last_event} /> (<${Source} state=${run.state} />).</p>
      <dl class="facts">
        <div><dt>FLOP so far</dt><dd data-field="flop">${flop(run.flop)}</dd></div>
        <div><dt>Tokens</dt><dd data-field="tokens">${Number(run.tokens).toLocaleString()}</dd></div>
        <div><dt>Rate</dt><dd data-field="rate"><${Rate} rate=${run.rate} /></dd></div>
        <div><dt>Steps</dt><dd>${run.steps_counted.toLocaleString()} counted${run.steps_repeated ? `, ${run.steps_repeated.toLocaleString()} repeated (not counted twice)` : ''}</dd></div>
      </dl>
      ${run.history.length ? html`<${MeterChart} run=${run} />` : ''}
      <h2>The lines</h2>
      ${lines.length ? html`<table class="data meter-lines">
        <caption class="visually-hidden">Each regime's compute line the run moves</caption>
        <thead><tr><th scope="col">Line</th><th scope="col" class="num">Threshold</th><th scope="col" class="num">Counted as the regime counts</th>
          <th scope="col" class="num">Of the line</th><th scope="col">Projected crossing</th><th scope="col">Past it</th><th scope="col">Duties before it</th></tr></thead>
        <tbody>${lines.map((l) => html`<tr data-line=${`${l.regime}/${l.param}/${l.readings.join('+')}`} class=${l.duties_unmet ? 'row-warn' : ''}>
          <th scope="row">${lineName(l)}<div class="sub"><${Cite} cite=${l.cite} />${l.readings.length ? `; ${[...new Set(l.readings)].join(' / ')}` : ''}</div></th>
          <td class="num">${flop(l.threshold_flop)}</td>
          <td class="num">${flop(l.flop)}</td>
          <td class="num" data-field="fraction">${ofLine(l.fraction)}</td>
          <td data-field="crossing"><${Crossing} projection=${l.projected_crossing} met=${l.fraction >= 1} /></td>
          <td>${l.status_at_line ? html`<${Status} status=${l.status_at_line} />` : '—'}</td>
          <td><${DutyList} duties=${l.duties} /></td>
        </tr>`)}</tbody>
      </table>` : html`<p class="muted">The meter was given no model files for this run (<code>--models</code>), so it judged it against no line.</p>`}
      <h2>Crossings</h2>
      ${run.crossings.length ? html`<ul>${run.crossings.map((c) => html`<li data-crossing=${c.param}>
        <strong><span aria-hidden="true">▲ </span>${lineName(c)}</strong> (<${Cite} cite=${c.cite} />) crossed at <${Time} iso=${c.at} />: ${flop(c.flop)} of ${flop(c.threshold_flop)}${' '}
        (<a href=${`#/evidence/${c.record.index}`}>record ${c.record.index}</a>)</li>`)}</ul>`
        : html`<p>No line crossed yet.</p>`}
      ${run.status_if_stopped_now.length ? html`<h2>If training stopped now</h2>
        <ul>${run.status_if_stopped_now.map((s) => html`<li>${regimeShort(s.regime)}: <${Status} status=${s.status} covered=${s.covered} /></li>`)}</ul>` : ''}
    ` : ''}
  </section>`;
}
