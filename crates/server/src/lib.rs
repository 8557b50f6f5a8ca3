//! The etcd server core: bootstrap, membership, the applier, read index and
//! the `EtcdServer` the API layer calls.
//!
//! Data flow (DESIGN.md): a request is validated, wrapped in an
//! `InternalRaftRequest`, proposed to the Raft thread, written to the WAL
//! (fsync), committed, applied by the single applier thread to the MVCC
//! store, and only then answered.

#![deny(missing_docs)]

mod alarm;
mod apply;
mod auth;
mod auth_api;
mod backup;
mod backup_codec;
mod bootstrap;
mod compactor;
pub mod config;
mod corrupt;
mod defrag;
mod discovery;
mod discovery_client;
mod discovery_srv;
mod events;
mod import_etcd;
mod lease;
mod lease_loop;
pub mod etcd_url;
pub mod membership;
mod membership_store;
mod quota;
pub mod metrics;
mod metrics_process;
mod read_index;
mod reconfig;
mod restore;
mod server;
mod snapshot_payload;
mod v2;
pub mod v2auth;
mod validate;
pub mod wait;
pub mod warnings;
mod watch;

pub use alarm::alarm_text;
pub use compactor::{parse_auto_compaction, AutoCompaction};
pub use apply::{ApplyResponse, ApplyResult, AuthApplied};
pub use auth::Credentials;
pub use backup::{SnapshotChunk, SNAPSHOT_CHUNK_BYTES, SNAPSHOT_QUEUE_CHUNKS};
pub use restore::{restore_snapshot, RestoreConfig, RestoreSummary, SNAPSHOT_HASH_BYTES};
pub use config::ServerConfig;
pub use discovery::{get_cluster as discovery_get_cluster, DiscoveryError, DiscoveryFailure};
pub use discovery_srv::DNS_SERVER_ENV;
pub use import_etcd::{import_if_etcd, ImportSummary};
pub use server::{EtcdServer, CLUSTER_VERSION, ETCD_VERSION};
pub use v2::{now_unix_ns, V2Failure, V2Response, V2_SYNC_INTERVAL};

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// Bad or inconsistent configuration.
    #[error("{0}")]
    Config(String),
    /// The Raft layer failed to start.
    #[error(transparent)]
    Node(#[from] etcd_raft_node::NodeError),
    /// The backend failed to open.
    #[error(transparent)]
    Backend(#[from] etcd_backend::BackendError),
    /// The MVCC store failed to open.
    #[error(transparent)]
    Mvcc(#[from] etcd_mvcc::MvccError),
    /// File system error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Bootstrap by `--discovery` failed.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
}
