//! What the server needs from the command line, already validated.

use std::path::PathBuf;

/// Server settings (a subset of etcd's flags, typed).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// `--name`.
    pub name: String,
    /// `--data-dir`.
    pub data_dir: PathBuf,
    /// `--wal-dir`; `<data-dir>/member/wal` when empty.
    pub wal_dir: Option<PathBuf>,
    /// `--snapshot-count`: applied entries between Raft snapshots.
    pub snapshot_count: u64,
    /// `--heartbeat-interval` in ms (one Raft tick).
    pub heartbeat_ms: u64,
    /// `--election-timeout` in ms.
    pub election_ms: u64,
    /// `--initial-cluster`.
    pub initial_cluster: String,
    /// `--initial-cluster-state new` (false: existing).
    pub initial_cluster_state_new: bool,
    /// `--initial-cluster-token`.
    pub initial_cluster_token: String,
    /// `--initial-advertise-peer-urls`.
    pub initial_advertise_peer_urls: Vec<String>,
    /// `--advertise-client-urls`.
    pub advertise_client_urls: Vec<String>,
    /// `--max-txn-ops`.
    pub max_txn_ops: usize,
    /// `--max-request-bytes`.
    pub max_request_bytes: usize,
    /// `--quota-backend-bytes` (0: the 2 GiB default).
    pub quota_backend_bytes: i64,
    /// Backend batch commit interval in ms (etcd's `--backend-batch-interval`, 100 ms).
    pub backend_batch_interval_ms: u64,
    /// Backend batch size before a commit (etcd's `--backend-batch-limit`, 10000).
    pub backend_batch_limit: usize,
    /// `--experimental-enable-lease-checkpoint`.
    pub lease_checkpoint: bool,
    /// `--experimental-watch-progress-notify-interval` in ms (0: etcd's 10 min).
    pub watch_progress_notify_interval_ms: u64,
    /// `--experimental-enable-lease-checkpoint-persist`.
    pub lease_checkpoint_persist: bool,
    /// `--auth-token`: `simple` or `jwt,<options>`.
    pub auth_token: String,
    /// `--auth-token-ttl` in seconds (simple tokens).
    pub auth_token_ttl_s: u64,
    /// `--bcrypt-cost`.
    pub bcrypt_cost: u32,
    /// `--enable-v2`: serve the v2 API on the client URLs.
    pub enable_v2: bool,
    /// `--enable-ui`: serve the built-in web UI under `/ui/` (etcd-rs only; on by default).
    pub enable_ui: bool,
    /// `--discovery`: bootstrap from this discovery URL (empty: off).
    pub discovery_url: String,
    /// `--discovery-fallback=proxy` (false: `exit`).
    pub discovery_fallback_proxy: bool,
    /// `--discovery-proxy`: the HTTP proxy discovery requests go through (empty: none).
    pub discovery_proxy: String,
    /// `--discovery-srv`: bootstrap from this domain's SRV records (empty: off).
    pub discovery_srv: String,
    /// `--discovery-srv-name`: suffix of the SRV service names.
    pub discovery_srv_name: String,
    /// How peers are dialed (TLS settings for `https://` peer URLs).
    pub peer_dialer: etcd_transport::tls_dial::PeerDialer,
    /// `--auto-compaction-mode` + `--auto-compaction-retention`.
    pub auto_compaction: crate::compactor::AutoCompaction,
    /// `--experimental-initial-corrupt-check`.
    pub initial_corrupt_check: bool,
    /// `--experimental-corrupt-check-time` in ms (0: off).
    pub corrupt_check_time_ms: u64,
    /// `--strict-reconfig-check`: refuse membership changes that would lose quorum.
    pub strict_reconfig_check: bool,
}

impl ServerConfig {
    /// `<data-dir>/member`.
    pub fn member_dir(&self) -> PathBuf {
        self.data_dir.join("member")
    }

    /// Where the WAL lives.
    pub fn wal_dir(&self) -> PathBuf {
        self.wal_dir.clone().unwrap_or_else(|| self.member_dir().join("wal"))
    }

    /// `<data-dir>/member/snap`.
    pub fn snap_dir(&self) -> PathBuf {
        self.member_dir().join("snap")
    }

    /// Ticks per election timeout.
    pub fn election_ticks(&self) -> usize {
        (self.election_ms / self.heartbeat_ms.max(1)).max(2) as usize
    }

    /// How long a client request may wait for Raft (etcd: 5 s + 2 election timeouts).
    pub fn request_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(5000 + 2 * self.election_ms)
    }

    /// A configuration with etcd's defaults, for tests.
    pub fn for_tests(data_dir: PathBuf) -> ServerConfig {
        ServerConfig {
            name: "default".into(),
            data_dir,
            wal_dir: None,
            snapshot_count: 100_000,
            heartbeat_ms: 100,
            election_ms: 1000,
            initial_cluster: "default=http://localhost:2380".into(),
            initial_cluster_state_new: true,
            initial_cluster_token: "etcd-cluster".into(),
            initial_advertise_peer_urls: vec!["http://localhost:2380".into()],
            advertise_client_urls: vec!["http://localhost:2379".into()],
            max_txn_ops: 128,
            max_request_bytes: 1536 * 1024,
            quota_backend_bytes: 0,
            backend_batch_interval_ms: 100,
            backend_batch_limit: 10_000,
            lease_checkpoint: false,
            watch_progress_notify_interval_ms: 0,
            lease_checkpoint_persist: false,
            auth_token: "simple".into(),
            auth_token_ttl_s: 300,
            bcrypt_cost: 10,
            enable_v2: false,
            enable_ui: true,
            discovery_url: String::new(),
            discovery_fallback_proxy: true,
            discovery_proxy: String::new(),
            discovery_srv: String::new(),
            discovery_srv_name: String::new(),
            peer_dialer: Default::default(),
            auto_compaction: crate::compactor::AutoCompaction::Off,
            initial_corrupt_check: false,
            corrupt_check_time_ms: 0,
            strict_reconfig_check: true,
        }
    }
}
