// Byte helpers: keys and values are byte strings in etcd and base64 in the
// JSON gateway. Everything here works on Uint8Array so binary keys and
// values survive a round trip unchanged.

const enc = new TextEncoder();
const strictDec = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 bytes of a JS string. */
export function utf8(s) { return enc.encode(s); }

/** The text of `b` if it is valid UTF-8, else null. */
export function tryText(b) {
  try { return strictDec.decode(b); } catch { return null; }
}

/** A printable rendering of a key: its text, with bytes that are not valid UTF-8 or are control characters escaped as \xNN. */
export function showKey(b) {
  const t = tryText(b);
  if (t !== null && !/[\x00-\x1f\x7f]/.test(t)) return t;
  let out = '';
  for (const c of b) out += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : '\\x' + c.toString(16).padStart(2, '0');
  return out;
}

/** Base64 of bytes (chunked: values can be megabytes). */
export function toB64(b) {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Bytes of a base64 string ('' or undefined is empty). */
export function fromB64(s) {
  if (!s) return new Uint8Array(0);
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Byte-wise comparison, as etcd orders keys. */
export function cmp(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export function startsWith(b, prefix) {
  if (prefix.length > b.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  return true;
}

/** First index of `needle` in `hay` at or after `from`, or -1. */
export function indexOf(hay, needle, from = 0) {
  if (needle.length === 0) return -1;
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * The smallest key greater than every key starting with `prefix` (etcd's
 * `GetPrefixRangeEnd`): drop trailing 0xff bytes, increment the last. No
 * such key (empty or all 0xff) gives [0], which etcd reads as "to the end".
 */
export function prefixEnd(prefix) {
  const out = Uint8Array.from(prefix);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] < 0xff) { out[i]++; return out.subarray(0, i + 1); }
  }
  return new Uint8Array([0]);
}

/** The key right after `k` in etcd order (k + "\0"). */
export function successor(k) { return concat(k, new Uint8Array([0])); }

/** Base64url of bytes, for keys in the page address. */
export function toB64url(b) { return toB64(b).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''); }
export function fromB64url(s) {
  s = s.replace(/-/g, '+').replace(/_/g, '/');
  while (s.length % 4) s += '=';
  return fromB64(s);
}

/** Lease ids travel as decimal strings; etcdctl shows them as 16 hex digits (%016x). */
export function leaseHex(dec) { return BigInt(dec).toString(16).padStart(16, '0'); }

/** Member ids as etcdctl shows them (%x). */
export function memberHex(dec) { return BigInt(dec).toString(16); }

/** A lease id typed by a user (hex, as etcdctl prints it) as a decimal string, or null if it is not one. */
export function parseLeaseHex(s) {
  s = s.trim().replace(/^0x/i, '');
  if (!/^[0-9a-f]{1,16}$/i.test(s)) return null;
  const v = BigInt('0x' + s);
  if (v === 0n || v > 0x7fffffffffffffffn) return null;
  return v.toString();
}
