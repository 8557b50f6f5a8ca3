//! etcd 3.4's v2 proxy (`--proxy on|readonly`, or a member whose discovery
//! cluster is full with `--discovery-fallback=proxy`): a stateless reverse
//! proxy in front of a cluster's client URLs. It serves the v2 HTTP API
//! only; the v3 gRPC API is not proxied (etcd says so at start-up, and so do
//! we).
//!
//! Start-up, in etcd's order ([`run`]):
//! 1. `<data-dir>/proxy/` is created; its `cluster` file, when present,
//!    gives the peer URLs ([`cluster_file`]); otherwise `--discovery` (read
//!    without registering) or `--initial-cluster` does.
//! 2. The peers' `/members` answer gives every member's client URLs, the
//!    endpoints ([`members`]); the peer URLs learned are saved back to the
//!    cluster file. This repeats every `--proxy-refresh-interval`
//!    ([`director`]).
//! 3. Each `--listen-client-urls` URL serves the routes of [`serve`];
//!    requests are forwarded by [`reverse`] over kept-alive connections
//!    ([`pool`]) with etcd's dial/read/write timeouts ([`timeout_io`]).
//!
//! A data dir holding `proxy/` starts as a proxy whatever the flags say;
//! one holding both `member/` and `proxy/` is refused ([`data_dir`]).
//!
//! Not implemented: `--discovery-srv` for a proxy (refused with a message),
//! client auto TLS for the proxy's own listeners, `--cors` other than `*`.

pub mod cluster_file;
pub mod data_dir;
pub mod director;
pub mod members;
pub mod metrics;
pub mod pool;
pub mod reverse;
pub mod serve;
pub mod timeout_io;

use std::hash::BuildHasher as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use etcd_transport::tls_dial::PeerDialer;

use crate::config::{EtcdConfig, EtcdUrl};
use crate::tls::ListenerTls;
use director::Director;

/// Client listeners already bound (a member falling back to proxy keeps
/// the ones it bound for itself).
pub type Bound = Vec<(EtcdUrl, tokio::net::TcpListener)>;

/// Go's `%v` of a string slice: `[a b c]`.
fn go_list(urls: &[String]) -> String {
    format!("[{}]", urls.join(" "))
}

/// A fresh shuffle seed (std's per-process random hasher keys).
fn seed() -> u64 {
    std::collections::hash_map::RandomState::new().hash_one(Instant::now())
}

/// The peer URLs to ask first: the cluster file's, else discovery's or
/// `--initial-cluster`'s.
async fn initial_peer_urls(cfg: &EtcdConfig, proxy_dir: &Path) -> anyhow::Result<Vec<String>> {
    let file = cluster_file::path(proxy_dir);
    if let Some(urls) = cluster_file::read(proxy_dir)? {
        if !cfg.discovery.is_empty() {
            tracing::warn!(target: "etcdmain", "discovery token ignored since the proxy has already been initialized. Valid cluster file found at {:?}", file.display().to_string());
        }
        if !cfg.discovery_srv.is_empty() {
            tracing::warn!(target: "etcdmain", "DNS SRV discovery ignored since the proxy has already been initialized. Valid cluster file found at {:?}", file.display().to_string());
        }
        tracing::info!(target: "etcdmain", "proxy: using peer urls {} from cluster file {:?}", go_list(&urls), file.display().to_string());
        return Ok(urls);
    }
    anyhow::ensure!(
        cfg.discovery_srv.is_empty(),
        "etcd-rs: --discovery-srv is not implemented for a v2 proxy; give --initial-cluster or --discovery"
    );
    let cluster = if cfg.discovery.is_empty() {
        cfg.initial_cluster.clone()
    } else {
        etcd_server::discovery_get_cluster(&cfg.discovery, &cfg.discovery_proxy)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
    };
    let map = crate::config::parse_urls_map(&cluster)
        .map_err(|e| anyhow::anyhow!("error setting up initial cluster: {e}"))?;
    let mut urls: Vec<String> = map
        .values()
        .flatten()
        .map(|u| u.as_str().to_string())
        .collect();
    urls.sort();
    tracing::info!(target: "etcdmain", "proxy: using peer urls {} ", go_list(&urls));
    Ok(urls)
}

/// Learns the cluster and keeps the cluster file current (etcd's `uf`).
struct Updater {
    peer_dialer: PeerDialer,
    proxy_dir: PathBuf,
    peer_urls: Mutex<Vec<String>>,
}

impl Updater {
    /// The members' client URLs now (empty when no peer answered).
    async fn client_urls(&self) -> Vec<String> {
        let known = self
            .peer_urls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let cluster = match members::fetch(&self.peer_dialer, &known).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(target: "etcdmain", "proxy: {e}");
                return Vec::new();
            }
        };
        if let Err(e) = cluster_file::write(&self.proxy_dir, &cluster.peer_urls) {
            tracing::warn!(target: "etcdmain", "proxy: error on writing urls {e}");
            return cluster.client_urls;
        }
        if cluster.peer_urls != known {
            tracing::info!(target: "etcdmain", notice = true, "proxy: updated peer urls in cluster file from {} to {}", go_list(&known), go_list(&cluster.peer_urls));
        }
        *self.peer_urls.lock().unwrap_or_else(|p| p.into_inner()) = cluster.peer_urls;
        cluster.client_urls
    }
}

/// Refreshes the endpoints forever (etcd's director loop).
async fn refresh_loop(updater: Arc<Updater>, director: Arc<Mutex<Director>>, interval: Duration) {
    let mut announced = false;
    loop {
        let (available, _) = director
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .available(Instant::now());
        if !available.is_empty() && !announced {
            announced = true;
            let quoted: Vec<String> = available.iter().map(|u| format!("{u:?}")).collect();
            tracing::info!(target: "proxy/httpproxy", "endpoints found {}", go_list(&quoted));
        }
        tokio::time::sleep(Director::next_refresh_in(interval, available.len())).await;
        let urls = updater.client_urls().await;
        director
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(urls, seed());
    }
}

/// How the proxy dials members' client URLs: the client TLS settings, or
/// the peer ones when none are given (etcd's old proxy behaviour).
fn client_dialer(cfg: &EtcdConfig, tls: &ListenerTls) -> anyhow::Result<PeerDialer> {
    if cfg.client_tls.is_empty() {
        return Ok(tls.peer_dialer.clone());
    }
    let info = crate::tls::info(&cfg.client_tls, &cfg.cipher_suites);
    Ok(PeerDialer::from_info(&info)?)
}

/// Starts the proxy and serves until the process ends. `bound` are client
/// listeners already bound; otherwise `--listen-client-urls` are bound here.
pub async fn run(cfg: &EtcdConfig, tls: &ListenerTls, bound: Option<Bound>) -> anyhow::Result<()> {
    tracing::info!(target: "etcdmain", notice = true, "proxy: this proxy supports v2 API only!");
    let pool = pool::Pool::new(
        client_dialer(cfg, tls)?,
        pool::Timeouts {
            dial: Duration::from_millis(cfg.proxy_dial_timeout_ms),
            read: Duration::from_millis(cfg.proxy_read_timeout_ms),
            write: Duration::from_millis(cfg.proxy_write_timeout_ms),
        },
    );
    let proxy_dir = Path::new(&cfg.data_dir).join("proxy");
    data_dir::create_private(&proxy_dir)
        .with_context(|| format!("mkdir {}", proxy_dir.display()))?;
    let peer_urls = initial_peer_urls(cfg, &proxy_dir).await?;
    let updater = Arc::new(Updater {
        peer_dialer: tls.peer_dialer.clone(),
        proxy_dir,
        peer_urls: Mutex::new(peer_urls),
    });
    let director = Arc::new(Mutex::new(Director::new(Duration::from_millis(
        cfg.proxy_failure_wait_ms,
    ))));
    let first = updater.client_urls().await;
    director
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .replace(first, seed());
    let interval = Duration::from_millis(cfg.proxy_refresh_interval_ms);
    tokio::spawn(refresh_loop(updater, director.clone(), interval));

    let metrics = Arc::new(metrics::ProxyMetrics::default());
    let handler = Arc::new(serve::Handler {
        forwarder: reverse::Forwarder {
            director,
            pool,
            metrics: metrics.clone(),
        },
        readonly: cfg.proxy == "readonly",
        metrics,
    });
    let listeners = match bound {
        Some(b) => b,
        None => {
            let mut b = Vec::new();
            for url in &cfg.listen_client_urls {
                b.push((url.clone(), crate::bind(url).await?.0));
            }
            b
        }
    };
    for (url, listener) in listeners {
        let server_tls = if url.is_tls() {
            tls.client_config.clone()
        } else {
            None
        };
        tracing::info!(target: "etcdmain", "v2 proxy started listening on client requests on {:?}", url.as_str());
        tokio::spawn(serve::serve(listener, server_tls, handler.clone()));
    }
    Ok(())
}
