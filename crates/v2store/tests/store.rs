//! The v2 store against etcd 3.4's documented behaviour (`v2/api.md`,
//! `v2/errorcode.md`): indexes, errors with cause and index, TTL expiry by
//! an explicit time, watches from history and live.

use etcd_v2store::error::*;
use etcd_v2store::render::event_json;
use etcd_v2store::{Action, Store, TtlOptions};

const T0: i64 = 1_700_000_000_000_000_000;
const SEC: i64 = 1_000_000_000;

fn none() -> TtlOptions {
    TtlOptions::default()
}

#[test]
fn set_get_and_indexes() {
    let mut s = Store::new();
    let e = s.set("/1/foo", false, "bar", none()).unwrap();
    assert_eq!(
        (
            e.action,
            e.node.modified_index,
            e.etcd_index,
            e.is_created()
        ),
        (Action::Set, 1, 1, true)
    );
    let e = s.set("/1/foo", false, "baz", none()).unwrap();
    assert!(!e.is_created());
    assert_eq!(e.prev_node.as_ref().unwrap().value.as_deref(), Some("bar"));
    assert_eq!(
        event_json(&e, T0, "/1", false),
        "{\"action\":\"set\",\"node\":{\"key\":\"/foo\",\"value\":\"baz\",\"modifiedIndex\":2,\"createdIndex\":2},\"prevNode\":{\"key\":\"/foo\",\"value\":\"bar\",\"modifiedIndex\":1,\"createdIndex\":1}}\n"
    );
    let g = s.get("/1/foo", false, false).unwrap();
    assert_eq!((g.action, g.etcd_index), (Action::Get, 2));
    let err = s.get("/1/nope", false, false).unwrap_err();
    assert_eq!(
        (err.code, err.cause.as_str(), err.index),
        (KEY_NOT_FOUND, "/1/nope", 2)
    );
    let err = s.get("/1/foo/bar", false, false).unwrap_err();
    assert_eq!((err.code, err.cause.as_str()), (NOT_DIR, "/1/foo"));
}

#[test]
fn create_update_and_compare() {
    let mut s = Store::new();
    s.create("/1/k", false, "v", false, none()).unwrap();
    let err = s.create("/1/k", false, "v", false, none()).unwrap_err();
    assert_eq!((err.code, err.status(), err.index), (NODE_EXIST, 412, 1));
    assert_eq!(
        s.update("/1/missing", "x", none()).unwrap_err().code,
        KEY_NOT_FOUND
    );
    let e = s.update("/1/k", "w", none()).unwrap();
    assert_eq!(
        (e.action, e.node.modified_index, e.node.created_index),
        (Action::Update, 2, 1)
    );
    let err = s
        .compare_and_swap("/1/k", "bar", 0, "changed", none())
        .unwrap_err();
    assert_eq!((err.code, err.cause.as_str()), (TEST_FAILED, "[bar != w]"));
    let err = s
        .compare_and_swap("/1/k", "", 7, "changed", none())
        .unwrap_err();
    assert_eq!(err.cause, "[7 != 2]");
    let err = s
        .compare_and_swap("/1/k", "x", 7, "changed", none())
        .unwrap_err();
    assert_eq!(err.cause, "[x != w] [7 != 2]");
    let e = s
        .compare_and_swap("/1/k", "w", 2, "changed", none())
        .unwrap();
    assert_eq!(
        (e.action, e.node.modified_index),
        (Action::CompareAndSwap, 3)
    );
    assert_eq!(
        s.compare_and_delete("/1/k", "nope", 0).unwrap_err().code,
        TEST_FAILED
    );
    let e = s.compare_and_delete("/1/k", "changed", 0).unwrap();
    assert_eq!(
        (e.action, e.node.modified_index, s.index()),
        (Action::CompareAndDelete, 4, 4)
    );
}

#[test]
fn directories_in_order_keys_and_hidden_nodes() {
    let mut s = Store::new();
    let e = s.create("/1/queue", false, "job1", true, none()).unwrap();
    assert_eq!(e.node.key, "/1/queue/00000000000000000001");
    s.create("/1/queue", false, "job2", true, none()).unwrap();
    s.set("/1/queue/_hidden", false, "h", none()).unwrap();
    let g = s.get("/1/queue", false, true).unwrap();
    let keys: Vec<_> = g.node.nodes.iter().map(|n| n.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "/1/queue/00000000000000000001",
            "/1/queue/00000000000000000002"
        ]
    );
    // A value on a directory, and a key used as a directory.
    assert_eq!(
        s.set("/1/queue", false, "v", none()).unwrap_err().code,
        NOT_FILE
    );
    assert_eq!(
        s.update("/1/queue", "v", none()).unwrap_err().code,
        NOT_FILE
    );
    assert_eq!(
        s.set("/1/queue/00000000000000000001/x", false, "v", none())
            .unwrap_err()
            .code,
        NOT_DIR
    );
    // Deleting a non-empty directory needs recursive; nothing changes otherwise.
    let before = s.index();
    assert_eq!(
        s.delete("/1/queue", false, false).unwrap_err().code,
        NOT_FILE
    );
    let err = s.delete("/1/queue", true, false).unwrap_err();
    assert_eq!(
        (err.code, err.status(), err.cause.as_str()),
        (DIR_NOT_EMPTY, 403, "/1/queue")
    );
    assert_eq!(s.index(), before);
    let e = s.delete("/1/queue", true, true).unwrap();
    assert!(e.node.dir && e.prev_node.unwrap().dir);
    assert_eq!(s.delete("/1", true, true).unwrap_err().code, ROOT_READ_ONLY);
}

#[test]
fn ttl_expiry_is_driven_by_the_given_time() {
    let mut s = Store::new();
    let e = s
        .set(
            "/1/t",
            false,
            "v",
            TtlOptions {
                expire_ns: Some(T0 + 5 * SEC),
                refresh: false,
            },
        )
        .unwrap();
    assert!(event_json(&e, T0, "/1", false).contains("\"ttl\":5,"));
    s.set("/1/d/x", false, "v", none()).unwrap();
    s.update(
        "/1/d",
        "",
        TtlOptions {
            expire_ns: Some(T0 + 10 * SEC),
            refresh: false,
        },
    )
    .unwrap();
    assert!(s.has_ttl_keys());
    // Refresh extends without a watch event and keeps the value.
    let mut w = s.watch("/1/t", false, false, 0).unwrap();
    let r = s
        .set(
            "/1/t",
            false,
            "",
            TtlOptions {
                expire_ns: Some(T0 + 7 * SEC),
                refresh: true,
            },
        )
        .unwrap();
    assert_eq!(r.node.value.as_deref(), Some("v"));
    assert!(w.try_next().is_none());
    assert!(s.delete_expired(T0 + 6 * SEC).is_empty());
    let ev = s.delete_expired(T0 + 7 * SEC);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].action, Action::Expire);
    assert_eq!(w.try_next().unwrap().action, Action::Expire);
    // A directory's expiry removes its subtree and wakes watchers below it.
    let mut wx = s.watch("/1/d/x", false, false, 0).unwrap();
    let ev = s.delete_expired(T0 + 10 * SEC);
    assert_eq!(ev.len(), 1);
    assert!(ev[0].node.dir);
    assert_eq!(wx.try_next().unwrap().action, Action::Expire);
    assert!(s.get("/1/d/x", false, false).is_err());
    assert!(!s.has_ttl_keys());
    // Clearing a TTL with an update.
    s.set(
        "/1/c",
        false,
        "v",
        TtlOptions {
            expire_ns: Some(T0 + SEC),
            refresh: false,
        },
    )
    .unwrap();
    s.update("/1/c", "v", none()).unwrap();
    assert!(!s.has_ttl_keys());
}

#[test]
fn watch_from_history_live_and_cleared() {
    let mut s = Store::new();
    s.set("/1/foo", false, "1", none()).unwrap();
    s.set("/1/other", false, "1", none()).unwrap();
    let mut w = s.watch("/1/foo", false, false, 1).unwrap();
    let ev = w.try_next().unwrap();
    assert_eq!((ev.node.modified_index, ev.etcd_index), (1, 2));
    let mut live = s.watch("/1", true, false, 0).unwrap();
    let mut exact = s.watch("/1/foo", false, false, 0).unwrap();
    assert_eq!(live.start_index(), 2);
    s.set("/1/dir/_hidden", false, "x", none()).unwrap();
    assert!(
        live.try_next().is_none(),
        "hidden nodes don't wake recursive watchers above them"
    );
    s.set("/1/foo", false, "2", none()).unwrap();
    assert_eq!(live.try_next().unwrap().node.modified_index, 4);
    assert_eq!(exact.try_next().unwrap().node.modified_index, 4);
    for i in 0..1100 {
        s.set("/1/many", false, &i.to_string(), none()).unwrap();
    }
    let err = s.watch("/1/foo", false, false, 2).err().unwrap();
    assert_eq!(
        (err.code, err.status(), err.index),
        (EVENT_INDEX_CLEARED, 400, s.index())
    );
    assert_eq!(
        err.cause,
        format!(
            "the requested history has been cleared [{}/2]",
            s.index() - 999
        )
    );
}

#[test]
fn snapshot_round_trip() {
    let mut s = Store::new();
    s.set(
        "/1/a/b",
        false,
        "v",
        TtlOptions {
            expire_ns: Some(T0),
            refresh: false,
        },
    )
    .unwrap();
    s.create("/1/q", false, "j", true, none()).unwrap();
    let saved = s.save();
    let mut r = Store::new();
    r.recover(&saved).unwrap();
    assert_eq!(r.index(), s.index());
    assert_eq!(
        r.get("/1", true, true).unwrap(),
        s.get("/1", true, true).unwrap()
    );
    assert_eq!(
        r.watch("/1/a/b", false, false, 1)
            .unwrap()
            .try_next()
            .unwrap()
            .node
            .key,
        "/1/a/b"
    );
}

/// The TTL index: refreshes, deletes and recoveries leave no live-looking
/// entries behind, and expiry after a recovery still happens in order.
#[test]
fn ttl_index_follows_refreshes_deletes_and_recovery() {
    let mut s = Store::new();
    let ttl = |secs: i64| TtlOptions {
        expire_ns: Some(T0 + secs * SEC),
        refresh: false,
    };
    for secs in 1..=100 {
        s.set("/1/r", false, "v", ttl(secs)).unwrap();
    }
    s.set("/1/gone", false, "v", ttl(3)).unwrap();
    s.delete("/1/gone", false, false).unwrap();
    s.set("/1/later", false, "v", ttl(200)).unwrap();
    // Only the newest expiry of /1/r counts: nothing is due at 99 s.
    assert!(s.delete_expired(T0 + 99 * SEC).is_empty());
    let saved = s.save();
    let mut r = Store::new();
    r.recover(&saved).unwrap();
    for store in [&mut s, &mut r] {
        assert!(store.has_ttl_keys());
        let ev = store.delete_expired(T0 + 150 * SEC);
        assert_eq!(ev.iter().map(|e| e.node.key.as_str()).collect::<Vec<_>>(), ["/1/r"]);
        assert!(store.has_ttl_keys());
        store.delete("/1/later", false, false).unwrap();
        assert!(!store.has_ttl_keys());
    }
}
