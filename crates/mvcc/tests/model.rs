//! Randomized comparison of the store against a simple model that keeps a
//! full `BTreeMap` snapshot for every revision. Covers puts (with leases),
//! deletes, txns with compares and reads of their own writes, historical
//! reads, compaction, and reopening with and without a commit.

mod common;

use std::collections::BTreeMap;

use common::*;
use etcd_mvcc::{KeyRange, MvccError};
use etcd_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_proto::etcdserverpb::request_op::Request;
use etcd_proto::etcdserverpb::response_op::Response;
use etcd_proto::etcdserverpb::{Compare, PutRequest, RangeRequest, RequestOp, TxnRequest};
use etcd_proto::mvccpb::event::EventType;
use etcd_proto::mvccpb::{Event, KeyValue};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

type Snapshot = BTreeMap<Vec<u8>, KeyValue>;

const KEYS: [&str; 7] = ["a", "ab", "b", "c", "d", "e", "f"];
/// Lease 3 is never granted.
const MISSING_LEASE: i64 = 3;

#[derive(Clone)]
struct Model {
    /// `history[r]` is the state at revision `r`; `history[0]` is unused.
    history: Vec<Snapshot>,
    compact_rev: i64,
}

impl Model {
    fn new() -> Model {
        Model {
            history: vec![Snapshot::new(), Snapshot::new()],
            compact_rev: -1,
        }
    }
    fn rev(&self) -> i64 {
        self.history.len() as i64 - 1
    }
    fn current(&self) -> &Snapshot {
        self.history.last().unwrap()
    }
}

fn select(s: &Snapshot, range: KeyRange<'_>) -> Vec<KeyValue> {
    s.values()
        .filter(|kv| range.contains(&kv.key))
        .cloned()
        .collect()
}

fn model_put(
    s: &mut Snapshot,
    key: &[u8],
    value: &[u8],
    lease: i64,
    rev: i64,
) -> (KeyValue, Option<KeyValue>) {
    let prev = s.get(key).cloned();
    let kv = KeyValue {
        key: key.to_vec(),
        create_revision: prev.as_ref().map_or(rev, |p| p.create_revision),
        mod_revision: rev,
        version: prev.as_ref().map_or(1, |p| p.version + 1),
        value: value.to_vec(),
        lease,
    };
    s.insert(key.to_vec(), kv.clone());
    (kv, prev)
}

fn random_key(rng: &mut StdRng) -> String {
    KEYS[rng.random_range(0..KEYS.len())].to_string()
}

fn random_range(rng: &mut StdRng) -> (String, String) {
    let k = random_key(rng);
    let end = match rng.random_range(0..4) {
        0 | 1 => String::new(),
        2 => "\0".to_string(),
        _ => random_key(rng),
    };
    (k, end)
}

fn random_value(rng: &mut StdRng) -> String {
    ["", "x", "y", "zz"][rng.random_range(0..4)].to_string()
}

fn check_events(events: &[Event], want: &[(EventType, KeyValue, Option<KeyValue>)]) {
    assert_eq!(events.len(), want.len());
    for (e, (ty, kv, prev)) in events.iter().zip(want) {
        assert_eq!(e.r#type, *ty as i32);
        assert_eq!(e.kv.as_ref(), Some(kv));
        assert_eq!(e.prev_kv.as_ref(), prev.as_ref());
    }
}

fn step_put(f: &mut Fixture, m: &mut Model, rng: &mut StdRng) {
    let key = random_key(rng);
    let lease = [0, 0, 1, 2, MISSING_LEASE][rng.random_range(0..5)];
    let req = PutRequest {
        lease,
        prev_kv: rng.random_bool(0.5),
        ..put_req(&key, &random_value(rng))
    };
    let i = f.next_index();
    let got = f.store().put(&req, i, &|id| id != MISSING_LEASE);
    if lease == MISSING_LEASE {
        assert!(matches!(got, Err(MvccError::LeaseNotFound)));
        return;
    }
    let (resp, events) = got.unwrap();
    let mut next = m.current().clone();
    let rev = m.rev() + 1;
    let (kv, prev) = model_put(&mut next, &req.key, &req.value, lease, rev);
    m.history.push(next);
    assert_eq!(resp.header.unwrap().revision, rev);
    assert_eq!(resp.prev_kv, if req.prev_kv { prev.clone() } else { None });
    check_events(&events, &[(EventType::Put, kv, prev)]);
}

fn step_delete(f: &mut Fixture, m: &mut Model, rng: &mut StdRng) {
    let (k, end) = random_range(rng);
    let i = f.next_index();
    let (resp, events) = f.store().delete_range(&del_req(&k, &end), i).unwrap();
    let gone = select(m.current(), KeyRange::new(k.as_bytes(), end.as_bytes()));
    assert_eq!(resp.deleted, gone.len() as i64);
    if gone.is_empty() {
        assert!(events.is_empty());
        return;
    }
    let rev = m.rev() + 1;
    let mut next = m.current().clone();
    let mut want = Vec::new();
    for kv in gone {
        next.remove(&kv.key);
        let tomb = KeyValue {
            key: kv.key.clone(),
            mod_revision: rev,
            ..Default::default()
        };
        want.push((EventType::Delete, tomb, Some(kv)));
    }
    m.history.push(next);
    check_events(&events, &want);
}

fn random_compare(rng: &mut StdRng, s: &Snapshot) -> Compare {
    let (key, end) = random_range(rng);
    let sample = select(s, KeyRange::new(key.as_bytes(), end.as_bytes()))
        .pop()
        .unwrap_or_default();
    let jitter = rng.random_range(-1..=1);
    let (target, union) = match rng.random_range(0..5) {
        0 => (
            CompareTarget::Version,
            TargetUnion::Version(sample.version + jitter),
        ),
        1 => (
            CompareTarget::Create,
            TargetUnion::CreateRevision(sample.create_revision + jitter),
        ),
        2 => (
            CompareTarget::Mod,
            TargetUnion::ModRevision(sample.mod_revision + jitter),
        ),
        3 => (
            CompareTarget::Value,
            TargetUnion::Value(sample.value.clone()),
        ),
        _ => (
            CompareTarget::Lease,
            TargetUnion::Lease(sample.lease + jitter),
        ),
    };
    let result = [
        CompareResult::Equal,
        CompareResult::NotEqual,
        CompareResult::Greater,
        CompareResult::Less,
    ][rng.random_range(0..4)];
    cmp(&key, &end, target, result, union)
}

fn model_compare(s: &Snapshot, c: &Compare) -> bool {
    let kvs = select(s, KeyRange::new(&c.key, &c.range_end));
    if kvs.is_empty() {
        return c.target != CompareTarget::Value as i32 && etcd_compare(c, &KeyValue::default());
    }
    kvs.iter().all(|kv| etcd_compare(c, kv))
}

/// Independent restatement of compareKV for the model.
fn etcd_compare(c: &Compare, kv: &KeyValue) -> bool {
    let ord = match c.target_union.as_ref().unwrap() {
        TargetUnion::Version(v) => kv.version.cmp(v),
        TargetUnion::CreateRevision(v) => kv.create_revision.cmp(v),
        TargetUnion::ModRevision(v) => kv.mod_revision.cmp(v),
        TargetUnion::Value(v) => kv.value.cmp(v),
        TargetUnion::Lease(v) => kv.lease.cmp(v),
    };
    match CompareResult::try_from(c.result).unwrap() {
        CompareResult::Equal => ord.is_eq(),
        CompareResult::NotEqual => ord.is_ne(),
        CompareResult::Greater => ord.is_gt(),
        CompareResult::Less => ord.is_lt(),
    }
}

/// Up to four ops; writes touch distinct single keys so the txn is valid.
fn random_ops(rng: &mut StdRng) -> Vec<RequestOp> {
    let mut keys = KEYS.to_vec();
    keys.shuffle(rng);
    let n = rng.random_range(0..=4);
    (0..n)
        .map(|i| match rng.random_range(0..3) {
            0 => op_put(keys[i], &random_value(rng)),
            1 => op_del(keys[i], ""),
            _ => {
                let (k, e) = random_range(rng);
                op_get(&k, &e)
            }
        })
        .collect()
}

fn step_txn(f: &mut Fixture, m: &mut Model, rng: &mut StdRng) {
    let compare = (0..rng.random_range(0..3))
        .map(|_| random_compare(rng, m.current()))
        .collect::<Vec<_>>();
    let t = TxnRequest {
        compare,
        success: random_ops(rng),
        failure: random_ops(rng),
    };
    etcd_mvcc::check_txn_request(&t, 128).unwrap();
    let i = f.next_index();
    let (resp, events) = f.store().txn(&t, i, &|_| true).unwrap();
    let ok = t.compare.iter().all(|c| model_compare(m.current(), c));
    assert_eq!(resp.succeeded, ok);
    let ops = if ok { &t.success } else { &t.failure };
    let rev = m.rev() + 1;
    let mut next = m.current().clone();
    let mut changed = 0;
    for (op, r) in ops.iter().zip(&resp.responses) {
        match (&op.request, &r.response) {
            (Some(Request::RequestPut(p)), Some(Response::ResponsePut(_))) => {
                model_put(&mut next, &p.key, &p.value, 0, rev);
                changed += 1;
            }
            (Some(Request::RequestDeleteRange(d)), Some(Response::ResponseDeleteRange(dr))) => {
                let gone = next.remove(&d.key).is_some();
                assert_eq!(dr.deleted, gone as i64);
                changed += gone as usize;
            }
            (Some(Request::RequestRange(q)), Some(Response::ResponseRange(rr))) => {
                assert_eq!(
                    rr.kvs,
                    select(&next, KeyRange::new(&q.key, &q.range_end)),
                    "txn read sees own writes"
                );
            }
            other => panic!("mismatched op/response {other:?}"),
        }
    }
    assert_eq!(events.len(), changed);
    if changed > 0 {
        m.history.push(next);
    }
    assert_eq!(resp.header.unwrap().revision, m.rev());
}

fn step_range(f: &mut Fixture, m: &Model, rng: &mut StdRng) {
    let (k, end) = random_range(rng);
    let rev = rng.random_range(-1..=m.rev() + 1);
    let limit = rng.random_range(0..3);
    let req = RangeRequest {
        revision: rev,
        limit,
        ..range_req(&k, &end)
    };
    let got = f.store().range(&req);
    if rev > m.rev() {
        assert!(matches!(got, Err(MvccError::FutureRev)), "rev {rev}");
        return;
    }
    let at = if rev <= 0 { m.rev() } else { rev };
    if at < m.compact_rev {
        assert!(matches!(got, Err(MvccError::Compacted)), "rev {rev}");
        return;
    }
    let got = got.unwrap();
    let want = select(
        &m.history[at as usize],
        KeyRange::new(k.as_bytes(), end.as_bytes()),
    );
    assert_eq!(got.count, want.len() as i64);
    let shown = if limit > 0 {
        want.len().min(limit as usize)
    } else {
        want.len()
    };
    assert_eq!(got.kvs, want[..shown], "range {k:?}..{end:?} at {at}");
    assert_eq!(got.more, shown < want.len());
}

fn step_compact(f: &mut Fixture, m: &mut Model, rng: &mut StdRng) {
    let rev = rng.random_range(m.compact_rev.max(0)..=m.rev() + 1);
    let i = f.next_index();
    match f.store().compact(rev, i) {
        Ok(()) => {
            assert!(rev > m.compact_rev && rev <= m.rev());
            m.compact_rev = rev;
        }
        Err(MvccError::Compacted) => assert!(rev <= m.compact_rev),
        Err(MvccError::FutureRev) => assert!(rev > m.rev()),
        Err(e) => panic!("{e}"),
    }
}

fn run_model(seed: u64, steps: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut f = Fixture::new();
    let mut m = Model::new();
    let mut durable = (m.clone(), 0u64);
    for _ in 0..steps {
        match rng.random_range(0..100) {
            0..=24 => step_put(&mut f, &mut m, &mut rng),
            25..=34 => step_delete(&mut f, &mut m, &mut rng),
            35..=54 => step_txn(&mut f, &mut m, &mut rng),
            55..=89 => step_range(&mut f, &m, &mut rng),
            90..=93 => step_compact(&mut f, &mut m, &mut rng),
            94..=97 => {
                f.store().backend().commit().unwrap();
                durable = (m.clone(), f.index);
            }
            _ => {
                let commit = rng.random_bool(0.5);
                f.reopen(commit);
                if commit {
                    durable = (m.clone(), f.index);
                } else {
                    (m, f.index) = durable.clone();
                }
                assert_eq!(f.store().consistent_index(), f.index);
            }
        }
        assert_eq!(f.store().current_revision(), m.rev());
        assert_eq!(f.store().compact_revision(), m.compact_rev);
    }
}

#[test]
fn model_seed_1() {
    run_model(1, 3000);
}

#[test]
fn model_seed_2() {
    run_model(2, 3000);
}

#[test]
fn model_seed_3() {
    run_model(0xC0FFEE, 3000);
}
