//! `benchmark watch`: `--streams` Watch streams each creating
//! `--watch-per-stream` watchers over `--watched-key-total` keys, timed one
//! create at a time (`Watch creation summary:`), then `--put-total` puts
//! round-robin over the watched keys at most `--put-rate` a second; every
//! event is timed from the send of the put that caused it to its arrival
//! (`Watch events received summary:`). Events still missing after
//! [`crate::EVENT_WAIT`] are reported as errors.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::{PutRequest, WatchCreateRequest};
use tokio::sync::Notify;

use crate::keys::{key_number, varint_key};
use crate::progress::Progress;
use crate::report::Report;
use crate::watch_stream::WatchStream;
use crate::{conn, runner, Ctx, Outcome, EVENT_WAIT};

/// Flags of `watch`.
#[derive(clap::Args)]
pub struct Args {
    /// Total watch streams
    #[arg(long, default_value_t = 10)]
    streams: usize,
    /// Total watchers per stream
    #[arg(long = "watch-per-stream", default_value_t = 100)]
    watch_per_stream: usize,
    /// Total number of keys to be watched
    #[arg(long = "watched-key-total", default_value_t = 1)]
    watched_key_total: usize,
    /// Number of keys to put per second (0 is no limit)
    #[arg(long = "put-rate", default_value_t = 0)]
    put_rate: u64,
    /// Number of put requests
    #[arg(long = "put-total", default_value_t = 1000)]
    put_total: u64,
    /// Key size of watch request
    #[arg(long = "key-size", default_value_t = 32)]
    key_size: usize,
    /// Maximum possible keys
    #[arg(long = "key-space-size", default_value_t = 1)]
    key_space_size: i64,
    /// Use sequential keys
    #[arg(long = "sequential-keys")]
    sequential_keys: bool,
}

/// Runs the watch benchmark and prints both of etcd's summaries.
pub async fn run(ctx: &Ctx, a: Args) -> anyhow::Result<Outcome> {
    if a.key_space_size <= 0 {
        anyhow::bail!(
            "expected positive --key-space-size, got ({})",
            a.key_space_size
        );
    }
    if a.streams == 0 || a.watch_per_stream == 0 || a.watched_key_total == 0 {
        anyhow::bail!("--streams, --watch-per-stream and --watched-key-total must be positive");
    }
    let space = a.key_space_size as u64;
    let watched: Vec<Vec<u8>> = (0..a.watched_key_total as u64)
        .map(|i| varint_key(key_number(i, space, a.sequential_keys), a.key_size))
        .collect();
    let mut watchers_of: HashMap<Vec<u8>, u64> = HashMap::new();

    // Creation phase: streams in parallel, creates within a stream in turn.
    let create_report = Arc::new(Mutex::new(Report::new("watch-create", ctx.precise)));
    let progress = Progress::start((a.streams * a.watch_per_stream) as u64);
    let mut tasks = Vec::new();
    for s in 0..a.streams {
        let keys: Vec<Vec<u8>> = (0..a.watch_per_stream)
            .map(|w| watched[(s * a.watch_per_stream + w) % watched.len()].clone())
            .collect();
        for k in &keys {
            *watchers_of.entry(k.clone()).or_insert(0) += 1;
        }
        let (ch, report, tick) = (ctx.channel(s), create_report.clone(), progress.tick());
        tasks.push(tokio::spawn(async move {
            let mut stream: Option<WatchStream> = None;
            for key in keys {
                let req = WatchCreateRequest {
                    key,
                    ..Default::default()
                };
                let started = Instant::now();
                let res = match stream.as_mut() {
                    Some(st) => st.create(req).await.map(|_| ()),
                    None => match WatchStream::open(ch.clone(), req).await {
                        Ok(mut st) => {
                            let r = st.wait_created().await.map(|_| ());
                            stream = Some(st);
                            r
                        }
                        Err(e) => Err(e),
                    },
                };
                let failed = res.is_err();
                report
                    .lock()
                    .expect("report lock")
                    .record(started.elapsed(), res);
                tick.add(1);
                if failed {
                    break;
                }
            }
            stream
        }));
    }
    let mut streams = Vec::new();
    for t in tasks {
        streams.extend(t.await?);
    }
    progress.finish();
    let mut create_report = std::mem::replace(
        &mut *create_report.lock().expect("lock"),
        Report::new("", false),
    );
    create_report.finish();
    print!("Watch creation summary:\n{}", create_report.render());

    // Put phase: every event is timed from its put's send.
    let events_total: u64 = (0..a.put_total)
        .map(|i| watchers_of[&watched[(i as usize) % watched.len()]])
        .sum();
    let sent_at: Arc<Vec<OnceLock<Instant>>> =
        Arc::new((0..a.put_total).map(|_| OnceLock::new()).collect());
    let event_report = Arc::new(Mutex::new(Report::new("watch-events", ctx.precise)));
    let remaining = Arc::new(AtomicU64::new(events_total));
    let all_arrived = Arc::new(Notify::new());
    let progress = Progress::start(events_total);
    let mut senders = Vec::new();
    for st in streams {
        let (tx, mut rx) = st.into_parts();
        senders.push(tx);
        let (sent_at, report, remaining, all_arrived, tick) = (
            sent_at.clone(),
            event_report.clone(),
            remaining.clone(),
            all_arrived.clone(),
            progress.tick(),
        );
        tokio::spawn(async move {
            while let Ok(Some(resp)) = rx.message().await {
                let now = Instant::now();
                for ev in &resp.events {
                    let idx = ev
                        .kv
                        .as_ref()
                        .and_then(|kv| std::str::from_utf8(&kv.value).ok()?.parse::<usize>().ok());
                    let lat = idx
                        .and_then(|i| sent_at.get(i)?.get().copied())
                        .map(|t| now.saturating_duration_since(t));
                    report
                        .lock()
                        .expect("report lock")
                        .record(lat.unwrap_or_default(), Ok::<(), String>(()));
                    tick.add(1);
                    if remaining
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| r.checked_sub(1))
                        == Ok(1)
                    {
                        all_arrived.notify_one();
                    }
                }
            }
        });
    }
    let watched = Arc::new(watched);
    let puts = {
        let (watched, sent_at) = (watched.clone(), sent_at.clone());
        runner::run(ctx, "watch-put", a.put_total, a.put_rate, move |ch, i| {
            let req = PutRequest {
                key: watched[(i as usize) % watched.len()].clone(),
                value: i.to_string().into_bytes(),
                ..Default::default()
            };
            let sent_at = sent_at.clone();
            async move {
                let _ = sent_at[i as usize].set(Instant::now());
                KvClient::new(ch)
                    .put(req)
                    .await
                    .map(|_| ())
                    .map_err(|s| conn::grpc_error(&s))
            }
        })
        .await
    };
    if events_total > 0 {
        let _ = tokio::time::timeout(EVENT_WAIT, all_arrived.notified()).await;
    }
    progress.finish();
    let missing = remaining.load(Ordering::Relaxed).min(events_total);
    let mut event_report = std::mem::replace(
        &mut *event_report.lock().expect("lock"),
        Report::new("", false),
    );
    for _ in 0..missing {
        event_report.err(format!(
            "event not received within {}s",
            EVENT_WAIT.as_secs()
        ));
    }
    event_report.finish();
    print!("Watch events received summary:\n{}", event_report.render());
    drop(senders);
    Ok(Outcome {
        extra: serde_json::json!({"events_expected": events_total, "events_received": events_total - missing,
            "puts_ok": puts.ok_count(), "puts_failed": puts.error_count()}),
        reports: vec![create_report, event_report, puts],
    })
}
