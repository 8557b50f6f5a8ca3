//! `benchmark watch-latency`: each of `--clients` clients watches one key
//! on its own stream; `--total` puts of that key (at most `--put-rate` a
//! second, from a separate connection) are each timed from the put's send to
//! the arrival of its event at every watcher, so one run yields
//! `total × clients` samples: the fan-out latency. An event missing after
//! [`crate::EVENT_WAIT`] ends the run with an error.

use std::time::Instant;

use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::{PutRequest, WatchCreateRequest};
use tokio::sync::mpsc;

use crate::keys::{mix, random_bytes};
use crate::limiter::Limiter;
use crate::progress::Progress;
use crate::report::Report;
use crate::watch_stream::WatchStream;
use crate::{conn, Ctx, Outcome, EVENT_WAIT};

/// Event arrival times a watcher may have queued ahead of the driver.
const ARRIVAL_QUEUE: usize = 1024;

/// Flags of `watch-latency`.
#[derive(clap::Args)]
pub struct Args {
    /// Total number of put requests
    #[arg(long, default_value_t = 10000)]
    total: u64,
    /// Number of keys to put per second (0 is no limit)
    #[arg(long = "put-rate", default_value_t = 100)]
    put_rate: u64,
    /// Key size of watch response
    #[arg(long = "key-size", default_value_t = 32)]
    key_size: usize,
    /// Value size of watch response
    #[arg(long = "val-size", default_value_t = 32)]
    val_size: usize,
}

/// Runs the watch-latency benchmark and prints etcd's report.
pub async fn run(ctx: &Ctx, a: Args) -> anyhow::Result<Outcome> {
    // A fresh key per run, so old revisions never reach the watchers.
    let seed = mix(u64::from(std::process::id()) ^ now_nanos());
    let key = random_bytes(a.key_size.max(1), seed);
    let value = random_bytes(a.val_size, seed ^ 1);
    let mut arrivals = Vec::with_capacity(ctx.clients);
    let mut senders = Vec::new();
    for c in 0..ctx.clients {
        let mut st = WatchStream::open(
            ctx.channel(c),
            WatchCreateRequest {
                key: key.clone(),
                ..Default::default()
            },
        )
        .await?;
        st.wait_created().await?;
        let (tx, mut rx) = st.into_parts();
        senders.push(tx);
        let (atx, arx) = mpsc::channel(ARRIVAL_QUEUE);
        arrivals.push(arx);
        tokio::spawn(async move {
            while let Ok(Some(resp)) = rx.message().await {
                let now = Instant::now();
                for _ in &resp.events {
                    if atx.send(now).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
    let mut kv = KvClient::new(
        conn::open(&ctx.endpoints, 1, false, std::time::Duration::ZERO)
            .await?
            .remove(0),
    );
    let limiter = Limiter::new(a.put_rate);
    let mut report = Report::new("watch-latency", ctx.precise);
    let progress = Progress::start(a.total);
    let tick = progress.tick();
    'puts: for _ in 0..a.total {
        limiter.wait().await;
        let started = Instant::now();
        if let Err(s) = kv
            .put(PutRequest {
                key: key.clone(),
                value: value.clone(),
                ..Default::default()
            })
            .await
        {
            report.err(conn::grpc_error(&s));
            continue;
        }
        for arx in &mut arrivals {
            match tokio::time::timeout(EVENT_WAIT, arx.recv()).await {
                Ok(Some(t)) => report.ok(t.saturating_duration_since(started)),
                _ => {
                    report.err(format!(
                        "event not received within {}s",
                        EVENT_WAIT.as_secs()
                    ));
                    break 'puts;
                }
            }
        }
        tick.add(1);
    }
    progress.finish();
    report.finish();
    print!("{}", report.render());
    drop(senders);
    Ok(vec![report].into())
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
