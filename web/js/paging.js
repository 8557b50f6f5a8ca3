// Lazy, paged listing of one level of the key tree.
//
// etcd has no directories: a level is the set of distinct "children" of a
// prefix P for a separator S, where a key P+x is a leaf child when x holds
// no S, and otherwise falls under the directory child P+x[..first S].
//
// A page is built from keys-only range requests in key order. When a key
// falls into a directory, every later key of that directory is skipped:
// within a response (keys are sorted, a directory's keys are contiguous)
// and across requests (the next request starts at the directory's prefix
// end). So one request costs at most its `limit` keys and yields at least
// one new child, and a directory holding 100,000 keys costs one key, not
// 100,000. When responses are mostly swallowed by directories the limit
// shrinks (down to 1), when they yield a child per key it grows back.
// Pages are bounded in children, keys per request and requests.
//
// (etcdkeeper and etcd-workbench fetch every key under the prefix and build
// the tree in the browser, which is what makes them freeze on big prefixes.)

import { cmp, indexOf, prefixEnd, startsWith, successor } from './bytes.js';

/** Children shown per page of a level. */
export const PAGE_CHILDREN = 100;
/** Most keys asked for in one range request. */
export const MAX_KEYS_PER_REQUEST = 200;
/** Most range requests spent on one page. */
export const MAX_REQUESTS_PER_PAGE = 40;

const ALL = new Uint8Array([0]);

/** The child of level `prefix` that `key` belongs to, or null when `key` is not under `prefix`. */
export function childOf(prefix, sep, key) {
  if (!startsWith(key, prefix)) return null;
  const at = indexOf(key, sep, prefix.length);
  if (at < 0) return { dir: false, full: key };
  return { dir: true, full: key.subarray(0, at + sep.length) };
}

/** The range a level spans: [start, end) with etcd's "\0 means to the end". */
export function levelRange(prefix) {
  return prefix.length ? { start: prefix, end: prefixEnd(prefix) } : { start: ALL, end: ALL };
}

/**
 * One page of a level. `range(from, end, limit)` resolves to {keys, more}
 * (keys as Uint8Array, keys-only). `cursor` is where the previous page
 * stopped (null for the first page). Resolves to {children, cursor,
 * requests}; cursor is null when the level is complete.
 */
export async function listPage(range, prefix, sep, cursor = null, want = PAGE_CHILDREN) {
  const { start, end } = levelRange(prefix);
  let from = cursor || start;
  const children = [];
  let limit = Math.min(want, MAX_KEYS_PER_REQUEST);
  let requests = 0;
  const past = (k) => end !== ALL && !(end.length === 1 && end[0] === 0) && cmp(k, end) >= 0;
  while (requests < MAX_REQUESTS_PER_PAGE && children.length < want) {
    requests++;
    const { keys, more } = await range(from, end, limit);
    let dir = null;
    let fresh = 0;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (dir && startsWith(k, dir)) continue;
      const c = childOf(prefix, sep, k);
      if (!c) continue;
      children.push(c);
      fresh++;
      dir = c.dir ? c.full : null;
      if (children.length >= want) {
        const next = dir ? prefixEnd(dir) : successor(k);
        const rest = keys.slice(i + 1).some((x) => !dir || !startsWith(x, dir));
        const done = !more && !rest;
        return { children, cursor: done || isEnd(next) || past(next) ? null : next, requests };
      }
    }
    if (!more || keys.length === 0) return { children, cursor: null, requests };
    from = dir ? prefixEnd(dir) : successor(keys[keys.length - 1]);
    if (isEnd(from) || past(from)) return { children, cursor: null, requests };
    const remaining = want - children.length;
    limit = fresh * 2 >= keys.length
      ? Math.min(remaining, MAX_KEYS_PER_REQUEST)
      : Math.max(1, Math.min(remaining, Math.ceil(limit / 4)));
  }
  return { children, cursor: from, requests };
}

/** prefixEnd of an all-0xff prefix: nothing comes after it. */
function isEnd(k) { return k.length === 1 && k[0] === 0; }
