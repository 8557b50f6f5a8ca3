// The key tree: levels loaded page by page (see paging.js), expanded on
// demand, updated in place from watch events with a marker on what
// changed, plus prefix and substring search.

import { cmp, prefixEnd, showKey, startsWith, successor, toB64 } from './bytes.js';
import { childOf, listPage, levelRange } from './paging.js';
import { rangeKeys } from './kv.js';

/** Keys scanned per click of a substring search before asking to go on. */
export const SUBSTRING_SCAN_KEYS = 20000;
/** Search results shown per page. */
export const SEARCH_PAGE = 200;

export class KeyTree {
  constructor(root, { onOpen, onScopes, onError, onRevision }) {
    this.root = root; this.onOpen = onOpen; this.onScopes = onScopes; this.onError = onError;
    this.onRevision = onRevision || (() => {});
    this.sep = new TextEncoder().encode('/');
    this.levels = new Map(); // b64(prefix) -> level
    this.openKey = null;
    root.addEventListener('click', (e) => this.click(e));
    root.addEventListener('keydown', (e) => this.keydown(e));
  }

  setSeparator(sep) { this.sep = new TextEncoder().encode(sep || '/'); this.reload(); }

  async reload() {
    this.levels.clear();
    this.root.replaceChildren();
    await this.expand(new Uint8Array(0), this.root);
  }

  /** Ranges the watch should cover: every expanded level not nested in another. */
  scopes() {
    const prefixes = [...this.levels.values()].map((l) => l.prefix).sort(cmp);
    const out = [];
    for (const p of prefixes) {
      if (out.some((o) => startsWith(p, o))) continue;
      out.push(p);
    }
    return out.map((p) => { const r = levelRange(p); return { key: r.start, end: r.end }; });
  }

  async expand(prefix, ul, li = null) {
    const level = { prefix, ul, children: [], cursor: null, more: null, li };
    this.levels.set(toB64(prefix), level);
    if (li) li.setAttribute('aria-expanded', 'true');
    await this.loadPage(level);
    this.onScopes();
  }

  collapse(level) {
    for (const [k, l] of this.levels) if (l !== level && startsWith(l.prefix, level.prefix)) this.levels.delete(k);
    this.levels.delete(toB64(level.prefix));
    level.ul.remove();
    level.li.setAttribute('aria-expanded', 'false');
    this.onScopes();
  }

  async loadPage(level) {
    if (level.more) { level.more.disabled = true; level.more.textContent = 'Loading…'; }
    let page;
    try {
      page = await listPage(async (from, end, limit) => {
        const r = await rangeKeys(from, end, limit);
        this.onRevision(r.revision);
        return r;
      }, level.prefix, this.sep, level.cursor);
    } catch (e) {
      if (level.more) { level.more.disabled = false; level.more.textContent = 'Retry'; }
      if (!level.prefix.length && /permission denied/.test(e.message) && !level.ul.querySelector('li.hint')) {
        const li = document.createElement('li');
        li.className = 'hint';
        li.textContent = 'This user may not list every key: search by a prefix its roles can read.';
        level.ul.append(li);
      }
      this.onError(e);
      return;
    }
    for (const c of page.children) {
      if (level.children.some((x) => cmp(x.full, c.full) === 0 && x.dir === c.dir)) continue;
      this.append(level, c);
    }
    level.cursor = page.cursor;
    if (level.more) level.more.parentElement.remove();
    level.more = null;
    if (page.cursor) {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button'; b.className = 'more'; b.textContent = `More under ${showKey(level.prefix) || '(root)'}…`;
      b.addEventListener('click', () => this.loadPage(level));
      li.append(b); level.ul.append(li);
      level.more = b;
    }
    if (!level.children.length && !page.cursor) {
      const li = document.createElement('li');
      li.className = 'hint empty'; li.textContent = '(no keys)';
      level.ul.append(li);
    }
  }

  node(level, c) {
    const li = document.createElement('li');
    li.setAttribute('role', 'treeitem');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'node ' + (c.dir ? 'dir' : 'leaf');
    const name = showKey(c.full.subarray(level.prefix.length));
    b.textContent = name === '' ? '(empty name)' : name;
    b.title = showKey(c.full);
    b.dataset.key = toB64(c.full);
    if (c.dir) { b.dataset.dir = '1'; li.setAttribute('aria-expanded', 'false'); }
    if (!c.dir && this.openKey && cmp(this.openKey, c.full) === 0) b.classList.add('open');
    li.append(b);
    return li;
  }

  append(level, c, before = null) {
    const entry = { ...c, li: this.node(level, c) };
    level.ul.querySelector(':scope > li.empty')?.remove();
    if (before) { level.ul.insertBefore(entry.li, before.li); level.children.splice(level.children.indexOf(before), 0, entry); }
    else { level.ul.insertBefore(entry.li, level.more ? level.more.parentElement : null); level.children.push(entry); }
    return entry;
  }

  async click(e) {
    const b = e.target.closest('button.node');
    if (!b || !this.root.contains(b)) return;
    const full = Uint8Array.from(atob(b.dataset.key), (ch) => ch.charCodeAt(0));
    b.closest('li').classList.remove('changed');
    if (b.dataset.dir) {
      const existing = this.levels.get(b.dataset.key);
      if (existing) { this.collapse(existing); return; }
      const ul = document.createElement('ul');
      ul.setAttribute('role', 'group');
      b.closest('li').append(ul);
      await this.expand(full, ul, b.closest('li'));
    } else {
      this.onOpen(full);
    }
  }

  keydown(e) {
    const b = e.target.closest('button.node');
    if (!b) return;
    const all = [...this.root.querySelectorAll('button.node, button.more')];
    const i = all.indexOf(b);
    if (e.key === 'ArrowDown' && i + 1 < all.length) { all[i + 1].focus(); e.preventDefault(); }
    if (e.key === 'ArrowUp' && i > 0) { all[i - 1].focus(); e.preventDefault(); }
    if (e.key === 'ArrowRight' && b.dataset.dir && !this.levels.has(b.dataset.key)) { b.click(); e.preventDefault(); }
    if (e.key === 'ArrowLeft' && b.dataset.dir && this.levels.has(b.dataset.key)) { b.click(); e.preventDefault(); }
  }

  markOpen(key) {
    this.openKey = key;
    for (const b of this.root.querySelectorAll('button.node.open')) b.classList.remove('open');
    if (!key) return;
    const b = this.root.querySelector(`button.node.leaf[data-key="${CSS.escape(toB64(key))}"]`);
    b?.classList.add('open');
  }

  /** A watch event: update every expanded level the key is under. */
  apply(type, key) {
    for (const level of this.levels.values()) {
      const c = childOf(level.prefix, this.sep, key);
      if (!c) continue;
      const at = level.children.find((x) => x.dir === c.dir && cmp(x.full, c.full) === 0);
      if (at) {
        at.li.classList.add('changed');
        at.li.classList.toggle('deleted', !c.dir && type === 'DELETE');
        continue;
      }
      if (type === 'DELETE') continue;
      if (level.cursor && cmp(c.full, level.cursor) >= 0) continue; // not loaded yet: its page will show it
      const before = level.children.find((x) => cmp(x.full, c.full) > 0 || (cmp(x.full, c.full) === 0 && x.dir));
      this.append(level, c, before).li.classList.add('changed');
    }
  }
}

/**
 * A search: keys under `prefix` (mode 'prefix'), or keys containing `text`
 * anywhere (mode 'substring', scanned in keys-only pages and bounded per
 * call). `next()` resolves to {keys, done, scanned}.
 */
export class Search {
  constructor(mode, text) {
    this.mode = mode;
    this.text = new TextEncoder().encode(text);
    const r = mode === 'prefix' && this.text.length ? { start: this.text, end: prefixEnd(this.text) } : levelRange(new Uint8Array(0));
    this.from = r.start; this.end = r.end; this.done = false; this.scanned = 0;
  }

  async next() {
    const found = [];
    let budget = this.mode === 'prefix' ? SEARCH_PAGE : SUBSTRING_SCAN_KEYS;
    while (!this.done && budget > 0 && found.length < SEARCH_PAGE) {
      const limit = this.mode === 'prefix' ? SEARCH_PAGE - found.length : Math.min(1000, budget);
      const r = await rangeKeys(this.from, this.end, limit);
      budget -= r.keys.length;
      this.scanned += r.keys.length;
      for (const k of r.keys) {
        if (this.mode === 'prefix' || contains(k, this.text)) found.push(k);
      }
      if (!r.more || !r.keys.length) this.done = true;
      else this.from = successor(r.keys[r.keys.length - 1]);
    }
    return { keys: found, done: this.done, scanned: this.scanned };
  }
}

function contains(hay, needle) {
  if (!needle.length) return true;
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}


