//! Put and DeleteRange: revisions, versions, flags, events.

mod common;

use common::*;
use etcd_mvcc::MvccError;
use etcd_proto::etcdserverpb::PutRequest;
use etcd_proto::mvccpb::event::EventType;

#[test]
fn put_assigns_revisions_versions_and_events() {
    let mut f = Fixture::new();
    let (r, ev) = f.store().put(&put_req("k", "v1"), 1, &|_| true).unwrap();
    assert_eq!(r.header.unwrap().revision, 2);
    assert_eq!(r.prev_kv, None);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].r#type, EventType::Put as i32);
    let kv = ev[0].kv.as_ref().unwrap();
    assert_eq!(
        (
            kv.create_revision,
            kv.mod_revision,
            kv.version,
            kv.value.as_slice()
        ),
        (2, 2, 1, &b"v1"[..])
    );
    assert_eq!(ev[0].prev_kv, None);

    let req = PutRequest {
        prev_kv: true,
        lease: 7,
        ..put_req("k", "v2")
    };
    let (r, ev) = f.store().put(&req, 2, &|id| id == 7).unwrap();
    assert_eq!(r.prev_kv.as_ref().unwrap().value, b"v1");
    let kv = ev[0].kv.as_ref().unwrap();
    assert_eq!(
        (kv.create_revision, kv.mod_revision, kv.version, kv.lease),
        (2, 3, 2, 7)
    );
    assert_eq!(ev[0].prev_kv.as_ref().unwrap().mod_revision, 2);
    assert_eq!(f.store().consistent_index(), 2);
    f.index = 2;
    assert_eq!(f.put("other", "x"), 4);
}

#[test]
fn ignore_value_and_ignore_lease() {
    let f = Fixture::new();
    let req = PutRequest {
        ignore_value: true,
        ..put_req("k", "")
    };
    assert!(matches!(
        f.store().put(&req, 1, &|_| true),
        Err(MvccError::KeyNotFound)
    ));
    assert_eq!(
        f.store().current_revision(),
        1,
        "a failed put changes nothing"
    );
    assert_eq!(f.store().consistent_index(), 1, "but its index is applied");

    f.store()
        .put(
            &PutRequest {
                lease: 9,
                ..put_req("k", "keep")
            },
            2,
            &|_| true,
        )
        .unwrap();
    let (_, ev) = f.store().put(&req, 3, &|_| true).unwrap();
    let kv = ev[0].kv.as_ref().unwrap();
    assert_eq!(
        (kv.value.as_slice(), kv.lease, kv.version),
        (&b"keep"[..], 0, 2),
        "value kept, lease not"
    );

    let req = PutRequest {
        ignore_lease: true,
        ..put_req("k", "new")
    };
    f.store()
        .put(
            &PutRequest {
                lease: 9,
                ..put_req("k", "keep")
            },
            4,
            &|_| true,
        )
        .unwrap();
    let (_, ev) = f.store().put(&req, 5, &|_| true).unwrap();
    let kv = ev[0].kv.as_ref().unwrap();
    assert_eq!((kv.value.as_slice(), kv.lease), (&b"new"[..], 9));
}

#[test]
fn unknown_lease_fails_before_missing_key() {
    let f = Fixture::new();
    let req = PutRequest {
        lease: 5,
        ..put_req("k", "v")
    };
    assert!(matches!(
        f.store().put(&req, 1, &|_| false),
        Err(MvccError::LeaseNotFound)
    ));
    let req = PutRequest {
        lease: 5,
        ignore_value: true,
        ..put_req("k", "")
    };
    assert!(matches!(
        f.store().put(&req, 2, &|_| false),
        Err(MvccError::LeaseNotFound)
    ));
    assert_eq!(f.store().current_revision(), 1);
}

#[test]
fn delete_range_and_recreate() {
    let mut f = Fixture::new();
    for k in ["a", "b", "c"] {
        f.put(k, "v");
    }
    let req = etcd_proto::etcdserverpb::DeleteRangeRequest {
        prev_kv: true,
        ..del_req("a", "c")
    };
    let (r, ev) = f.store().delete_range(&req, 10).unwrap();
    assert_eq!(r.deleted, 2);
    assert_eq!(r.header.unwrap().revision, 5);
    assert_eq!(
        r.prev_kvs
            .iter()
            .map(|kv| kv.key.clone())
            .collect::<Vec<_>>(),
        vec![b"a".to_vec(), b"b".to_vec()]
    );
    assert_eq!(ev.len(), 2);
    for e in &ev {
        assert_eq!(e.r#type, EventType::Delete as i32);
        let kv = e.kv.as_ref().unwrap();
        assert_eq!((kv.mod_revision, kv.version, kv.value.len()), (5, 0, 0));
        assert!(e.prev_kv.is_some());
    }
    // Deleting nothing takes no revision.
    let (r, ev) = f.store().delete_range(&del_req("a", ""), 11).unwrap();
    assert_eq!((r.deleted, r.header.unwrap().revision, ev.len()), (0, 5, 0));
    assert_eq!(f.store().current_revision(), 5);
    f.index = 11;
    // A recreated key starts a new generation.
    assert_eq!(f.put("a", "again"), 6);
    let kv = &f.get("a", "").kvs[0];
    assert_eq!((kv.create_revision, kv.version), (6, 1));
    assert_eq!(f.get_at("a", "", 4).kvs[0].version, 1);
    assert_eq!(f.get_at("a", "", 5).count, 0);
    assert_eq!(f.del("\0", "\0"), 2, "from-key delete of everything");
}
