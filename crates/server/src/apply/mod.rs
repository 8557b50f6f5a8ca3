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

pub(crate) mod alarm;
pub(crate) mod auth;
pub use auth::AuthApplied;
mod kv;
mod lease;
mod members;
pub(crate) use members::removed_self;
mod snapshot;
mod v2;
mod v2_members;

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
pub(crate) use lease::{lease_error, restore as restore_lessor, LeaseApply};

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
    /// A membership change: the members after it.
    Members(Vec<crate::membership::Member>),
    /// A lease grant.
    LeaseGrant(etcd_proto::etcdserverpb::LeaseGrantResponse),
    /// A lease revoke.
    LeaseRevoke(etcd_proto::etcdserverpb::LeaseRevokeResponse),
    /// Lease checkpoints.
    LeaseCheckpoint(etcd_proto::etcdserverpb::LeaseCheckpointResponse),
    /// An alarm request.
    Alarm(etcd_proto::etcdserverpb::AlarmResponse),
    /// A v2 request's event or v2 error.
    V2(Result<etcd_v2store::Event, etcd_v2store::V2Error>),
    /// An auth request's result.
    Auth(AuthApplied),
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
    /// Raft messages that need a database snapshot sent with them.
    pub(crate) snapshot_requests: Receiver<etcd_raft_node::raft::eraftpb::Message>,
    /// Backups (Maintenance.Snapshot) waiting for a view of the backend
    /// pinned between two entries.
    pub(crate) backup_requests: Receiver<crate::backup::ExportReply>,
    /// `<member>/snap`, where databases from the leader arrive.
    pub(crate) snap_dir: std::path::PathBuf,
    pub(crate) lease: LeaseApply,
    /// Receives the events of every applied write.
    pub(crate) watch_hub: Arc<etcd_mvcc::watch::WatchHub>,
    /// The v2 store (in memory; in Raft snapshots, not in the backend).
    pub(crate) v2: Arc<parking_lot::Mutex<etcd_v2store::Store>>,
    /// Users, roles, permissions and this member's tokens.
    pub(crate) auth: Arc<crate::auth::AuthState>,
    /// Alarms and the space quota.
    pub(crate) alarm: alarm::AlarmApply,
}

impl Applier {
    /// Runs until the Raft thread hangs up.
    pub fn run(mut self, rx: Receiver<ApplyItem>) {
        // Every write's answer waits for this thread (a scheduling hint).
        etcd_raft_node::mark_latency_critical();
        loop {
            match rx.recv_timeout(self.commit_interval) {
                Ok(item) => self.apply_item(item),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            while let Ok(msg) = self.snapshot_requests.try_recv() {
                snapshot::export(&mut self, msg);
            }
            while let Ok(reply) = self.backup_requests.try_recv() {
                let _ = reply.send(self.backend.export().map_err(|e| e.to_string()));
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
            ApplyItem::Snapshot(snap) => snapshot::install(self, snap),
        }
    }

    fn apply_entry(&mut self, e: Entry) {
        let index = e.index;
        assert_eq!(index, self.applied_index + 1, "committed entries arrive contiguous and in order");
        self.applied_index = index;
        // Membership entries are re-applied after a restart too (the
        // membership starts from the Raft snapshot); the rest only once.
        let already_applied = index <= self.kv.consistent_index();
        match e.get_entry_type() {
            EntryType::EntryConfChange => {
                let (id, result) = members::apply_conf_change(self, &e);
                v2::mirror_members(&mut self.v2.lock(), &self.members.list(), None);
                if !already_applied {
                    self.kv.set_consistent_index(index);
                    self.wait.trigger(id, result);
                }
            }
            EntryType::EntryConfChangeV2 => fatal(&format!("unexpected joint conf change at {index}")),
            EntryType::EntryNormal if e.data.is_empty() => {
                if !already_applied {
                    self.kv.set_consistent_index(index);
                }
                lease::on_empty_entry(self);
            }
            EntryType::EntryNormal => self.apply_request(index, &e.data, already_applied),
        }
    }

    fn apply_request(&mut self, index: u64, data: &[u8], already_applied: bool) {
        let req = match InternalRaftRequest::decode(data) {
            Ok(r) => r,
            Err(e) => fatal(&format!("cannot decode committed entry {index}: {e}")),
        };
        let id = req.header.as_ref().map(|h| h.id).unwrap_or(req.id);
        let apply_start = std::time::Instant::now();
        let result = if let Some(attr) = &req.member_attr {
            members::apply_attributes(self, attr)
        } else if let Some(upd) = &req.member_raft_attr {
            members::apply_raft_attributes(self, upd)
        } else if let Some(r) = &req.v2 {
            // Re-applied after a restart too: the v2 store is rebuilt from
            // the Raft snapshot plus the entries after it.
            match v2::apply(&mut self.v2.lock(), r) {
                Some(out) => Ok(ApplyResponse::V2(out)),
                None => Ok(ApplyResponse::Empty),
            }
        } else if already_applied {
            return;
        } else {
            fail::fail_point!("apply_before_request", |_| std::process::abort());
            if let Some(r) = &req.alarm {
                alarm::apply(self, r)
            } else if let Some(e) = alarm::refuse(self, &req) {
                Err(e)
            } else if auth::handles(&req) {
                auth::apply(self, index, &req)
            } else if let Err(e) = auth::check(self, &req) {
                Err(e)
            } else if lease::handles(&req) {
                alarm::charged(self, &req, |a| lease::apply(a, index, &req))
            } else {
                alarm::charged(self, &req, |a| kv::apply(a, index, &req))
            }
        };
        crate::warnings::slow_apply(
            apply_start.elapsed(),
            || crate::warnings::describe_request(&req),
            || crate::warnings::describe_result(&result),
        );
        if req.member_attr.is_some() || req.member_raft_attr.is_some() {
            let published = req.member_attr.as_ref().map(|a| a.member_id);
            v2::mirror_members(&mut self.v2.lock(), &self.members.list(), published);
        }
        if !already_applied {
            self.kv.set_consistent_index(index);
        }
        // Re-applied entries (membership, v2) answer their proposer too: a
        // member that caught up from a snapshot may be waiting for one of
        // them (its own publish), as etcd's applier does for v2 requests.
        if let Some(result) = alarm::answer(self, id, result) {
            self.wait.trigger(id, result);
        }
    }

    fn maybe_snapshot(&mut self) {
        if self.applied_index <= self.snapshot_index + self.snapshot_count {
            return;
        }
        if let Err(e) = self.backend.commit() {
            fatal(&format!("backend commit failed: {e}"));
        }
        tracing::info!(target: "etcdserver", "saved snapshot at index {}", self.applied_index);
        let data = crate::snapshot_payload::encode(&self.members.snapshot_bytes(), self.v2.lock().save());
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
