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

/// Mirrors the applied membership into `/0` as etcd 3.4 keeps it in its v2
/// store (`/0/members/<id>/raftAttributes`, `.../attributes`,
/// `/0/removed_members/<id>`, `/0/version` once every member published), so
/// v2 indexes advance as etcd's do. Deterministic: it depends only on the
/// membership, which every member applies in the same order.
/// `published` names a member whose attributes were just applied: etcd
/// writes them again even when unchanged (a restart takes one index).
pub(crate) fn mirror_members(
    store: &mut Store,
    members: &[crate::membership::Member],
    published: Option<u64>,
) {
    let dir = format!("{}/members", etcd_v2store::CLUSTER_PREFIX);
    for m in members {
        let base = format!("{dir}/{:x}", m.id);
        let raft = if m.is_learner {
            serde_json::json!({ "peerURLs": m.peer_urls, "isLearner": true })
        } else {
            serde_json::json!({ "peerURLs": m.peer_urls })
        }
        .to_string();
        set_if_changed(store, &format!("{base}/raftAttributes"), &raft);
        if !m.name.is_empty() || !m.client_urls.is_empty() {
            #[derive(serde::Serialize)]
            struct Attributes<'a> {
                name: &'a str,
                #[serde(rename = "clientURLs")]
                client_urls: &'a [String],
            }
            let attr = serde_json::to_string(&Attributes {
                name: &m.name,
                client_urls: &m.client_urls,
            })
            .expect("attributes serialise");
            if published == Some(m.id) {
                let _ = store.set(
                    &format!("{base}/attributes"),
                    false,
                    &attr,
                    TtlOptions::default(),
                );
            } else {
                set_if_changed(store, &format!("{base}/attributes"), &attr);
            }
        }
    }
    if let Ok(listed) = store.get(&dir, false, false) {
        for n in listed.node.nodes {
            let id = n
                .key
                .rsplit('/')
                .next()
                .and_then(|s| u64::from_str_radix(s, 16).ok());
            if id.is_some_and(|id| !members.iter().any(|m| m.id == id)) {
                let _ = store.delete(&n.key, true, true);
                let name = n.key.rsplit('/').next().unwrap_or_default();
                let _ = store.set(
                    &format!("{}/removed_members/{name}", etcd_v2store::CLUSTER_PREFIX),
                    false,
                    "removed",
                    TtlOptions::default(),
                );
            }
        }
    }
    let version_key = format!("{}/version", etcd_v2store::CLUSTER_PREFIX);
    let all_published = !members.is_empty()
        && members
            .iter()
            .all(|m| !m.name.is_empty() || !m.client_urls.is_empty());
    if all_published && store.get(&version_key, false, false).is_err() {
        let _ = store.set(
            &version_key,
            false,
            crate::CLUSTER_VERSION,
            TtlOptions::default(),
        );
    }
}

fn set_if_changed(store: &mut Store, key: &str, value: &str) {
    let same = store
        .get(key, false, false)
        .ok()
        .and_then(|e| e.node.value)
        .is_some_and(|v| v == value);
    if !same {
        let _ = store.set(key, false, value, TtlOptions::default());
    }
}
