//! Txn: compares (every target, range compares), branches, nested txns,
//! revisions, read-your-writes, and up-front checks.

mod common;

use common::*;
use etcd_mvcc::MvccError;
use etcd_proto::etcdserverpb::compare::{CompareResult as R, CompareTarget as T, TargetUnion as U};
use etcd_proto::etcdserverpb::request_op::Request;
use etcd_proto::etcdserverpb::response_op::Response;
use etcd_proto::etcdserverpb::{
    Compare, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest, TxnResponse,
};

fn run(f: &mut Fixture, t: &TxnRequest) -> Result<(TxnResponse, usize), MvccError> {
    let i = f.next_index();
    f.store()
        .txn(t, i, &|id| id == 42)
        .map(|(r, ev)| (r, ev.len()))
}

fn succeeded(f: &mut Fixture, compare: Vec<Compare>) -> bool {
    let t = TxnRequest {
        compare,
        success: vec![],
        failure: vec![],
    };
    run(f, &t).unwrap().0.succeeded
}

/// k: create 2, mod 3, version 2, value "v2", lease 42; k2: rev 4.
fn sample() -> Fixture {
    let mut f = Fixture::new();
    f.put("k", "v1");
    let i = f.next_index();
    f.store()
        .put(
            &PutRequest {
                lease: 42,
                ..put_req("k", "v2")
            },
            i,
            &|_| true,
        )
        .unwrap();
    f.put("k2", "x");
    f
}

#[test]
fn compare_targets() {
    let mut f = sample();
    let cases = [
        (cmp("k", "", T::Version, R::Equal, U::Version(2)), true),
        (cmp("k", "", T::Version, R::Greater, U::Version(2)), false),
        (
            cmp("k", "", T::Create, R::Equal, U::CreateRevision(2)),
            true,
        ),
        (cmp("k", "", T::Mod, R::Less, U::ModRevision(4)), true),
        (cmp("k", "", T::Mod, R::NotEqual, U::ModRevision(3)), false),
        (
            cmp("k", "", T::Value, R::Equal, U::Value(b"v2".to_vec())),
            true,
        ),
        (
            cmp("k", "", T::Value, R::Greater, U::Value(b"v1".to_vec())),
            true,
        ),
        (cmp("k", "", T::Lease, R::Equal, U::Lease(42)), true),
        // Missing keys compare as zero, except by value.
        (cmp("nope", "", T::Version, R::Equal, U::Version(0)), true),
        (
            cmp("nope", "", T::Create, R::Equal, U::CreateRevision(0)),
            true,
        ),
        (cmp("nope", "", T::Value, R::Equal, U::Value(vec![])), false),
        (
            cmp("nope", "", T::Value, R::NotEqual, U::Value(b"x".to_vec())),
            false,
        ),
        // Range compares: every key must satisfy it.
        (cmp("k", "l", T::Mod, R::Greater, U::ModRevision(2)), true),
        (cmp("k", "l", T::Mod, R::Greater, U::ModRevision(3)), false),
        (cmp("k", "\0", T::Version, R::Less, U::Version(3)), true),
        (cmp("x", "z", T::Value, R::Equal, U::Value(vec![])), false),
    ];
    for (c, want) in cases {
        assert_eq!(succeeded(&mut f, vec![c.clone()]), want, "{c:?}");
    }
    assert!(
        !succeeded(
            &mut f,
            vec![
                cmp("k", "", T::Version, R::Equal, U::Version(2)),
                cmp("k", "", T::Version, R::Equal, U::Version(3)),
            ]
        ),
        "all compares must hold"
    );
    assert_eq!(
        f.store().current_revision(),
        4,
        "compare-only txns take no revision"
    );
}

#[test]
fn branches_revisions_and_read_your_writes() {
    let mut f = sample();
    let t = TxnRequest {
        compare: vec![cmp("k2", "", T::Version, R::Greater, U::Version(0))],
        success: vec![
            op_put("a", "1"),
            op_get("a", ""),
            op_del("k2", ""),
            op_get("\0", "\0"),
        ],
        failure: vec![op_put("b", "1")],
    };
    let (r, events) = run(&mut f, &t).unwrap();
    assert!(r.succeeded);
    assert_eq!(events, 2);
    assert_eq!(
        r.header.as_ref().unwrap().revision,
        5,
        "one revision for the whole txn"
    );
    let got = as_range(&r.responses[1]);
    assert_eq!(keys(got), ["a"]);
    assert_eq!(got.header.as_ref().unwrap().revision, 5);
    assert_eq!(
        keys(as_range(&r.responses[3])),
        ["a", "k"],
        "sees the delete too"
    );
    let Some(Response::ResponsePut(p)) = &r.responses[0].response else {
        panic!()
    };
    assert_eq!(p.header.as_ref().unwrap().revision, 5);
    let kvs = f.get("a", "\0").kvs;
    assert_eq!((kvs[0].mod_revision, kvs[1].mod_revision), (5, 3));
    assert_eq!(f.get_at("k2", "", 4).count, 1);
    assert_eq!(f.get_at("k2", "", 5).count, 0);

    // The failure branch.
    let (r, _) = run(&mut f, &t).unwrap();
    assert!(!r.succeeded);
    assert_eq!(r.responses.len(), 1);
    assert_eq!(r.header.unwrap().revision, 6);
    assert_eq!(f.get("b", "").count, 1);

    // A txn of reads only takes no revision.
    let t = TxnRequest {
        compare: vec![],
        success: vec![op_get("a", "")],
        failure: vec![],
    };
    let (r, events) = run(&mut f, &t).unwrap();
    assert_eq!((r.header.unwrap().revision, events), (6, 0));
    assert_eq!(f.store().current_revision(), 6);
}

#[test]
fn nested_txns_see_the_pre_txn_state_for_compares() {
    let mut f = sample();
    // The outer txn deletes k; the nested compare still sees k (pre-txn).
    let inner = TxnRequest {
        compare: vec![cmp("k", "", T::Version, R::Equal, U::Version(2))],
        success: vec![op_put("inner-then", "1"), op_get("k", "")],
        failure: vec![op_put("inner-else", "1")],
    };
    let t = TxnRequest {
        compare: vec![],
        success: vec![op_del("k", ""), op_txn(inner), op_put("after", "1")],
        failure: vec![],
    };
    let (r, events) = run(&mut f, &t).unwrap();
    assert_eq!(events, 3);
    let Some(Response::ResponseTxn(nested)) = &r.responses[1].response else {
        panic!()
    };
    assert!(nested.succeeded);
    assert_eq!(
        nested.header.as_ref().unwrap().revision,
        0,
        "nested headers stay empty, as in etcd"
    );
    assert_eq!(
        as_range(&nested.responses[1]).count,
        0,
        "reads in the nested txn see the delete"
    );
    assert_eq!(keys(&f.get("\0", "\0")), ["after", "inner-then", "k2"]);
    let all = f.get("\0", "\0");
    assert!(all
        .kvs
        .iter()
        .all(|kv| kv.key == b"k2" || kv.mod_revision == 5));
}

#[test]
fn checks_run_before_any_change() {
    let mut f = sample();
    let bad_put = RequestOp {
        request: Some(Request::RequestPut(PutRequest {
            ignore_value: true,
            ..put_req("missing", "")
        })),
    };
    let t = TxnRequest {
        compare: vec![],
        success: vec![op_put("x", "1"), bad_put],
        failure: vec![],
    };
    assert!(matches!(run(&mut f, &t), Err(MvccError::KeyNotFound)));
    let leased = RequestOp {
        request: Some(Request::RequestPut(PutRequest {
            lease: 7,
            ..put_req("y", "")
        })),
    };
    let t = TxnRequest {
        compare: vec![],
        success: vec![op_put("x", "1"), leased],
        failure: vec![],
    };
    assert!(matches!(run(&mut f, &t), Err(MvccError::LeaseNotFound)));
    let future = RequestOp {
        request: Some(Request::RequestRange(RangeRequest {
            revision: 5,
            ..range_req("k", "")
        })),
    };
    let t = TxnRequest {
        compare: vec![],
        success: vec![op_put("x", "1"), future],
        failure: vec![],
    };
    assert!(matches!(run(&mut f, &t), Err(MvccError::FutureRev)));
    assert_eq!(f.store().current_revision(), 4);
    assert_eq!(f.get("x", "").count, 0);
    // The failure branch's checks do not apply when success is taken.
    let bad_put = RequestOp {
        request: Some(Request::RequestPut(PutRequest {
            ignore_value: true,
            ..put_req("missing", "")
        })),
    };
    let t = TxnRequest {
        compare: vec![],
        success: vec![op_put("x", "1")],
        failure: vec![bad_put],
    };
    assert!(run(&mut f, &t).unwrap().0.succeeded);
}

/// A put keeping the old value of a key deleted earlier in the same txn
/// fails the whole txn before anything changes (etcd 3.4 panics there;
/// found by the differential test, DIFF_SEED=7223775411707519991).
#[test]
fn keep_old_value_put_after_delete_in_the_same_txn_changes_nothing() {
    let mut f = sample();
    let keep = |key: &str| RequestOp {
        request: Some(Request::RequestPut(PutRequest {
            ignore_value: true,
            ..put_req(key, "")
        })),
    };
    let del = |key: &str, end: &str| RequestOp {
        request: Some(Request::RequestDeleteRange(DeleteRangeRequest {
            key: key.into(),
            range_end: end.into(),
            ..Default::default()
        })),
    };
    let before = f.store().current_revision();
    for success in [
        vec![del("k", ""), keep("k")],
        vec![del("a", "l"), keep("k")],
        vec![del("k", "\0"), keep("k2")],
    ] {
        let t = TxnRequest {
            compare: vec![],
            success,
            failure: vec![],
        };
        assert!(matches!(run(&mut f, &t), Err(MvccError::KeyNotFound)));
        assert_eq!(f.store().current_revision(), before);
        assert_eq!(f.get("k", "").count, 1, "the delete was not applied");
    }
    // Put again after the delete: the key exists when the keeping put runs.
    let t = TxnRequest {
        compare: vec![],
        success: vec![del("k", ""), op_put("k", "v3"), keep("k")],
        failure: vec![],
    };
    assert!(run(&mut f, &t).unwrap().0.succeeded);
    assert_eq!(f.get("k", "").kvs[0].value, b"v3");
}

#[test]
fn range_with_old_revision_inside_txn() {
    let mut f = sample();
    let old = RequestOp {
        request: Some(Request::RequestRange(RangeRequest {
            revision: 2,
            ..range_req("k", "")
        })),
    };
    let t = TxnRequest {
        compare: vec![],
        success: vec![op_put("k", "v3"), old],
        failure: vec![],
    };
    let (r, _) = run(&mut f, &t).unwrap();
    let got = as_range(&r.responses[1]);
    assert_eq!(got.kvs[0].value, b"v1");
    assert_eq!(got.header.as_ref().unwrap().revision, 5);
}
