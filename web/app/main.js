// The dashboard's shell: who is logged in, the header (navigation, "Record incident" one click from
// every page, the live overdue count), the server-sent event stream that refreshes open pages, and
// the hash router that picks the page.
import { render } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useState } from 'preact/hooks';

import { api, get, onUnauthorized } from './api.js';
import { html } from './html.js';
import { Countdown, Session, href, useNow, useRoute } from './ui.js';
import { LoginPage } from './pages/login.js';
import { InventoryPage } from './pages/inventory.js';
import { ModelPage } from './pages/model.js';
import { ObligationsPage } from './pages/obligations.js';
import { EvidencePage, EvidenceRecordPage } from './pages/evidence.js';
import { KillSwitchPage } from './pages/killswitch.js';
import { MeterPage, MeterRunPage } from './pages/meter.js';
import { EventForm, EvidenceForm, IncidentForm } from './pages/forms.js';
import { FileDocumentPage, FiledDocumentPage, ModelDocumentsPage } from './pages/documents.js';

const NAV = [
  ['/obligations', 'Due', 'What is due and what is late'],
  ['/models', 'Models', 'The inventory and each model’s status per regime'],
  ['/evidence', 'Evidence', 'Records, proofs and checkpoints'],
  ['/meter', 'Compute meter', 'Training runs against each line, as the meter counts them'],
  ['/killswitch', 'Kill switch', 'Shutdown orders and drills'],
];

function pageFor(route) {
  const { path, params } = route;
  let m;
  if (path === '/' || path === '/obligations') return html`<${ObligationsPage} params=${params} />`;
  if (path === '/models') return html`<${InventoryPage} params=${params} />`;
  if ((m = /^\/models\/([^/]+)\/documents$/.exec(path))) return html`<${ModelDocumentsPage} id=${decodeURIComponent(m[1])} />`;
  if ((m = /^\/models\/([^/]+)\/documents\/([a-z0-9-]+)\/file$/.exec(path))) return html`<${FileDocumentPage} id=${decodeURIComponent(m[1])} kind=${m[2]} />`;
  if ((m = /^\/documents\/(\d+)$/.exec(path))) return html`<${FiledDocumentPage} index=${Number(m[1])} params=${params} />`;
  if ((m = /^\/models\/(.+)$/.exec(path))) return html`<${ModelPage} id=${decodeURIComponent(m[1])} params=${params} />`;
  if (path === '/evidence') return html`<${EvidencePage} params=${params} />`;
  if (path === '/evidence/new') return html`<${EvidenceForm} params=${params} />`;
  if ((m = /^\/evidence\/(\d+)$/.exec(path))) return html`<${EvidenceRecordPage} index=${Number(m[1])} />`;
  if (path === '/killswitch') return html`<${KillSwitchPage} params=${params} />`;
  if (path === '/meter') return html`<${MeterPage} params=${params} />`;
  if ((m = /^\/meter\/(.+)$/.exec(path))) return html`<${MeterRunPage} run=${decodeURIComponent(m[1])} />`;
  if (path === '/incident') return html`<${IncidentForm} params=${params} />`;
  if (path === '/events/new') return html`<${EventForm} params=${params} />`;
  return html`<h1 tabindex="-1">Page not found</h1><p>There is no page at <code>${path}</code>. <a href="#/">Go to what is due</a>.</p>`;
}

// The server's event stream: {generation, overdue, next_deadline} whenever the workspace changes
// (a write here, on another tab, or on another replica).
function useLive(enabled) {
  const [live, setLive] = useState({ connected: false, generation: 0, overdue: null, next_deadline: null });
  useEffect(() => {
    if (!enabled) return undefined;
    const source = new EventSource('/api/v1/events/stream');
    source.onopen = () => setLive((l) => ({ ...l, connected: true }));
    source.onerror = () => setLive((l) => ({ ...l, connected: false }));
    source.addEventListener('change', (ev) => {
      try {
        const data = JSON.parse(ev.data);
        setLive({ connected: true, ...data });
      } catch {
        // A malformed event is ignored; the next one carries the whole state again.
      }
    });
    return () => source.close();
  }, [enabled]);
  return live;
}

function Header({ me, live, route, onLogout }) {
  const now = useNow(30000);
  const current = route.path === '/' ? '/obligations' : `/${route.path.split('/')[1]}`;
  const next = live.next_deadline;
  return html`<header class="top">
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
    <div class="bar">
      <a class="brand" href="#/">flopline</a>
      <nav aria-label="Main">
        <ul>
          ${NAV.map(([path, label, title]) => html`<li><a href=${`#${path}`} title=${title}
            aria-current=${current === path ? 'page' : undefined}>${label}</a></li>`)}
        </ul>
      </nav>
      <a class="button button-incident" href="#/incident">Record incident</a>
      <div class="who">
        <span>${me.name} <span class="role">(${me.role})</span></span>
        <button type="button" class="link" onClick=${onLogout}>Log out</button>
      </div>
    </div>
    <div class="live" aria-live="polite">
      <span class=${live.connected ? 'dot on' : 'dot'} aria-hidden="true"></span>
      <span class="visually-hidden">${live.connected ? 'Live updates on.' : 'Live updates reconnecting.'}</span>
      ${live.overdue > 0
        ? html`<a class="overdue-count" href="#/obligations"><span aria-hidden="true">⚠ </span>${live.overdue} overdue</a>`
        : live.overdue === 0 ? html`<span>Nothing overdue</span>` : ''}
      ${next ? html`<span class="next">Next: <a href=${href(`/models/${encodeURIComponent(next.model)}`)}>${next.model}</a> ${next.text?.split(/[.;:]/)[0] ?? next.id}, <${Countdown} due=${next.due} now=${now} state=${next.state} /></span>` : ''}
    </div>
  </header>`;
}

function App() {
  const [me, setMe] = useState(undefined); // undefined: asking; null: logged out
  const route = useRoute();
  const live = useLive(Boolean(me));
  const [focusPath, setFocusPath] = useState(null);

  useEffect(() => {
    get('/me').then(setMe, () => setMe(null));
    return onUnauthorized(() => setMe(null));
  }, []);

  // A new page: its heading takes the focus (not on a filter change or a live refresh). In the
  // same task as the page's first render (a layout effect): a plain effect ran a frame later, so a
  // keystroke (or a test) in between still acted on the link that was followed.
  useLayoutEffect(() => {
    if (me && focusPath !== null && focusPath !== route.path) document.querySelector('main h1')?.focus();
    setFocusPath(route.path);
  }, [route.path, Boolean(me)]);

  const session = useMemo(() => ({ me, generation: live.generation, live }), [me, live]);

  if (me === undefined) return html`<main class="page"><p>Loading flopline…</p></main>`;
  if (me === null) return html`<${LoginPage} onLogin=${setMe} />`;

  const logout = async () => {
    try {
      await api('DELETE', '/session');
    } finally {
      setMe(null);
    }
  };
  return html`<${Session.Provider} value=${session}>
    <${Header} me=${me} live=${live} route=${route} onLogout=${logout} />
    <main id="main" class="page" tabindex="-1">${pageFor(route)}</main>
    <footer class="foot">
      <p>Every change here is an entry in the workspace's tamper-evident log. API: <a href="/api/v1/openapi.json">OpenAPI document</a>.</p>
    </footer>
  <//>`;
}

render(html`<${App} />`, document.getElementById('app'));
