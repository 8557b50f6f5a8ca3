//! `benchmark`: a load generator in the spirit of etcd's `tools/benchmark`.
//!
//! `benchmark --endpoints=127.0.0.1:2379 --clients=1 put --total=10000`
//! prints etcd's summary (total, slowest, fastest, average, stddev,
//! requests/sec) and latency percentiles, so runs against etcd and etcd-rs
//! compare side by side. Every run is bounded by `--total`.

mod report;
mod watch;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::{PutRequest, RangeRequest};
use tonic::transport::{Channel, Endpoint};

#[derive(Parser)]
#[command(name = "benchmark", about = "A low-level benchmark tool for etcd3")]
struct Cli {
    /// gRPC endpoints.
    #[arg(long, value_delimiter = ',', default_value = "127.0.0.1:2379")]
    endpoints: Vec<String>,
    /// Total number of gRPC connections.
    #[arg(long, default_value_t = 1)]
    conns: usize,
    /// Total number of gRPC clients.
    #[arg(long, default_value_t = 1)]
    clients: usize,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Benchmark put.
    Put {
        /// Total number of put requests.
        #[arg(long, default_value_t = 10000)]
        total: u64,
        /// Key size of put request.
        #[arg(long = "key-size", default_value_t = 8)]
        key_size: usize,
        /// Value size of put request.
        #[arg(long = "val-size", default_value_t = 8)]
        val_size: usize,
        /// Maximum possible keys.
        #[arg(long = "key-space-size", default_value_t = 1)]
        key_space_size: u64,
        /// Use sequential keys.
        #[arg(long = "sequential-keys")]
        sequential_keys: bool,
    },
    /// Puts while many watchers are open (etcd's `benchmark watch`).
    WatchPut {
        /// Watch streams.
        #[arg(long, default_value_t = 10)]
        streams: usize,
        /// Watchers per stream (each on its own key).
        #[arg(long = "watchers-per-stream", default_value_t = 100)]
        watchers_per_stream: usize,
        /// Total number of puts on the watched keys.
        #[arg(long, default_value_t = 10000)]
        total: u64,
    },
    /// Benchmark range.
    Range {
        /// The key to range over.
        key: String,
        /// Range end (exclusive).
        end: Option<String>,
        /// Total number of range requests.
        #[arg(long, default_value_t = 10000)]
        total: u64,
        /// Linearizable (l) or Serializable (s).
        #[arg(long, default_value = "l")]
        consistency: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(run(cli))
}

async fn connect(endpoints: &[String], conns: usize) -> anyhow::Result<Vec<KvClient<Channel>>> {
    let mut out = Vec::with_capacity(conns);
    for i in 0..conns.max(1) {
        let ep = &endpoints[i % endpoints.len()];
        let url = if ep.contains("://") { ep.clone() } else { format!("http://{ep}") };
        let channel = Endpoint::from_shared(url)?.connect().await?;
        out.push(KvClient::new(channel).max_decoding_message_size(usize::MAX));
    }
    Ok(out)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let conns = connect(&cli.endpoints, cli.conns).await?;
    if let Cmd::WatchPut { streams, watchers_per_stream, total } = cli.cmd {
        let ep = &cli.endpoints[0];
        let url = if ep.contains("://") { ep.clone() } else { format!("http://{ep}") };
        let channel = Endpoint::from_shared(url)?.connect().await?;
        let settings = watch::WatchPut { streams, watchers_per_stream, total, clients: cli.clients };
        print!("{}", watch::run(channel, conns[0].clone(), settings).await?);
        return Ok(());
    }
    let (total, op): (u64, Arc<dyn Fn(u64) -> Op + Send + Sync>) = match cli.cmd {
        Cmd::Put { total, key_size, val_size, key_space_size, sequential_keys } => {
            let value = vec![b'x'; val_size];
            let space = key_space_size.max(1);
            (
                total,
                Arc::new(move |i| {
                    let n = if sequential_keys { i % space } else { pseudo_random(i) % space };
                    let mut key = n.to_le_bytes().to_vec();
                    key.resize(key_size.max(8), 0);
                    Op::Put(PutRequest { key, value: value.clone(), ..Default::default() })
                }),
            )
        }
        Cmd::WatchPut { .. } => unreachable!("handled above"),
        Cmd::Range { key, end, total, consistency } => {
            let req = RangeRequest {
                key: key.into_bytes(),
                range_end: end.map(String::into_bytes).unwrap_or_default(),
                serializable: consistency == "s",
                ..Default::default()
            };
            (total, Arc::new(move |_| Op::Range(req.clone())))
        }
    };
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..cli.clients.max(1) {
        let mut client = conns[c % conns.len()].clone();
        let next = next.clone();
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t = Instant::now();
                let ok = match op(i) {
                    Op::Put(r) => client.put(r).await.is_ok(),
                    Op::Range(r) => client.range(r).await.is_ok(),
                };
                if ok {
                    lat.push(t.elapsed());
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut all: Vec<Duration> = Vec::with_capacity(total as usize);
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await?;
        all.extend(lat);
        errors += e;
    }
    print!("{}", report::render(&all, started.elapsed(), errors));
    Ok(())
}

enum Op {
    Put(PutRequest),
    Range(RangeRequest),
}

/// A fixed mixing function: reproducible "random" keys without a dependency.
fn pseudo_random(i: u64) -> u64 {
    let mut x = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
