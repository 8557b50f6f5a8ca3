//! The `etcd` binary's configuration: flags, `ETCD_*` variables and `--config-file`,
//! with etcd 3.4.23's names, defaults, precedence, validation and messages.
//!
//! # Sources and precedence (as etcd)
//! 1. The command line is always parsed first; a syntax error (unknown flag, bad value)
//!    is a [`ConfigError::Usage`]: message plus usage on stderr, exit code 2.
//! 2. `-h`/`--help` → [`ParseOutcome::PrintHelp`]; `--version` → [`ParseOutcome::PrintVersion`].
//! 3. If `--config-file` (or, failing that, `ETCD_CONFIG_FILE`) names a file, the file
//!    alone decides: other flags and `ETCD_*` variables are ignored.
//! 4. Otherwise `ETCD_*` variables fill flags the command line did not set (the flag
//!    wins; a variable for a flag that was also given is fatal, as in etcd).
//! 5. etcd's adjustments: setting `--listen-client-urls` without
//!    `--advertise-client-urls` drops the default advertise URL (so validation asks for
//!    one); discovery flags drop the default `--initial-cluster`; a non-default name
//!    with the default initial cluster derives it from name + advertised peer URLs;
//!    an empty data dir becomes `<name>.etcd`.
//! 6. Validation with etcd's messages ([`ConfigError::Invalid`], exit code 1).
//!
//! # Implemented-or-not gate
//! [`IMPLEMENTED`] lists the flags the server honours today. [`EtcdConfig::check_implemented`]
//! refuses to start when any other flag has a value different from its default, naming
//! all of them (`etcd-rs: flag --<name> is not implemented yet`), so a user never gets
//! silently different behaviour from what the flag promises. Setting such a flag to
//! its default value is accepted.
//!
//! Parsing does no I/O except reading the config file; logs that etcd writes during
//! parsing are returned as [`StartupLog`]s for the caller to emit.

// Not every item is used by main.rs yet; the API is complete on purpose.
#![allow(dead_code)]

mod build;
mod cmdline;
mod file;
mod flags;
mod help;
mod store;
use etcd_server::etcd_url as url;
mod value;

use std::collections::{BTreeSet, HashMap};

pub use help::{Help, USAGE};
#[allow(unused_imports)]
pub use url::{join_urls, parse_urls_map, EtcdUrl};

use store::FlagStore;

/// Flags the server honours today; see the module docs.
pub const IMPLEMENTED: &[&str] = &[
    "metrics",
    "listen-metrics-urls",
    "max-concurrent-streams",
    "grpc-keepalive-min-time",
    "grpc-keepalive-interval",
    "grpc-keepalive-timeout",
    "name",
    "data-dir",
    "wal-dir",
    "snapshot-count",
    "heartbeat-interval",
    "election-timeout",
    "listen-client-urls",
    "advertise-client-urls",
    "listen-peer-urls",
    "initial-advertise-peer-urls",
    "initial-cluster",
    "initial-cluster-state",
    "initial-cluster-token",
    "max-txn-ops",
    "max-request-bytes",
    "backend-batch-interval",
    "backend-batch-limit",
    // etcd-rs always runs Raft with pre-vote; `--pre-vote=true` asks for that.
    "pre-vote",
    "logger",
    "log-level",
    "log-outputs",
    "debug",
    "config-file",
    "version",
    "help",
    "experimental-enable-lease-checkpoint",
    "experimental-enable-lease-checkpoint-persist",
    "experimental-watch-progress-notify-interval",
    "enable-v2",
    "enable-ui",
    "discovery",
    "discovery-fallback",
    "discovery-proxy",
    "discovery-srv",
    "discovery-srv-name",
    "cert-file",
    "key-file",
    "client-cert-auth",
    "client-crl-file",
    "client-cert-allowed-hostname",
    "trusted-ca-file",
    "auto-tls",
    "peer-cert-file",
    "peer-key-file",
    "peer-client-cert-auth",
    "peer-trusted-ca-file",
    "peer-cert-allowed-cn",
    "peer-cert-allowed-hostname",
    "peer-auto-tls",
    "peer-crl-file",
    "cipher-suites",
    "experimental-peer-skip-client-san-verification",
    "quota-backend-bytes",
    "auto-compaction-mode",
    "auto-compaction-retention",
    "experimental-initial-corrupt-check",
    "experimental-corrupt-check-time",
    "auth-token",
    "auth-token-ttl",
    "bcrypt-cost",
    "strict-reconfig-check",
    "proxy",
    "proxy-failure-wait",
    "proxy-refresh-interval",
    "proxy-dial-timeout",
    "proxy-write-timeout",
    "proxy-read-timeout",
];

/// What the command line asks the binary to do.
#[derive(Debug)]
pub enum ParseOutcome {
    /// Start the server with this configuration.
    Run(Box<EtcdConfig>),
    /// Print help (usage to stderr, flag list to stdout) and exit 0.
    PrintHelp(Help),
    /// Print this to stdout and exit 0.
    PrintVersion(String),
}

/// `--initial-cluster-state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterState {
    /// Bootstrap a new cluster.
    New,
    /// Join an existing cluster.
    Existing,
}

/// TLS settings of one side (clients or peers).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// Certificate file.
    pub cert_file: String,
    /// Key file.
    pub key_file: String,
    /// Require client certificates.
    pub client_cert_auth: bool,
    /// CA bundle for verifying the other side.
    pub trusted_ca_file: String,
    /// Certificate revocation list.
    pub crl_file: String,
    /// Host name the other side's certificate must carry.
    pub allowed_hostname: String,
    /// Common name the other side's certificate must carry (peers only).
    pub allowed_cn: String,
    /// Use generated self-signed certificates.
    pub auto_tls: bool,
    /// Skip SAN verification of client certificates (peers only).
    pub skip_client_san_verify: bool,
}

impl TlsSettings {
    /// True when no certificate material is configured (etcd's `TLSInfo.Empty`).
    pub fn is_empty(&self) -> bool {
        self.cert_file.is_empty() && self.key_file.is_empty()
    }
}

/// The effective logging choice, as `logging::init` takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSettings {
    /// `capnslog` or `zap`.
    pub logger: String,
    /// Effective level (`--debug` forces `debug` under capnslog, as in etcd).
    pub level: String,
    /// `default`, `stderr`, `stdout` or file paths.
    pub outputs: Vec<String>,
}

/// A line etcd logs while reading its configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartupLog {
    /// `I | pkg/flags: recognized and used environment variable K=V`
    EnvUsed {
        /// Variable name.
        key: String,
        /// Its value.
        value: String,
    },
    /// `W | pkg/flags: unrecognized environment variable K=V`
    EnvUnrecognized {
        /// Variable name.
        key: String,
        /// Its value.
        value: String,
    },
    /// `W | pkg/flags: flag "-x" is no longer supported - ignoring.`
    IgnoredFlag {
        /// The whole message.
        message: String,
    },
    /// The configuration came from a file; flags and environment were ignored.
    ConfigFileLoaded {
        /// The file's path.
        path: String,
    },
    /// No data dir was given; `<name>.etcd` is used.
    DataDirDefaulted {
        /// The data dir chosen.
        data_dir: String,
    },
}

impl StartupLog {
    /// Written before etcd sets up its logger (the `pkg/flags` lines).
    pub fn is_early(&self) -> bool {
        matches!(
            self,
            StartupLog::EnvUsed { .. }
                | StartupLog::EnvUnrecognized { .. }
                | StartupLog::IgnoredFlag { .. }
        )
    }

    /// Emits the line. `pkg/flags` lines go straight to stderr in capnslog form, as etcd
    /// writes them before its logger exists; the others go through `tracing`, in zap
    /// wording when `zap` is true (initialise logging first).
    pub fn emit(&self, zap: bool) {
        match self {
            StartupLog::EnvUsed { key, value } => crate::logging::early_line(
                'I',
                "pkg/flags",
                &format!("recognized and used environment variable {key}={value}"),
            ),
            StartupLog::EnvUnrecognized { key, value } => crate::logging::early_line(
                'W',
                "pkg/flags",
                &format!("unrecognized environment variable {key}={value}"),
            ),
            StartupLog::IgnoredFlag { message } => {
                crate::logging::early_line('W', "pkg/flags", message)
            }
            StartupLog::ConfigFileLoaded { path } if zap => tracing::info!(
                target: "etcdmain",
                path = %path,
                "loaded server configuration, other configuration command line flags and environment variables will be ignored if provided"
            ),
            StartupLog::ConfigFileLoaded { path } => tracing::info!(
                target: "etcdmain",
                "Loading server configuration from {path:?}. Other configuration command line flags and environment variables will be ignored if provided."
            ),
            StartupLog::DataDirDefaulted { data_dir } if zap => tracing::warn!(
                target: "etcdmain",
                { "data-dir" = %data_dir },
                "'data-dir' was empty; using default"
            ),
            StartupLog::DataDirDefaulted { data_dir } => tracing::warn!(
                target: "etcdmain",
                "no data-dir provided, using default data-dir ./{data_dir}"
            ),
        }
    }
}

/// Details of an invalid configuration.
#[derive(Debug)]
pub struct Invalid {
    /// etcd's message, e.g. `--heartbeat-interval must be >0 (set to 0ms)`.
    pub reason: String,
    /// Lines etcd logs before the error.
    pub logs: Vec<StartupLog>,
    /// `[WARNING] ...` lines etcd prints to stderr before the error.
    pub stderr_lines: Vec<String>,
    /// The logger etcd would report the error with, when it got that far.
    pub logging: Option<LogSettings>,
    /// The error is the missing `--advertise-client-urls` (etcd adds an explanation).
    pub advertise_client_urls_unset: bool,
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Command-line syntax: print the message and [`USAGE`] to stderr, exit 2.
    #[error("{0}")]
    Usage(String),
    /// Parsed but not valid: logged as `error verifying flags, ...`, exit 1.
    #[error("{}", .0.reason)]
    Invalid(Box<Invalid>),
    /// A URL list in the config file is bad: printed to stderr, exit 1.
    #[error("unexpected error setting up {key}: {reason}")]
    FileUrl {
        /// The key etcd names.
        key: &'static str,
        /// Why the URL list is bad.
        reason: String,
    },
    /// An `ETCD_*` variable duplicates a command-line flag: fatal log, exit 1.
    #[error("conflicting environment variable {key:?} is shadowed by corresponding command-line flag (either unset environment variable or disable flag)")]
    EnvShadowed {
        /// The variable.
        key: String,
        /// Lines logged before.
        logs: Vec<StartupLog>,
    },
    /// Flags set that the server does not honour yet (one line per flag).
    #[error("{}", .0.iter().map(|n| format!("etcd-rs: flag --{n} is not implemented yet")).collect::<Vec<_>>().join("\n"))]
    NotImplemented(Vec<String>),
}

impl ConfigError {
    /// An `Invalid` error with only a reason.
    pub(crate) fn invalid(reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid(Box::new(Invalid {
            reason: reason.into(),
            logs: Vec::new(),
            stderr_lines: Vec::new(),
            logging: None,
            advertise_client_urls_unset: false,
        }))
    }

    /// The process exit code etcd uses for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            ConfigError::Usage(_) => 2,
            _ => 1,
        }
    }

    /// Reports the error the way etcd does. Sets up logging itself when needed, so call
    /// it before any other logging initialisation.
    pub fn report(&self) {
        match self {
            ConfigError::Usage(msg) => eprint!("{msg}\n{USAGE}\n"),
            ConfigError::FileUrl { .. } | ConfigError::NotImplemented(_) => eprintln!("{self}"),
            ConfigError::EnvShadowed { logs, .. } => {
                for log in logs {
                    log.emit(false);
                }
                crate::logging::early_line('C', "pkg/flags", &self.to_string());
            }
            ConfigError::Invalid(inv) => report_invalid(inv),
        }
    }
}

fn report_invalid(inv: &Invalid) {
    let zap = inv.logging.as_ref().is_some_and(|l| l.logger == "zap");
    emit_in_order(&inv.logs, &inv.stderr_lines, zap, || {
        let ready = match &inv.logging {
            Some(l) => crate::logging::init_quiet(&l.logger, &l.level, &l.outputs).is_ok(),
            None => false,
        };
        if !ready {
            let _ = crate::logging::init_quiet("capnslog", "info", &["default".to_string()]);
        }
    });
    let reason = &inv.reason;
    if zap {
        tracing::warn!(target: "etcdmain", error = %reason, "failed to verify flags");
        if inv.advertise_client_urls_unset {
            tracing::warn!(target: "etcdmain", error = %reason, "advertise client URLs are not set");
        }
    } else {
        tracing::error!(target: "etcdmain", "error verifying flags, {reason}. See 'etcd --help'.");
        if inv.advertise_client_urls_unset {
            tracing::error!(target: "etcdmain", "When listening on specific address(es), this etcd process must advertise accessible url(s) to each connected client.");
        }
    }
}

/// etcd's output order while it reads its configuration: `pkg/flags` lines (written
/// before any logger exists), the `[WARNING]` lines, then the logger is set up and the
/// remaining lines go through it.
fn emit_in_order(logs: &[StartupLog], stderr_lines: &[String], zap: bool, init: impl FnOnce()) {
    for log in logs.iter().filter(|l| l.is_early()) {
        log.emit(zap);
    }
    for line in stderr_lines {
        eprintln!("{line}");
    }
    init();
    for log in logs.iter().filter(|l| !l.is_early()) {
        log.emit(zap);
    }
}

/// The validated configuration of one `etcd` process.
#[derive(Clone, Debug)]
pub struct EtcdConfig {
    /// `--name`.
    pub name: String,
    /// `--data-dir` (defaulted to `<name>.etcd`).
    pub data_dir: String,
    /// `--wal-dir`; empty means `<data-dir>/member/wal`.
    pub wal_dir: String,
    /// `--snapshot-count`.
    pub snapshot_count: u64,
    /// `--heartbeat-interval`.
    pub heartbeat_interval_ms: u64,
    /// `--election-timeout`.
    pub election_timeout_ms: u64,
    /// `--initial-election-tick-advance`.
    pub initial_election_tick_advance: bool,
    /// `--listen-peer-urls`.
    pub listen_peer_urls: Vec<EtcdUrl>,
    /// `--listen-client-urls`.
    pub listen_client_urls: Vec<EtcdUrl>,
    /// `--max-snapshots` (0 keeps all).
    pub max_snapshots: u64,
    /// `--max-wals` (0 keeps all).
    pub max_wals: u64,
    /// `--quota-backend-bytes` (0: default quota).
    pub quota_backend_bytes: i64,
    /// `--backend-batch-interval` (0: default).
    pub backend_batch_interval_ms: u64,
    /// `--backend-batch-limit` (0: default).
    pub backend_batch_limit: i64,
    /// `--max-txn-ops`.
    pub max_txn_ops: u64,
    /// `--max-request-bytes`.
    pub max_request_bytes: u64,
    /// `--max-concurrent-streams`.
    pub max_concurrent_streams: u32,
    /// `--grpc-keepalive-min-time`.
    pub grpc_keepalive_min_time_ms: u64,
    /// `--grpc-keepalive-interval`.
    pub grpc_keepalive_interval_ms: u64,
    /// `--grpc-keepalive-timeout`.
    pub grpc_keepalive_timeout_ms: u64,
    /// `--initial-advertise-peer-urls`.
    pub initial_advertise_peer_urls: Vec<EtcdUrl>,
    /// `--initial-cluster` (`name=url,...`; see [`parse_urls_map`]).
    pub initial_cluster: String,
    /// `--initial-cluster-state`.
    pub initial_cluster_state: ClusterState,
    /// `--initial-cluster-token`.
    pub initial_cluster_token: String,
    /// `--advertise-client-urls`.
    pub advertise_client_urls: Vec<EtcdUrl>,
    /// `--discovery`.
    pub discovery: String,
    /// `--discovery-fallback` (`proxy` or `exit`).
    pub discovery_fallback: String,
    /// `--discovery-proxy`.
    pub discovery_proxy: String,
    /// `--discovery-srv`.
    pub discovery_srv: String,
    /// `--discovery-srv-name`.
    pub discovery_srv_name: String,
    /// `--strict-reconfig-check`.
    pub strict_reconfig_check: bool,
    /// `--pre-vote`.
    pub pre_vote: bool,
    /// `--auto-compaction-retention` (as given; its unit depends on the mode).
    pub auto_compaction_retention: String,
    /// `--auto-compaction-mode` (`periodic` or `revision`).
    pub auto_compaction_mode: String,
    /// `--enable-v2`.
    pub enable_v2: bool,
    /// Client TLS (`--cert-file`, ...).
    pub client_tls: TlsSettings,
    /// Peer TLS (`--peer-cert-file`, ...).
    pub peer_tls: TlsSettings,
    /// `--cipher-suites`.
    pub cipher_suites: Vec<String>,
    /// `--cors` (sorted, unique; `*` allows all).
    pub cors: Vec<String>,
    /// `--host-whitelist` (sorted, unique; `*` allows all).
    pub host_whitelist: Vec<String>,
    /// `--auth-token`.
    pub auth_token: String,
    /// `--bcrypt-cost`.
    pub bcrypt_cost: u64,
    /// `--auth-token-ttl`.
    pub auth_token_ttl_secs: u64,
    /// `--enable-pprof`.
    pub enable_pprof: bool,
    /// `--metrics` (`basic` or `extensive`).
    pub metrics: String,
    /// `--listen-metrics-urls`.
    pub listen_metrics_urls: Vec<EtcdUrl>,
    /// `--logger`.
    pub logger: String,
    /// `--log-level`.
    pub log_level: String,
    /// `--log-outputs` (after the deprecated `--log-output` is folded in).
    pub log_outputs: Vec<String>,
    /// `--debug`.
    pub debug: bool,
    /// `--log-package-levels`.
    pub log_package_levels: String,
    /// `--proxy` (`off`, `readonly`, `on`).
    pub proxy: String,
    /// `--proxy-failure-wait`.
    pub proxy_failure_wait_ms: u64,
    /// `--proxy-refresh-interval`.
    pub proxy_refresh_interval_ms: u64,
    /// `--proxy-dial-timeout`.
    pub proxy_dial_timeout_ms: u64,
    /// `--proxy-write-timeout`.
    pub proxy_write_timeout_ms: u64,
    /// `--proxy-read-timeout`.
    pub proxy_read_timeout_ms: u64,
    /// `--experimental-initial-corrupt-check`.
    pub experimental_initial_corrupt_check: bool,
    /// `--experimental-corrupt-check-time`.
    pub experimental_corrupt_check_time_ms: u64,
    /// `--experimental-enable-v2v3`.
    pub experimental_enable_v2v3: String,
    /// `--experimental-backend-bbolt-freelist-type`.
    pub experimental_backend_bbolt_freelist_type: String,
    /// `--experimental-enable-lease-checkpoint`.
    pub experimental_enable_lease_checkpoint: bool,
    /// `--experimental-enable-lease-checkpoint-persist`.
    pub experimental_enable_lease_checkpoint_persist: bool,
    /// `--experimental-compaction-batch-limit` (0: default).
    pub experimental_compaction_batch_limit: i64,
    /// `--experimental-watch-progress-notify-interval` (0: default).
    pub experimental_watch_progress_notify_interval_ms: u64,
    /// `--experimental-warning-apply-duration`.
    pub experimental_warning_apply_duration_ms: u64,
    /// `--force-new-cluster`.
    pub force_new_cluster: bool,
    /// `--unsafe-no-fsync`.
    pub unsafe_no_fsync: bool,
    /// `--enable-grpc-gateway`.
    pub enable_grpc_gateway: bool,
    /// `--enable-ui` (etcd-rs only): serve the built-in web UI under `/ui/`.
    pub enable_ui: bool,
    /// `--config-file`, when the configuration came from one.
    pub config_file: Option<String>,
    /// Lines etcd logs about its configuration; emit them (see [`StartupLog::emit`])
    /// after logging is initialised. `pkg/flags` ones come first.
    pub startup_logs: Vec<StartupLog>,
    /// `[WARNING] ...` lines etcd prints to stderr for deprecated logging flags.
    deprecation_warnings: Vec<String>,
    explicitly_set: BTreeSet<String>,
    changed: BTreeSet<String>,
    /// `initial_cluster` is etcd's default, or derived from it by name.
    initial_cluster_derived: bool,
}

impl EtcdConfig {
    /// Flag names the user set, by command line, environment or config file.
    pub fn explicitly_set(&self) -> &BTreeSet<String> {
        &self.explicitly_set
    }

    /// Refuses flags with non-default values that the server does not honour yet.
    pub fn check_implemented(&self) -> Result<(), ConfigError> {
        let missing: Vec<String> = self
            .changed
            .iter()
            .filter(|n| !IMPLEMENTED.contains(&n.as_str()))
            .cloned()
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::NotImplemented(missing))
        }
    }

    /// The logging settings to pass to `logging::init`.
    pub fn log_settings(&self) -> LogSettings {
        build::log_settings(&self.logger, &self.log_level, self.debug, &self.log_outputs)
    }

    /// Sets up logging the way etcd does while reading its configuration: emits the
    /// `pkg/flags` startup lines, prints the `[WARNING]` lines for deprecated logging
    /// flags, installs the logger, then logs the remaining startup lines except
    /// [`StartupLog::DataDirDefaulted`], which etcd logs after its version banner (see
    /// [`EtcdConfig::log_data_dir_defaulted`]).
    pub fn init_logging(&self) -> anyhow::Result<()> {
        let s = self.log_settings();
        let zap = s.logger == "zap";
        let logs: Vec<StartupLog> = self
            .startup_logs
            .iter()
            .filter(|l| !matches!(l, StartupLog::DataDirDefaulted { .. }))
            .cloned()
            .collect();
        let mut result = Ok(());
        emit_in_order(&logs, &self.deprecation_warnings, zap, || {
            result = crate::logging::init_quiet(&s.logger, &s.level, &s.outputs);
        });
        result
    }

    /// Logs etcd's note that the data dir was defaulted, if it was (etcd logs it after
    /// the version banner).
    pub fn log_data_dir_defaulted(&self) {
        let zap = self.logger == "zap";
        for log in &self.startup_logs {
            if let StartupLog::DataDirDefaulted { .. } = log {
                log.emit(zap);
            }
        }
    }

    /// Election timeout in heartbeat ticks.
    pub fn election_ticks(&self) -> u64 {
        self.election_timeout_ms / self.heartbeat_interval_ms
    }

    /// The initial cluster as name → peer URLs (etcd's `types.NewURLsMap`).
    pub fn initial_cluster_map(
        &self,
    ) -> Result<std::collections::BTreeMap<String, Vec<EtcdUrl>>, ConfigError> {
        parse_urls_map(&self.initial_cluster).map_err(ConfigError::invalid)
    }

    /// etcd's default-host rule: when the advertised peer (client) URL is the default
    /// `localhost` one and the listen URL is `0.0.0.0`, advertise `host` with the listen
    /// port instead; a derived initial cluster follows. Returns whether `host` was used.
    /// Call with the machine's default route address if the server detects one.
    pub fn apply_default_host(&mut self, host: &str) -> bool {
        build::apply_default_host(self, host)
    }
}

/// Parses the `etcd` command line (`args` without the program name) and environment.
pub fn parse(
    args: Vec<String>,
    env: &HashMap<String, String>,
) -> Result<ParseOutcome, ConfigError> {
    let mut store = FlagStore::new();
    let rest = match cmdline::parse_args(&args, &mut store)? {
        cmdline::Args::Help => return Ok(ParseOutcome::PrintHelp(Help::new())),
        cmdline::Args::Parsed(rest) => rest,
    };
    if let Some(first) = rest.first() {
        return Err(ConfigError::invalid(format!(
            "'{first}' is not a valid flag"
        )));
    }
    if store.bool("version") {
        return Ok(ParseOutcome::PrintVersion(help::version_text()));
    }
    let mut config_file = store.str("config-file").to_string();
    if config_file.is_empty() {
        config_file = env.get("ETCD_CONFIG_FILE").cloned().unwrap_or_default();
    }
    let config = if config_file.is_empty() {
        cmdline::apply_env(&mut store, env)?;
        build::build(store, build::Source::CommandLine)?
    } else {
        let loaded = StartupLog::ConfigFileLoaded {
            path: config_file.clone(),
        };
        let with_notice = |mut e: ConfigError| {
            if let ConfigError::Invalid(inv) = &mut e {
                inv.logs.push(loaded.clone());
            }
            e
        };
        let file_store = file::load(&config_file).map_err(with_notice)?;
        let mut config = build::build(file_store, build::Source::File).map_err(with_notice)?;
        config.startup_logs.insert(0, loaded.clone());
        config.explicitly_set.insert("config-file".to_string());
        config.changed.insert("config-file".to_string());
        config.config_file = Some(config_file);
        config
    };
    Ok(ParseOutcome::Run(Box::new(config)))
}

#[cfg(test)]
mod tests;
