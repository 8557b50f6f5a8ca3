//! `benchmark range key [end-range]`: `--total` Range requests over one key
//! or range, linearizable (`--consistency=l`, Raft ReadIndex) or serializable
//! (`s`, served locally), at most `--rate` a second.

use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::RangeRequest;

use crate::{conn, runner, Ctx, Outcome, MAX_RECV_BYTES};

/// Flags of `range`.
#[derive(clap::Args)]
pub struct Args {
    /// The key (or range start) to read
    key: String,
    /// Range end (exclusive)
    end: Option<String>,
    /// Maximum range requests per second (0 is no limit)
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Total number of range requests
    #[arg(long, default_value_t = 10000)]
    total: u64,
    /// Linearizable(l) or Serializable(s)
    #[arg(long, default_value = "l")]
    consistency: String,
}

/// Prints etcd's consistency line, or fails on an unknown mode.
pub fn announce_consistency(mode: &str) -> anyhow::Result<bool> {
    match mode {
        "l" => println!("bench with linearizable range"),
        "s" => println!("bench with serializable range"),
        other => anyhow::bail!("--consistency must be l or s, got {other:?}"),
    }
    Ok(mode == "s")
}

/// Runs the range benchmark and prints etcd's report.
pub async fn run(ctx: &Ctx, a: Args) -> anyhow::Result<Outcome> {
    let serializable = announce_consistency(&a.consistency)?;
    let req = RangeRequest {
        key: a.key.into_bytes(),
        range_end: a.end.map(String::into_bytes).unwrap_or_default(),
        serializable,
        ..Default::default()
    };
    let report = runner::run(ctx, "range", a.total, a.rate, move |ch, _| {
        let req = req.clone();
        async move {
            let mut kv = KvClient::new(ch).max_decoding_message_size(MAX_RECV_BYTES);
            kv.range(req)
                .await
                .map(|_| ())
                .map_err(|s| conn::grpc_error(&s))
        }
    })
    .await;
    print!("{}", report.render());
    Ok(vec![report].into())
}
