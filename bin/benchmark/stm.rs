//! `benchmark stm`: `--total` software-transactional-memory transactions in
//! the style of etcd's `concurrency.STM`. Each picks `--keys-per-txn`
//! distinct keys out of `--keys`, reads them all and overwrites the first
//! `--txn-wr-percent` percent, then commits one Txn guarded by the read set;
//! a failed guard re-runs the transaction (at most [`MAX_RETRIES`] times).
//! Isolation (`--isolation`):
//! - `c` read committed: plain reads, unguarded commit;
//! - `r` repeatable reads: plain reads, commit iff every read key's
//!   mod_revision is unchanged;
//! - `s` serializable: reads after the first are served at the first read's
//!   revision, guarded like `r`;
//! - `ss` serializable snapshot: like `s`, and the written keys must not have
//!   changed since that revision either.
//!
//! Only `--stm-locker=stm` is supported.

use etcd_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::{
    request_op, Compare, PutRequest, RangeRequest, RequestOp, TxnRequest,
};
use tonic::transport::Channel;

use crate::keys::{mix, random_bytes, varint_key};
use crate::{conn, runner, Ctx, Outcome, MAX_RECV_BYTES};

/// Re-runs of one transaction before it counts as failed.
const MAX_RETRIES: u32 = 1000;
/// Size of an STM key (etcd's 16-byte varint buffer).
const KEY_SIZE_BYTES: usize = 16;

/// Flags of `stm`.
#[derive(clap::Args)]
pub struct Args {
    /// Read Committed (c), Repeatable Reads (r), Serializable (s), or Snapshot (ss)
    #[arg(long, default_value = "r")]
    isolation: String,
    /// Total unique keys accessible by the benchmark
    #[arg(long, default_value_t = 1)]
    keys: u64,
    /// Total number of completed STM transactions
    #[arg(long, default_value_t = 10000)]
    total: u64,
    /// Number of keys to access per transaction
    #[arg(long = "keys-per-txn", default_value_t = 1)]
    keys_per_txn: u64,
    /// Percentage of keys to overwrite per transaction
    #[arg(long = "txn-wr-percent", default_value_t = 50)]
    txn_wr_percent: u64,
    /// Wrap STM transaction with a custom locking mechanism (stm only)
    #[arg(long = "stm-locker", default_value = "stm")]
    stm_locker: String,
    /// Value size of each STM put request
    #[arg(long = "val-size", default_value_t = 8)]
    val_size: usize,
    /// Maximum STM transactions per second (0 is no limit)
    #[arg(long, default_value_t = 0)]
    rate: u64,
}

#[derive(Clone, Copy, PartialEq)]
enum Isolation {
    ReadCommitted,
    RepeatableReads,
    Serializable,
    SerializableSnapshot,
}

/// Runs the STM benchmark and prints etcd's report.
pub async fn run(ctx: &Ctx, a: Args) -> anyhow::Result<Outcome> {
    if a.keys == 0 {
        anyhow::bail!("expected positive --keys, got ({})", a.keys);
    }
    if a.txn_wr_percent > 100 {
        anyhow::bail!(
            "expected [0, 100] --txn-wr-percent, got ({})",
            a.txn_wr_percent
        );
    }
    if a.keys_per_txn > a.keys {
        anyhow::bail!(
            "expected --keys-per-txn between 0 and {}, got ({})",
            a.keys,
            a.keys_per_txn
        );
    }
    if a.stm_locker != "stm" {
        anyhow::bail!(
            "unexpected stm locker {:?} (only \"stm\" is supported)",
            a.stm_locker
        );
    }
    let iso = match a.isolation.as_str() {
        "c" => Isolation::ReadCommitted,
        "r" => Isolation::RepeatableReads,
        "s" => Isolation::Serializable,
        "ss" => Isolation::SerializableSnapshot,
        other => anyhow::bail!("--isolation must be c, r, s or ss, got {other:?}"),
    };
    let (keys, per_txn, val_size) = (a.keys, a.keys_per_txn, a.val_size);
    let writes = (per_txn * a.txn_wr_percent / 100) as usize;
    let report = runner::run(ctx, "stm", a.total, a.rate, move |ch, i| {
        let set = key_set(i, keys, per_txn);
        let value = random_bytes(val_size, i);
        async move { stm_txn(ch, iso, &set, writes, value).await }
    })
    .await;
    print!("{}", report.render());
    Ok(vec![report].into())
}

/// `n` distinct key numbers below `keys`, chosen pseudo-randomly by `i`.
fn key_set(i: u64, keys: u64, n: u64) -> Vec<Vec<u8>> {
    let mut nums: Vec<u64> = Vec::with_capacity(n as usize);
    let mut j = 0;
    while (nums.len() as u64) < n {
        let k = mix(i.wrapping_mul(0x100_0000).wrapping_add(j)) % keys;
        j += 1;
        if !nums.contains(&k) {
            nums.push(k);
        }
    }
    nums.into_iter()
        .map(|k| varint_key(k as i64, KEY_SIZE_BYTES))
        .collect()
}

fn mod_rev_cmp(key: &[u8], result: CompareResult, rev: i64) -> Compare {
    Compare {
        result: result as i32,
        target: CompareTarget::Mod as i32,
        key: key.to_vec(),
        range_end: Vec::new(),
        target_union: Some(TargetUnion::ModRevision(rev)),
    }
}

async fn stm_txn(
    ch: Channel,
    iso: Isolation,
    set: &[Vec<u8>],
    writes: usize,
    value: Vec<u8>,
) -> Result<(), String> {
    let mut kv = KvClient::new(ch).max_decoding_message_size(MAX_RECV_BYTES);
    for _ in 0..=MAX_RETRIES {
        let mut guard = Vec::with_capacity(set.len() * 2);
        let mut snapshot_rev = 0;
        for key in set {
            let fixed = matches!(
                iso,
                Isolation::Serializable | Isolation::SerializableSnapshot
            ) && snapshot_rev > 0;
            let req = RangeRequest {
                key: key.clone(),
                revision: if fixed { snapshot_rev } else { 0 },
                serializable: fixed,
                ..Default::default()
            };
            let resp = kv
                .range(req)
                .await
                .map_err(|s| conn::grpc_error(&s))?
                .into_inner();
            if snapshot_rev == 0 {
                snapshot_rev = resp.header.map(|h| h.revision).unwrap_or_default();
            }
            let seen = resp.kvs.first().map_or(0, |kv| kv.mod_revision);
            if iso != Isolation::ReadCommitted {
                guard.push(mod_rev_cmp(key, CompareResult::Equal, seen));
            }
        }
        if iso == Isolation::SerializableSnapshot {
            for key in &set[..writes] {
                guard.push(mod_rev_cmp(key, CompareResult::Less, snapshot_rev + 1));
            }
        }
        let success = set[..writes]
            .iter()
            .map(|key| RequestOp {
                request: Some(request_op::Request::RequestPut(PutRequest {
                    key: key.clone(),
                    value: value.clone(),
                    ..Default::default()
                })),
            })
            .collect();
        let resp = kv
            .txn(TxnRequest {
                compare: guard,
                success,
                failure: Vec::new(),
            })
            .await
            .map_err(|s| conn::grpc_error(&s))?
            .into_inner();
        if resp.succeeded {
            return Ok(());
        }
    }
    Err(format!("stm: transaction conflicted {MAX_RETRIES} times"))
}
