//! Range semantics, checked against etcd 3.4's applyRange behaviour.

mod common;

use common::*;
use etcd_mvcc::MvccError;
use etcd_proto::etcdserverpb::range_request::{SortOrder, SortTarget};
use etcd_proto::etcdserverpb::RangeRequest;

/// a=1 (rev 2), b=2 (3), c=3 (4), a=11 (5), d=4 (6), ab=5 (7)
fn sample() -> Fixture {
    let mut f = Fixture::new();
    for (k, v) in [
        ("a", "1"),
        ("b", "2"),
        ("c", "3"),
        ("a", "11"),
        ("d", "4"),
        ("ab", "5"),
    ] {
        f.put(k, v);
    }
    assert_eq!(f.store().current_revision(), 7);
    f
}

#[test]
fn empty_store_starts_at_revision_one() {
    let f = Fixture::new();
    assert_eq!(f.store().current_revision(), 1);
    assert_eq!(f.store().compact_revision(), -1);
    let r = f.get("a", "\0");
    assert_eq!((r.count, r.kvs.len(), r.more), (0, 0, false));
    assert_eq!(r.header.unwrap().revision, 1);
}

#[test]
fn single_from_key_and_prefix() {
    let f = sample();
    let r = f.get("a", "");
    assert_eq!(keys(&r), ["a"]);
    let kv = &r.kvs[0];
    assert_eq!(
        (
            kv.create_revision,
            kv.mod_revision,
            kv.version,
            kv.value.as_slice()
        ),
        (2, 5, 2, &b"11"[..])
    );
    assert_eq!(keys(&f.get("b", "\0")), ["b", "c", "d"]);
    assert_eq!(keys(&f.get("\0", "\0")), ["a", "ab", "b", "c", "d"]);
    assert_eq!(keys(&f.get("a", "b")), ["a", "ab"], "prefix a");
    assert_eq!(
        keys(&f.get("c", "a")),
        Vec::<String>::new(),
        "inverted range"
    );
    assert_eq!(f.get("zz", "").count, 0);
}

#[test]
fn limit_more_and_count() {
    let f = sample();
    let req = RangeRequest {
        limit: 2,
        ..range_req("a", "\0")
    };
    let r = f.store().range(&req).unwrap();
    assert_eq!(keys(&r), ["a", "ab"]);
    assert_eq!((r.more, r.count), (true, 5));
    let req = RangeRequest {
        limit: 5,
        ..range_req("a", "\0")
    };
    let r = f.store().range(&req).unwrap();
    assert_eq!((r.kvs.len(), r.more, r.count), (5, false, 5));
    let req = RangeRequest {
        count_only: true,
        limit: 1,
        ..range_req("a", "\0")
    };
    let r = f.store().range(&req).unwrap();
    assert_eq!((r.kvs.len(), r.more, r.count), (0, false, 5));
    let req = RangeRequest {
        keys_only: true,
        ..range_req("a", "b")
    };
    let r = f.store().range(&req).unwrap();
    assert!(r.kvs.iter().all(|kv| kv.value.is_empty()));
    assert_eq!(r.kvs[0].mod_revision, 5, "keys_only keeps metadata");
}

#[test]
fn historical_future_and_compacted_revisions() {
    let mut f = sample();
    let r = f.get_at("a", "\0", 3);
    assert_eq!(keys(&r), ["a", "b"]);
    assert_eq!(r.kvs[0].value, b"1");
    assert_eq!(
        r.header.unwrap().revision,
        7,
        "header carries the current revision"
    );
    assert_eq!(keys(&f.get_at("a", "\0", 1)), Vec::<String>::new());
    let err = f
        .store()
        .range(&RangeRequest {
            revision: 8,
            ..range_req("a", "")
        })
        .unwrap_err();
    assert!(matches!(err, MvccError::FutureRev));
    let i = f.next_index();
    f.store().compact(4, i).unwrap();
    let err = f
        .store()
        .range(&RangeRequest {
            revision: 3,
            ..range_req("a", "")
        })
        .unwrap_err();
    assert!(matches!(err, MvccError::Compacted));
    assert_eq!(
        keys(&f.get_at("a", "\0", 4)),
        ["a", "b", "c"],
        "the compaction revision itself is readable"
    );
}

fn sorted(f: &Fixture, order: SortOrder, target: SortTarget, limit: i64) -> (Vec<String>, bool) {
    let req = RangeRequest {
        sort_order: order as i32,
        sort_target: target as i32,
        limit,
        ..range_req("a", "\0")
    };
    let r = f.store().range(&req).unwrap();
    (keys(&r), r.more)
}

#[test]
fn sorting() {
    let f = sample();
    use SortOrder::*;
    use SortTarget::*;
    assert_eq!(sorted(&f, Descend, Key, 0).0, ["d", "c", "b", "ab", "a"]);
    assert_eq!(sorted(&f, Ascend, Key, 0).0, ["a", "ab", "b", "c", "d"]);
    // NONE with a non-key target sorts ascending.
    assert_eq!(sorted(&f, None, Mod, 0).0, ["b", "c", "a", "d", "ab"]);
    assert_eq!(sorted(&f, Descend, Mod, 0).0, ["ab", "d", "a", "c", "b"]);
    assert_eq!(
        sorted(&f, Descend, Create, 2),
        (vec!["ab".to_string(), "d".to_string()], true)
    );
    assert_eq!(
        sorted(&f, Ascend, Value, 0).0,
        ["a", "b", "c", "d", "ab"],
        "11 < 2 < 3 < 4 < 5"
    );
    assert_eq!(sorted(&f, Descend, Version, 1).0, ["a"]);
}

#[test]
fn revision_filters_apply_before_limit() {
    let f = sample();
    let req = RangeRequest {
        min_mod_revision: 4,
        limit: 2,
        ..range_req("a", "\0")
    };
    let r = f.store().range(&req).unwrap();
    assert_eq!(keys(&r), ["a", "ab"]);
    assert_eq!((r.more, r.count), (true, 5), "count is before filtering");
    let req = RangeRequest {
        max_mod_revision: 4,
        ..range_req("a", "\0")
    };
    assert_eq!(keys(&f.store().range(&req).unwrap()), ["b", "c"]);
    let req = RangeRequest {
        min_create_revision: 3,
        max_create_revision: 6,
        ..range_req("a", "\0")
    };
    assert_eq!(keys(&f.store().range(&req).unwrap()), ["b", "c", "d"]);
}
