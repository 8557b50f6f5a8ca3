//! `benchmark put`: `--total` Put requests of `--key-size`/`--val-size`
//! bytes over `--key-space-size` keys (sequential with `--sequential-keys`,
//! else pseudo-random), at most `--rate` a second. Each successful request
//! raises the store revision by exactly one.

use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::PutRequest;

use crate::keys::{key_number, random_bytes, varint_key};
use crate::{conn, runner, Ctx, Outcome, MAX_RECV_BYTES};

/// Flags of `put`.
#[derive(clap::Args)]
pub struct Args {
    /// Key size of put request
    #[arg(long = "key-size", default_value_t = 8)]
    key_size: usize,
    /// Value size of put request
    #[arg(long = "val-size", default_value_t = 8)]
    val_size: usize,
    /// Maximum puts per second (0 is no limit)
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Total number of put requests
    #[arg(long, default_value_t = 10000)]
    total: u64,
    /// Maximum possible keys
    #[arg(long = "key-space-size", default_value_t = 1)]
    key_space_size: i64,
    /// Use sequential keys
    #[arg(long = "sequential-keys")]
    sequential_keys: bool,
}

/// Runs the put benchmark and prints etcd's report.
pub async fn run(ctx: &Ctx, a: Args) -> anyhow::Result<Outcome> {
    if a.key_space_size <= 0 {
        anyhow::bail!(
            "expected positive --key-space-size, got ({})",
            a.key_space_size
        );
    }
    let value = random_bytes(a.val_size, 1);
    let (space, seq, key_size) = (a.key_space_size as u64, a.sequential_keys, a.key_size);
    let report = runner::run(ctx, "put", a.total, a.rate, move |ch, i| {
        let req = PutRequest {
            key: varint_key(key_number(i, space, seq), key_size),
            value: value.clone(),
            ..Default::default()
        };
        async move {
            let mut kv = KvClient::new(ch).max_decoding_message_size(MAX_RECV_BYTES);
            kv.put(req)
                .await
                .map(|_| ())
                .map_err(|s| conn::grpc_error(&s))
        }
    })
    .await;
    println!("{}", report.render());
    Ok(vec![report].into())
}
