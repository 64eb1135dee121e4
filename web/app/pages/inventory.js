// The inventory: every model with its status per regime, filtered by regime, status and a search,
// the filters kept in the URL (#/models?regime=ca-sb1047&status=covered&search=acme), a page of
// 100 at a time.
import { useEffect, useRef, useState } from 'preact/hooks';

import { query, useGet } from '../api.js';
import { flop } from '../format.js';
import { html } from '../html.js';
import {
  Countdown, Empty, Loading, PageTitle, Problem, RECORDERS, Status, can, href, isCurrentRegime, navigate, regimeShort,
  statusWord, useNow, useSession,
} from '../ui.js';

export const PAGE_SIZE = 100;

// The statuses a regime file may give (regimes/*.toml), and the engine's own two.
const STATUSES = [
  'covered-model', 'covered-model-derivative', 'derivative-model', 'not-covered', 'large-frontier-developer',
  'frontier-developer', 'not-frontier', 'gpai-systemic-risk', 'gpai', 'modification-below-provider-threshold',
  'not-gpai', 'depends-on-reading', 'unknown',
];

// The regimes of the workspace, learned from the models' determinations (the API lists them there).
export function regimesOf(items) {
  const seen = new Set();
  for (const item of items ?? []) for (const id of Object.keys(item.determinations ?? {})) seen.add(id);
  return [...seen].sort();
}

function Filters({ params, regimes }) {
  const [search, setSearch] = useState(params.search ?? '');
  // The search goes into the URL a moment after typing stops; the box follows the URL only when
  // the URL changed otherwise (Clear filters, Back), never while one types.
  const pushed = useRef(params.search ?? '');
  useEffect(() => {
    if ((params.search ?? '') !== pushed.current) {
      pushed.current = params.search ?? '';
      setSearch(pushed.current);
    }
  }, [params.search]);
  useEffect(() => {
    if (pushed.current === search) return undefined;
    const t = setTimeout(() => {
      pushed.current = search;
      navigate('/models', { ...params, search, cursor: '', page: '' }, { replace: true });
    }, 250);
    return () => clearTimeout(t);
  }, [search]);
  const set = (key) => (e) => navigate('/models', { ...params, [key]: e.target.value, cursor: '', page: '' }, { replace: true });
  const filtered = params.search || params.regime || params.status || params.derived_from;
  return html`<form class="filters" role="search" onSubmit=${(e) => e.preventDefault()}>
    <div class="field inline">
      <label for="filter-search">Search id or developer</label>
      <input id="filter-search" type="search" value=${search} onInput=${(e) => setSearch(e.target.value)} />
    </div>
    <div class="field inline">
      <label for="filter-regime">Regime</label>
      <select id="filter-regime" value=${params.regime ?? ''} onChange=${set('regime')}>
        <option value="">Any regime</option>
        ${regimes.map((r) => html`<option value=${r}>${regimeShort(r)}</option>`)}
      </select>
    </div>
    <div class="field inline">
      <label for="filter-status">Status</label>
      <select id="filter-status" value=${params.status ?? ''} onChange=${set('status')}>
        <option value="">Any status</option>
        <option value="covered">Covered by the regime (any covered status)</option>
        ${STATUSES.map((s) => html`<option value=${s}>${statusWord(s)}</option>`)}
      </select>
    </div>
    <div class="field inline">
      <label for="filter-derived">Derivatives of</label>
      <input id="filter-derived" type="search" placeholder="a model id" value=${params.derived_from ?? ''} onChange=${set('derived_from')} />
    </div>
    ${filtered ? html`<a class="clear" href="#/models">Clear filters</a>` : ''}
  </form>`;
}

// The margin to the line that decided the status ("cumulative_flop 1.2e26 is above 1e26"), in words.
function Margin({ margin }) {
  if (!margin) return null;
  return html`<div class="sub margin">${margin.replace(/^cumulative_flop\b/, 'compute').replaceAll('_', ' ')}</div>`;
}

// The regime's most pressing deadline: its countdown, and the duty beside it.
function NextDeadline({ next, now }) {
  if (!next) return null;
  return html`<div class="sub next-deadline" title=${`${next.text} (${next.cite})`}><${Countdown} due=${next.due} now=${now} state=${next.state} />
    <span class="duty">${next.text}</span></div>`;
}

export function InventoryPage({ params }) {
  const { generation, me } = useSession();
  const page = Math.max(1, Number(params.page) || 1);
  const now = useNow(60000);
  const path = `/models${query({ regime: params.regime, status: params.status, search: params.search, derived_from: params.derived_from, cursor: params.cursor, limit: PAGE_SIZE })}`;
  const { data, error, loading } = useGet(path, generation);
  const items = data?.items ?? [];
  const all = regimesOf(items);
  const columns = all.filter((r) => isCurrentRegime(r) || r === params.regime);
  const regimes = all.length ? all : params.regime ? [params.regime] : [];
  const filtered = params.search || params.regime || params.status || params.derived_from;
  const first = (page - 1) * PAGE_SIZE + 1;

  return html`<section>
    <div class="page-head">
      <${PageTitle} title="Models" />
      ${can(me, RECORDERS) ? html`<a class="button secondary" href="#/events/new">Record an event</a>` : ''}
    </div>
    <p class="lead">Each model against each regime as of today. Open a model for the clause trace, each reading, the margins and its lineage.</p>
    <${Filters} params=${params} regimes=${regimes} />
    <${Problem} error=${error} />
    ${loading && !data ? html`<${Loading} />` : ''}
    ${data && !items.length && !filtered && !params.cursor ? html`<${Empty} title="No models yet">
      <p>Import your model files and the dashboard shows them at once:</p>
      <pre><code>flopline import --store sqlite:WORKSPACE.db examples/models/*.toml</code></pre>
      <p>or add a model through the API (<code>POST /api/v1/models</code>, see the <a href="/api/v1/openapi.json">OpenAPI document</a>).</p>
    <//>` : ''}
    ${data && !items.length && (filtered || params.cursor) ? html`<${Empty} title="No model matches">
      <p>No model matches these filters. <a href="#/models">Clear the filters</a> to see every model.</p>
    <//>` : ''}
    ${items.length ? html`<table class="data inventory">
      <caption>Models ${first.toLocaleString()}–${(first + items.length - 1).toLocaleString()}${filtered ? ' matching the filters' : ''}</caption>
      <thead><tr>
        <th scope="col">Model</th>
        <th scope="col">Developer</th>
        <th scope="col" class="num">Training compute<br /><span class="sub">along its lineage</span></th>
        ${columns.map((r) => html`<th scope="col" title=${r}>${regimeShort(r)}</th>`)}
      </tr></thead>
      <tbody>
        ${items.map((m) => html`<tr key=${m.id}>
          <th scope="row"><a href=${href(`/models/${encodeURIComponent(m.id)}`)}>${m.id}</a>
            ${m.base ? html`<div class="sub">${m.derivation} of ${m.base}</div>` : ''}</th>
          <td>${m.developer}</td>
          <td class="num">${flop(m.cumulative_flop)}</td>
          ${columns.map((r) => {
            const d = m.determinations?.[r];
            return html`<td>${d ? html`<${Status} status=${d.status} covered=${d.covered} /><${Margin} margin=${d.margin} /><${NextDeadline} next=${d.next_deadline} now=${now} />` : html`<span class="muted">—</span>`}</td>`;
          })}
        </tr>`)}
      </tbody>
    </table>` : ''}
    <nav class="pager" aria-label="Pages of models">
      ${params.cursor ? html`<a href=${href('/models', { ...params, cursor: '', page: '' })}>First page</a>` : ''}
      ${data?.next_cursor ? html`<a rel="next" href=${href('/models', { ...params, cursor: data.next_cursor, page: page + 1 })}>Next ${PAGE_SIZE} models →</a>` : ''}
    </nav>
  </section>`;
}
