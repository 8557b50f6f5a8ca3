//! Which peers this member is actively connected to, and since when
//! (etcd's rafthttp `peerStatus` / `Transport.ActiveSince`).
//!
//! A peer becomes active when a stream with it starts carrying frames in
//! either direction, and inactive as soon as one breaks or the incoming
//! stream stays silent for [`READ_TIMEOUT`] (each sender writes a link
//! heartbeat every [`LINK_HEARTBEAT`], so silence means the peer is stopped
//! or cut off). The server's strict reconfiguration checks count the peers
//! active for at least etcd's `HealthInterval` (etcd-io/etcd#5245).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// An incoming stream silent this long is broken (etcd's `ConnReadTimeout`).
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a sender writes a link heartbeat (a third of [`READ_TIMEOUT`]).
pub const LINK_HEARTBEAT: Duration = Duration::from_millis(1666);

/// The active-since time of each active peer; absent means inactive.
#[derive(Default)]
pub struct PeerStatus {
    since: Mutex<HashMap<u64, Instant>>,
}

impl PeerStatus {
    /// Marks `id` active (keeps the earlier time when it already is).
    pub fn activate(&self, id: u64) {
        let mut since = self.since.lock();
        if let std::collections::hash_map::Entry::Vacant(e) = since.entry(id) {
            e.insert(Instant::now());
            tracing::info!(target: "rafthttp", "peer {id:x} became active");
        }
    }

    /// Marks `id` inactive, saying why.
    pub fn deactivate(&self, id: u64, reason: &str) {
        if self.since.lock().remove(&id).is_some() {
            tracing::warn!(target: "rafthttp", "peer {id:x} became inactive (message send to peer failed): {reason}");
        }
    }

    /// Since when `id` has been active; `None` when it is not.
    pub fn active_since(&self, id: u64) -> Option<Instant> {
        self.since.lock().get(&id).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_keeps_the_first_time_until_deactivated() {
        let s = PeerStatus::default();
        assert_eq!(s.active_since(1), None);
        s.activate(1);
        let t = s.active_since(1).unwrap();
        s.activate(1);
        assert_eq!(s.active_since(1), Some(t));
        s.deactivate(1, "test");
        assert_eq!(s.active_since(1), None);
        s.deactivate(1, "again is harmless");
    }
}
