// The kill switch (SB 1047 §22603(a)(2)): the last drill of the full-shutdown capability, and the
// history of shutdown orders and drills as recorded in the log, each with its proof.
import { useGet } from '../api.js';
import { span } from '../format.js';
import { html } from '../html.js';
import { Empty, FILERS, Loading, PageTitle, Problem, Time, can, href, useNow, useSession } from '../ui.js';

const RESULTS = {
  stopped: ['■', 'Stopped', 'clear'],
  drained: ['◐', 'Drained, then stopped', 'clear'],
  'not-stopped': ['⚠', 'Not confirmed stopped', 'covered'],
};

// The agents the recorded orders and drills reached, each with the latest and what became of its
// workload. The agents connected now are the controller's to say (flopline killswitch status).
function Agents({ generation }) {
  const { data, error } = useGet('/killswitch/agents', generation);
  const agents = data?.agents ?? [];
  return html`<section aria-labelledby="agents-h">
    <h2 id="agents-h">Agents</h2>
    <p>Every agent a recorded order or drill reached, with the latest one. The agents connected to the controller now: <code>flopline killswitch status --controller HOST:PORT</code> (docs/killswitch.md).</p>
    <${Problem} error=${error} />
    ${data && !agents.length ? html`<p class="muted">No recorded order or drill has reached an agent yet.</p>` : ''}
    ${agents.length ? html`<table class="data agents">
      <caption class="visually-hidden">Kill-switch agents, by id</caption>
      <thead><tr><th scope="col">Agent</th><th scope="col">Latest</th><th scope="col">Its workload</th><th scope="col">Confirmed stopped</th>
        <th scope="col" class="num">Drills</th><th scope="col" class="num">Orders</th></tr></thead>
      <tbody>${agents.map((a) => {
        const [icon, word, kind] = RESULTS[a.last.result] ?? ['?', a.last.result, 'unknown'];
        return html`<tr data-agent=${a.id}>
          <th scope="row"><code>${a.id}</code></th>
          <td><a href=${`#/evidence/${a.last.index}`}>${a.last.kind === 'shutdown-drill' ? 'Drill' : 'Shutdown order'} ${a.last.fence ?? ''}</a>
            <div class="sub"><${Time} iso=${a.last.recorded_at} />${a.last.scope ? html` — <code>${a.last.scope}</code>` : ''}</div></td>
          <td><span class=${`status status-${kind}`}><span aria-hidden="true" class="icon">${icon}</span>${word}</span>${a.last.why ? html`<div class="sub">${a.last.why}</div>` : ''}</td>
          <td>${a.last.stopped_at ? html`<${Time} iso=${a.last.stopped_at} />` : html`<span class="muted">—</span>`}</td>
          <td class="num">${a.drills}</td>
          <td class="num">${a.orders}</td>
        </tr>`;
      })}</tbody>
    </table>` : ''}
  </section>`;
}

export function KillSwitchPage() {
  const { generation, me } = useSession();
  const now = useNow(60000);
  const { data, error, loading } = useGet('/killswitch/orders', generation);
  const orders = data?.orders ?? [];
  const lastDrill = orders.find((o) => o.kind === 'shutdown-drill');
  const lastOrder = orders.find((o) => o.kind === 'shutdown-order');
  const age = (o) => span(now - Date.parse(o.recorded_at));

  return html`<section>
    <div class="page-head">
      <${PageTitle} title="Kill switch" />
      ${can(me, FILERS) ? html`<a class="button secondary" href=${href('/evidence/new', { kind: 'shutdown-drill' })}>Record a drill</a>` : ''}
    </div>
    <p class="lead">The capability to promptly enact a full shutdown (SB 1047 §22603(a)(2)): when it was last drilled, and every order given.</p>
    <${Problem} error=${error} />
    ${loading && !data ? html`<${Loading} />` : ''}
    ${data ? html`<div class="cards two">
      <section class="card" aria-labelledby="drill-h">
        <h2 id="drill-h">Last drill</h2>
        ${lastDrill ? html`<p class="big">${age(lastDrill)} ago</p><p><${Time} iso=${lastDrill.recorded_at} />${lastDrill.model ? ` — ${lastDrill.model}` : ''}</p>
          <p><a href=${`#/evidence/${lastDrill.index}`}>Its record and proof</a></p>`
          : html`<p><strong class="countdown overdue"><span aria-hidden="true">⚠ </span>No drill recorded.</strong> Run one (<code>flopline killswitch drill</code>) and record it.</p>`}
      </section>
      <section class="card" aria-labelledby="order-h">
        <h2 id="order-h">Last shutdown order</h2>
        ${lastOrder ? html`<p class="big">${age(lastOrder)} ago</p><p><${Time} iso=${lastOrder.recorded_at} /></p>
          <p><a href=${`#/evidence/${lastOrder.index}`}>Its record and proof</a></p>` : html`<p>No shutdown order has been given.</p>`}
      </section>
    </div>
    <${Agents} generation=${generation} />
    <h2>Orders and drills</h2>
    ${orders.length ? html`<table class="data">
      <caption class="visually-hidden">Shutdown orders and drills, newest first</caption>
      <thead><tr><th scope="col" class="num">Record</th><th scope="col">Kind</th><th scope="col">Model</th><th scope="col">Recorded</th></tr></thead>
      <tbody>${orders.map((o) => html`<tr>
        <td class="num"><a href=${`#/evidence/${o.index}`}>${o.index}</a></td>
        <td>${o.kind === 'shutdown-order' ? 'Shutdown order' : 'Drill'}</td>
        <td>${o.model || html`<span class="muted">every model in scope</span>`}</td>
        <td><${Time} iso=${o.recorded_at} /></td>
      </tr>`)}</tbody>
    </table>` : html`<${Empty} title="No orders or drills yet">
      <p>A drill or an order is recorded as evidence (kind <code>shutdown-drill</code> or <code>shutdown-order</code>).${can(me, FILERS) ? html` <a href=${href('/evidence/new', { kind: 'shutdown-drill' })}>Record a drill</a>.` : ''}</p>
    <//>`}` : ''}
  </section>`;
}
