//! Applies a v2 request (`InternalRaftRequest.v2`) to the v2 store, as etcd
//! 3.4's `applierV2store` does: `PUT` (set / create / update /
//! compareAndSwap by `prevExist`, `prevValue`, `prevIndex`), `POST`
//! (in-order create), `DELETE` (delete / compareAndDelete), `QGET` (a
//! quorum read) and `SYNC` (expire with the leader's time).
//!
//! Deterministic: the only times are in the request (`expiration`, `time`).
//! The v2 store is not in the backend, so these entries are applied again
//! after a restart, on top of the store restored from the Raft snapshot.

use etcd_proto::etcdserverpb::Request;
use etcd_v2store::{Event, Store, TtlOptions, V2Error};

/// The outcome of one v2 request; `None` for `SYNC`.
pub(crate) fn apply(store: &mut Store, r: &Request) -> Option<Result<Event, V2Error>> {
    let ttl = TtlOptions {
        expire_ns: r.expiration.filter(|e| *e != 0),
        refresh: r.refresh(),
    };
    let path = r.path();
    let out = match r.method() {
        "POST" => store.create(path, r.dir(), r.val(), true, ttl),
        "PUT" => put(store, r, ttl),
        "DELETE" => {
            if r.prev_index() > 0 || !r.prev_value().is_empty() {
                store.compare_and_delete(path, r.prev_value(), r.prev_index())
            } else {
                store.delete(path, r.dir(), r.recursive())
            }
        }
        "QGET" | "GET" => store.get(path, r.recursive(), r.sorted()),
        "SYNC" => {
            store.delete_expired(r.time());
            return None;
        }
        other => {
            tracing::warn!(target: "etcdserver", "unknown v2 method {other:?}");
            return None;
        }
    };
    Some(out)
}

fn put(store: &mut Store, r: &Request, ttl: TtlOptions) -> Result<Event, V2Error> {
    let path = r.path();
    let compare = r.prev_index() > 0 || !r.prev_value().is_empty();
    match r.prev_exist {
        Some(true) if !compare => store.update(path, r.val(), ttl),
        Some(true) => store.compare_and_swap(path, r.prev_value(), r.prev_index(), r.val(), ttl),
        Some(false) => store.create(path, r.dir(), r.val(), false, ttl),
        None if compare => {
            store.compare_and_swap(path, r.prev_value(), r.prev_index(), r.val(), ttl)
        }
        None => store.set(path, r.dir(), r.val(), ttl),
    }
}

pub(crate) use super::v2_members::mirror_members;
