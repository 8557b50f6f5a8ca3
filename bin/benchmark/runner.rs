//! The closed-loop driver most commands share: `--clients` tasks pull request
//! numbers `0..total` from one counter, wait for the `--rate` limiter, run the
//! request and record its latency, so exactly `total` requests are sent
//! whatever the concurrency.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tonic::transport::Channel;

use crate::limiter::Limiter;
use crate::progress::Progress;
use crate::report::Report;
use crate::Ctx;

/// Runs `total` requests `op(channel, i)` over the context's clients and
/// returns the finished report named `name`.
pub async fn run<F, Fut>(ctx: &Ctx, name: &str, total: u64, rate_per_sec: u64, op: F) -> Report
where
    F: Fn(Channel, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    run_by_client(ctx, name, total, rate_per_sec, move |ch, _, i| op(ch, i)).await
}

/// Like [`run`], but `op(channel, client, i)` also learns which client
/// (`0..--clients`) sends request `i`; one client never has two requests
/// in flight.
pub async fn run_by_client<F, Fut>(
    ctx: &Ctx,
    name: &str,
    total: u64,
    rate_per_sec: u64,
    op: F,
) -> Report
where
    F: Fn(Channel, usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let mut reports = run_split(ctx, &[name], total, rate_per_sec, move |ch, c, i| {
        let fut = op(ch, c, i);
        async move { (0, fut.await) }
    })
    .await;
    reports.remove(0)
}

/// Like [`run`], but each request says which of the reports `names` it
/// belongs to (its index), e.g. reads and writes of `txn-mixed`.
pub async fn run_split<F, Fut>(
    ctx: &Ctx,
    names: &[&str],
    total: u64,
    rate_per_sec: u64,
    op: F,
) -> Vec<Report>
where
    F: Fn(Channel, usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = (usize, Result<(), String>)> + Send + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicU64::new(0));
    let limiter = Arc::new(Limiter::new(rate_per_sec));
    let reports: Arc<Mutex<Vec<Report>>> = Arc::new(Mutex::new(
        names.iter().map(|n| Report::new(n, ctx.precise)).collect(),
    ));
    let progress = Progress::start(total);
    let mut tasks = Vec::with_capacity(ctx.clients);
    for c in 0..ctx.clients.max(1) {
        let ch = ctx.channel(c);
        let (op, next, limiter, reports, tick) = (
            op.clone(),
            next.clone(),
            limiter.clone(),
            reports.clone(),
            progress.tick(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                limiter.wait().await;
                let started = Instant::now();
                let (which, result) = op(ch.clone(), c, i).await;
                reports.lock().expect("report lock")[which].record(started.elapsed(), result);
                tick.add(1);
            }
        }));
    }
    for t in tasks {
        if let Err(e) = t.await {
            reports.lock().expect("report lock")[0].err(format!("client task failed: {e}"));
        }
    }
    progress.finish();
    let mut out = std::mem::take(&mut *reports.lock().expect("report lock"));
    for r in &mut out {
        r.finish();
    }
    out
}
