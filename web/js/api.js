// The page's only way to the member: etcd's JSON gateway (/v3/...) and the
// v2 keys API, on the origin that served the page. Every request has a
// deadline; errors come back as ApiError with etcd's own message, so what
// the page shows is what etcdctl would print.

const TOKEN_KEY = 'etcd-ui-token';
const USER_KEY = 'etcd-ui-user';

/** Deadline for one unary request. */
export const REQUEST_TIMEOUT_MS = 15000;

export class ApiError extends Error {
  constructor(message, { code = null, status = 0, network = false } = {}) {
    super(message);
    this.code = code; this.status = status; this.network = network;
  }
  /** The cluster wants a (new) login. */
  get needsLogin() {
    return /user name is empty|invalid auth token|auth token is expired|authentication failed/.test(this.message) && this.code !== null;
  }
}

export const session = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  user: sessionStorage.getItem(USER_KEY) || '',
  onLoginNeeded: null,
  set(user, token) {
    this.user = user; this.token = token;
    if (token) { sessionStorage.setItem(TOKEN_KEY, token); sessionStorage.setItem(USER_KEY, user); }
    else { sessionStorage.removeItem(TOKEN_KEY); sessionStorage.removeItem(USER_KEY); }
  },
};

function headers(extra = {}) {
  const h = { 'Content-Type': 'application/json', ...extra };
  if (session.token) h.Authorization = session.token;
  return h;
}

async function fetchWithDeadline(url, init, timeoutMs) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  try {
    return await fetch(url, { ...init, signal: ctl.signal });
  } catch (e) {
    const why = ctl.signal.aborted ? `no answer within ${timeoutMs / 1000} s` : 'network error';
    throw new ApiError(`Cannot reach the member (${why}). The request was not confirmed.`, { network: true });
  } finally {
    clearTimeout(timer);
  }
}

/** Reads a gateway answer: the JSON body, or an ApiError with etcd's message. */
async function readAnswer(res) {
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : {}; } catch { /* not JSON: a plain HTTP error */ }
  if (res.ok && body) return body;
  if (body && (body.message || body.error)) {
    throw new ApiError(body.message || body.error, { code: body.code ?? null, status: res.status });
  }
  const detail = text.trim().slice(0, 300) || res.statusText;
  throw new ApiError(`HTTP ${res.status}: ${detail}`, { status: res.status });
}

/** POST a gateway method (`/v3/kv/range` ...) and return its JSON answer. */
export async function call(path, body = {}, { timeoutMs = REQUEST_TIMEOUT_MS, base = '', auth = true } = {}) {
  const init = { method: 'POST', body: JSON.stringify(body), headers: auth ? headers() : { 'Content-Type': 'text/plain' } };
  const res = await fetchWithDeadline(base + path, init, timeoutMs);
  try {
    return await readAnswer(res);
  } catch (e) {
    if (e instanceof ApiError && e.needsLogin && auth && session.onLoginNeeded) session.onLoginNeeded(e);
    throw e;
  }
}

/** GET a plain URL (health, v2) with a deadline; returns {status, body}. */
export async function get(url, { timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
  const res = await fetchWithDeadline(url, { method: 'GET' }, timeoutMs);
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: res.status, body };
}

/** A v2 keys request (form-encoded like curl -d). */
export async function v2(method, key, params = null, query = '') {
  const path = '/v2/keys' + key.split('/').map(encodeURIComponent).join('/');
  const init = { method };
  if (params) {
    init.body = new URLSearchParams(params).toString();
    init.headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  }
  const res = await fetchWithDeadline(path + (method === 'GET' ? '?sorted=true' : query), init, REQUEST_TIMEOUT_MS);
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { throw new ApiError(`HTTP ${res.status}: ${text.trim().slice(0, 200)}`, { status: res.status }); }
  if (!res.ok) throw new ApiError(body.message ? `${body.message} (${body.cause || key})` : `HTTP ${res.status}`, { status: res.status, code: body.errorCode });
  return body;
}

/**
 * One watch stream on the gateway carrying every request in `creates`
 * (WatchCreateRequest objects). Handlers: `events(events, revision)` for
 * each response, `canceled(index, reason)` when the server refuses or
 * cancels the create request at `index` (etcd answers creates in order),
 * `end(error)` once when the whole stream stops. Returns a function that
 * closes the stream.
 */
export function watch(creates, handlers) {
  const ctl = new AbortController();
  let ended = false;
  let created = 0;
  const ids = new Map();
  const end = (err) => { if (!ended) { ended = true; handlers.end(err); } };
  (async () => {
    let res;
    try {
      const body = creates.map((c) => JSON.stringify({ create_request: c })).join('\n');
      res = await fetch('/v3/watch', { method: 'POST', body, headers: headers(), signal: ctl.signal });
    } catch (e) { end(ctl.signal.aborted ? null : new ApiError('watch: network error', { network: true })); return; }
    if (!res.ok) { try { await readAnswer(res); } catch (e) { end(e); } return; }
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          const msg = JSON.parse(line);
          if (msg.error) { end(new ApiError(msg.error.message || 'watch failed', { code: msg.error.code })); ctl.abort(); return; }
          const r = msg.result || {};
          const id = r.watch_id || '0';
          if (r.created) ids.set(id, created++);
          if (r.canceled) {
            const idx = r.created ? created - 1 : ids.get(id);
            handlers.canceled(idx, r.cancel_reason || 'watch canceled', r.compact_revision);
            continue;
          }
          const rev = Number(r.header?.revision || 0);
          handlers.events(r.events || [], rev);
        }
      }
      end(new ApiError('watch stream ended', { network: true }));
    } catch (e) {
      end(ctl.signal.aborted ? null : new ApiError('watch: connection lost', { network: true }));
    }
  })();
  return () => { ended = true; ctl.abort(); };
}
