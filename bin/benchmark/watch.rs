//! `benchmark watch-put`: many watchers open while puts run, as etcd's
//! `benchmark watch` measures: `--streams` gRPC watch streams each carrying
//! `--watchers-per-stream` watchers (on distinct keys), then `--total` puts on
//! the watched keys; prints the put summary and how many events arrived.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::watch_client::WatchClient;
use etcd_proto::etcdserverpb::{watch_request::RequestUnion, PutRequest, WatchCreateRequest, WatchRequest};
use tonic::transport::Channel;

/// Settings of one run.
pub struct WatchPut {
    pub streams: usize,
    pub watchers_per_stream: usize,
    pub total: u64,
    pub clients: usize,
}

fn key(i: u64) -> Vec<u8> {
    format!("watchbench/{i:08}").into_bytes()
}

pub async fn run(channel: Channel, kv: KvClient<Channel>, s: WatchPut) -> anyhow::Result<String> {
    let keys = (s.streams * s.watchers_per_stream).max(1) as u64;
    let received = Arc::new(AtomicU64::new(0));
    let mut holders = Vec::new();
    let opened = Instant::now();
    for st in 0..s.streams {
        let (tx, rx) = tokio::sync::mpsc::channel(s.watchers_per_stream.max(1));
        // Queue the creates first: etcd sends the stream's headers only
        // with its first response.
        for w in 0..s.watchers_per_stream {
            let k = key((st * s.watchers_per_stream + w) as u64);
            let req = WatchRequest {
                request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest { key: k, ..Default::default() })),
            };
            tx.send(req).await?;
        }
        let mut client = WatchClient::new(channel.clone());
        let mut stream = client.watch(tokio_stream::wrappers::ReceiverStream::new(rx)).await?.into_inner();
        let received = received.clone();
        holders.push((tx, tokio::spawn(async move {
            while let Ok(Some(resp)) = stream.message().await {
                received.fetch_add(resp.events.len() as u64, Ordering::Relaxed);
            }
        })));
    }
    let open_secs = opened.elapsed().as_secs_f64();
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..s.clients.max(1) {
        let mut kv = kv.clone();
        let next = next.clone();
        let total = s.total;
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t = Instant::now();
                let req = PutRequest { key: key(i % keys), value: b"v".to_vec(), ..Default::default() };
                if kv.put(req).await.is_ok() { lat.push(t.elapsed()) } else { errors += 1 }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    // Give in-flight events a bounded moment to arrive.
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.load(Ordering::Relaxed) < all.len() as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut out = format!(
        "{} watchers on {} streams opened in {open_secs:.2}s\n",
        s.streams * s.watchers_per_stream,
        s.streams
    );
    out.push_str(&crate::report::render(&all, elapsed, errors));
    out.push_str(&format!("\nEvents received: {} of {}\n", received.load(Ordering::Relaxed), all.len()));
    drop(holders);
    Ok(out)
}
