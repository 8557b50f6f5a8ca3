//! The applier: one thread that applies committed entries in log order.
//!
//! Contract:
//! - Deterministic: the outcome of an entry depends only on the store and the
//!   entry (no clock, no randomness), so every member reaches the same state.
//! - Exactly once: an entry at or below the backend's `consistent_index` was
//!   applied before a restart and is skipped; the index is written in the same
//!   backend batch as the changes it covers.
//! - The backend commits in batches (`commit_if_due`); a Raft snapshot is only
//!   requested after a forced backend commit, because the WAL below the
//!   snapshot index may then be released.
//! - A storage error here is fatal: the member stops (it cannot continue from
//!   a state it can't trust).

mod kv;
mod members;

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use etcd_backend::Backend;
use etcd_mvcc::KvStore;
use etcd_proto::etcdserverpb::{
    CompactionResponse, DeleteRangeResponse, InternalRaftRequest, PutResponse, RangeResponse,
    TxnResponse,
};
use etcd_proto::EtcdError;
use etcd_raft_node::raft::eraftpb::{ConfState, Entry, EntryType};
use etcd_raft_node::{ApplyItem, Input, NodeHandle};
use prost::Message as _;

use crate::membership_store::MembershipStore;
use crate::wait::Wait;

pub use kv::mvcc_error;

/// The response an applied request produces.
#[derive(Debug)]
pub enum ApplyResponse {
    /// A range proposed through Raft.
    Range(RangeResponse),
    /// A put.
    Put(PutResponse),
    /// A delete.
    DeleteRange(DeleteRangeResponse),
    /// A transaction.
    Txn(TxnResponse),
    /// A compaction.
    Compaction(CompactionResponse),
    /// A request with nothing to return.
    Empty,
}

/// What a proposer receives: the response or etcd's error.
pub type ApplyResult = Result<ApplyResponse, EtcdError>;

/// Everything the applier thread works on.
pub struct Applier {
    pub(crate) kv: Arc<KvStore>,
    pub(crate) backend: Arc<Backend>,
    pub(crate) members: Arc<MembershipStore>,
    pub(crate) transport: Arc<etcd_transport::Transport>,
    pub(crate) wait: Arc<Wait>,
    pub(crate) applied_tx: tokio::sync::watch::Sender<u64>,
    pub(crate) node: NodeHandle,
    pub(crate) snapshot_count: u64,
    pub(crate) commit_interval: Duration,
    pub(crate) conf_state: ConfState,
    pub(crate) applied_index: u64,
    pub(crate) snapshot_index: u64,
}

impl Applier {
    /// Runs until the Raft thread hangs up.
    pub fn run(mut self, rx: Receiver<ApplyItem>) {
        loop {
            match rx.recv_timeout(self.commit_interval) {
                Ok(item) => self.apply_item(item),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if let Err(e) = self.backend.commit_if_due() {
                fatal(&format!("backend commit failed: {e}"));
            }
        }
        if let Err(e) = self.backend.commit() {
            fatal(&format!("backend commit failed at stop: {e}"));
        }
    }

    fn apply_item(&mut self, item: ApplyItem) {
        match item {
            ApplyItem::Entries(entries) => {
                for e in entries {
                    self.apply_entry(e);
                }
                self.applied_tx.send_replace(self.applied_index);
                self.maybe_snapshot();
            }
            ApplyItem::ConfState { conf_state, .. } => self.conf_state = conf_state,
            ApplyItem::Snapshot(snap) => {
                // A follower that fell behind gets a snapshot; shipping the
                // backend with it comes with multi-member support.
                let meta = snap.get_metadata();
                self.conf_state = meta.get_conf_state().clone();
                self.applied_index = meta.index;
                self.snapshot_index = meta.index;
                tracing::warn!(target: "etcdserver", "applied snapshot at index {}", meta.index);
            }
        }
    }

    fn apply_entry(&mut self, e: Entry) {
        let index = e.index;
        assert_eq!(index, self.applied_index + 1, "committed entries arrive contiguous and in order");
        if index <= self.kv.consistent_index() {
            // Applied before a restart.
            self.applied_index = self.applied_index.max(index);
            return;
        }
        match e.get_entry_type() {
            EntryType::EntryNormal if e.data.is_empty() => self.kv.set_consistent_index(index),
            EntryType::EntryNormal => self.apply_request(index, &e.data),
            EntryType::EntryConfChange | EntryType::EntryConfChangeV2 => {
                members::apply_conf_change(self, &e);
                self.kv.set_consistent_index(index);
            }
        }
        self.applied_index = index;
    }

    fn apply_request(&mut self, index: u64, data: &[u8]) {
        fail::fail_point!("apply_before_request", |_| std::process::abort());
        let req = match InternalRaftRequest::decode(data) {
            Ok(r) => r,
            Err(e) => fatal(&format!("cannot decode committed entry {index}: {e}")),
        };
        let id = req.header.as_ref().map(|h| h.id).unwrap_or(req.id);
        let result = if let Some(attr) = &req.member_attr {
            members::apply_attributes(self, attr);
            self.kv.set_consistent_index(index);
            Ok(ApplyResponse::Empty)
        } else {
            kv::apply(self, index, &req)
        };
        self.wait.trigger(id, result);
    }

    fn maybe_snapshot(&mut self) {
        if self.applied_index <= self.snapshot_index + self.snapshot_count {
            return;
        }
        if let Err(e) = self.backend.commit() {
            fatal(&format!("backend commit failed: {e}"));
        }
        tracing::info!(target: "etcdserver", "saved snapshot at index {}", self.applied_index);
        let data = self.members.snapshot_bytes();
        let _ = self.node.send(Input::Snapshot {
            index: self.applied_index,
            conf_state: self.conf_state.clone(),
            data,
        });
        self.snapshot_index = self.applied_index;
    }
}

/// Stops the process on a storage fault: continuing could acknowledge writes
/// that are not durable (STYLE §5).
pub(crate) fn fatal(msg: &str) -> ! {
    tracing::error!(target: "etcdserver", "{msg}");
    eprintln!("etcdserver: fatal: {msg}");
    std::process::exit(1)
}
