//! The list-append workload (issue 10: serializability of multi-key
//! transactions), checked by `etcd_checker::check_appends`, as in Jepsen's
//! etcd analysis.
//!
//! Each key under [`APPEND_PREFIX`] holds a list of integers as its value,
//! space-separated. A transaction:
//! 1. reads a window of [`APPEND_KEYS_ACTIVE`] consecutive keys with one
//!    linearizable Range (one read revision, so the reads are atomic);
//! 2. read-only: done, committed at the Range; read-write: one etcd Txn
//!    whose compares pin every key it read to the `mod_revision` the Range
//!    saw (0: absent) and whose success branch puts `list ++ [value]` on
//!    the keys it appends to. Succeeded: committed, its reads still valid
//!    at the Txn's revision; guard failed: aborted, no effect; no answer:
//!    unknown.
//!
//! Values come from one counter per run, so each is appended once. A key
//! takes appends until its list holds [`APPEND_LIST_LEN_MAX`] elements,
//! then clients move their window on, which bounds lists and reads.
//! Everything goes through the client library (`etcd-client`), with each
//! call bounded by [`OP_TIMEOUT`]; after an error a client reconnects
//! starting at the next member.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use etcd_checker::{AppendTxn, Mop, TxnOutcome};
use etcd_client::{Client, ClientConfig};
use etcd_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_proto::etcdserverpb::request_op::Request;
use etcd_proto::etcdserverpb::{Compare, PutRequest, RangeRequest, RequestOp, TxnRequest};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{Ctx, OP_TIMEOUT};

/// Prefix of the append workload's keys (not watched: the watch checker
/// knows only the register and txn keys).
pub const APPEND_PREFIX: &str = "append/";
/// Keys in a client's window: what one transaction may read or append to.
pub const APPEND_KEYS_ACTIVE: u64 = 4;
/// A key whose list has this many elements takes no more appends.
pub const APPEND_LIST_LEN_MAX: usize = 24;
/// Chance that a transaction only reads.
const READ_ONLY_P: f64 = 0.3;

/// The history of the append workload, shared by its clients.
#[derive(Debug, Default)]
pub struct AppendLog {
    txns: Mutex<Vec<AppendTxn>>,
    next_value: AtomicU64,
}

impl AppendLog {
    /// The transactions recorded, ids in recording order.
    pub fn txns(&self) -> Vec<AppendTxn> {
        self.txns.lock().unwrap().clone()
    }

    fn record(&self, mut t: AppendTxn) -> TxnOutcome {
        let mut l = self.txns.lock().unwrap();
        t.id = l.len() as u64;
        let outcome = t.outcome;
        l.push(t);
        outcome
    }

    fn value(&self) -> u64 {
        self.next_value.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// The `i`th key.
pub fn append_key(i: u64) -> String {
    format!("{APPEND_PREFIX}{i:06}")
}

/// A value as a list; an element that does not parse becomes 0, which is
/// never appended, so the checker reports it as a garbage read.
fn parse_list(v: &[u8]) -> Vec<u64> {
    String::from_utf8_lossy(v)
        .split_whitespace()
        .map(|e| e.parse().unwrap_or(0))
        .collect()
}

fn render(list: &[u64]) -> String {
    list.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A client on `urls` starting at member `first` (it fails over in order).
pub async fn connect(urls: &[String], first: usize) -> Option<Client> {
    let n = urls.len();
    let rotated: Vec<String> = (0..n).map(|i| urls[(first + i) % n].clone()).collect();
    let cfg = ClientConfig::new(rotated)
        .dial_timeout(Duration::from_millis(500))
        .command_timeout(OP_TIMEOUT);
    tokio::time::timeout(OP_TIMEOUT, Client::connect(cfg))
        .await
        .ok()?
        .ok()
}

/// One transaction through `kv`: reads keys `window` (all of them recorded
/// when read-only), then, if `appends` is not empty, appends one fresh
/// value to each of them guarded on `guarded` (which must include them).
/// Records it in `log` and returns its outcome and the lists read.
pub async fn append_txn(
    ctx: &Ctx,
    log: &AppendLog,
    kv: &Client,
    client: u32,
    window: std::ops::Range<u64>,
    guarded: &[u64],
    appends: &[u64],
) -> (TxnOutcome, BTreeMap<u64, Vec<u64>>) {
    assert!(appends.iter().all(|a| guarded.contains(a)));
    let invoke_ns = ctx.now();
    let mut t = AppendTxn {
        id: 0,
        client,
        mops: vec![],
        outcome: TxnOutcome::Aborted,
        invoke_ns,
        complete_ns: invoke_ns,
    };
    let range = kv
        .range(RangeRequest {
            key: append_key(window.start).into(),
            range_end: append_key(window.end).into(),
            ..Default::default()
        })
        .await;
    let Ok(range) = range else {
        // Nothing was sent that could change state: not worth recording.
        return (TxnOutcome::Aborted, BTreeMap::new());
    };
    let mut seen: BTreeMap<u64, (Vec<u64>, i64)> =
        window.clone().map(|i| (i, (vec![], 0))).collect();
    for kv in &range.kvs {
        let key = String::from_utf8_lossy(&kv.key);
        if let Some(i) = key.strip_prefix(APPEND_PREFIX).and_then(|s| s.parse().ok()) {
            seen.insert(i, (parse_list(&kv.value), kv.mod_revision));
        }
    }
    let lists = seen.iter().map(|(i, (l, _))| (*i, l.clone())).collect();
    let read = |i: &u64| Mop::Read {
        key: append_key(*i),
        list: Some(seen[i].0.clone()),
    };
    if appends.is_empty() {
        t.mops = window.clone().map(|i| read(&i)).collect();
        t.outcome = TxnOutcome::Committed;
        t.complete_ns = ctx.now();
        return (log.record(t), lists);
    }
    t.mops = guarded.iter().map(read).collect();
    let mut success = Vec::new();
    for &i in appends {
        let value = log.value();
        t.mops.push(Mop::Append {
            key: append_key(i),
            value,
        });
        let mut list = seen[&i].0.clone();
        list.push(value);
        success.push(RequestOp {
            request: Some(Request::RequestPut(PutRequest {
                key: append_key(i).into(),
                value: render(&list).into(),
                ..Default::default()
            })),
        });
    }
    let compare = guarded
        .iter()
        .map(|i| Compare {
            result: CompareResult::Equal as i32,
            target: CompareTarget::Mod as i32,
            key: append_key(*i).into(),
            target_union: Some(TargetUnion::ModRevision(seen[i].1)),
            ..Default::default()
        })
        .collect();
    let res = kv
        .txn(TxnRequest {
            compare,
            success,
            failure: vec![],
        })
        .await;
    t.complete_ns = ctx.now();
    t.outcome = match res {
        Ok(r) if r.succeeded => TxnOutcome::Committed,
        Ok(_) => TxnOutcome::Aborted,
        Err(_) => {
            // The answer is lost, not the reads: they stay recorded, the
            // checker ignores the reads of an unknown transaction.
            TxnOutcome::Unknown
        }
    };
    (log.record(t), lists)
}

/// An append client: random transactions over its window until stopped.
pub async fn append_client(ctx: Ctx, client: u32, seed: u64, log: std::sync::Arc<AppendLog>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = ctx.urls.len();
    let mut member = client as usize % n;
    let mut lo = 0u64;
    let mut conn: Option<Client> = None;
    while !ctx.stopped() {
        let Some(kv) = conn.clone() else {
            conn = connect(&ctx.urls, member).await;
            if conn.is_none() {
                member = (member + 1) % n;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            continue;
        };
        let window = lo..lo + APPEND_KEYS_ACTIVE;
        let (guarded, appends) = if rng.random_bool(READ_ONLY_P) {
            (vec![], vec![])
        } else {
            let mut keys: Vec<u64> = window.clone().collect();
            let take = rng.random_range(1..=3usize);
            let mut chosen = Vec::new();
            for _ in 0..take {
                chosen.push(keys.swap_remove(rng.random_range(0..keys.len())));
            }
            let appends: Vec<u64> = chosen
                .iter()
                .copied()
                .filter(|_| rng.random_bool(0.6))
                .collect();
            let appends = if appends.is_empty() {
                vec![chosen[0]]
            } else {
                appends
            };
            (chosen, appends)
        };
        let (outcome, lists) =
            append_txn(&ctx, &log, &kv, client, window, &guarded, &appends).await;
        while lists
            .get(&lo)
            .is_some_and(|l| l.len() >= APPEND_LIST_LEN_MAX)
        {
            lo += 1;
        }
        if lists.is_empty() || outcome == TxnOutcome::Unknown {
            member = (member + 1) % n;
            conn = None;
        }
    }
}

/// After healing: one read-only transaction over every key the workload
/// touched, through `member`, so each acknowledged append must show.
pub async fn append_final_read(ctx: &Ctx, log: &AppendLog, member: usize) -> bool {
    let top = log
        .txns()
        .iter()
        .flat_map(|t| t.mops.iter())
        .filter_map(|m| match m {
            Mop::Read { key, .. } | Mop::Append { key, .. } => {
                key.strip_prefix(APPEND_PREFIX)?.parse::<u64>().ok()
            }
        })
        .max();
    let Some(top) = top else { return true };
    for _ in 0..10 {
        if let Some(kv) = connect(&ctx.urls, member).await {
            let (outcome, _) = append_txn(ctx, log, &kv, 99, 0..top + 1, &[], &[]).await;
            if outcome == TxnOutcome::Committed {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}
