//! Hub tests against a real store: ordering, the catch-up boundary, victims,
//! compaction, filters, ids, progress, and 10,000 watchers on one stream.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use etcd_backend::{Backend, BackendConfig};
use etcd_proto::etcdserverpb::{
    request_op, DeleteRangeRequest, PutRequest, RequestOp, TxnRequest, WatchCreateRequest,
    WatchResponse,
};
use etcd_proto::mvccpb::{event::EventType, Event, KeyValue};
use parking_lot::Mutex;

use super::*;
use crate::error::MvccError;
use crate::store::KvStore;

struct Fx {
    _dir: tempfile::TempDir,
    store: Arc<KvStore>,
    hub: Arc<WatchHub>,
    index: Cell<u64>,
}

impl Fx {
    fn new(cfg: WatchConfig) -> Fx {
        let dir = tempfile::tempdir().unwrap();
        let backend =
            Arc::new(Backend::open(&dir.path().join("db"), BackendConfig::default()).unwrap());
        let store = Arc::new(KvStore::open(backend).unwrap());
        let hub = Arc::new(WatchHub::new(store.current_revision(), cfg));
        Fx {
            _dir: dir,
            store,
            hub,
            index: Cell::new(0),
        }
    }

    fn next_index(&self) -> u64 {
        self.index.set(self.index.get() + 1);
        self.index.get()
    }

    fn put(&self, k: &str, v: &str) -> i64 {
        let req = PutRequest {
            key: k.into(),
            value: v.into(),
            ..Default::default()
        };
        let (_, evs) = self.store.put(&req, self.next_index(), &|_| false).unwrap();
        let rev = evs[0].kv.as_ref().unwrap().mod_revision;
        self.hub.notify(&evs);
        rev
    }

    fn del(&self, k: &str) {
        let req = DeleteRangeRequest {
            key: k.into(),
            ..Default::default()
        };
        let (_, evs) = self.store.delete_range(&req, self.next_index()).unwrap();
        self.hub.notify(&evs);
    }

    fn txn_puts(&self, kvs: &[(&str, &str)]) {
        let success = kvs
            .iter()
            .map(|(k, v)| RequestOp {
                request: Some(request_op::Request::RequestPut(PutRequest {
                    key: (*k).into(),
                    value: (*v).into(),
                    ..Default::default()
                })),
            })
            .collect();
        let req = TxnRequest {
            success,
            ..Default::default()
        };
        let (_, evs) = self.store.txn(&req, self.next_index(), &|_| false).unwrap();
        self.hub.notify(&evs);
    }

    fn stream(&self) -> WatchStream {
        self.hub.open_stream(Arc::new(|| {}))
    }

    /// Catch-up rounds until nothing moves.
    fn sync(&self) {
        for _ in 0..10_000 {
            let r = self.hub.sync_once(&*self.store).unwrap();
            if r.progressed == 0 || r.remaining == 0 {
                return;
            }
        }
        panic!("catch-up does not converge");
    }
}

fn watch(key: &str, end: &str, start: i64) -> WatchCreateRequest {
    WatchCreateRequest {
        key: key.into(),
        range_end: end.into(),
        start_revision: start,
        ..Default::default()
    }
}

fn drain(s: &WatchStream) -> Vec<WatchResponse> {
    std::iter::from_fn(|| s.pop().map(|(r, _)| r)).collect()
}

fn rev_of(r: &WatchResponse) -> i64 {
    r.header.as_ref().unwrap().revision
}

/// (mod_revision, key, value) of every event in `rs`, in order.
fn events(rs: &[WatchResponse]) -> Vec<(i64, String, String)> {
    rs.iter()
        .flat_map(|r| &r.events)
        .map(|e| {
            let kv = e.kv.as_ref().unwrap();
            (
                kv.mod_revision,
                String::from_utf8_lossy(&kv.key).into_owned(),
                String::from_utf8_lossy(&kv.value).into_owned(),
            )
        })
        .collect()
}

fn revs(rs: &[WatchResponse]) -> Vec<i64> {
    events(rs).into_iter().map(|e| e.0).collect()
}

#[test]
fn created_first_then_each_revision_once_in_order() {
    let fx = Fx::new(WatchConfig::default());
    let s = fx.stream();
    assert!(s.try_create(&watch("foo", "", 0)));
    fx.put("foo", "a");
    fx.put("bar", "x");
    fx.put("foo", "b");
    let rs = drain(&s);
    assert!(rs[0].created && !rs[0].canceled);
    assert_eq!(
        (rs[0].watch_id, rev_of(&rs[0])),
        (0, 1),
        "auto id 0; header: revision at creation"
    );
    assert_eq!(
        events(&rs[1..]),
        vec![(2, "foo".into(), "a".into()), (4, "foo".into(), "b".into())]
    );
    assert_eq!(
        rs[1..].iter().map(rev_of).collect::<Vec<_>>(),
        vec![2, 4],
        "live header revision: the event's"
    );
}

#[test]
fn one_revision_travels_in_one_response() {
    let fx = Fx::new(WatchConfig::default());
    let s = fx.stream();
    assert!(s.try_create(&watch("k", "l", 0)));
    fx.txn_puts(&[("k1", "a"), ("k2", "b"), ("x", "c")]);
    let rs = drain(&s);
    assert_eq!(rs.len(), 2);
    assert_eq!(
        events(&rs[1..]),
        vec![(2, "k1".into(), "a".into()), (2, "k2".into(), "b".into())]
    );
    // The same from history.
    let s2 = fx.stream();
    assert!(s2.try_create(&watch("k", "l", 1)));
    fx.sync();
    let rs = drain(&s2);
    assert_eq!(rs.len(), 2);
    assert_eq!(rev_of(&rs[1]), 2);
    assert_eq!(rs[1].events.len(), 2);
}

#[test]
fn ranges_prefix_from_key_and_empty_key() {
    let fx = Fx::new(WatchConfig::default());
    let s = fx.stream();
    for (id, key, end) in [(1, "b", "d"), (2, "c", "\0"), (3, "", "\0"), (4, "c", "")] {
        let mut req = watch(key, end, 0);
        req.watch_id = id;
        assert!(s.try_create(&req));
    }
    for k in ["a", "b", "c", "d", "zz"] {
        fx.put(k, "v");
    }
    let rs = drain(&s);
    let seen = |id: i64| -> Vec<String> {
        events(
            &rs.iter()
                .filter(|r| r.watch_id == id)
                .cloned()
                .collect::<Vec<_>>(),
        )
        .into_iter()
        .map(|e| e.1)
        .collect()
    };
    assert_eq!(seen(1), vec!["b", "c"]);
    assert_eq!(seen(2), vec!["c", "d", "zz"]);
    assert_eq!(
        seen(3),
        vec!["a", "b", "c", "d", "zz"],
        "empty key + \\0 end: everything"
    );
    assert_eq!(seen(4), vec!["c"]);
}

#[test]
fn ids_duplicates_empty_range_cancel_and_progress_request() {
    let fx = Fx::new(WatchConfig::default());
    let s = fx.stream();
    let mut req = watch("a", "", 0);
    req.watch_id = 7;
    assert!(s.try_create(&req));
    assert!(s.try_create(&req), "duplicate");
    assert!(s.try_create(&watch("b", "a", 0)), "empty range");
    assert!(s.try_create(&watch("a", "", 0)));
    assert!(s.try_cancel(7));
    assert!(s.try_cancel(99), "unknown id: ignored");
    assert!(s.try_progress());
    let rs = drain(&s);
    assert_eq!(rs.len(), 6);
    assert_eq!(
        (rs[0].watch_id, rs[0].created, rs[0].canceled),
        (7, true, false)
    );
    assert_eq!(
        (rs[1].watch_id, rs[1].created, rs[1].canceled),
        (-1, true, true)
    );
    assert_eq!(rs[1].cancel_reason, ERR_DUPLICATE_WATCH_ID);
    assert_eq!((rs[2].watch_id, rs[2].canceled), (-1, true));
    assert_eq!(rs[2].cancel_reason, ERR_EMPTY_WATCHER_RANGE);
    assert_eq!((rs[3].watch_id, rs[3].created), (0, true));
    assert_eq!(
        (rs[4].watch_id, rs[4].canceled, rs[4].created),
        (7, true, false)
    );
    assert_eq!(
        (rs[5].watch_id, rev_of(&rs[5]), rs[5].events.len()),
        (-1, 1, 0)
    );
    // The canceled watcher gets nothing more; its id is free again.
    fx.put("a", "v");
    let rs = drain(&s);
    assert_eq!(rs.iter().map(|r| r.watch_id).collect::<Vec<_>>(), vec![0]);
    assert!(s.try_create(&req));
    assert_eq!(drain(&s)[0].watch_id, 7);
}

#[test]
fn filters_and_prev_kv_live_and_from_history() {
    let fx = Fx::new(WatchConfig::default());
    let s = fx.stream();
    let mk = |id, filters: Vec<i32>, prev_kv, start| WatchCreateRequest {
        key: "k".into(),
        watch_id: id,
        filters,
        prev_kv,
        start_revision: start,
        ..Default::default()
    };
    assert!(s.try_create(&mk(1, vec![0], false, 0))); // NOPUT
    assert!(s.try_create(&mk(2, vec![1], false, 0))); // NODELETE
    assert!(s.try_create(&mk(3, vec![], true, 0)));
    assert!(s.try_create(&mk(4, vec![], false, 0)));
    fx.put("k", "a"); // 2
    fx.put("k", "b"); // 3
    fx.del("k"); // 4
    let check = |rs: &[WatchResponse]| {
        let of = |id: i64| -> Vec<&Event> {
            rs.iter()
                .filter(|r| r.watch_id == id)
                .flat_map(|r| &r.events)
                .collect()
        };
        let types = |id| of(id).iter().map(|e| e.r#type).collect::<Vec<_>>();
        let (put, del) = (EventType::Put as i32, EventType::Delete as i32);
        assert_eq!(types(1), vec![del]);
        assert_eq!(types(2), vec![put, put]);
        let prev: Vec<Option<Vec<u8>>> = of(3)
            .iter()
            .map(|e| e.prev_kv.as_ref().map(|p| p.value.clone()))
            .collect();
        assert_eq!(prev, vec![None, Some(b"a".to_vec()), Some(b"b".to_vec())]);
        assert!(of(4).iter().all(|e| e.prev_kv.is_none()));
        assert_eq!(of(4).len(), 3);
        let del_kv = of(4)[2].kv.clone().unwrap();
        assert_eq!(
            del_kv,
            KeyValue {
                key: b"k".to_vec(),
                mod_revision: 4,
                ..Default::default()
            }
        );
    };
    check(&drain(&s));
    let h = fx.stream();
    for id in 1..=4 {
        assert!(h.try_create(&mk(
            id,
            if id == 1 {
                vec![0]
            } else if id == 2 {
                vec![1]
            } else {
                vec![]
            },
            id == 3,
            2
        )));
    }
    fx.sync();
    check(&drain(&h));
}

#[test]
fn future_start_revision_skips_earlier_revisions() {
    let fx = Fx::new(WatchConfig::default());
    let s = fx.stream();
    assert!(s.try_create(&watch("k", "", 4)));
    for v in ["a", "b", "c", "d"] {
        fx.put("k", v);
    }
    assert_eq!(revs(&drain(&s)), vec![4, 5]);
}

/// A source that runs `hook` once, in the middle of a catch-up read.
struct Racing {
    store: Arc<KvStore>,
    hook: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl WatchSource for Racing {
    fn compact_revision(&self) -> i64 {
        self.store.compact_revision()
    }
    fn events(&self, start: i64, end: i64) -> Result<Vec<Event>, MvccError> {
        let out = self.store.events(start, end);
        if let Some(h) = self.hook.lock().take() {
            h();
        }
        out
    }
    fn kv_at(&self, key: &[u8], rev: i64) -> Result<Option<KeyValue>, MvccError> {
        self.store.kv_at(key, rev)
    }
}

/// Writes `n` revisions to key `k` through a store and hub that a hook owns.
fn writer(
    store: Arc<KvStore>,
    hub: Weak<WatchHub>,
    first_index: u64,
    n: u64,
) -> Box<dyn FnOnce() + Send> {
    Box::new(move || {
        let hub = hub.upgrade().unwrap();
        for i in 0..n {
            let req = PutRequest {
                key: "k".into(),
                value: format!("w{i}").into(),
                ..Default::default()
            };
            let (_, evs) = store.put(&req, first_index + i, &|_| false).unwrap();
            hub.notify(&evs);
        }
    })
}

fn catch_up_with_writes_during_read(writes: u64) {
    let fx = Fx::new(WatchConfig::default());
    for i in 0..20 {
        fx.put("k", &format!("v{i}")); // revisions 2..=21
    }
    let s = fx.stream();
    assert!(s.try_create(&watch("k", "", 2)));
    let racing = Racing {
        store: fx.store.clone(),
        hook: Mutex::new(Some(writer(
            fx.store.clone(),
            Arc::downgrade(&fx.hub),
            1000,
            writes,
        ))),
    };
    let r = fx.hub.sync_once(&racing).unwrap();
    if writes <= fx.hub.config().final_gap_revs as u64 {
        assert_eq!(r.remaining, 0, "a small gap is closed under the lock");
    } else {
        assert_eq!(r.remaining, 1, "a large gap waits for the next round");
    }
    fx.sync();
    fx.put("k", "last");
    let last = fx.store.current_revision();
    let rs = drain(&s);
    assert_eq!(
        revs(&rs),
        (2..=last).collect::<Vec<_>>(),
        "every revision exactly once, in order"
    );
    assert_eq!(fx.hub.unsynced_count(), 0);
}

#[test]
fn catch_up_boundary_small_gap() {
    catch_up_with_writes_during_read(5);
}

#[test]
fn catch_up_boundary_large_gap() {
    catch_up_with_writes_during_read(200);
}

#[test]
fn catch_up_is_chunked_by_revs_per_sync() {
    let cfg = WatchConfig {
        revs_per_sync: 10,
        final_gap_revs: 0,
        ..Default::default()
    };
    let fx = Fx::new(cfg);
    for i in 0..35 {
        fx.put("k", &format!("{i}"));
    }
    let s = fx.stream();
    assert!(s.try_create(&watch("k", "", 1)));
    fx.sync();
    let rs = drain(&s);
    assert_eq!(rs.len(), 1 + 4);
    assert_eq!(
        rs[1..].iter().map(rev_of).collect::<Vec<_>>(),
        vec![10, 20, 30, 36]
    );
    assert_eq!(revs(&rs), (2..=36).collect::<Vec<_>>());
}

#[test]
fn slow_stream_becomes_victim_queue_stays_bounded_and_catches_up() {
    let cfg = WatchConfig {
        stream_queue_len: 8,
        control_queue_len: 2,
        ..Default::default()
    };
    let fx = Fx::new(cfg);
    let slow = fx.stream();
    let fast = fx.stream();
    assert!(slow.try_create(&watch("k", "", 0)));
    assert!(fast.try_create(&watch("k", "", 0)));
    let mut fast_seen = Vec::new();
    for i in 0..100 {
        fx.put("k", &format!("{i}"));
        assert!(slow.queued() <= 8);
        fast_seen.extend(drain(&fast));
        fx.sync(); // a slow stream's watcher is never picked while its queue is full
        assert!(slow.queued() <= 8);
    }
    assert_eq!(revs(&fast_seen), (2..=101).collect::<Vec<_>>());
    assert_eq!(fx.hub.unsynced_count(), 1, "the slow watcher is a victim");
    assert!(
        !slow.try_progress() || slow.queued() <= 10,
        "control responses bounded too"
    );
    // The client reads again: catch-up delivers the rest exactly once.
    let mut got = Vec::new();
    for _ in 0..100 {
        got.extend(drain(&slow));
        fx.sync();
        if fx.hub.unsynced_count() == 0 {
            break;
        }
    }
    got.extend(drain(&slow));
    fx.put("k", "after");
    got.extend(drain(&slow));
    assert_eq!(revs(&got), (2..=102).collect::<Vec<_>>());
}

#[test]
fn full_queue_refuses_control_requests_until_drained() {
    let cfg = WatchConfig {
        stream_queue_len: 2,
        control_queue_len: 1,
        ..Default::default()
    };
    let fx = Fx::new(cfg);
    let s = fx.stream();
    assert!(s.try_create(&watch("a", "", 0)));
    assert!(s.try_create(&watch("b", "", 0)));
    assert!(s.try_create(&watch("c", "", 0)));
    assert!(!s.try_create(&watch("d", "", 0)));
    assert!(!s.try_cancel(0));
    assert!(!s.try_progress());
    assert_eq!(fx.hub.watcher_count(), 3);
    assert!(s.pop().is_some());
    assert!(s.try_create(&watch("d", "", 0)));
}

#[test]
fn start_below_compaction_is_canceled_with_compact_revision() {
    let fx = Fx::new(WatchConfig::default());
    for i in 0..5 {
        fx.put("k", &format!("{i}")); // 2..=6
    }
    fx.store.compact(4, fx.next_index()).unwrap();
    let s = fx.stream();
    assert!(s.try_create(&watch("k", "", 2)));
    assert!(
        s.try_create(&watch("k", "", 4)),
        "the compaction point itself is readable"
    );
    fx.sync();
    let rs = drain(&s);
    let canceled: Vec<&WatchResponse> = rs.iter().filter(|r| r.canceled).collect();
    assert_eq!(canceled.len(), 1);
    let c = canceled[0];
    assert_eq!(
        (c.watch_id, c.compact_revision, rev_of(c), c.created),
        (0, 4, 0, false)
    );
    let ok: Vec<WatchResponse> = rs.iter().filter(|r| r.watch_id == 1).cloned().collect();
    assert_eq!(revs(&ok), vec![4, 5, 6]);
    // The compacted watcher keeps its id until canceled, like etcd.
    assert!(s.try_cancel(0));
    assert!(drain(&s)[0].canceled);
}

#[test]
fn compaction_overtaking_a_victim_cancels_it() {
    let cfg = WatchConfig {
        stream_queue_len: 4,
        ..Default::default()
    };
    let fx = Fx::new(cfg);
    let s = fx.stream();
    assert!(s.try_create(&watch("k", "", 0)));
    for i in 0..20 {
        fx.put("k", &format!("{i}"));
    }
    assert_eq!(fx.hub.unsynced_count(), 1);
    fx.store.compact(15, fx.next_index()).unwrap();
    let mut rs = Vec::new();
    for _ in 0..20 {
        rs.extend(drain(&s));
        fx.sync();
    }
    let last = rs.last().unwrap();
    assert!(last.canceled, "{rs:?}");
    assert_eq!(last.compact_revision, 15);
    assert_eq!(fx.hub.unsynced_count(), 0);
    assert!(revs(&rs).windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn progress_tick_notifies_idle_synced_watchers_only() {
    let fx = Fx::new(WatchConfig::default());
    let s = fx.stream();
    let mut req = watch("k", "", 0);
    req.progress_notify = true;
    assert!(s.try_create(&req));
    assert!(s.try_create(&watch("k", "", 0)), "no progress_notify");
    drain(&s);
    fx.hub.progress_tick();
    let rs = drain(&s);
    assert_eq!(rs.len(), 1);
    assert_eq!(
        (rs[0].watch_id, rev_of(&rs[0]), rs[0].events.len()),
        (0, 1, 0)
    );
    fx.put("k", "v");
    drain(&s);
    fx.hub.progress_tick();
    assert!(
        drain(&s).is_empty(),
        "events during the period: no notification"
    );
    fx.hub.progress_tick();
    let rs = drain(&s);
    assert_eq!((rs.len(), rev_of(&rs[0])), (1, 2));
}

#[test]
fn ten_thousand_watchers_on_one_stream_are_cheap() {
    let fx = Fx::new(WatchConfig::default());
    let s = fx.stream();
    let t = Instant::now();
    let mut created = 0;
    for i in 0..10_000 {
        while !s.try_create(&watch(&format!("key{i:05}"), "", 0)) {
            created += drain(&s).len();
        }
    }
    created += drain(&s).len();
    assert_eq!(created, 10_000);
    // Prefix watchers on the same range share one index entry.
    for _ in 0..1000 {
        while !s.try_create(&watch("key", "kez", 0)) {
            drain(&s);
        }
    }
    drain(&s);
    for i in (0..10_000).step_by(97) {
        fx.put(&format!("key{i:05}"), "v");
        let rs = drain(&s);
        // The queue takes 128 responses (the key's watcher first: lowest id);
        // the other prefix watchers become victims and catch up below.
        assert_eq!(rs.len(), 128);
        assert_eq!(rs[0].watch_id, i as i64);
        fx.sync();
        drain(&s);
        fx.sync();
        drain(&s);
    }
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "took {:?}",
        t.elapsed()
    );
}

#[test]
fn dropping_a_stream_removes_its_watchers() {
    let fx = Fx::new(WatchConfig::default());
    let s = fx.stream();
    assert!(s.try_create(&watch("a", "", 0)));
    assert!(s.try_create(&watch("a", "", 1)));
    assert_eq!(fx.hub.watcher_count(), 2);
    drop(s);
    assert_eq!((fx.hub.watcher_count(), fx.hub.unsynced_count()), (0, 0));
    fx.put("a", "v");
}

#[test]
fn worker_catches_up_and_sends_progress_notifications() {
    let cfg = WatchConfig {
        progress_notify_interval_ms: 100,
        ..Default::default()
    };
    let fx = Fx::new(cfg);
    for i in 0..10 {
        fx.put("k", &format!("{i}"));
    }
    let woken = Arc::new(AtomicUsize::new(0));
    let w2 = woken.clone();
    let s = fx.hub.open_stream(Arc::new(move || {
        w2.fetch_add(1, Ordering::SeqCst);
    }));
    let failed = Arc::new(AtomicUsize::new(0));
    let f2 = failed.clone();
    fx.hub
        .start_worker(
            fx.store.clone(),
            Box::new(move |_| {
                f2.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .unwrap();
    let mut req = watch("k", "", 2);
    req.progress_notify = true;
    assert!(s.try_create(&req));
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut rs = Vec::new();
    while Instant::now() < deadline
        && !rs
            .iter()
            .any(|r: &WatchResponse| r.events.is_empty() && !r.created)
    {
        rs.extend(drain(&s));
        std::thread::yield_now();
    }
    assert_eq!(revs(&rs), (2..=11).collect::<Vec<_>>());
    let progress = rs
        .iter()
        .find(|r| r.events.is_empty() && !r.created)
        .expect("a progress notification");
    assert_eq!(rev_of(progress), 11);
    assert!(woken.load(Ordering::SeqCst) >= 2);
    assert_eq!(failed.load(Ordering::SeqCst), 0);
}

#[test]
fn restore_makes_synced_watchers_catch_up() {
    let fx = Fx::new(WatchConfig::default());
    let s = fx.stream();
    assert!(s.try_create(&watch("k", "", 0)));
    assert!(
        s.try_create(&watch("k", "", 50)),
        "a future start stays ahead"
    );
    fx.put("k", "a"); // 2, notified
                      // Writes the hub never hears of, as when a snapshot replaces the store.
    for v in ["b", "c"] {
        let req = PutRequest {
            key: "k".into(),
            value: v.into(),
            ..Default::default()
        };
        fx.store.put(&req, fx.next_index(), &|_| false).unwrap();
    }
    fx.hub.restore(fx.store.current_revision());
    fx.sync();
    assert_eq!(fx.hub.unsynced_count(), 0);
    fx.put("k", "d"); // 5
    let rs = drain(&s);
    assert!(rs.iter().all(|r| r.watch_id == 0 || r.created));
    assert_eq!(revs(&rs), vec![2, 3, 4, 5]);
}
