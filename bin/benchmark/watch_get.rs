//! `benchmark watch-get`: serializable Range requests timed while
//! `--watchers` unsynced watchers (spread over `--streams` streams) catch up
//! on `--events` old revisions of one key. Gets run from the first create
//! until every watcher has its events, or [`WATCH_GET_LIMIT`] passes (the
//! shortfall is then reported as errors). Prints `Get during watch summary:`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::{PutRequest, RangeRequest, WatchCreateRequest};
use tokio::sync::Notify;

use crate::progress::Progress;
use crate::report::Report;
use crate::watch_stream::WatchStream;
use crate::{conn, Ctx, Outcome};

/// Longest the watchers may take to catch up.
const WATCH_GET_LIMIT: Duration = Duration::from_secs(120);
/// The key the watchers watch.
const WATCH_KEY: &[u8] = b"watchkey";

/// Flags of `watch-get`.
#[derive(clap::Args)]
pub struct Args {
    /// Total number of watchers
    #[arg(long, default_value_t = 10000)]
    watchers: usize,
    /// Total number of watcher streams
    #[arg(long, default_value_t = 1)]
    streams: usize,
    /// Number of events per watcher
    #[arg(long, default_value_t = 8)]
    events: u64,
}

/// Runs the watch-get benchmark and prints etcd's summary.
pub async fn run(ctx: &Ctx, a: Args) -> anyhow::Result<Outcome> {
    if a.streams == 0 || a.events == 0 {
        anyhow::bail!("--streams and --events must be positive");
    }
    let mut kv = KvClient::new(ctx.channel(0));
    let mut first_rev = 0;
    for i in 0..a.events {
        let resp = kv
            .put(PutRequest {
                key: WATCH_KEY.to_vec(),
                value: i.to_string().into_bytes(),
                ..Default::default()
            })
            .await
            .map_err(|s| anyhow::anyhow!(conn::grpc_error(&s)))?
            .into_inner();
        if i == 0 {
            first_rev = resp.header.map(|h| h.revision).unwrap_or_default();
        }
    }
    let expected = a.watchers as u64 * a.events;
    let progress = Progress::start(expected);
    let received = Arc::new(AtomicU64::new(0));
    let done = Arc::new(Notify::new());
    let stop = Arc::new(AtomicBool::new(false));
    let report = Arc::new(Mutex::new(Report::new("watch-get", ctx.precise)));

    // Gets on their own connection, from before the first create until done.
    let getter = {
        let get_ch = conn::open(&ctx.endpoints, 1, false, Duration::ZERO)
            .await?
            .remove(0);
        let (stop, report) = (stop.clone(), report.clone());
        tokio::spawn(async move {
            let mut kv = KvClient::new(get_ch);
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let req = RangeRequest {
                    key: b"abc".to_vec(),
                    serializable: true,
                    ..Default::default()
                };
                let res = kv
                    .range(req)
                    .await
                    .map(|_| ())
                    .map_err(|s| conn::grpc_error(&s));
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                report
                    .lock()
                    .expect("report lock")
                    .record(started.elapsed(), res);
            }
        })
    };
    let create = || WatchCreateRequest {
        key: WATCH_KEY.to_vec(),
        start_revision: first_rev,
        ..Default::default()
    };
    let mut senders = Vec::new();
    for s in 0..a.streams.min(a.watchers.max(1)) {
        let n = a.watchers / a.streams + usize::from(s < a.watchers % a.streams);
        if n == 0 {
            continue;
        }
        let st = WatchStream::open(ctx.channel(s), create()).await?;
        for _ in 1..n {
            st.send_create(create()).await?;
        }
        let (tx, mut rx) = st.into_parts();
        senders.push(tx);
        let (received, done, tick) = (received.clone(), done.clone(), progress.tick());
        tokio::spawn(async move {
            while let Ok(Some(resp)) = rx.message().await {
                let n = resp.events.len() as u64;
                tick.add(n);
                if n > 0 && received.fetch_add(n, Ordering::Relaxed) + n >= expected {
                    done.notify_one();
                }
            }
        });
    }
    if expected > 0 {
        let _ = tokio::time::timeout(WATCH_GET_LIMIT, done.notified()).await;
    }
    stop.store(true, Ordering::Relaxed);
    let _ = getter.await;
    progress.finish();
    let got = received.load(Ordering::Relaxed).min(expected);
    let mut report = std::mem::replace(&mut *report.lock().expect("lock"), Report::new("", false));
    if got < expected {
        report.err(format!(
            "{} of {expected} events not received within {}s",
            expected - got,
            WATCH_GET_LIMIT.as_secs()
        ));
    }
    report.finish();
    print!("Get during watch summary:\n{}", report.render());
    drop(senders);
    Ok(Outcome {
        extra: serde_json::json!({"events_expected": expected, "events_received": got}),
        reports: vec![report],
    })
}
