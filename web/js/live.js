// Live updates: one gateway watch stream for everything the page shows.
//
// The page says which ranges it shows (setScopes); the stream is reopened
// whenever that set changes, starting at the revision after the last one
// seen, so no change falls between two streams. A dropped stream is
// reopened the same way with a growing delay (at most MAX_BACKOFF_MS).
// Scopes the server refuses (permission denied) are reported through
// `denied` so the caller can narrow them.

import { watch } from './api.js';
import { toB64 } from './bytes.js';

const MAX_BACKOFF_MS = 10000;

export class Live {
  constructor({ onEvent, onDenied, onState }) {
    this.onEvent = onEvent; this.onDenied = onDenied; this.onState = onState || (() => {});
    this.scopes = []; this.sig = ''; this.close = null; this.rev = 0; this.backoff = 500; this.timer = null;
  }

  /** Revision the page's data was read at: events after it are wanted. */
  seen(rev) { if (rev > this.rev) this.rev = rev; }

  /** [{key, end}] byte ranges (end null: the single key). */
  setScopes(scopes) {
    const sig = scopes.map((s) => toB64(s.key) + ':' + (s.end ? toB64(s.end) : '')).sort().join(',');
    if (sig === this.sig && this.close) return;
    this.scopes = scopes; this.sig = sig;
    this.restart();
  }

  stop() { if (this.close) this.close(); this.close = null; clearTimeout(this.timer); }

  restart() {
    this.stop();
    if (!this.scopes.length) return;
    const scopes = this.scopes;
    const creates = scopes.map((s) => {
      const c = { key: toB64(s.key) };
      if (s.end) c.range_end = toB64(s.end);
      if (this.rev) c.start_revision = String(this.rev + 1);
      return c;
    });
    this.close = watch(creates, {
      events: (events) => {
        this.backoff = 500;
        this.onState('live');
        for (const e of events) { this.onEvent(e); this.seen(Number(e.kv?.mod_revision || 0)); }
      },
      canceled: (idx, reason) => { if (scopes[idx]) this.onDenied(scopes[idx], reason); },
      end: (err) => {
        this.close = null;
        if (!err) return;
        this.onState('reconnecting: ' + err.message);
        this.timer = setTimeout(() => this.restart(), this.backoff);
        this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
      },
    });
  }
}
