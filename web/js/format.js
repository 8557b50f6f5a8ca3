// Value formats: detection, validation and pretty-printing of JSON and
// YAML, and a hex view for binary values. Pure functions over text/bytes.
//
// Pretty-printing re-indents the token stream instead of parsing into JS
// values, so numbers keep every digit (JSON.parse would round 2^63) and
// key order and duplicate keys stay as written.

import { tryText } from './bytes.js';

/** 'json' | 'yaml' | 'text' | 'hex' for a stored value. */
export function detect(bytes) {
  const text = tryText(bytes);
  if (text === null || /[\x00-\x08\x0e-\x1f\x7f]/.test(text)) return 'hex';
  const t = text.trim();
  if ((t.startsWith('{') || t.startsWith('[')) && checkJson(text).ok) return 'json';
  if (looksLikeYaml(text) && checkYaml(text).ok) return 'yaml';
  return 'text';
}

function lineCol(text, pos) {
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  return `line ${line}, column ${pos - before.lastIndexOf('\n')}`;
}

/** {ok:true} or {ok:false, error} for JSON text; the error names line and column. */
export function checkJson(text) {
  try {
    JSON.parse(text);
    return { ok: true };
  } catch (e) {
    const m = /position (\d+)/.exec(e.message);
    const where = m ? ` at ${lineCol(text, Number(m[1]))}` : '';
    const what = e.message.replace(/^JSON\.parse: /, '').replace(/ in JSON at position \d+.*$/, '').replace(/ at line \d+ column \d+ of the JSON data$/, '');
    return { ok: false, error: `Invalid JSON${where}: ${what}` };
  }
}

/** Re-indents valid JSON with two spaces, keeping every token as written. */
export function prettyJson(text) {
  let out = '', depth = 0, i = 0;
  const nl = () => '\n' + '  '.repeat(depth);
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1); i = j + 1; continue;
    }
    if (/\s/.test(c)) { i++; continue; }
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      let j = i + 1; while (/\s/.test(text[j])) j++;
      if (text[j] === close) { out += c + close; i = j + 1; continue; }
      depth++; out += c + nl(); i++; continue;
    }
    if (c === '}' || c === ']') { depth--; out += nl() + c; i++; continue; }
    if (c === ',') { out += ',' + nl(); i++; continue; }
    if (c === ':') { out += ': '; i++; continue; }
    let j = i; while (j < text.length && !/[\s,:{}\[\]"]/.test(text[j])) j++;
    out += text.slice(i, j); i = j;
  }
  return out;
}

function looksLikeYaml(text) {
  const lines = text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  if (lines.length < 1) return false;
  const structured = lines.filter((l) => /^\s*(- |-$|[^\s:#][^:#]*:(\s|$)|---)/.test(l)).length;
  return structured >= 1 && structured >= lines.length / 2 && (lines.length > 1 || /:\s/.test(lines[0]) || /^-\s/.test(lines[0]));
}

/**
 * A YAML checker for the block style configuration values use: mappings,
 * sequences, scalars, comments, block scalars (| >), flow collections and
 * documents. Reports tabs in indentation, bad indentation, a mapping and a
 * sequence mixed at one level, duplicate keys, unclosed quotes and
 * unbalanced flow brackets, naming the line. It is a validator, not a
 * full YAML 1.2 parser: anchors and tags are accepted without checking.
 */
export function checkYaml(text) {
  const lines = text.split('\n');
  const fresh = () => [{ indent: -1, kind: null, keys: new Set(), open: true }];
  let stack = fresh();
  let block = null; // indentation of the line that opened a block scalar
  let scalarDoc = false;
  const fail = (n, why) => ({ ok: false, error: `Invalid YAML at line ${n + 1}: ${why}` });
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n].replace(/\r$/, '');
    const lead = /^[ \t]*/.exec(raw)[0];
    const indent = lead.length;
    const body = raw.trim();
    if (block !== null) {
      if (!body || indent > block) continue;
      block = null;
    }
    if (!body || body.startsWith('#')) continue;
    if (lead.includes('\t')) return fail(n, 'tab used for indentation');
    if (body === '---' || body === '...' || body.startsWith('--- ')) { stack = fresh(); scalarDoc = false; continue; }
    if (scalarDoc) return fail(n, 'content after a plain scalar document');
    const isSeq = body === '-' || body.startsWith('- ');
    while (stack.length > 1 && indent < stack[stack.length - 1].indent) stack.pop();
    let top = stack[stack.length - 1];
    // A sequence may sit at its parent key's indentation ("key:\n- a").
    if (top.seqUnderKey && (!isSeq || indent !== top.indent)) { stack.pop(); top = stack[stack.length - 1]; }
    if (indent > top.indent || (isSeq && top.kind === 'map' && top.open && indent === top.indent)) {
      if (!top.open) return fail(n, 'unexpected indentation');
      const underKey = indent === top.indent;
      top.open = false;
      stack.push(top = { indent, kind: null, keys: new Set(), open: false, seqUnderKey: underKey });
    } else if (indent !== top.indent) {
      return fail(n, 'indentation does not match any outer level');
    }
    let rest = body;
    let level = top;
    if (isSeq) {
      if (level.kind === 'map') return fail(n, 'a sequence item among mapping keys');
      level.kind = 'seq';
      rest = rest.slice(1).trimStart();
      const childIndent = indent + (body.length - rest.length);
      if (!rest) { level.open = true; continue; }
      level.open = false;
      if (!isKeyLine(rest)) {
        const e = checkScalar(rest);
        if (e) return fail(n, e);
        if (/^[|>][-+0-9]*(\s+#.*)?$/.test(rest)) block = indent;
        continue;
      }
      stack.push(level = { indent: childIndent, kind: null, keys: new Set(), open: false });
    }
    if (!isKeyLine(rest)) {
      if (stack.length === 2 && !level.kind && !isSeq) {
        const e = checkScalar(rest);
        if (e) return fail(n, e);
        scalarDoc = true;
        continue;
      }
      if (/^["']/.test(rest) && checkScalar(rest)) return fail(n, 'unclosed quote');
      return fail(n, level.kind === 'seq' ? 'expected "- item"' : 'expected "key: value"');
    }
    if (level.kind === 'seq') return fail(n, 'a mapping key among sequence items');
    level.kind = 'map';
    const km = KEY_LINE.exec(rest);
    const key = km[1].replace(/^["']|["']$/g, '');
    if (level.keys.has(key)) return fail(n, `duplicate key "${key}"`);
    level.keys.add(key);
    const value = (km[2] || '').replace(/^#.*$/, '').trim();
    level.open = !value;
    if (value) {
      const e = checkScalar(value);
      if (e) return fail(n, e);
      if (/^[|>][-+0-9]*(\s+#.*)?$/.test(value)) block = level.indent;
    }
  }
  return { ok: true };
}

const KEY_LINE = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^'"\[{#\s-][^#]*?|-[^\s#][^#]*?):(?:\s+(.*))?$/;
function isKeyLine(s) { return KEY_LINE.test(s); }

/** An error for a bad inline scalar or flow collection, or null. */
function checkScalar(v) {
  if (v.startsWith('"')) return /^"(?:[^"\\]|\\.)*"\s*(#.*)?$/.test(v) ? null : 'unclosed double quote';
  if (v.startsWith("'")) return /^'(?:[^']|'')*'\s*(#.*)?$/.test(v) ? null : 'unclosed single quote';
  v = v.replace(/\s+#.*$/, '');
  if (v.startsWith('[') || v.startsWith('{')) {
    const st = [];
    let q = null;
    for (let i = 0; i < v.length; i++) {
      const c = v[i];
      if (q) { if (c === '\\' && q === '"') i++; else if (c === q) q = null; continue; }
      if (c === '"' || c === "'") q = c;
      else if (c === '[' || c === '{') st.push(c);
      else if (c === ']' || c === '}') { if (st.pop() !== (c === ']' ? '[' : '{')) return `unbalanced "${c}"`; }
    }
    if (q) return 'unclosed quote';
    if (st.length) return `unclosed "${st[st.length - 1]}"`;
  }
  return null;
}

/** Text of a value in a given format for the editor. */
export function toEditor(bytes, format) {
  if (format === 'hex') return hexPairs(bytes);
  const text = tryText(bytes) ?? '';
  return format === 'json' && checkJson(text).ok ? prettyJson(text) : text;
}

/** Parses the editor back into bytes, or {error} when the format refuses it. */
export function fromEditor(text, format) {
  if (format === 'hex') {
    const hex = text.replace(/\s+/g, '');
    if (!/^([0-9a-fA-F]{2})*$/.test(hex)) return { error: 'Invalid hex: use pairs of hex digits (spaces and newlines are ignored).' };
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
    return { bytes: out };
  }
  if (format === 'json') { const c = checkJson(text); if (!c.ok) return { error: c.error }; }
  if (format === 'yaml') { const c = checkYaml(text); if (!c.ok) return { error: c.error }; }
  return { bytes: new TextEncoder().encode(text) };
}

export function hexPairs(bytes) {
  const lines = [];
  for (let i = 0; i < bytes.length; i += 16) lines.push(Array.from(bytes.subarray(i, i + 16), (b) => b.toString(16).padStart(2, '0')).join(' '));
  return lines.join('\n');
}

/** A classic offset / hex / ASCII dump (at most `maxBytes`). */
export function hexDump(bytes, maxBytes = 64 * 1024) {
  const lines = [];
  const n = Math.min(bytes.length, maxBytes);
  for (let i = 0; i < n; i += 16) {
    const row = bytes.subarray(i, Math.min(i + 16, n));
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ').padEnd(47);
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${i.toString(16).padStart(8, '0')}  ${hex}  ${ascii}`);
  }
  if (bytes.length > n) lines.push(`… ${bytes.length - n} more bytes`);
  return lines.join('\n');
}
