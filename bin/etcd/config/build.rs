//! From flag values to a validated `EtcdConfig`: etcd's adjustments, then its checks in
//! etcd's order (logging first, then URLs, bootstrap flags, timing, advertise URLs,
//! compaction, lease checkpoints), so the first error reported is the one etcd reports.

use super::store::FlagStore;
use super::url::{join_urls, EtcdUrl};
use super::{ClusterState, ConfigError, EtcdConfig, Invalid, LogSettings, StartupLog, TlsSettings};

/// Where the values came from; etcd adjusts them slightly differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    CommandLine,
    File,
}

/// etcd's default `--name`.
const DEFAULT_NAME: &str = "default";
/// etcd's default `--initial-cluster`, i.e. the default name with the default peer URL.
const DEFAULT_INITIAL_CLUSTER: &str = "default=http://localhost:2380";
/// Longest election timeout etcd accepts.
const ELECTION_TIMEOUT_MS_MAX: u64 = 50_000;

/// The effective logging settings.
pub(crate) fn log_settings(
    logger: &str,
    level: &str,
    debug: bool,
    outputs: &[String],
) -> LogSettings {
    let level = if debug && logger == "capnslog" {
        "debug"
    } else {
        level
    };
    LogSettings {
        logger: logger.to_string(),
        level: level.to_string(),
        outputs: outputs.to_vec(),
    }
}

/// The advertise-URL facts etcd's adjustments leave behind.
struct Adjusted {
    advertise_client_urls: Vec<EtcdUrl>,
    /// `--listen-client-urls` was set without `--advertise-client-urls`.
    advertise_unset: bool,
    /// etcd may run as a v2 proxy, which needs no advertise URLs.
    may_be_proxy: bool,
}

/// etcd's adjustments before validation (see the `config` module docs, step 5).
fn adjust(store: &mut FlagStore, source: Source) -> Adjusted {
    let may_be_proxy = store.str("proxy") != "off"
        || (!store.str("discovery").is_empty() && store.str("discovery-fallback") == "proxy");
    let mut adjusted = Adjusted {
        advertise_client_urls: store.urls("advertise-client-urls").to_vec(),
        advertise_unset: false,
        may_be_proxy,
    };
    if source == Source::CommandLine {
        if store.is_set("listen-client-urls")
            && !store.is_set("advertise-client-urls")
            && !may_be_proxy
        {
            adjusted.advertise_client_urls.clear();
            adjusted.advertise_unset = true;
        }
        let discovery = !store.str("discovery").is_empty()
            || !store.str("discovery-srv").is_empty()
            || !store.str("discovery-srv-name").is_empty();
        if discovery && !store.is_set("initial-cluster") {
            store.put_str("initial-cluster", String::new());
        }
    } else {
        let discovery =
            !store.str("discovery").is_empty() || !store.str("discovery-srv").is_empty();
        if discovery && store.str("initial-cluster") == DEFAULT_INITIAL_CLUSTER {
            store.put_str("initial-cluster", String::new());
        }
        if store.str("initial-cluster-state").is_empty() {
            store.put_str("initial-cluster-state", "new".to_string());
        }
    }
    adjusted
}

/// etcd's checks after logging, in etcd's order. `Err` carries the message and whether
/// it is the missing-advertise-URL error.
fn validate(store: &FlagStore, adjusted: &Adjusted) -> Result<ClusterState, (String, bool)> {
    let plain = |reason: String| (reason, false);
    for name in [
        "listen-peer-urls",
        "listen-client-urls",
        "listen-metrics-urls",
    ] {
        check_bind_urls(store.urls(name)).map_err(plain)?;
    }
    check_host_urls(
        "--initial-advertise-peer-urls",
        store.urls("initial-advertise-peer-urls"),
    )
    .map_err(plain)?;
    check_host_urls("--advertise-client-urls", &adjusted.advertise_client_urls).map_err(plain)?;
    let state = match store.str("initial-cluster-state") {
        "new" => ClusterState::New,
        "existing" => ClusterState::Existing,
        other => return Err(plain(format!("unexpected clusterState {other:?}"))),
    };
    let bootstrap_sources = [
        store.str("discovery"),
        store.str("initial-cluster"),
        store.str("discovery-srv"),
    ];
    if bootstrap_sources.iter().filter(|s| !s.is_empty()).count() > 1 {
        return Err(plain(
            "multiple discovery or bootstrap flags are set. Choose one of \"initial-cluster\", \"discovery\" or \"discovery-srv\"".to_string(),
        ));
    }
    check_timing(
        store.uint("heartbeat-interval"),
        store.uint("election-timeout"),
    )
    .map_err(plain)?;
    if adjusted.advertise_unset && !adjusted.may_be_proxy {
        return Err((
            "--advertise-client-urls is required when --listen-client-urls is set explicitly"
                .to_string(),
            true,
        ));
    }
    match store.str("auto-compaction-mode") {
        "" | "periodic" | "revision" => {}
        other => return Err(plain(format!("unknown auto-compaction-mode {other:?}"))),
    }
    if store.bool("experimental-enable-lease-checkpoint-persist")
        && !store.bool("experimental-enable-lease-checkpoint")
    {
        return Err(plain(
            "setting experimental-enable-lease-checkpoint-persist requires experimental-enable-lease-checkpoint".to_string(),
        ));
    }
    Ok(state)
}

/// Heartbeat and election timeout limits.
fn check_timing(heartbeat_interval_ms: u64, election_timeout_ms: u64) -> Result<(), String> {
    if heartbeat_interval_ms == 0 {
        return Err(format!(
            "--heartbeat-interval must be >0 (set to {heartbeat_interval_ms}ms)"
        ));
    }
    if election_timeout_ms == 0 {
        return Err(format!(
            "--election-timeout must be >0 (set to {election_timeout_ms}ms)"
        ));
    }
    if heartbeat_interval_ms.saturating_mul(5) > election_timeout_ms {
        return Err(format!(
            "--election-timeout[{election_timeout_ms}ms] should be at least as 5 times as --heartbeat-interval[{heartbeat_interval_ms}ms]"
        ));
    }
    if election_timeout_ms > ELECTION_TIMEOUT_MS_MAX {
        return Err(format!(
            "--election-timeout[{election_timeout_ms}ms] is too long, and should be set less than {ELECTION_TIMEOUT_MS_MAX}ms"
        ));
    }
    Ok(())
}

/// Builds and validates (see module docs).
pub(crate) fn build(mut store: FlagStore, source: Source) -> Result<EtcdConfig, ConfigError> {
    let adjusted = adjust(&mut store, source);
    let mut logs = std::mem::take(&mut store.logs);
    let (checked, deprecation_warnings) = check_logging(&store);
    let fail = |reason: String, logging: Option<LogSettings>, unset: bool| {
        ConfigError::Invalid(Box::new(Invalid {
            reason,
            logs: logs.clone(),
            stderr_lines: deprecation_warnings.clone(),
            logging,
            advertise_client_urls_unset: unset,
        }))
    };
    let log_outputs = checked.map_err(|r| fail(r, None, false))?;
    let logging = log_settings(
        store.str("logger"),
        store.str("log-level"),
        store.bool("debug"),
        &log_outputs,
    );
    let initial_cluster_state = validate(&store, &adjusted)
        .map_err(|(reason, unset)| fail(reason, Some(logging), unset))?;
    let heartbeat_interval_ms = store.uint("heartbeat-interval");
    let election_timeout_ms = store.uint("election-timeout");
    let advertise_client_urls = adjusted.advertise_client_urls;

    let name = store.str("name").to_string();
    let mut data_dir = store.str("data-dir").to_string();
    if data_dir.is_empty() {
        data_dir = format!("{name}.etcd");
        logs.push(StartupLog::DataDirDefaulted {
            data_dir: data_dir.clone(),
        });
    }
    let mut config = EtcdConfig {
        name,
        data_dir,
        wal_dir: store.str("wal-dir").to_string(),
        snapshot_count: store.uint("snapshot-count"),
        heartbeat_interval_ms,
        election_timeout_ms,
        initial_election_tick_advance: store.bool("initial-election-tick-advance"),
        listen_peer_urls: store.urls("listen-peer-urls").to_vec(),
        listen_client_urls: store.urls("listen-client-urls").to_vec(),
        max_snapshots: store.uint("max-snapshots"),
        max_wals: store.uint("max-wals"),
        quota_backend_bytes: store.int("quota-backend-bytes"),
        backend_batch_interval_ms: store.duration_ms("backend-batch-interval"),
        backend_batch_limit: store.int("backend-batch-limit"),
        max_txn_ops: store.uint("max-txn-ops"),
        max_request_bytes: store.uint("max-request-bytes"),
        max_concurrent_streams: u32::try_from(store.uint("max-concurrent-streams"))
            .unwrap_or(u32::MAX),
        grpc_keepalive_min_time_ms: store.duration_ms("grpc-keepalive-min-time"),
        grpc_keepalive_interval_ms: store.duration_ms("grpc-keepalive-interval"),
        grpc_keepalive_timeout_ms: store.duration_ms("grpc-keepalive-timeout"),
        initial_advertise_peer_urls: store.urls("initial-advertise-peer-urls").to_vec(),
        initial_cluster: store.str("initial-cluster").to_string(),
        initial_cluster_state,
        initial_cluster_token: store.str("initial-cluster-token").to_string(),
        advertise_client_urls,
        discovery: store.str("discovery").to_string(),
        discovery_fallback: store.str("discovery-fallback").to_string(),
        discovery_proxy: store.str("discovery-proxy").to_string(),
        discovery_srv: store.str("discovery-srv").to_string(),
        discovery_srv_name: store.str("discovery-srv-name").to_string(),
        strict_reconfig_check: store.bool("strict-reconfig-check"),
        pre_vote: store.bool("pre-vote"),
        auto_compaction_retention: store.str("auto-compaction-retention").to_string(),
        auto_compaction_mode: store.str("auto-compaction-mode").to_string(),
        enable_v2: store.bool("enable-v2"),
        client_tls: tls(&store, ""),
        peer_tls: tls(&store, "peer-"),
        cipher_suites: store.list("cipher-suites").to_vec(),
        cors: store.list("cors").to_vec(),
        host_whitelist: store.list("host-whitelist").to_vec(),
        auth_token: store.str("auth-token").to_string(),
        bcrypt_cost: store.uint("bcrypt-cost"),
        auth_token_ttl_secs: store.uint("auth-token-ttl"),
        enable_pprof: store.bool("enable-pprof"),
        metrics: store.str("metrics").to_string(),
        listen_metrics_urls: store.urls("listen-metrics-urls").to_vec(),
        logger: store.str("logger").to_string(),
        log_level: store.str("log-level").to_string(),
        log_outputs,
        debug: store.bool("debug"),
        log_package_levels: store.str("log-package-levels").to_string(),
        proxy: store.str("proxy").to_string(),
        proxy_failure_wait_ms: store.uint("proxy-failure-wait"),
        proxy_refresh_interval_ms: store.uint("proxy-refresh-interval"),
        proxy_dial_timeout_ms: store.uint("proxy-dial-timeout"),
        proxy_write_timeout_ms: store.uint("proxy-write-timeout"),
        proxy_read_timeout_ms: store.uint("proxy-read-timeout"),
        experimental_initial_corrupt_check: store.bool("experimental-initial-corrupt-check"),
        experimental_corrupt_check_time_ms: store.duration_ms("experimental-corrupt-check-time"),
        experimental_enable_v2v3: store.str("experimental-enable-v2v3").to_string(),
        experimental_backend_bbolt_freelist_type: store
            .str("experimental-backend-bbolt-freelist-type")
            .to_string(),
        experimental_enable_lease_checkpoint: store.bool("experimental-enable-lease-checkpoint"),
        experimental_enable_lease_checkpoint_persist: store
            .bool("experimental-enable-lease-checkpoint-persist"),
        experimental_compaction_batch_limit: store.int("experimental-compaction-batch-limit"),
        experimental_watch_progress_notify_interval_ms: store
            .duration_ms("experimental-watch-progress-notify-interval"),
        experimental_warning_apply_duration_ms: store
            .duration_ms("experimental-warning-apply-duration"),
        force_new_cluster: store.bool("force-new-cluster"),
        unsafe_no_fsync: store.bool("unsafe-no-fsync"),
        enable_grpc_gateway: store.bool("enable-grpc-gateway"),
        enable_ui: store.bool("enable-ui"),
        config_file: None,
        startup_logs: logs,
        deprecation_warnings,
        explicitly_set: store.set_names().clone(),
        changed: store.changed_names(),
        initial_cluster_derived: false,
    };
    derive_initial_cluster(&mut config);
    Ok(config)
}

fn tls(store: &FlagStore, prefix: &str) -> TlsSettings {
    let peer = !prefix.is_empty();
    let key = |n: &str| format!("{prefix}{n}");
    TlsSettings {
        cert_file: store.str(&key("cert-file")).to_string(),
        key_file: store.str(&key("key-file")).to_string(),
        client_cert_auth: store.bool(&key("client-cert-auth")),
        trusted_ca_file: store.str(&key("trusted-ca-file")).to_string(),
        crl_file: store
            .str(if peer {
                "peer-crl-file"
            } else {
                "client-crl-file"
            })
            .to_string(),
        allowed_hostname: store
            .str(if peer {
                "peer-cert-allowed-hostname"
            } else {
                "client-cert-allowed-hostname"
            })
            .to_string(),
        allowed_cn: if peer {
            store.str("peer-cert-allowed-cn").to_string()
        } else {
            String::new()
        },
        auto_tls: store.bool(&key("auto-tls")),
        skip_client_san_verify: peer
            && store.bool("experimental-peer-skip-client-san-verification"),
    }
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
fn go_quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(" "))
}

/// etcd's logging checks: the effective outputs (or etcd's error), and the
/// `[WARNING]` lines etcd prints to stderr on the way, which it prints even when a
/// later logging check fails.
fn check_logging(store: &FlagStore) -> (Result<Vec<String>, String>, Vec<String>) {
    let mut warnings = Vec::new();
    let outputs = check_logging_into(store, &mut warnings);
    (outputs, warnings)
}

fn check_logging_into(
    store: &FlagStore,
    warnings: &mut Vec<String>,
) -> Result<Vec<String>, String> {
    let deprecated = store.list("log-output").to_vec();
    let mut outputs = store.list("log-outputs").to_vec();
    let default = vec!["default".to_string()];
    if deprecated.len() > outputs.len() {
        warnings.push(
            "'--log-output' flag has been deprecated! Please use '--log-outputs'!".to_string(),
        );
        outputs = deprecated;
    } else if deprecated.len() == outputs.len() {
        if deprecated.len() > 1 {
            return Err(
                "both '--log-output' and '--log-outputs' are set; only set '--log-outputs'"
                    .to_string(),
            );
        }
        if deprecated.is_empty() {
            return Err("either '--log-output' or '--log-outputs' flag must be set".to_string());
        }
        if deprecated == outputs && deprecated != default {
            return Err(format!(
                "'--log-output={}' and '--log-outputs={}' are incompatible; only set --log-outputs",
                go_quote_list(&deprecated),
                go_quote_list(&outputs)
            ));
        }
        if deprecated != default {
            warnings.push(format!(
                "[WARNING] Deprecated '--log-output' flag is set to {}\nPlease use '--log-outputs' flag",
                go_quote_list(&deprecated)
            ));
        }
    }
    let debug = store.bool("debug");
    let level = store.str("log-level");
    if debug {
        warnings.push(
            "[WARNING] Deprecated '--debug' flag is set to true (use '--log-level=debug' instead"
                .to_string(),
        );
        if level != "debug" {
            warnings.push(format!(
                "[WARNING] Deprecated '--debug' flag is set to true with inconsistent '--log-level={level}' flag"
            ));
        }
    }
    if store.str("logger") == "capnslog" {
        warnings.push(crate::logging::CAPNSLOG_WARNING.to_string());
    }
    let package_levels = store.str("log-package-levels");
    if !package_levels.is_empty() {
        warnings.push(format!(
            "[WARNING] Deprecated '--log-package-levels={package_levels}' flag is set; use '--logger=zap' flag instead"
        ));
    }
    let level_known = matches!(
        level,
        "debug" | "info" | "warn" | "error" | "dpanic" | "panic" | "fatal"
    );
    match store.str("logger") {
        "capnslog" => {
            if !debug && !level_known {
                return Err(format!("unknown level {level:?}"));
            }
            if outputs.len() != 1 {
                return Err(format!(
                    "--logger=capnslog supports only 1 value in '--log-outputs', got {}",
                    go_quote_list(&outputs)
                ));
            }
            if !matches!(outputs[0].as_str(), "default" | "stderr" | "stdout") {
                return Err(format!(
                    "unknown log-output {:?} (only supports \"default\", \"stderr\", \"stdout\")",
                    outputs[0]
                ));
            }
        }
        "zap" => {
            if outputs.is_empty() {
                outputs = default;
            }
            if outputs.len() > 1 && outputs.iter().any(|o| o == "default") {
                return Err("multi logoutput for \"default\" is not supported yet".to_string());
            }
            if !level_known {
                return Err(format!("unknown level {level:?}"));
            }
        }
        other => return Err(format!("unknown logger option {other:?}")),
    }
    Ok(outputs)
}

/// Listen URLs must name an IP address (or `localhost`), except unix sockets.
fn check_bind_urls(urls: &[EtcdUrl]) -> Result<(), String> {
    for url in urls.iter().filter(|u| !u.is_unix()) {
        let host = url.hostname();
        if host != "localhost" && host.parse::<std::net::IpAddr>().is_err() {
            return Err(format!("expected IP in URL for binding ({url})"));
        }
    }
    Ok(())
}

/// Advertised URLs need a host.
fn check_host_urls(flag: &str, urls: &[EtcdUrl]) -> Result<(), String> {
    match urls.iter().find(|u| u.hostname().is_empty()) {
        None => Ok(()),
        Some(bad) => Err(format!(
            "{flag} {:?} must be \"host:port\" (unexpected empty host ({bad}))",
            join_urls(urls)
        )),
    }
}

/// The initial cluster from the name and advertised peer URLs (etcd's
/// `InitialClusterFromName`).
fn cluster_from_name(config: &EtcdConfig) -> String {
    let name = if config.name.is_empty() {
        DEFAULT_NAME
    } else {
        &config.name
    };
    config
        .initial_advertise_peer_urls
        .iter()
        .map(|u| format!("{name}={u}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A non-default name with the default initial cluster gets a cluster of itself.
fn derive_initial_cluster(config: &mut EtcdConfig) {
    if config.initial_cluster == DEFAULT_INITIAL_CLUSTER || config.initial_cluster_derived {
        config.initial_cluster_derived = true;
        if config.name != DEFAULT_NAME {
            config.initial_cluster = cluster_from_name(config);
        }
    }
}

/// See `EtcdConfig::apply_default_host`.
pub(crate) fn apply_default_host(config: &mut EtcdConfig, host: &str) -> bool {
    let default_peer = config.initial_advertise_peer_urls.len() == 1
        && config.initial_advertise_peer_urls[0].as_str() == "http://localhost:2380";
    let default_client = config.advertise_client_urls.len() == 1
        && config.advertise_client_urls[0].as_str() == "http://localhost:2379";
    let mut used = false;
    if let Some(listen) = config.listen_peer_urls.first().cloned() {
        if default_peer && listen.hostname() == "0.0.0.0" {
            if let Some(url) = replaced_host(&config.initial_advertise_peer_urls[0], host, &listen)
            {
                config.initial_advertise_peer_urls[0] = url;
                used = true;
            }
        }
    }
    if config.initial_cluster_derived && config.name != DEFAULT_NAME {
        config.initial_cluster = cluster_from_name(config);
    }
    if let Some(listen) = config.listen_client_urls.first().cloned() {
        if default_client && listen.hostname() == "0.0.0.0" {
            if let Some(url) = replaced_host(&config.advertise_client_urls[0], host, &listen) {
                config.advertise_client_urls[0] = url;
                used = true;
            }
        }
    }
    used
}

fn replaced_host(advertised: &EtcdUrl, host: &str, listen: &EtcdUrl) -> Option<EtcdUrl> {
    let port = listen.port()?;
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    EtcdUrl::parse(&format!("{}://{host}:{port}", advertised.scheme())).ok()
}
