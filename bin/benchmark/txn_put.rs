//! `benchmark txn-put`: `--total` transactions, each an unconditional Txn of
//! `--txn-ops` puts on distinct keys (`((i * txn-ops) + j) % key-space-size`),
//! as etcd 3.4's txn-put does. Each successful txn raises the revision by one.

use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::{request_op, PutRequest, RequestOp, TxnRequest};

use crate::keys::{random_bytes, varint_key};
use crate::{conn, runner, Ctx, Outcome, MAX_RECV_BYTES};

/// Flags of `txn-put`.
#[derive(clap::Args)]
pub struct Args {
    /// Key size of txn put
    #[arg(long = "key-size", default_value_t = 8)]
    key_size: usize,
    /// Value size of txn put
    #[arg(long = "val-size", default_value_t = 8)]
    val_size: usize,
    /// Number of puts per txn
    #[arg(long = "txn-ops", default_value_t = 1)]
    txn_ops: u64,
    /// Maximum txns per second (0 is no limit)
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Total number of txn requests
    #[arg(long, default_value_t = 10000)]
    total: u64,
    /// Maximum possible keys
    #[arg(long = "key-space-size", default_value_t = 1)]
    key_space_size: i64,
}

/// Runs the txn-put benchmark and prints etcd's report.
pub async fn run(ctx: &Ctx, a: Args) -> anyhow::Result<Outcome> {
    if a.key_space_size <= 0 {
        anyhow::bail!(
            "expected positive --key-space-size, got ({})",
            a.key_space_size
        );
    }
    if a.txn_ops == 0 {
        anyhow::bail!("expected positive --txn-ops, got ({})", a.txn_ops);
    }
    if a.txn_ops > a.key_space_size as u64 {
        anyhow::bail!(
            "expected --txn-ops no larger than --key-space-size, got txn-ops({}) key-space-size({})",
            a.txn_ops,
            a.key_space_size
        );
    }
    let value = random_bytes(a.val_size, 2);
    let (space, ops, key_size) = (a.key_space_size as u64, a.txn_ops, a.key_size);
    let report = runner::run(ctx, "txn-put", a.total, a.rate, move |ch, i| {
        let success = (0..ops)
            .map(|j| RequestOp {
                request: Some(request_op::Request::RequestPut(PutRequest {
                    key: varint_key(((i * ops + j) % space) as i64, key_size),
                    value: value.clone(),
                    ..Default::default()
                })),
            })
            .collect();
        let req = TxnRequest {
            success,
            ..Default::default()
        };
        async move {
            let mut kv = KvClient::new(ch).max_decoding_message_size(MAX_RECV_BYTES);
            kv.txn(req)
                .await
                .map(|_| ())
                .map_err(|s| conn::grpc_error(&s))
        }
    })
    .await;
    println!("{}", report.render());
    Ok(vec![report].into())
}
