// A key's page: its value (with format detection, validation,
// pretty-printing and a hex view), metadata, lease with live countdown,
// create/edit/delete, delete-by-prefix, and history with a diff.
//
// Saving never writes a value the chosen format refuses, and is one
// guarded transaction (see kv.js): if the key changed since it was loaded
// the save is refused and the editor keeps the user's text.

import { fromEditor, toEditor, detect, checkJson, checkYaml, hexDump, prettyJson } from './format.js';
import { lineDiff } from './diff.js';
import { cmp, leaseHex, parseLeaseHex, prefixEnd, showKey, tryText, utf8, fromB64 } from './bytes.js';
import { getKey, putIf, deleteRange, countRange, leaseGrant, leaseRevoke, leaseTtl } from './kv.js';

/** Most revisions one History click walks back. */
export const HISTORY_MAX = 100;

const $ = (id) => document.getElementById(id);

export class KeyView {
  constructor({ notify, confirm, onSaved, onRevision }) {
    this.notify = notify; this.confirm = confirm; this.onSaved = onSaved; this.onRevision = onRevision || (() => {});
    this.key = null; this.kv = null; this.isNew = false; this.dirty = false; this.detected = 'text';
    this.history = []; this.timer = null; this.expiresAt = 0;
    $('kv-form').addEventListener('submit', (e) => { e.preventDefault(); this.save(); });
    $('kv-value').addEventListener('input', () => { this.dirty = true; this.validate(); });
    $('kv-format').addEventListener('change', () => this.reformat());
    $('kv-pretty').addEventListener('click', () => this.pretty());
    $('kv-reload').addEventListener('click', () => { this.notify(null); this.open(this.key); });
    $('kv-delete').addEventListener('click', () => this.remove());
    $('kv-delete-prefix').addEventListener('click', () => this.removePrefix());
    $('kv-history-btn').addEventListener('click', () => this.loadHistory());
    $('kv-diff-btn').addEventListener('click', () => this.showDiff());
  }

  format() { const f = $('kv-format').value; return f === 'auto' ? this.detected : f; }

  show() { $('kv-empty').hidden = true; $('kv-form').hidden = false; }

  /** A blank form for a new key, its name starting with `prefix`. */
  create(prefix) {
    this.show();
    this.key = null; this.kv = null; this.isNew = true; this.dirty = false; this.detected = 'text';
    $('kv-key').value = prefix; $('kv-key').readOnly = false;
    $('kv-value').value = ''; $('kv-format').value = 'auto'; $('kv-ttl').value = ''; $('kv-lease').value = '';
    this.prevFormat = 'text';
    $('kv-meta').replaceChildren(); $('kv-live').hidden = true; $('kv-history').hidden = true;
    $('kv-delete').disabled = true; $('kv-history-btn').disabled = true;
    this.stopCountdown(); this.validate();
    $('kv-key').focus();
  }

  async open(key) {
    this.show();
    this.key = key; this.isNew = false;
    $('kv-history').hidden = true; $('kv-live').hidden = true;
    let r;
    try { r = await getKey(key); } catch (e) { this.unreadable(e); this.notify(e); return; }
    this.onRevision(r.revision);
    this.render(r.kv);
  }

  render(kv) {
    this.kv = kv; this.dirty = false;
    $('kv-key').value = showKey(this.key); $('kv-key').readOnly = true;
    $('kv-delete').disabled = !kv; $('kv-history-btn').disabled = !kv;
    const meta = $('kv-meta');
    meta.replaceChildren();
    const item = (k, v) => { const d = document.createElement('div'); d.innerHTML = '<dt></dt><dd></dd>'; d.firstChild.textContent = k; d.lastChild.textContent = v; d.lastChild.id = 'kv-meta-' + k.replace(/\W+/g, '-'); meta.append(d); };
    if (!kv) {
      item('state', 'does not exist (deleted or expired)');
      $('kv-value').value = ''; $('kv-ttl').value = ''; $('kv-lease').value = '';
      this.stopCountdown(); this.validate();
      return;
    }
    item('create rev', kv.createRevision); item('mod rev', kv.modRevision); item('version', kv.version);
    item('size', `${kv.value.length} B`); item('lease', kv.lease ? leaseHex(kv.lease) : 'none');
    this.detected = detect(kv.value);
    $('kv-value').value = toEditor(kv.value, this.format());
    this.prevFormat = this.format();
    $('kv-ttl').value = ''; $('kv-lease').value = kv.lease ? leaseHex(kv.lease) : '';
    this.validate();
    this.startCountdown(kv.lease);
  }

  /** The open key could not be read: show that instead of whatever was open before. */
  unreadable(err) {
    this.kv = null; this.dirty = false;
    this.stopCountdown();
    $('kv-key').value = showKey(this.key); $('kv-key').readOnly = true;
    $('kv-value').value = '';
    $('kv-delete').disabled = true; $('kv-history-btn').disabled = true;
    const d = document.createElement('div');
    d.innerHTML = '<dt>state</dt><dd class="bad"></dd>';
    d.lastChild.textContent = `cannot be read: ${err.message}`;
    $('kv-meta').replaceChildren(d);
    this.validate();
  }

  validate() {
    const f = this.format();
    const text = $('kv-value').value;
    const out = $('kv-valid');
    $('kv-detected').textContent = `detected: ${this.detected}`;
    let res = { ok: true, msg: '' };
    if (f === 'json') res = checkJson(text), res.msg = res.ok ? 'valid JSON' : res.error;
    else if (f === 'yaml') res = checkYaml(text), res.msg = res.ok ? 'valid YAML' : res.error;
    else if (f === 'hex') { const p = fromEditor(text, 'hex'); res = { ok: !p.error, msg: p.error || `${p.bytes.length} bytes` }; }
    out.textContent = res.msg;
    out.className = 'valid ' + (res.ok ? 'good' : 'bad');
    $('kv-pretty').disabled = f !== 'json' || !res.ok;
    const dump = $('kv-hexdump');
    dump.hidden = f !== 'hex';
    if (f === 'hex' && !res.error) { const p = fromEditor(text, 'hex'); if (p.bytes) dump.textContent = hexDump(p.bytes); }
    return res;
  }

  /** The value as bytes from the editor in its current format. */
  editorBytes(format) { return fromEditor($('kv-value').value, format); }

  reformat() {
    // Re-render the editor's current bytes in the newly chosen format (text is read as UTF-8).
    const prevFormat = this.prevFormat || this.detected;
    const cur = fromEditor($('kv-value').value, prevFormat === 'hex' ? 'hex' : 'text');
    const f = this.format();
    if (cur.bytes) {
      if (f !== 'hex' && tryText(cur.bytes) === null) {
        this.notify(new Error('This value is not valid UTF-8 text; it can only be edited in hex.'));
        $('kv-format').value = 'hex';
      } else {
        $('kv-value').value = toEditor(cur.bytes, this.format());
      }
    }
    this.prevFormat = this.format();
    this.validate();
  }

  pretty() {
    const text = $('kv-value').value;
    if (checkJson(text).ok) { $('kv-value').value = prettyJson(text); this.dirty = true; }
    this.validate();
  }

  async save() {
    const format = this.format();
    const v = this.validate();
    if (!v.ok) { this.notify(new Error(`Not saved: ${v.msg}`)); return; }
    const parsed = this.editorBytes(format);
    if (parsed.error) { this.notify(new Error(`Not saved: ${parsed.error}`)); return; }
    const key = this.isNew ? utf8($('kv-key').value) : this.key;
    if (!key.length) { this.notify(new Error('Not saved: the key name is empty.')); return; }
    const ttlText = $('kv-ttl').value.trim();
    const leaseText = $('kv-lease').value.trim();
    let lease = null, granted = null;
    if (ttlText) {
      if (!/^[1-9][0-9]{0,9}$/.test(ttlText)) { this.notify(new Error(`Not saved: invalid TTL "${ttlText}" (whole seconds, at least 1).`)); return; }
    } else if (leaseText) {
      lease = parseLeaseHex(leaseText);
      if (!lease) { this.notify(new Error(`Not saved: invalid lease id "${leaseText}" (the hexadecimal id etcdctl prints, e.g. 694d7a6e2b4a8a0c).`)); return; }
    }
    $('kv-save').disabled = true;
    try {
      if (ttlText) lease = granted = await leaseGrant(Number(ttlText));
      const r = await putIf(key, parsed.bytes, this.isNew ? 0 : this.kv?.modRevision || 0, lease);
      if (!r.ok) {
        if (granted) await leaseRevoke(granted).catch(() => {});
        const now = r.current;
        const why = this.isNew
          ? `the key "${showKey(key)}" already exists (mod revision ${now?.modRevision}). Open it to edit.`
          : now ? `the key changed on the server (now at mod revision ${now.modRevision}). Reload to see it; your text is kept here.`
                : 'the key was deleted on the server meanwhile. Your text is kept here.';
        this.notify(new Error(`Not saved: ${why}`));
        return;
      }
      this.notify(null, `Saved "${showKey(key)}" at revision ${r.revision}.`);
      this.key = key; this.isNew = false;
      this.onSaved(key);
      const got = await getKey(key);
      this.render(got.kv);
    } catch (e) {
      if (granted) await leaseRevoke(granted).catch(() => {});
      this.notify(e.network ? new Error(`Not saved: ${e.message} Your text is kept in the editor; the key was not changed by this page unless a reload shows otherwise (writes are all-or-nothing).`) : new Error(`Not saved: ${e.message}`));
    } finally {
      $('kv-save').disabled = false;
    }
  }

  async remove() {
    if (!this.key) return;
    if (!(await this.confirm(`Delete the key "${showKey(this.key)}"?`))) return;
    try {
      const n = await deleteRange(this.key);
      this.notify(null, n ? `Deleted "${showKey(this.key)}".` : `"${showKey(this.key)}" was already gone.`);
      this.render(null);
    } catch (e) { this.notify(e); }
  }

  /** Asks for a prefix (offering the open key's parent), then for a confirmation naming the count. */
  async removePrefix() {
    const dlg = $('prefix-dialog');
    const name = $('kv-key').value;
    const sep = $('sep').value || '/';
    $('prefix-input').value = name.includes(sep) ? name.slice(0, name.lastIndexOf(sep) + sep.length) : name;
    const answered = new Promise((resolve) => dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true }));
    dlg.returnValue = '';
    dlg.showModal();
    $('prefix-input').focus();
    if (!(await answered)) return;
    const prefix = utf8($('prefix-input').value);
    if (!prefix.length) { this.notify(new Error('Not deleted: the prefix is empty (deleting every key is not offered here).')); return; }
    const end = prefixEnd(prefix);
    let n;
    try { n = await countRange(prefix, end); } catch (e) { this.notify(e); return; }
    if (!n) { this.notify(new Error(`No keys start with "${showKey(prefix)}".`)); return; }
    if (!(await this.confirm(`Delete ${n} key${n === 1 ? '' : 's'} starting with "${showKey(prefix)}"? This cannot be undone.`))) return;
    try {
      const d = await deleteRange(prefix, end);
      this.notify(null, `Deleted ${d} key${d === 1 ? '' : 's'} starting with "${showKey(prefix)}".`);
      if (this.key && cmp(this.key.subarray(0, prefix.length), prefix) === 0) this.render(null);
    } catch (e) { this.notify(e); }
  }

  /** A watch event for the open key. */
  event(type, kv) {
    if (this.isNew || !this.key || cmp(fromB64(kv.key), this.key) !== 0) return;
    const rev = Number(kv.mod_revision || 0);
    const mark = $('kv-live');
    mark.hidden = false;
    if (this.dirty) {
      mark.textContent = `${type === 'DELETE' ? 'deleted' : 'changed'} on the server at revision ${rev}; reload to see it`;
      return;
    }
    mark.textContent = `${type === 'DELETE' ? 'deleted' : 'updated'} live at revision ${rev}`;
    if (type === 'DELETE') this.render(null);
    else getKey(this.key).then((r) => { if (!this.dirty) this.render(r.kv); mark.hidden = false; }).catch((e) => this.notify(e));
  }

  stopCountdown() { clearInterval(this.timer); this.timer = null; $('kv-countdown').textContent = ''; }

  async startCountdown(lease) {
    this.stopCountdown();
    if (!lease) return;
    let t;
    try { t = await leaseTtl(lease); } catch (e) { $('kv-countdown').textContent = `lease: ${e.message}`; return; }
    if (!t) { $('kv-countdown').textContent = 'lease expired'; return; }
    this.expiresAt = Date.now() + t.ttl * 1000;
    const tick = () => {
      const left = Math.max(0, Math.ceil((this.expiresAt - Date.now()) / 1000));
      $('kv-countdown').textContent = left ? `expires in ${left} s (lease TTL ${t.granted} s)` : 'expiring…';
    };
    tick();
    this.timer = setInterval(tick, 1000);
  }

  /**
   * Walks the key's versions back from the current one: each step reads
   * the key at (mod revision − 1); a generation ends at its create
   * revision, and reading before it finds the previous generation if the
   * key was deleted and created again. Stops at compaction, at a revision
   * where the key did not exist, or after HISTORY_MAX versions.
   */
  async loadHistory() {
    if (!this.kv) return;
    const rows = [this.kv];
    let note = '';
    let at = this.kv;
    try {
      while (rows.length < HISTORY_MAX && at.modRevision > 1) {
        const r = await getKey(this.key, at.modRevision - 1);
        if (!r.kv) { note = at.version > 1 ? '' : `created at revision ${at.createRevision}`; break; }
        rows.push(r.kv); at = r.kv;
      }
      if (rows.length >= HISTORY_MAX) note = `showing the latest ${HISTORY_MAX} versions`;
    } catch (e) {
      if (/compacted/.test(e.message)) note = `older revisions are compacted (${e.message})`;
      else { this.notify(e); return; }
    }
    this.history = rows;
    $('kv-history').hidden = false;
    $('kv-history-note').textContent = note;
    const body = $('kv-history-table').tBodies[0];
    body.replaceChildren();
    rows.forEach((kv, i) => {
      const tr = document.createElement('tr');
      tr.dataset.rev = kv.modRevision;
      const preview = tryText(kv.value) ?? `(${kv.value.length} binary bytes)`;
      tr.innerHTML = `<td><input type="radio" name="hist-a" aria-label="A"></td><td><input type="radio" name="hist-b" aria-label="B"></td><td></td><td></td><td class="mono"></td>`;
      tr.cells[2].textContent = kv.modRevision; tr.cells[3].textContent = kv.version;
      tr.cells[4].textContent = preview.length > 120 ? preview.slice(0, 120) + '…' : preview;
      tr.cells[0].firstChild.value = i; tr.cells[1].firstChild.value = i;
      tr.cells[0].firstChild.checked = i === Math.min(1, rows.length - 1);
      tr.cells[1].firstChild.checked = i === 0;
      body.append(tr);
    });
    $('kv-diff').hidden = true;
  }

  showDiff() {
    const a = document.querySelector('input[name="hist-a"]:checked');
    const b = document.querySelector('input[name="hist-b"]:checked');
    if (!a || !b) return;
    const ka = this.history[Number(a.value)], kb = this.history[Number(b.value)];
    const text = (kv) => { const t = tryText(kv.value); const f = detect(kv.value); return t === null || f === 'hex' ? toEditor(kv.value, 'hex') : f === 'json' ? prettyJson(t) : t; };
    const out = $('kv-diff');
    out.replaceChildren();
    const head = document.createElement('span');
    head.className = 'same';
    head.textContent = `--- revision ${ka.modRevision}\n+++ revision ${kb.modRevision}`;
    out.append(head);
    for (const d of lineDiff(text(ka), text(kb))) {
      const s = document.createElement('span');
      s.className = d.op === '+' ? 'add' : d.op === '-' ? 'del' : 'same';
      s.textContent = d.op + ' ' + d.line;
      out.append(s);
    }
    out.hidden = false;
    out.scrollIntoView({ block: 'nearest' });
  }
}
