//! `benchmark txn-mixed key [end-range]`: `--total` single-op transactions,
//! a share `rw-ratio / (1 + rw-ratio)` of them reads (a Range from `key` to
//! `--end-key`/the positional end, or the whole keyspace, limited to
//! `--limit`), the rest puts on `i % key-space-size`. Reads and writes get
//! separate reports, headed `Total Read Ops:` / `Total Write Ops:` like etcd.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::{request_op, PutRequest, RangeRequest, RequestOp, TxnRequest};

use crate::keys::{mix, random_bytes, varint_key};
use crate::range::announce_consistency;
use crate::{conn, runner, Ctx, Outcome, MAX_RECV_BYTES};

/// Flags of `txn-mixed`.
#[derive(clap::Args)]
pub struct Args {
    /// Start key of the reads (default: the whole keyspace)
    key: Option<String>,
    /// Range end of the reads
    end: Option<String>,
    /// Key size of mixed txn
    #[arg(long = "key-size", default_value_t = 8)]
    key_size: usize,
    /// Value size of mixed txn
    #[arg(long = "val-size", default_value_t = 8)]
    val_size: usize,
    /// Maximum txns per second (0 is no limit)
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Total number of txn requests
    #[arg(long, default_value_t = 10000)]
    total: u64,
    /// Read operation range end key. By default, we do full range query with the default limit of 1000.
    #[arg(long = "end-key", default_value = "")]
    end_key: String,
    /// Read operation range result limit
    #[arg(long, default_value_t = 1000)]
    limit: i64,
    /// Maximum possible keys
    #[arg(long = "key-space-size", default_value_t = 1)]
    key_space_size: i64,
    /// Linearizable(l) or Serializable(s)
    #[arg(long, default_value = "l")]
    consistency: String,
    /// Read/write ops ratio
    #[arg(long = "rw-ratio", default_value_t = 1.0)]
    rw_ratio: f64,
}

/// Runs the mixed benchmark and prints both reports.
pub async fn run(ctx: &Ctx, a: Args) -> anyhow::Result<Outcome> {
    if a.key_space_size <= 0 {
        anyhow::bail!(
            "expected positive --key-space-size, got ({})",
            a.key_space_size
        );
    }
    if !(a.rw_ratio >= 0.0 && a.rw_ratio.is_finite()) {
        anyhow::bail!("expected non-negative --rw-ratio, got ({})", a.rw_ratio);
    }
    let serializable = announce_consistency(&a.consistency)?;
    let mut start = a.key.unwrap_or_default().into_bytes();
    let mut end = a.end.unwrap_or(a.end_key).into_bytes();
    if start.is_empty() {
        // No start key: from the first key ("\0"); no end either: to the last.
        start = vec![0];
        if end.is_empty() {
            end = vec![0];
        }
    }
    let read = RangeRequest {
        key: start,
        range_end: end,
        limit: a.limit,
        serializable,
        ..Default::default()
    };
    let value = random_bytes(a.val_size, 3);
    let read_share = a.rw_ratio / (1.0 + a.rw_ratio);
    let (space, key_size) = (a.key_space_size as u64, a.key_size);
    let (reads, writes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (r2, w2) = (reads.clone(), writes.clone());
    let mut reports = runner::run_split(
        ctx,
        &["txn-mixed-read", "txn-mixed-write"],
        a.total,
        a.rate,
        move |ch, _, i| {
            let is_read = (mix(i) as f64 / u64::MAX as f64) < read_share;
            let op = if is_read {
                r2.fetch_add(1, Ordering::Relaxed);
                request_op::Request::RequestRange(read.clone())
            } else {
                w2.fetch_add(1, Ordering::Relaxed);
                request_op::Request::RequestPut(PutRequest {
                    key: varint_key((i % space) as i64, key_size),
                    value: value.clone(),
                    ..Default::default()
                })
            };
            let req = TxnRequest {
                success: vec![RequestOp { request: Some(op) }],
                ..Default::default()
            };
            async move {
                let mut kv = KvClient::new(ch).max_decoding_message_size(MAX_RECV_BYTES);
                (
                    usize::from(!is_read),
                    kv.txn(req)
                        .await
                        .map(|_| ())
                        .map_err(|s| conn::grpc_error(&s)),
                )
            }
        },
    )
    .await;
    let write = reports.pop().expect("two reports");
    let read = reports.pop().expect("two reports");
    print!(
        "Total Read Ops: {}\nDetails:",
        reads.load(Ordering::Relaxed)
    );
    println!("{}", read.render());
    print!(
        "Total Write Ops: {}\nDetails:",
        writes.load(Ordering::Relaxed)
    );
    println!("{}", write.render());
    Ok(Outcome {
        extra: serde_json::json!({"read_ops": reads.load(Ordering::Relaxed), "write_ops": writes.load(Ordering::Relaxed)}),
        reports: vec![read, write],
    })
}
