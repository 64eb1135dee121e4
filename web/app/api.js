// The workspace's JSON API (/api/v1, api/openapi.json) as the dashboard calls it: the session
// cookie goes with every request, unsafe methods carry the CSRF token the server set beside it, and
// an error is an ApiError holding the RFC 9457 problem document (its `errors` name the fields).
import { useEffect, useRef, useState } from 'preact/hooks';

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem ?? {};
    // [{field, message}]: the problem's own list, or its detail when it names no field.
    this.errors = Array.isArray(this.problem.errors) && this.problem.errors.length
      ? this.problem.errors
      : [{ field: '', message: this.message }];
  }
}

const unauthorizedListeners = new Set();
// Called whenever the server answers 401 (the session expired, or none was opened).
export function onUnauthorized(listener) {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)flopline_csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : '';
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken();
  let res;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, { title: 'No connection', detail: 'the server could not be reached: check that `flopline serve` is running' });
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    if (res.status === 401 && path !== '/session') unauthorizedListeners.forEach((f) => f());
    throw new ApiError(res.status, data ?? { title: res.statusText, detail: text.slice(0, 200) });
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);

// A query string from an object, leaving out empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

// GET `path` now and again whenever `generation` changes (a live update): {data, error, loading}.
// The data shown stays while a refresh is in flight, so a live update does not blank the page.
export function useGet(path, generation) {
  const [state, setState] = useState({ data: null, error: null, loading: true, path });
  const latest = useRef(0);
  useEffect(() => {
    if (!path) return undefined;
    const ticket = ++latest.current;
    setState((s) => ({ data: s.path === path ? s.data : null, error: null, loading: true, path }));
    get(path).then(
      (data) => ticket === latest.current && setState({ data, error: null, loading: false, path }),
      (error) => ticket === latest.current && setState({ data: null, error, loading: false, path }),
    );
    return undefined;
  }, [path, generation]);
  return state;
}

// `path` with more query parameters.
export const withQuery = (path, params) => `${path}${path.includes('?') ? '&' : '?'}${query(params).slice(1)}`;

// A paged list ({items, next_cursor, ...}): its first page now, and again whenever `generation`
// changes (as many items as were shown, so a live update keeps the reader's place); `more()` adds
// the page after what is shown. {data (the latest answer, with every item shown), error, loading,
// more}.
export function usePages(path, generation, pageSize = 100) {
  const [state, setState] = useState({ data: null, error: null, loading: true, path });
  const current = useRef(state);
  current.current = state;
  const latest = useRef(0);
  const load = (url, merge) => {
    const ticket = ++latest.current;
    setState((s) => ({ ...s, error: null, loading: true }));
    get(url).then(
      (data) => ticket === latest.current && setState((s) => ({ data: merge(s.data, data), error: null, loading: false, path })),
      (error) => ticket === latest.current && setState((s) => ({ ...s, error, loading: false })),
    );
  };
  useEffect(() => {
    if (!path) return;
    const same = current.current.path === path && current.current.data;
    const shown = same ? Math.min(1000, Math.max(pageSize, current.current.data.items.length)) : pageSize;
    if (!same) setState({ data: null, error: null, loading: true, path });
    load(withQuery(path, { limit: shown }), (_, data) => data);
  }, [path, generation]);
  const more = () => {
    const { data, loading } = current.current;
    if (!data?.next_cursor || loading) return;
    load(withQuery(path, { limit: pageSize, cursor: data.next_cursor }),
      (had, page) => ({ ...page, items: [...(had?.items ?? []), ...page.items] }));
  };
  return { ...state, more };
}
