//! What the peer transport reports for metrics, without knowing who keeps
//! them: an observer hook, installed once per process by the server, told
//! how many bytes went to or came from which peer (etcd's
//! `etcd_network_peer_sent_bytes_total` / `..._received_bytes_total`) and
//! the prober's round-trip times (`etcd_network_peer_round_trip_time_seconds`).
//! Cost per frame: one atomic load and the observer's own work.

use std::sync::OnceLock;

/// Bytes moved on a peer stream.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum PeerTraffic {
    /// Written to the stream towards member `to`.
    Sent {
        /// The receiving member.
        to: u64,
        /// Payload bytes.
        bytes: usize,
    },
    /// Read from the stream coming from member `from`.
    Received {
        /// The sending member.
        from: u64,
        /// Payload bytes.
        bytes: usize,
    },
    /// The prober's smoothed round-trip time to member `to` (prober.rs).
    RoundTrip {
        /// The probed member.
        to: u64,
        /// Smoothed round-trip time.
        seconds: f64,
    },
}

static OBSERVER: OnceLock<fn(PeerTraffic)> = OnceLock::new();

/// Installs the function told about peer traffic; the first call wins.
pub fn set_observer(observer: fn(PeerTraffic)) {
    let _ = OBSERVER.set(observer);
}

pub(crate) fn observe(traffic: PeerTraffic) {
    if let Some(f) = OBSERVER.get() {
        f(traffic);
    }
}
