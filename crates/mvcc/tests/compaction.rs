//! Compaction (etcd's rule, incl. tombstones), HashKV, and reopening.

mod common;

use common::*;
use etcd_backend::Table;
use etcd_mvcc::{MvccError, Revision, FINISHED_COMPACT_KEY, SCHEDULED_COMPACT_KEY};
use etcd_proto::etcdserverpb::TxnRequest;

/// Revisions left in the backend's key table, with tombstone marks.
fn stored(f: &Fixture) -> Vec<(i64, i64, bool)> {
    f.store()
        .backend()
        .range_keys(Table::Key, &[], None, 0)
        .unwrap()
        .iter()
        .map(|k| {
            let (r, t) = Revision::from_key(k);
            (r.main, r.sub, t)
        })
        .collect()
}

/// a@2, a@3, b@4, del a@5, c@6, del b@7, b@8
fn sample() -> Fixture {
    let mut f = Fixture::new();
    f.put("a", "1");
    f.put("a", "2");
    f.put("b", "1");
    f.del("a", "");
    f.put("c", "1");
    f.del("b", "");
    f.put("b", "2");
    assert_eq!(f.store().current_revision(), 8);
    f
}

#[test]
fn compaction_keeps_latest_live_revision_per_key() {
    let mut f = sample();
    let i = f.next_index();
    f.store().compact(4, i).unwrap();
    // a@3 is kept (live at 4), a@2 goes; b@4 kept; later revisions untouched.
    assert_eq!(
        stored(&f),
        vec![
            (3, 0, false),
            (4, 0, false),
            (5, 0, true),
            (6, 0, false),
            (7, 0, true),
            (8, 0, false)
        ]
    );
    assert_eq!(keys(&f.get_at("\0", "\0", 4)), ["a", "b"]);
    assert_eq!(f.store().compact_revision(), 4);
}

#[test]
fn compaction_at_or_after_a_tombstone_removes_it() {
    let mut f = sample();
    let i = f.next_index();
    f.store().compact(7, i).unwrap();
    // a deleted at 5 and b deleted at 7: their tombstones and history go.
    assert_eq!(stored(&f), vec![(6, 0, false), (8, 0, false)]);
    assert_eq!(keys(&f.get("\0", "\0")), ["b", "c"]);
    assert_eq!(f.get("b", "").kvs[0].version, 1, "b's new life");
    // Reading exactly at the compaction point works; before it does not.
    assert_eq!(keys(&f.get_at("\0", "\0", 7)), ["c"]);
    let err = f.store().range(&etcd_proto::etcdserverpb::RangeRequest {
        revision: 6,
        ..range_req("c", "")
    });
    assert!(matches!(err, Err(MvccError::Compacted)));
}

#[test]
fn compaction_bounds() {
    let f = sample();
    assert!(matches!(f.store().compact(9, 1), Err(MvccError::FutureRev)));
    f.store().compact(3, 2).unwrap();
    assert!(matches!(f.store().compact(3, 3), Err(MvccError::Compacted)));
    assert!(matches!(f.store().compact(2, 4), Err(MvccError::Compacted)));
    assert_eq!(f.store().consistent_index(), 4);
    f.store().compact(8, 5).unwrap();
    assert_eq!(stored(&f), vec![(6, 0, false), (8, 0, false)]);
    let meta = |k: &[u8]| f.store().backend().get(Table::Meta, k).unwrap().unwrap();
    assert_eq!(meta(SCHEDULED_COMPACT_KEY), 8i64.to_le_bytes());
    assert_eq!(meta(FINISHED_COMPACT_KEY), 8i64.to_le_bytes());
}

#[test]
fn compaction_on_a_fresh_store_matches_etcd() {
    // etcd 3.4: `etcdctl compaction 1` on a new member succeeds.
    let f = Fixture::new();
    f.store().compact(1, 1).unwrap();
    assert_eq!(f.store().compact_revision(), 1);
}

#[test]
fn hash_kv_matches_etcd() {
    // Observed on etcd 3.4.23: empty store → 1084519789; after `compaction 1`
    // and `put a 1` → 2587454935 with compact_revision 1.
    let mut f = Fixture::new();
    assert_eq!(f.store().hash_kv(0).unwrap(), (1_084_519_789, -1));
    f.store().compact(1, 1).unwrap();
    f.index = 1;
    f.put("a", "1");
    assert_eq!(f.store().hash_kv(0).unwrap(), (2_587_454_935, 1));
    assert!(matches!(f.store().hash_kv(1), Err(MvccError::Compacted)));
    assert!(matches!(f.store().hash_kv(3), Err(MvccError::FutureRev)));
    // Then: txn {put b 2; get a; del zz}, txn {del a --from-key; put b 1},
    // put c 3 → 465655413 at revision 5 (tombstones and sub revisions).
    let t = TxnRequest {
        compare: vec![],
        success: vec![op_put("b", "2"), op_get("a", ""), op_del("zz", "")],
        failure: vec![],
    };
    f.store().txn(&t, 2, &|_| true).unwrap();
    let t = TxnRequest {
        compare: vec![],
        success: vec![op_del("a", "\0"), op_put("b", "1")],
        failure: vec![],
    };
    f.store().txn(&t, 3, &|_| true).unwrap();
    f.index = 3;
    f.put("c", "3");
    assert_eq!(f.store().hash_kv(0).unwrap(), (465_655_413, 1));
}

#[test]
fn hash_kv_is_independent_of_commit_timing_and_compaction_of_older_history() {
    let mut a = sample();
    let b = sample();
    a.store().backend().commit().unwrap();
    assert_eq!(
        a.store().hash_kv(8).unwrap().0,
        b.store().hash_kv(8).unwrap().0
    );
    let h6 = a.store().hash_kv(6).unwrap().0;
    assert_ne!(h6, a.store().hash_kv(8).unwrap().0);
    a.reopen(true);
    assert_eq!(a.store().hash_kv(6).unwrap().0, h6, "same after reopen");
}

#[test]
fn reopen_rebuilds_index_and_revisions_continue() {
    let mut f = sample();
    let i = f.next_index();
    f.store().compact(4, i).unwrap();
    let before = (
        f.get("\0", "\0"),
        f.get_at("\0", "\0", 4),
        f.get_at("\0", "\0", 6),
    );
    let index = f.store().consistent_index();
    f.reopen(true);
    assert_eq!(f.store().current_revision(), 8);
    assert_eq!(f.store().compact_revision(), 4);
    assert_eq!(f.store().consistent_index(), index);
    assert_eq!(
        (
            f.get("\0", "\0"),
            f.get_at("\0", "\0", 4),
            f.get_at("\0", "\0", 6)
        ),
        before
    );
    assert_eq!(f.put("c", "2"), 9, "revisions continue");
    let kv = &f.get("c", "").kvs[0];
    assert_eq!((kv.create_revision, kv.version), (6, 2));
}

#[test]
fn reopen_without_commit_loses_only_uncommitted_applies() {
    let mut f = Fixture::new();
    f.put("a", "1");
    f.store().backend().commit().unwrap();
    f.put("b", "1");
    f.reopen(false);
    assert_eq!(f.store().current_revision(), 2);
    assert_eq!(
        f.store().consistent_index(),
        1,
        "replay starts after the last durable index"
    );
    assert_eq!(keys(&f.get("\0", "\0")), ["a"]);
}

#[test]
fn reopen_after_compaction_removed_the_newest_revisions() {
    // Everything up to the compaction point is a deleted key: the current
    // revision must not fall back below the compaction point.
    let mut f = Fixture::new();
    f.put("a", "1");
    f.del("a", "");
    let i = f.next_index();
    f.store().compact(3, i).unwrap();
    assert!(stored(&f).is_empty());
    f.reopen(true);
    assert_eq!(f.store().current_revision(), 3);
    assert_eq!(f.put("a", "2"), 4);
}

#[test]
fn interrupted_compaction_is_finished_on_open() {
    let mut f = sample();
    // Simulate a crash after scheduling: only the scheduled mark is durable.
    f.store()
        .backend()
        .put(Table::Meta, SCHEDULED_COMPACT_KEY, &7i64.to_le_bytes());
    f.reopen(true);
    assert_eq!(f.store().compact_revision(), 7);
    assert_eq!(stored(&f), vec![(6, 0, false), (8, 0, false)]);
}

#[test]
fn events_and_leased_keys_from_the_backend() {
    let mut f = sample();
    let ev = f.store().events(5, 6).unwrap();
    assert_eq!(ev.len(), 2);
    assert_eq!(
        ev[0].r#type,
        etcd_proto::mvccpb::event::EventType::Delete as i32
    );
    assert_eq!(ev[0].kv.as_ref().unwrap().mod_revision, 5);
    assert_eq!(ev[1].kv.as_ref().unwrap().key, b"c");
    let i = f.next_index();
    f.store()
        .put(
            &etcd_proto::etcdserverpb::PutRequest {
                lease: 5,
                ..put_req("l", "")
            },
            i,
            &|_| true,
        )
        .unwrap();
    assert_eq!(f.store().leased_keys().unwrap(), vec![(5, b"l".to_vec())]);
    let i = f.next_index();
    f.store().compact(5, i).unwrap();
    assert!(matches!(f.store().events(4, 9), Err(MvccError::Compacted)));
}
