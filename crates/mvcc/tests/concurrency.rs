//! Reads run concurrently with the single writer and never observe half of a
//! transaction.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use etcd_proto::etcdserverpb::TxnRequest;

#[test]
fn readers_see_whole_transactions_only() {
    let f = Fixture::new();
    let store = Arc::new(f);
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (store, done) = (store.clone(), done.clone());
            std::thread::spawn(move || {
                let mut last_rev = 1;
                while !done.load(Ordering::SeqCst) {
                    let r = store.get("\0", "\0");
                    let rev = r.header.unwrap().revision;
                    assert!(
                        rev >= last_rev,
                        "revision went back from {last_rev} to {rev}"
                    );
                    last_rev = rev;
                    // Every txn writes x and y with the same value.
                    let vals: Vec<_> = r.kvs.iter().map(|kv| kv.value.clone()).collect();
                    assert!(
                        vals.windows(2).all(|w| w[0] == w[1]),
                        "torn txn at {rev}: {vals:?}"
                    );
                    assert!(
                        r.kvs.iter().all(|kv| kv.mod_revision == rev),
                        "stale read at {rev}"
                    );
                }
            })
        })
        .collect();
    for i in 0..500u64 {
        let v = i.to_string();
        let t = TxnRequest {
            compare: vec![],
            success: vec![op_put("x", &v), op_put("y", &v)],
            failure: vec![],
        };
        store.store().txn(&t, i + 1, &|_| true).unwrap();
        if i % 50 == 0 {
            store.store().backend().commit().unwrap();
        }
    }
    done.store(true, Ordering::SeqCst);
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(store.store().current_revision(), 501);
}
