// The v3 key-value calls the page makes, over the JSON gateway. Writes are
// single transactions guarded by a compare, so an edit made on a stale
// view is refused instead of overwriting someone else's change, and a
// failed or interrupted request leaves the key as it was (etcd applies a
// transaction entirely or not at all).

import { call } from './api.js';
import { fromB64, toB64 } from './bytes.js';

/** A KeyValue from the gateway with bytes decoded and numbers parsed. */
export function decodeKv(kv) {
  return {
    key: fromB64(kv.key),
    value: fromB64(kv.value),
    createRevision: Number(kv.create_revision || 0),
    modRevision: Number(kv.mod_revision || 0),
    version: Number(kv.version || 0),
    lease: kv.lease && kv.lease !== '0' ? String(kv.lease) : null,
  };
}

/** Keys only, in order: {keys, more, revision}. */
export async function rangeKeys(from, end, limit) {
  const r = await call('/v3/kv/range', { key: toB64(from), range_end: toB64(end), limit: String(limit), keys_only: true });
  return { keys: (r.kvs || []).map((kv) => fromB64(kv.key)), more: !!r.more, revision: Number(r.header?.revision || 0) };
}

/** How many keys lie in [from, end). */
export async function countRange(from, end) {
  const r = await call('/v3/kv/range', { key: toB64(from), range_end: toB64(end), count_only: true });
  return Number(r.count || 0);
}

/** One key (at `revision` when given): {kv|null, revision}. */
export async function getKey(key, revision = 0) {
  const body = { key: toB64(key) };
  if (revision) body.revision = String(revision);
  const r = await call('/v3/kv/range', body);
  return { kv: r.kvs?.length ? decodeKv(r.kvs[0]) : null, revision: Number(r.header?.revision || 0) };
}

/**
 * Writes `value` to `key` if the key is still at `expectModRevision`
 * (0: the key must not exist). Resolves to {ok, revision, current} where
 * current is the key's state when the compare failed.
 */
export async function putIf(key, value, expectModRevision, lease = null) {
  const put = { key: toB64(key), value: toB64(value) };
  if (lease) put.lease = lease;
  const compare = expectModRevision
    ? { key: toB64(key), target: 'MOD', result: 'EQUAL', mod_revision: String(expectModRevision) }
    : { key: toB64(key), target: 'CREATE', result: 'EQUAL', create_revision: '0' };
  const r = await call('/v3/kv/txn', {
    compare: [compare],
    success: [{ request_put: put }],
    failure: [{ request_range: { key: toB64(key) } }],
  });
  if (r.succeeded) return { ok: true, revision: Number(r.header?.revision || 0) };
  const kvs = r.responses?.[0]?.response_range?.kvs || [];
  return { ok: false, current: kvs.length ? decodeKv(kvs[0]) : null };
}

/** Deletes `key` (or [key, end)); resolves to the number deleted. */
export async function deleteRange(key, end = null) {
  const body = { key: toB64(key) };
  if (end) body.range_end = toB64(end);
  const r = await call('/v3/kv/deleterange', body);
  return Number(r.deleted || 0);
}

export async function leaseGrant(ttlSeconds) {
  const r = await call('/v3/lease/grant', { TTL: String(ttlSeconds) });
  if (r.error) throw new Error(r.error);
  return String(r.ID);
}

export async function leaseRevoke(id) { await call('/v3/lease/revoke', { ID: id }); }

/** {ttl, granted, keys} or null for an unknown lease (TTL -1). */
export async function leaseTtl(id, keys = false) {
  const r = await call('/v3/lease/timetolive', { ID: id, keys });
  const ttl = Number(r.TTL ?? -1);
  if (ttl === -1) return null;
  return { ttl, granted: Number(r.grantedTTL || 0), keys: (r.keys || []).map(fromB64) };
}

export async function leaseList() {
  const r = await call('/v3/lease/leases', {});
  return (r.leases || []).map((l) => String(l.ID));
}
