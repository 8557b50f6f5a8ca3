//! The `etcd` server binary: etcd 3.4's flags, logs and listeners, serving
//! the etcd-rs server.

mod config;
mod logging;
mod proxy;
mod tls;

use std::collections::HashMap;
use std::net::SocketAddr;

use anyhow::Context as _;
use config::{ClusterState, EtcdConfig, EtcdUrl, ParseOutcome};
use etcd_server::{EtcdServer, ServerConfig};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let env: HashMap<String, String> = std::env::vars().collect();
    let cfg = match config::parse(args, &env) {
        Ok(ParseOutcome::Run(cfg)) => *cfg,
        Ok(ParseOutcome::PrintHelp(help)) => {
            help.print();
            std::process::exit(0);
        }
        Ok(ParseOutcome::PrintVersion(text)) => {
            print!("{text}");
            std::process::exit(0);
        }
        Err(e) => {
            e.report();
            std::process::exit(e.exit_code());
        }
    };
    if let Err(e) = cfg.check_implemented() {
        e.report();
        std::process::exit(e.exit_code());
    }
    if let Err(e) = cfg.init_logging() {
        eprintln!("etcd: cannot set up logging: {e:#}");
        std::process::exit(1);
    }
    etcd_server::warnings::set_zap(logging::is_zap());
    etcd_server::metrics::set_extensive(cfg.metrics == "extensive");
    etcd_api::limits::set_client_limits(etcd_api::limits::ClientLimits {
        max_concurrent_streams: cfg.max_concurrent_streams,
        keepalive_min_time_ms: cfg.grpc_keepalive_min_time_ms,
        keepalive_interval_ms: cfg.grpc_keepalive_interval_ms,
        keepalive_timeout_ms: cfg.grpc_keepalive_timeout_ms,
    });
    // Crash points are armed only through the FAILPOINTS environment variable.
    let _failpoints = fail::FailScenario::setup();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("etcd")
        .build()
        .expect("tokio runtime");
    if let Err(e) = runtime.block_on(run(cfg)) {
        // etcd ends a failed start with `plog.Fatalf` (level C).
        tracing::error!(target: "etcdmain", critical = true, "{e:#}");
        std::process::exit(1);
    }
}

/// etcd's `etcdmain` start-up lines (a proxy logs these too).
fn log_version(cfg: &EtcdConfig) {
    let rs = etcd_api::ETCD_RS_VERSION;
    tracing::info!(target: "etcdmain", "etcd Version: {}", etcd_server::ETCD_VERSION);
    tracing::info!(target: "etcdmain", "Git SHA: etcd-rs {rs}");
    tracing::info!(target: "etcdmain", "Go Version: rust (etcd-rs {rs})");
    tracing::info!(target: "etcdmain", "Go OS/Arch: {}/{}", std::env::consts::OS, go_arch());
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    tracing::info!(target: "etcdmain", "setting maximum number of CPUs to {cpus}, total number of available CPUs is {cpus}");
    cfg.log_data_dir_defaulted();
}

/// etcd's `embed` start-up lines of a member.
fn log_banner(cfg: &EtcdConfig) {
    tracing::info!(target: "embed", "name = {}", cfg.name);
    tracing::info!(target: "embed", "data dir = {}", cfg.data_dir);
    tracing::info!(target: "embed", "member dir = {}/member", cfg.data_dir);
    tracing::info!(target: "embed", "heartbeat = {}ms", cfg.heartbeat_interval_ms);
    tracing::info!(target: "embed", "election = {}ms", cfg.election_timeout_ms);
    tracing::info!(target: "embed", "snapshot count = {}", cfg.snapshot_count);
    if !cfg.discovery.is_empty() {
        tracing::info!(target: "embed", "discovery URL= {}", cfg.discovery);
    }
    tracing::info!(target: "embed", "advertise client URLs = {}", config::join_urls(&cfg.advertise_client_urls));
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn url_strings(urls: &[EtcdUrl]) -> Vec<String> {
    urls.iter().map(|u| u.as_str().to_string()).collect()
}

fn server_config(cfg: &EtcdConfig) -> ServerConfig {
    let defaults = ServerConfig::for_tests(cfg.data_dir.clone().into());
    ServerConfig {
        name: cfg.name.clone(),
        data_dir: cfg.data_dir.clone().into(),
        wal_dir: (!cfg.wal_dir.is_empty()).then(|| cfg.wal_dir.clone().into()),
        snapshot_count: cfg.snapshot_count,
        heartbeat_ms: cfg.heartbeat_interval_ms,
        election_ms: cfg.election_timeout_ms,
        initial_cluster: cfg.initial_cluster.clone(),
        initial_cluster_state_new: cfg.initial_cluster_state == ClusterState::New,
        initial_cluster_token: cfg.initial_cluster_token.clone(),
        initial_advertise_peer_urls: url_strings(&cfg.initial_advertise_peer_urls),
        advertise_client_urls: url_strings(&cfg.advertise_client_urls),
        max_txn_ops: cfg.max_txn_ops as usize,
        max_request_bytes: cfg.max_request_bytes as usize,
        quota_backend_bytes: cfg.quota_backend_bytes,
        backend_batch_interval_ms: match cfg.backend_batch_interval_ms {
            0 => defaults.backend_batch_interval_ms,
            ms => ms,
        },
        backend_batch_limit: match cfg.backend_batch_limit {
            n if n <= 0 => defaults.backend_batch_limit,
            n => n as usize,
        },
        lease_checkpoint: cfg.experimental_enable_lease_checkpoint,
        watch_progress_notify_interval_ms: cfg.experimental_watch_progress_notify_interval_ms,
        lease_checkpoint_persist: cfg.experimental_enable_lease_checkpoint_persist,
        auth_token: cfg.auth_token.clone(),
        auth_token_ttl_s: cfg.auth_token_ttl_secs,
        bcrypt_cost: cfg.bcrypt_cost as u32,
        enable_v2: cfg.enable_v2,
        enable_ui: cfg.enable_ui,
        discovery_url: cfg.discovery.clone(),
        discovery_fallback_proxy: cfg.discovery_fallback == "proxy",
        discovery_proxy: cfg.discovery_proxy.clone(),
        discovery_srv: cfg.discovery_srv.clone(),
        discovery_srv_name: cfg.discovery_srv_name.clone(),
        // Set by `run` from the TLS configuration.
        peer_dialer: Default::default(),
        // Checked in `run` (etcd's message on a bad retention).
        auto_compaction: etcd_server::parse_auto_compaction(&cfg.auto_compaction_mode, &cfg.auto_compaction_retention)
            .unwrap_or_default(),
        initial_corrupt_check: cfg.experimental_initial_corrupt_check,
        corrupt_check_time_ms: cfg.experimental_corrupt_check_time_ms,
        strict_reconfig_check: cfg.strict_reconfig_check,
    }
}

/// Binds a listener for an etcd URL (`http://host:port`); a host name is
/// resolved and the first IPv4 address preferred, as Go's `net.Listen` does.
async fn bind(url: &EtcdUrl) -> anyhow::Result<(tokio::net::TcpListener, SocketAddr)> {
    anyhow::ensure!(!url.is_unix(), "unix socket listeners are not implemented yet ({})", url.as_str());
    let addr = match url.socket_addr() {
        Some(a) => a,
        None => {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host(url.host_port())
                .await
                .with_context(|| format!("cannot resolve {}", url.as_str()))?
                .collect();
            addrs
                .iter()
                .find(|a| a.is_ipv4())
                .or_else(|| addrs.first())
                .copied()
                .with_context(|| format!("no address for {}", url.as_str()))?
        }
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listen tcp {addr}"))?;
    Ok((listener, addr))
}

async fn run(cfg: EtcdConfig) -> anyhow::Result<()> {
    log_version(&cfg);
    let kind = proxy::data_dir::identify(&cfg.data_dir)?;
    let as_proxy = match kind {
        proxy::data_dir::Kind::Empty => cfg.proxy != "off",
        k => k == proxy::data_dir::Kind::Proxy,
    };
    if as_proxy {
        let tls = tls::configure_or_exit(&cfg);
        proxy::run(&cfg, &tls, None).await?;
        exit_by_signal(wait_for_signal().await);
    }
    log_banner(&cfg);
    if let Err(e) = etcd_server::parse_auto_compaction(&cfg.auto_compaction_mode, &cfg.auto_compaction_retention) {
        tracing::error!(target: "etcdmain", critical = true, "{e}");
        std::process::exit(1);
    }
    let tls = tls::configure_or_exit(&cfg);
    let mut peer_listeners = Vec::new();
    for url in &cfg.listen_peer_urls {
        peer_listeners.push((url, bind(url).await?));
    }
    let mut client_listeners = Vec::new();
    for url in &cfg.listen_client_urls {
        client_listeners.push((url, bind(url).await?));
    }
    let mut metrics_listeners = Vec::new();
    for url in &cfg.listen_metrics_urls {
        anyhow::ensure!(!url.is_tls(), "https metrics listeners are not implemented yet ({})", url.as_str());
        metrics_listeners.push((url, bind(url).await?));
    }
    let mut server_cfg = server_config(&cfg);
    server_cfg.peer_dialer = tls.peer_dialer.clone();
    let server = match EtcdServer::start(server_cfg).await {
        Ok(s) => s,
        Err(etcd_server::ServerError::Discovery(e)) if e.wants_proxy_fallback() => {
            e.log_failure();
            drop(peer_listeners);
            let bound = client_listeners.into_iter().map(|(u, (l, _))| (u.clone(), l)).collect();
            proxy::run(&cfg, &tls, Some(bound)).await?;
            exit_by_signal(wait_for_signal().await);
        }
        Err(etcd_server::ServerError::Discovery(e)) => {
            e.log_failure();
            std::process::exit(1);
        }
        Err(e) => return Err(anyhow::anyhow!("{e}")),
    };
    tracing::info!(target: "etcdserver", "starting server... [version: {}, cluster version: to_be_decided]", etcd_server::ETCD_VERSION);
    for (url, (listener, addr)) in peer_listeners {
        tracing::info!(target: "embed", "listening for peers on {addr}");
        tls.spawn_peer(url, listener, addr, server.peer_router());
    }
    server.wait_ready().await;
    tracing::info!(target: "embed", "ready to serve client requests");
    for (url, (listener, addr)) in client_listeners {
        tls.spawn_client(url, listener, addr, server.clone());
    }
    for (url, (listener, addr)) in metrics_listeners {
        tracing::info!(target: "embed", "listening for metrics on {}", url.as_str());
        let s = server.clone();
        tokio::spawn(async move {
            if let Err(e) = etcd_api::serve_metrics(listener, s).await {
                tracing::error!(target: "embed", "metrics listener on {addr} failed: {e}");
            }
        });
    }
    let signal = wait_for_signal().await;
    server.stop().await;
    exit_by_signal(signal)
}

/// Ends the process by `signal` itself, as etcd does, so a supervisor sees
/// why it stopped.
fn exit_by_signal(signal: i32) -> ! {
    // SAFETY: restoring the default disposition and raising a signal are
    // async-signal-safe and touch no Rust state.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
    std::process::exit(128 + signal)
}

/// Waits for SIGTERM or SIGINT, logs etcd's shutdown notice and says which.
async fn wait_for_signal() -> i32 {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    let signal = tokio::select! {
        _ = term.recv() => libc::SIGTERM,
        _ = int.recv() => libc::SIGINT,
    };
    let name = if signal == libc::SIGINT { "interrupt" } else { "terminated" };
    tracing::info!(target: "pkg/osutil", notice = true, "received {name} signal, shutting down...");
    signal
}
