// The obligations calendar: overdue first, then what falls due within 72 hours and within 30 days,
// each with a live countdown and its date in local time with UTC beside. Filters in the URL; the
// server pages the list (100 at a time, more as the reader scrolls) and counts each group.
import { useEffect, useRef } from 'preact/hooks';

import { query, usePages } from '../api.js';
import { ms, plural } from '../format.js';
import { html } from '../html.js';
import {
  Countdown, Empty, Loading, PageTitle, Problem, RECORDERS, Time, can, href, isCurrentRegime, liveState, navigate, obligationWord,
  regimeShort, useNow, useSession,
} from '../ui.js';

const HOUR = 3600 * 1000;

// Which group an obligation falls in at `now`: the server's state, with the clock read here so a
// deadline that passes while the page is open turns overdue without a reload.
export function groupOf(o, now) {
  const due = ms(o.due);
  const state = liveState(o.state, o.due, now);
  if (state === 'overdue') return 'overdue';
  if (state === 'open' && Number.isFinite(due)) {
    if (due - now <= 72 * HOUR) return 'soon';
    if (due - now <= 30 * 24 * HOUR) return 'month';
    return 'later';
  }
  if (state === 'open') return 'undated';
  if (o.state === 'met' || o.state === 'met-late') return 'met';
  if (o.state === 'standing') return 'standing';
  return 'other';
}

const GROUPS = [
  ['overdue', 'Overdue', true],
  ['soon', 'Due within 72 hours', true],
  ['month', 'Due within 30 days', true],
  ['later', 'Due later', true],
  ['undated', 'Open, with no fixed date', true],
  ['standing', 'Standing duties', false],
  ['met', 'Met', false],
  ['other', 'Not applicable', false],
];

function Table({ rows, now, id }) {
  return html`<table class="data obligations" aria-labelledby=${id}>
    <thead><tr><th scope="col">Model</th><th scope="col">Regime</th><th scope="col">Duty</th><th scope="col">Due</th><th scope="col">Clock</th></tr></thead>
    <tbody>${rows.map((o) => {
      const overdue = groupOf(o, now) === 'overdue';
      return html`<tr class=${overdue ? 'row-overdue' : ''} data-obligation=${o.id}>
        <td><a href=${href(`/models/${encodeURIComponent(o.model)}`)}>${o.model}</a></td>
        <td>${regimeShort(o.regime)}</td>
        <td>${o.text}<div class="sub"><cite>${o.cite}</cite>${o.detail ? ` — ${o.detail}` : ''}${
          o.state === 'met-late' ? html` — <strong>${obligationWord(o.state)}</strong>` : ''}</div></td>
        <td><${Time} iso=${o.due} /></td>
        <td><${Countdown} due=${o.due} now=${now} state=${overdue ? 'overdue' : o.state} /></td>
      </tr>`;
    })}</tbody>
  </table>`;
}

// Asks for the next page when the end of the list comes into view (and on the button, for a
// keyboard): the calendar of 10,000 models arrives a page at a time.
function MorePages({ data, loading, more }) {
  const ref = useRef(null);
  const shown = data.items.length;
  useEffect(() => {
    if (!ref.current || !data.next_cursor || typeof IntersectionObserver === 'undefined') return undefined;
    const seen = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && more(), { rootMargin: '600px' });
    seen.observe(ref.current);
    return () => seen.disconnect();
  }, [shown, data.next_cursor]);
  if (!data.next_cursor) return null;
  return html`<div class="pager" ref=${ref}>
    <span>${shown.toLocaleString()} of ${plural(data.total, 'duty', 'duties')} shown</span>
    <button type="button" class="secondary" disabled=${loading} onClick=${more}>Show ${PAGE_SIZE} more</button>
  </div>`;
}

const PAGE_SIZE = 100;

export function ObligationsPage({ params }) {
  const { generation, me } = useSession();
  // Every 10 s: the countdowns move by the minute, and a long calendar is not re-drawn every second.
  const now = useNow(10000);
  // The server pages the calendar in its order (overdue, then soonest due) and counts each group.
  const path = `/obligations${query({ regime: params.regime, search: params.model, versions: params.versions === '1' ? '' : 'current' })}`;
  const { data, error, loading, more } = usePages(path, generation, PAGE_SIZE);
  const shown = data?.items ?? [];
  const regimes = (data?.regimes ?? []).filter((r) => params.versions === '1' || isCurrentRegime(r) || r === params.regime);
  if (params.regime && !regimes.includes(params.regime)) regimes.push(params.regime);
  const grouped = Object.fromEntries(GROUPS.map(([key]) => [key, []]));
  for (const o of shown) grouped[groupOf(o, now)].push(o);
  const counts = data?.groups ?? {};
  const set = (key) => (e) => navigate('/obligations', { ...params, [key]: e.target.type === 'checkbox' ? (e.target.checked ? '1' : '') : e.target.value }, { replace: true });

  return html`<section>
    <div class="page-head">
      <${PageTitle} title="What is due" />
      ${can(me, RECORDERS) ? html`<a class="button secondary" href="#/events/new">Record an event</a>` : ''}
    </div>
    <p class="lead">Every obligation whose clock has started, overdue first. Dates are in your time zone, with UTC beside; the clocks keep running while the page is open.</p>
    ${data ? html`<ul class="tally" aria-label="Summary">
      <li class=${counts.overdue ? 'bad' : ''}><strong>${counts.overdue ?? 0}</strong> overdue</li>
      <li class=${counts.soon ? 'warn' : ''}><strong>${counts.soon ?? 0}</strong> due within 72 h</li>
      <li><strong>${counts.month ?? 0}</strong> due within 30 days</li>
      <li><strong>${counts.met ?? 0}</strong> met</li>
    </ul>` : ''}
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <div class="field inline">
        <label for="ob-regime">Regime</label>
        <select id="ob-regime" value=${params.regime ?? ''} onChange=${set('regime')}>
          <option value="">Every regime</option>
          ${regimes.map((r) => html`<option value=${r}>${regimeShort(r)}</option>`)}
        </select>
      </div>
      <div class="field inline">
        <label for="ob-model">Model</label>
        <input id="ob-model" type="search" value=${params.model ?? ''} onChange=${set('model')} />
      </div>
      <div class="field inline checkbox">
        <input id="ob-versions" type="checkbox" checked=${params.versions === '1'} onChange=${set('versions')} />
        <label for="ob-versions">Include earlier versions of the statutes</label>
      </div>
    </form>
    <${Problem} error=${error} />
    ${loading && !data ? html`<${Loading} />` : ''}
    ${data && !shown.length ? html`<${Empty} title=${params.model || params.regime ? 'Nothing due matches' : 'Nothing is due yet'}>
      <p>An obligation's clock starts with the event that triggers it: training started, a release, an incident discovered.
      ${can(me, RECORDERS) ? html` <a href="#/events/new">Record an event</a> for a model,` : ''} or import model files with their events
      (<code>flopline import --store sqlite:WORKSPACE.db examples/models/*.toml</code>).</p>
    <//>` : ''}
    ${GROUPS.map(([key, title, open]) => {
      const rows = grouped[key];
      if (!rows.length) return null;
      const id = `group-${key}`;
      const count = Math.max(counts[key] ?? 0, rows.length);
      const heading = html`${title} <span class="count">(${plural(count, 'duty', 'duties')}${rows.length < count ? `, ${rows.length.toLocaleString()} shown` : ''})</span>`;
      const body = html`<${Table} rows=${rows} now=${now} id=${id} />`;
      return open
        ? html`<section class=${`group group-${key}`}><h2 id=${id}>${key === 'overdue' ? html`<span aria-hidden="true">⚠ </span>` : ''}${heading}</h2>${body}</section>`
        : html`<details class=${`group group-${key}`}><summary><h2 id=${id}>${heading}</h2></summary>${body}</details>`;
    })}
    ${data ? html`<${MorePages} data=${data} loading=${loading} more=${more} />` : ''}
  </section>`;
}
