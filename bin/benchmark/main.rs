//! `benchmark`: etcd's `tools/benchmark`, a low-level load generator talking
//! gRPC to etcd (ours or the real one) directly.
//!
//! `benchmark --endpoints=127.0.0.1:2379 --conns=100 --clients=1000 put --total=100000`
//!
//! Global flags (accepted before or after the command): `--endpoints`,
//! `--conns`, `--clients`, `--target-leader`, `--precise`, `--dial-timeout`.
//! Commands: `put`, `range`, `txn-put`, `txn-mixed`, `watch`, `watch-get`,
//! `watch-latency`, `lease-keepalive`, `stm`, one file each.
//!
//! Output contract:
//! - stdout carries etcd's text report(s) (`Summary:` …, see report.rs) with
//!   etcd's headings (`bench with linearizable range`, `Watch creation summary:` …),
//!   then, always as the very last line, one JSON object:
//!   `{"benchmark":"<command>","reports":[{"name":…,"ok":…,"errors":…,"total_secs":…,
//!   "requests_per_sec":…,"average_secs":…,"p50_secs":…,"p90_secs":…,"p99_secs":…,…}],
//!   "extra":{…}}` — scripts read that line (`tail -n1`), people read the rest.
//! - stderr carries the progress bar (redrawn only on a terminal) and errors.
//! - Every command is bounded by its `--total` (watch: `--put-total`, watch-get:
//!   `--watchers`×`--events`), and waits for watch events at most
//!   [`EVENT_WAIT`]; the exit code is non-zero when setup fails.

mod conn;
mod keys;
mod lease;
mod limiter;
mod progress;
mod put;
mod range;
mod report;
mod runner;
mod stm;
mod txn_mixed;
mod txn_put;
mod watch;
mod watch_get;
mod watch_latency;
mod watch_stream;

use std::time::Duration;

use clap::{Parser, Subcommand};
use tonic::transport::Channel;

use crate::report::Report;

/// Longest wait for watch events still in flight after the last put.
pub const EVENT_WAIT: Duration = Duration::from_secs(30);
/// Largest gRPC message accepted from the server.
pub const MAX_RECV_BYTES: usize = 64 * 1024 * 1024;

#[derive(Parser)]
#[command(
    name = "benchmark",
    about = "A low-level benchmark tool for etcd3",
    long_about = "benchmark is a low-level benchmark tool for etcd3.\nIt uses gRPC client directly and does not depend on\netcd client library."
)]
struct Cli {
    /// gRPC endpoints
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "127.0.0.1:2379",
        global = true
    )]
    endpoints: Vec<String>,
    /// Total number of gRPC connections
    #[arg(long, default_value_t = 1, global = true)]
    conns: usize,
    /// Total number of gRPC clients
    #[arg(long, default_value_t = 1, global = true)]
    clients: usize,
    /// connect only to the leader node
    #[arg(long = "target-leader", global = true)]
    target_leader: bool,
    /// use full floating point precision
    #[arg(long, global = true)]
    precise: bool,
    /// dial timeout for client connections (e.g. 2s, 500ms; 0 means 5s)
    #[arg(long = "dial-timeout", default_value = "0s", value_parser = etcd_gotext::parse_duration, global = true)]
    dial_timeout: Duration,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Benchmark put
    Put(put::Args),
    /// Benchmark range
    Range(range::Args),
    /// Benchmark txn-put
    TxnPut(txn_put::Args),
    /// Benchmark a mixed load of txn-put & txn-range.
    TxnMixed(txn_mixed::Args),
    /// Benchmark watch
    Watch(watch::Args),
    /// Benchmark watch with get
    WatchGet(watch_get::Args),
    /// Benchmark watch latency
    WatchLatency(watch_latency::Args),
    /// Benchmark lease keepalive
    LeaseKeepalive(lease::Args),
    /// Benchmark STM
    Stm(stm::Args),
}

/// What every command gets: the open connections and the global flags.
pub struct Ctx {
    /// `--conns` channels.
    pub channels: Vec<Channel>,
    /// `--clients`.
    pub clients: usize,
    /// `--precise`.
    pub precise: bool,
    /// The endpoints actually used.
    pub endpoints: Vec<String>,
}

impl Ctx {
    /// The channel client `i` uses.
    pub fn channel(&self, i: usize) -> Channel {
        self.channels[i % self.channels.len()].clone()
    }
}

/// What a command hands back for the JSON line.
pub struct Outcome {
    /// Its reports in print order.
    pub reports: Vec<Report>,
    /// Command-specific numbers (e.g. events expected/received).
    pub extra: serde_json::Value,
}

impl From<Vec<Report>> for Outcome {
    fn from(reports: Vec<Report>) -> Outcome {
        Outcome {
            reports,
            extra: serde_json::json!({}),
        }
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let code = rt.block_on(run(cli))?;
    // Leave open watch streams and connections behind without waiting on them.
    rt.shutdown_timeout(Duration::from_millis(100));
    std::process::exit(code);
}

async fn run(cli: Cli) -> anyhow::Result<i32> {
    if cli.clients == 0 || cli.conns == 0 {
        anyhow::bail!("--clients and --conns must be positive");
    }
    let channels = match conn::open(
        &cli.endpoints,
        cli.conns,
        cli.target_leader,
        cli.dial_timeout,
    )
    .await
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e:#}");
            return Ok(1);
        }
    };
    let ctx = Ctx {
        channels,
        clients: cli.clients,
        precise: cli.precise,
        endpoints: cli.endpoints.clone(),
    };
    let (name, outcome) = match cli.cmd {
        Cmd::Put(a) => ("put", put::run(&ctx, a).await?),
        Cmd::Range(a) => ("range", range::run(&ctx, a).await?),
        Cmd::TxnPut(a) => ("txn-put", txn_put::run(&ctx, a).await?),
        Cmd::TxnMixed(a) => ("txn-mixed", txn_mixed::run(&ctx, a).await?),
        Cmd::Watch(a) => ("watch", watch::run(&ctx, a).await?),
        Cmd::WatchGet(a) => ("watch-get", watch_get::run(&ctx, a).await?),
        Cmd::WatchLatency(a) => ("watch-latency", watch_latency::run(&ctx, a).await?),
        Cmd::LeaseKeepalive(a) => ("lease-keepalive", lease::run(&ctx, a).await?),
        Cmd::Stm(a) => ("stm", stm::run(&ctx, a).await?),
    };
    let line = serde_json::json!({
        "benchmark": name,
        "reports": outcome.reports.iter().map(Report::json).collect::<Vec<_>>(),
        "extra": outcome.extra,
    });
    println!("{line}");
    Ok(0)
}
