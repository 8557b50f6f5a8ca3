//! Drives raft-rs for one member: the durable log (WAL + snapshots) that
//! raft-rs reads, and the thread that ticks, steps, proposes and handles each
//! `Ready`.
//!
//! The contract with the rest of the server: an entry is handed to the
//! applier only after it is committed, and committed only after it is in this
//! member's fsynced WAL (for a single member) or a quorum's. Nothing here
//! interprets entry payloads.

#![deny(missing_docs)]

pub mod durable;
pub mod latency;
mod logger;
pub mod node;
pub mod storage;

pub use durable::{DurableLog, Recovered};
pub use latency::mark_latency_critical;
pub use logger::raft_logger;
pub use node::{start, ApplyItem, Input, NodeConfig, NodeEvents, NodeHandle, NodeStatus};
pub use raft;
pub use storage::RaftStorage;

/// Errors of the Raft layer. Storage errors are fatal to the member.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The WAL or snapshot files failed.
    #[error(transparent)]
    Wal(#[from] etcd_wal::WalError),
    /// raft-rs refused an operation.
    #[error("raft: {0}")]
    Raft(#[from] raft::Error),
    /// A stored record did not decode.
    #[error("raft: cannot decode {0}")]
    Decode(String),
    /// File system error outside the WAL.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The Raft thread has stopped.
    #[error("raft: node stopped")]
    Stopped,
}
