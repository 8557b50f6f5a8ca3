//! Mirrors the applied membership into the v2 store's `/0` tree as etcd 3.4
//! keeps it there (`/0/members/<hex id>/raftAttributes`, `.../attributes`,
//! `/0/removed_members/<hex id>`, `/0/version`), so v2 indexes advance as
//! etcd's do, and with the very store operations etcd uses, so
//! `/v2/stats/store` counts what etcd counts on every member:
//!
//! - a membership change (etcd: a conf change, including the bootstrap
//!   ones, and a member update) first reads the members from the store as
//!   etcd's `ValidateConfigurationChange` does: `Get /0/members` and, when
//!   that exists, `Get /0/removed_members`;
//! - a new member is a `Create` of its `raftAttributes`; changed peer URLs
//!   or a promotion an `Update`; a removal a recursive `Delete` of its
//!   directory and a `Create` of `/0/removed_members/<id>` (empty value);
//! - a member publishing its attributes is a `Set` (each time, unchanged
//!   or not: a restart takes one index); the cluster version, written once
//!   every member has published, is a `Set`.
//!
//! Everything else is looked up with the uncounted [`Store::peek`].
//! Deterministic: it depends only on the membership and the store, which
//! every member applies in the same order.

use etcd_v2store::{Store, TtlOptions, CLUSTER_PREFIX};

use crate::membership::Member;

/// Brings `/0` in line with `members`. `published` names a member whose
/// attributes were just applied; `None` means a membership change.
pub(crate) fn mirror_members(store: &mut Store, members: &[Member], published: Option<u64>) {
    let dir = format!("{CLUSTER_PREFIX}/members");
    if published.is_none() {
        // etcd's membersFromStore, ahead of every membership change.
        if store.get(&dir, true, true).is_ok() {
            let _ = store.get(&format!("{CLUSTER_PREFIX}/removed_members"), true, true);
        }
    }
    let permanent = TtlOptions::default();
    for m in members {
        let base = format!("{dir}/{:x}", m.id);
        let raft_key = format!("{base}/raftAttributes");
        let raft = raft_attributes(m);
        match store.peek(&raft_key) {
            None => {
                let _ = store.create(&raft_key, false, &raft, false, permanent);
            }
            Some(v) if v != Some(raft.as_str()) => {
                let _ = store.update(&raft_key, &raft, permanent);
            }
            Some(_) => {}
        }
        if m.name.is_empty() && m.client_urls.is_empty() {
            continue;
        }
        let attr_key = format!("{base}/attributes");
        let attr = attributes(m);
        if published == Some(m.id) || store.peek(&attr_key) != Some(Some(attr.as_str())) {
            let _ = store.set(&attr_key, false, &attr, permanent);
        }
    }
    for id in stored_member_ids(store, &dir) {
        if members.iter().any(|m| m.id == id) {
            continue;
        }
        let _ = store.delete(&format!("{dir}/{id:x}"), true, true);
        let removed = format!("{CLUSTER_PREFIX}/removed_members/{id:x}");
        if store.peek(&removed).is_none() {
            let _ = store.create(&removed, false, "", false, permanent);
        }
    }
    let version_key = format!("{CLUSTER_PREFIX}/version");
    let all_published = !members.is_empty()
        && members
            .iter()
            .all(|m| !m.name.is_empty() || !m.client_urls.is_empty());
    if all_published && store.peek(&version_key).is_none() {
        let _ = store.set(&version_key, false, crate::CLUSTER_VERSION, permanent);
    }
}

/// etcd's `RaftAttributes` JSON.
fn raft_attributes(m: &Member) -> String {
    if m.is_learner {
        serde_json::json!({ "peerURLs": m.peer_urls, "isLearner": true })
    } else {
        serde_json::json!({ "peerURLs": m.peer_urls })
    }
    .to_string()
}

/// etcd's `Attributes` JSON.
fn attributes(m: &Member) -> String {
    #[derive(serde::Serialize)]
    struct Attributes<'a> {
        name: &'a str,
        #[serde(rename = "clientURLs")]
        client_urls: &'a [String],
    }
    serde_json::to_string(&Attributes {
        name: &m.name,
        client_urls: &m.client_urls,
    })
    .expect("attributes serialise")
}

/// The member ids under `/0/members`, read without counting.
fn stored_member_ids(store: &Store, dir: &str) -> Vec<u64> {
    store
        .child_names(dir)
        .into_iter()
        .filter_map(|name| u64::from_str_radix(&name, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: u64, name: &str) -> Member {
        Member {
            id,
            peer_urls: vec![format!("http://127.0.0.1:{id}")],
            is_learner: false,
            name: name.into(),
            client_urls: vec![],
        }
    }

    #[test]
    fn bootstrap_of_one_member_counts_like_etcd() {
        // etcd 3.4, fresh single member: getsFail 1, createSuccess 1,
        // setsSuccess 2 (its attributes and the cluster version).
        let mut st = Store::new();
        let mut m = member(1, "");
        mirror_members(&mut st, std::slice::from_ref(&m), None);
        m.name = "m1".into();
        mirror_members(&mut st, std::slice::from_ref(&m), Some(1));
        let s = st.stats();
        assert_eq!((s.gets_success, s.gets_fail), (0, 1));
        assert_eq!((s.create_success, s.sets_success), (1, 2));
    }

    #[test]
    fn removal_deletes_and_records_the_member() {
        let mut st = Store::new();
        let (a, b) = (member(1, "a"), member(2, "b"));
        mirror_members(&mut st, &[a.clone(), b], None);
        mirror_members(&mut st, std::slice::from_ref(&a), None);
        assert_eq!(st.peek("/0/members/2"), None);
        assert_eq!(st.peek("/0/removed_members/2"), Some(Some("")));
        let s = st.stats();
        assert_eq!((s.delete_success, s.create_success), (1, 3));
        // Second change: /0/members and /0/removed_members read (the latter missing).
        assert_eq!((s.gets_success, s.gets_fail), (1, 2));
    }
}
