// api.js -- the dashboard's calls to the JSON API.  Authentication is the
// HttpOnly session cookie set by POST /v1/session; the admin key itself is sent
// once and never stored.  The CSRF token lives only in this module's memory
// (GET /v1/session gives it again after a reload).

let csrf = null;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  let r;
  try {
    r = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'network', e.message);
  }
  if (r.status === 204) return null;
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  if (!r.ok) {
    const err = (data && data.error) || {};
    const ex = new ApiError(r.status, err.code || `http_${r.status}`, err.message || `HTTP ${r.status}`);
    if (r.status === 401 && onUnauthorized && !path.startsWith('/v1/session')) onUnauthorized();
    throw ex;
  }
  return data;
}

let onUnauthorized = null;
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export async function session() {
  try {
    const s = await call('GET', '/v1/session');
    csrf = s && s.csrf_token;
    return s;
  } catch (e) {
    if (e.status === 401 || e.status === 404) return null;
    throw e;
  }
}
export async function signIn(key) {
  const s = await call('POST', '/v1/session', { key });
  csrf = s && s.csrf_token;
  return s;
}
export async function signOut() {
  try { await call('DELETE', '/v1/session'); } finally { csrf = null; }
}

// GET path with query params (empty values are left out).
export function get(path, params) {
  const q = new URLSearchParams();
  if (params) {
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    }
  }
  const qs = q.toString();
  return call('GET', qs ? `${path}?${qs}` : path);
}

// Cached per page load: the journey structure and the touchpoint catalogue.
const cache = new Map();
export function cached(path, params) {
  const k = path + JSON.stringify(params || {});
  if (!cache.has(k)) {
    const p = get(path, params).catch((e) => { cache.delete(k); throw e; });
    cache.set(k, p);
  }
  return cache.get(k);
}
export function clearCache() { cache.clear(); }
