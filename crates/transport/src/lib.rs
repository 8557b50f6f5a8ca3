//! Peer transport: Raft messages between members over HTTP on the peer URLs.
//!
//! Each remote member gets one long-lived, ordered stream (an HTTP/1.1 POST
//! to `/raft/stream` whose body is a sequence of length-prefixed messages,
//! see [`codec`]); raft-rs 0.7 relies on messages to one peer arriving in the
//! order they were sent, which one TCP stream per direction gives. Requests
//! carry etcd's `X-Server-From` / `X-Etcd-Cluster-ID` headers and a member of
//! another cluster is refused with 412, as etcd's rafthttp does.
//!
//! Sending never blocks the Raft thread: frames go into a bounded per-peer
//! queue and are dropped when it is full or the peer is unreachable; Raft's
//! own retransmission covers the loss.

#![deny(missing_docs)]

pub mod codec;
pub mod fetch;
pub mod metrics;
pub mod peer_status;
pub mod prober;
mod receiver;
mod sender;
pub mod snapshot;
pub mod tls;
pub mod tls_ciphers;
pub mod tls_dial;
pub mod tls_listener;
pub mod tls_selfcert;
pub mod tls_verify;
pub mod v2stats;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, RwLock};
use raft::eraftpb::{Message, MessageType};
use tokio::sync::mpsc;

pub use sender::PEER_QUEUE_FRAMES;

/// Where received messages go (the local Raft node).
pub type Deliver = Arc<dyn Fn(Message) + Send + Sync>;

/// Asked for a database snapshot to go with a `MsgSnapshot` (the server's
/// applier exports one and calls [`Transport::send_snapshot`]).
pub type SnapshotRequest = Arc<dyn Fn(Message) + Send + Sync>;

/// Told whether a snapshot reached its peer (`to`, success).
pub type SnapshotReport = Arc<dyn Fn(u64, bool) + Send + Sync>;

struct Peer {
    tx: mpsc::Sender<sender::Outgoing>,
    urls: Arc<RwLock<Vec<String>>>,
}

/// The transport of one member.
pub struct Transport {
    local_id: u64,
    cluster_id: AtomicU64,
    runtime: tokio::runtime::Handle,
    peers: Mutex<HashMap<u64, Peer>>,
    deliver: OnceLock<Deliver>,
    snapshots: OnceLock<(SnapshotRequest, SnapshotReport, std::path::PathBuf)>,
    /// Whether a member id was removed from the cluster (its streams get 410).
    is_removed: OnceLock<Arc<dyn Fn(u64) -> bool + Send + Sync>>,
    /// Called when a peer answers 410: this member was removed.
    on_removed: Arc<OnceLock<Arc<dyn Fn() + Send + Sync>>>,
    /// How peers are dialed (TLS for `https://` peer URLs); plain when unset.
    dialer: OnceLock<tls_dial::PeerDialer>,
    /// Which peers are actively connected, since when.
    status: Arc<peer_status::PeerStatus>,
    /// Append counters for the v2 stats endpoints.
    v2stats: Arc<v2stats::V2Stats>,
}

impl Transport {
    /// A transport for member `local_id`; tasks run on `runtime`.
    pub fn new(local_id: u64, cluster_id: u64, runtime: tokio::runtime::Handle) -> Arc<Transport> {
        Arc::new(Transport {
            local_id,
            cluster_id: AtomicU64::new(cluster_id),
            runtime,
            peers: Mutex::new(HashMap::new()),
            deliver: OnceLock::new(),
            snapshots: OnceLock::new(),
            is_removed: OnceLock::new(),
            on_removed: Arc::new(OnceLock::new()),
            dialer: OnceLock::new(),
            status: Arc::default(),
            v2stats: Arc::default(),
        })
    }

    /// Sets how peers are dialed; once, before the first [`Transport::add_peer`].
    pub fn set_dialer(&self, dialer: tls_dial::PeerDialer) {
        let _ = self.dialer.set(dialer);
    }

    /// Since when peer `id` has been actively connected (etcd's
    /// `Transport.ActiveSince`); `None` while it is not.
    pub fn active_since(&self, id: u64) -> Option<std::time::Instant> {
        self.status.active_since(id)
    }

    /// The append counters behind `/v2/stats/self` and `/v2/stats/leader`.
    pub fn v2stats(&self) -> &v2stats::V2Stats {
        &self.v2stats
    }

    pub(crate) fn peer_status(&self) -> &peer_status::PeerStatus {
        &self.status
    }

    /// How peers are dialed.
    pub fn dialer(&self) -> tls_dial::PeerDialer {
        self.dialer.get().cloned().unwrap_or_default()
    }

    /// Sets where received messages go; once, before peers connect.
    pub fn set_deliver(&self, deliver: Deliver) {
        let _ = self.deliver.set(deliver);
    }

    /// Sets how snapshots are made, reported and stored (`snap_dir` receives
    /// databases from the leader); once.
    pub fn set_snapshots(&self, request: SnapshotRequest, report: SnapshotReport, snap_dir: std::path::PathBuf) {
        let _ = self.snapshots.set((request, report, snap_dir));
    }

    pub(crate) fn snapshot_dir(&self) -> Option<std::path::PathBuf> {
        self.snapshots.get().map(|s| s.2.clone())
    }

    pub(crate) fn peer_urls(&self, id: u64) -> Vec<String> {
        self.peers.lock().get(&id).map(|p| p.urls.read().clone()).unwrap_or_default()
    }

    /// Sends a snapshot message with the database file `db` (removed after),
    /// then reports the outcome to Raft.
    pub fn send_snapshot(self: &Arc<Self>, msg: Message, db: std::path::PathBuf) {
        let t = self.clone();
        self.runtime.spawn(async move {
            let to = msg.to;
            let ok = snapshot::send(t.clone(), msg, db.clone()).await;
            let _ = tokio::fs::remove_file(&db).await;
            if let Some((_, report, _)) = t.snapshots.get() {
                report(to, ok);
            }
        });
    }

    /// Sets how removed members are recognised and what happens when a peer
    /// says this member was removed (etcd answers 410 Gone; the removed
    /// member stops); once.
    pub fn set_removal(&self, is_removed: Arc<dyn Fn(u64) -> bool + Send + Sync>, on_removed: Arc<dyn Fn() + Send + Sync>) {
        let _ = self.is_removed.set(is_removed);
        let _ = self.on_removed.set(on_removed);
    }

    pub(crate) fn is_removed(&self, id: u64) -> bool {
        self.is_removed.get().is_some_and(|f| f(id))
    }

    /// This member's id.
    pub fn local_id(&self) -> u64 {
        self.local_id
    }

    /// The cluster id streams must carry.
    pub fn cluster_id(&self) -> u64 {
        self.cluster_id.load(Ordering::Relaxed)
    }

    /// Adds a peer (or updates its URLs).
    pub fn add_peer(&self, id: u64, urls: Vec<String>) {
        if id == self.local_id {
            return;
        }
        let mut peers = self.peers.lock();
        if let Some(p) = peers.get(&id) {
            *p.urls.write() = urls;
            return;
        }
        let (tx, rx) = mpsc::channel(PEER_QUEUE_FRAMES);
        let urls = Arc::new(RwLock::new(urls));
        let ids = sender::StreamIds {
            from: self.local_id,
            to: id,
            cluster_id: self.cluster_id(),
            on_removed: self.on_removed.clone(),
            dialer: self.dialer(),
            status: self.status.clone(),
            v2stats: self.v2stats.clone(),
        };
        self.v2stats.add_follower(id);
        self.runtime.spawn(sender::run(ids, urls.clone(), rx));
        self.runtime.spawn(prober::run(id, Arc::downgrade(&urls), self.dialer()));
        tracing::info!(target: "rafthttp", "started peer {id:x}");
        peers.insert(id, Peer { tx, urls });
    }

    /// Removes a peer; its stream closes.
    pub fn remove_peer(&self, id: u64) {
        if self.peers.lock().remove(&id).is_some() {
            self.status.deactivate(id, "peer removed");
            self.v2stats.remove_follower(id);
            tracing::info!(target: "rafthttp", "removed peer {id:x}");
        }
    }

    /// Ids of the known peers.
    pub fn peer_ids(&self) -> Vec<u64> {
        self.peers.lock().keys().copied().collect()
    }

    /// Queues messages for their peers. Never blocks.
    pub fn send(&self, msgs: Vec<Message>) {
        let peers = self.peers.lock();
        for m in msgs {
            if m.get_msg_type() == MessageType::MsgSnapshot {
                // Raft's snapshot alone would leave the follower without the
                // data it covers: the database goes with it, on its own path.
                match self.snapshots.get() {
                    Some((request, _, _)) => request(m),
                    None => tracing::warn!(target: "rafthttp", "dropping snapshot to {:x}: no snapshot source", m.to),
                }
                continue;
            }
            let Some(p) = peers.get(&m.to) else {
                tracing::debug!(target: "rafthttp", "dropping message to unknown peer {:x}", m.to);
                continue;
            };
            let frame = codec::encode(&m);
            if m.get_msg_type() == MessageType::MsgAppend {
                self.v2stats.sent_append(frame.len());
                let queued = sender::Outgoing { frame, append_queued_at: Some(std::time::Instant::now()) };
                if p.tx.try_send(queued).is_err() {
                    self.v2stats.follower_fail(m.to);
                }
            } else {
                let _ = p.tx.try_send(sender::Outgoing { frame, append_queued_at: None });
            }
        }
    }

    /// The peer-port routes (`/raft/stream`).
    pub fn router(self: &Arc<Self>) -> axum::Router {
        receiver::router(self.clone())
    }

    fn deliver(&self, m: Message) {
        if let Some(d) = self.deliver.get() {
            d(m);
        }
    }
}
