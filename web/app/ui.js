// Pieces every page uses: links into the hash router, status words with icons, times with UTC
// beside, live countdowns, GOV.UK-style error summaries and form fields, empty and error states.
import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';

import { html } from './html.js';
import { countdown, when } from './format.js';

// ---- routing: #/path?query ------------------------------------------------------------------

export function parseHash(hash = location.hash) {
  const raw = hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const params = Object.fromEntries(new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)));
  return { path: path || '/', params };
}

export function href(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}

export function navigate(path, params = {}, { replace = false } = {}) {
  const target = href(path, params);
  if (replace) history.replaceState(null, '', target);
  else history.pushState(null, '', target);
  dispatchEvent(new HashChangeEvent('hashchange'));
}

export function useRoute() {
  const [route, setRoute] = useState(parseHash());
  useEffect(() => {
    const update = () => setRoute(parseHash());
    addEventListener('hashchange', update);
    addEventListener('popstate', update);
    return () => {
      removeEventListener('hashchange', update);
      removeEventListener('popstate', update);
    };
  }, []);
  return route;
}

// ---- the session and the live state shared by every page ------------------------------------

// {me: {name, role}, generation, live: {overdue, next_deadline}, now}
export const Session = createContext(null);
export const useSession = () => useContext(Session);

// Who may do what (the server's route table, src/server/api.cc, decides; these only shape the
// page so a reader sees before submitting that their role cannot).
export const RECORDERS = ['developer-admin', 'compliance-officer', 'engineer'];
export const FILERS = [...RECORDERS, 'board'];
export const OFFICERS = ['developer-admin', 'compliance-officer'];
export const can = (me, roles) => Boolean(me && roles.includes(me.role));

// A clock that ticks every `period` ms while the component is shown (live countdowns).
export function useNow(period = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), period);
    return () => clearInterval(id);
  }, [period]);
  return now;
}

// ---- words for the law's codes ---------------------------------------------------------------

const REGIME_SHORT = {
  'ca-sb1047': 'SB 1047',
  'ca-sb53': 'SB 53',
  'ny-raise': 'NY RAISE',
  'eu-ai-act-gpai': 'EU AI Act',
};
export function regimeShort(id) {
  const [base, version] = id.split('@');
  const name = REGIME_SHORT[base] ?? base;
  return version ? `${name} (${version})` : name;
}
// A regime id with '@' is an earlier version of a statute, kept for comparison.
export const isCurrentRegime = (id) => !id.includes('@');

const STATUS_WORDS = {
  'covered-model': 'Covered model',
  'covered-model-derivative': 'Covered derivative',
  'derivative-model': 'Derivative model',
  'not-covered': 'Not covered',
  'large-frontier-developer': 'Large frontier developer',
  'frontier-developer': 'Frontier developer',
  'not-frontier': 'Not frontier',
  'gpai-systemic-risk': 'GPAI, systemic risk',
  gpai: 'GPAI',
  'modification-below-provider-threshold': 'Modification below threshold',
  'not-gpai': 'Not GPAI',
  'depends-on-reading': 'Depends on the reading',
  unknown: 'Unknown',
};
export function statusWord(status) {
  if (STATUS_WORDS[status]) return STATUS_WORDS[status];
  const s = String(status ?? 'unknown').replaceAll('-', ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// A determination's status: a word and an icon, colour only as a third signal.
export function Status({ status, covered }) {
  let kind = 'unknown';
  let icon = '?';
  if (status === 'depends-on-reading') {
    kind = 'depends';
    icon = '◐';
  } else if (covered === true) {
    kind = 'covered';
    icon = '■';
  } else if (covered === false) {
    kind = 'clear';
    icon = '□';
  } else if (covered === undefined && status !== 'unknown') {
    kind = 'neutral';
    icon = '•';
  }
  return html`<span class=${`status status-${kind}`}><span aria-hidden="true" class="icon">${icon}</span>${statusWord(status)}</span>`;
}

const OBLIGATION_WORDS = {
  met: 'Met',
  'met-late': 'Met late',
  overdue: 'Overdue',
  open: 'Open',
  'not-applicable': 'Not applicable',
  standing: 'Standing duty',
  'not-triggered': 'Not triggered',
};
export const obligationWord = (state) => OBLIGATION_WORDS[state] ?? state;

// An obligation's state by the reader's clock. The server judges as of a date, through its end: to
// it a duty due at 18:00 today is already "overdue"; here it is open until 18:00, and a duty that
// falls due while the page is open turns overdue without a reload. A recurring duty whose earlier
// period was missed stays overdue though its next due time is ahead (the server says which period).
export function liveState(state, due, now) {
  const t = Date.parse(due ?? '');
  if (!Number.isFinite(t)) return state;
  if (state === 'open') return t < now ? 'overdue' : 'open';
  if (state === 'overdue' && t >= now && t - now < 24 * 3600 * 1000) return 'open';
  return state;
}

// ---- time ------------------------------------------------------------------------------------

// A date in the reader's time zone with UTC beside, the ISO instant for machines.
export function Time({ iso }) {
  if (!iso) return html`<span class="muted">no date</span>`;
  const w = when(iso);
  return html`<time datetime=${iso}>${w.local} <span class="utc">(${w.utc})</span></time>`;
}

// "due in 41 h" / "overdue by 3 days", recomputed as `now` moves; overdue in red with a word.
export function Countdown({ due, now, state }) {
  if (!due) return html`<span class="muted">${state === 'standing' ? 'continuing duty' : 'no fixed date'}</span>`;
  const c = countdown(due, now);
  if (state === 'met' || state === 'met-late') return html`<span class="muted">was ${c.text.replace(/^overdue by/, 'due')}${c.overdue ? ' ago' : ''}</span>`;
  if (c.overdue) {
    return html`<strong class="countdown overdue"><span aria-hidden="true">⚠ </span>${c.text}</strong>`;
  }
  if (state === 'overdue') {
    return html`<strong class="countdown overdue"><span aria-hidden="true">⚠ </span>a period was missed; next ${c.text}</strong>`;
  }
  const soon = Date.parse(due) - now < 72 * 3600 * 1000;
  return html`<span class=${`countdown${soon ? ' soon' : ''}`}>${soon ? html`<span aria-hidden="true">◔ </span>` : ''}${c.text}</span>`;
}

// ---- forms -----------------------------------------------------------------------------------

// GOV.UK's error summary: "There is a problem", then each error as a link to its field. Focused
// when it appears, so a keyboard or screen-reader user lands on it.
export function ErrorSummary({ errors, labels = {} }) {
  const ref = useRef(null);
  useEffect(() => {
    if (errors?.length && ref.current) ref.current.focus();
  }, [errors]);
  if (!errors?.length) return null;
  return html`<div class="error-summary" role="alert" tabindex="-1" ref=${ref} aria-labelledby="error-summary-title">
    <h2 id="error-summary-title">There is a problem</h2>
    <ul>
      ${errors.map((e) => {
        const id = fieldId(e.field);
        const label = labels[e.field] ?? labels[topField(e.field)];
        // A label of '' says the message names its subject itself.
        const text = `${label ? `${label}: ` : e.field && label !== '' ? `${e.field}: ` : ''}${e.message}`;
        return html`<li>${label || (e.field && document.getElementById(id))
          ? html`<a href=${`#${id}`} onClick=${(ev) => focusField(ev, id)}>${text}</a>`
          : text}</li>`;
      })}
    </ul>
  </div>`;
}

// The input id of an API field name ("training[0].flop" -> "field-training-0-flop").
export const fieldId = (field) => `field-${String(field || 'form').replace(/[^A-Za-z0-9_-]+/g, '-').replace(/-+$/, '')}`;
const topField = (field) => String(field ?? '').split(/[.[]/)[0];

function focusField(ev, id) {
  ev.preventDefault();
  const el = document.getElementById(id);
  if (el) {
    el.focus();
    el.scrollIntoView({ block: 'center' });
  }
}

// The errors of one field (its own, or of a part of it: "redactions.summary" is "redactions").
export const errorsFor = (errors, name) => (errors ?? []).filter((e) => e.field === name || topField(e.field) === name);

// A labelled field with its hint and its errors, GOV.UK style.
export function Field({ name, label, hint, errors, children }) {
  const mine = errorsFor(errors, name);
  const id = fieldId(name);
  const input = [children].flat().find((c) => typeof c === 'function');
  return html`<div class=${`field${mine.length ? ' field-error' : ''}`}>
    <label for=${id}>${label}</label>
    ${hint ? html`<div class="hint" id=${`${id}-hint`}>${hint}</div>` : ''}
    ${mine.map((e) => html`<p class="error-message" id=${`${id}-error`}><span class="visually-hidden">Error: </span>${e.message}</p>`)}
    ${input({ id, invalid: mine.length > 0, describedBy: [hint ? `${id}-hint` : '', mine.length ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined })}
  </div>`;
}

// ---- states ----------------------------------------------------------------------------------

export function Problem({ error }) {
  if (!error) return null;
  const forbidden = error.status === 403;
  return html`<div class="panel panel-problem" role="alert">
    <h2>${forbidden ? 'Your role cannot do this' : error.status === 404 ? 'Not found' : 'Something went wrong'}</h2>
    <p>${error.message}</p>
  </div>`;
}

export function Empty({ title, children }) {
  return html`<div class="empty"><h2>${title}</h2>${children}</div>`;
}

export function Loading() {
  return html`<p class="muted" aria-live="polite">Loading…</p>`;
}

// The page's heading; `title` is its plain text, and the tab's title. The shell (main.js) focuses
// it when the page changes, so a screen reader hears where it is.
export function PageTitle({ title, children }) {
  useEffect(() => {
    document.title = `${title} · flopline`;
  }, [title]);
  return html`<h1 tabindex="-1">${children ?? title}</h1>`;
}
