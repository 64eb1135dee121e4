// Log in: a name and a password, checked by the server (argon2id); the session is an HttpOnly
// cookie the page never sees.
import { useState } from 'preact/hooks';

import { post } from '../api.js';
import { html } from '../html.js';
import { ErrorSummary, Field } from '../ui.js';

const LABELS = { name: 'Name', password: 'Password' };

export function LoginPage({ onLogin }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState([]);
  const [busy, setBusy] = useState(false);

  const submit = async (ev) => {
    ev.preventDefault();
    const missing = [];
    if (!name.trim()) missing.push({ field: 'name', message: 'Enter your user name' });
    if (!password) missing.push({ field: 'password', message: 'Enter your password' });
    if (missing.length) return setErrors(missing);
    setBusy(true);
    try {
      const me = await post('/session', { name: name.trim(), password });
      setErrors([]);
      onLogin({ name: me.name, role: me.role });
    } catch (e) {
      setErrors(e.status === 401 ? [{ field: 'password', message: 'The name or the password is wrong' }] : e.errors);
    } finally {
      setBusy(false);
    }
  };

  return html`<main id="main" class="page login">
    <h1>Log in to flopline</h1>
    <p class="lead">The compliance workspace: what is due, each model against the law, and the evidence with its proofs.</p>
    <${ErrorSummary} errors=${errors} labels=${LABELS} />
    <form onSubmit=${submit} novalidate>
      <${Field} name="name" label="Name" errors=${errors}>
        ${(f) => html`<input id=${f.id} name="username" autocomplete="username" value=${name}
          aria-invalid=${f.invalid} aria-describedby=${f.describedBy} onInput=${(e) => setName(e.target.value)} />`}
      <//>
      <${Field} name="password" label="Password" errors=${errors}>
        ${(f) => html`<input id=${f.id} name="password" type="password" autocomplete="current-password" value=${password}
          aria-invalid=${f.invalid} aria-describedby=${f.describedBy} onInput=${(e) => setPassword(e.target.value)} />`}
      <//>
      <button type="submit" class="button" disabled=${busy}>Log in</button>
    </form>
    <p class="hint">No account? An administrator adds one with <code>flopline user add --store … --name NAME --role ROLE</code>.</p>
  </main>`;
}
