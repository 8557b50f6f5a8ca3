//! etcd's peer prober: each member GETs every peer's `/raft/probing` every
//! [`PROBE_INTERVAL`] and keeps a smoothed round-trip time (SRTT, weight
//! 1/8 per sample, as etcd's prober library does). The SRTT is reported to
//! the metrics observer (`etcd_network_peer_round_trip_time_seconds`) first
//! after [`FIRST_REPORT`], then every [`REPORT_INTERVAL`] while the peer
//! answers and every [`FIRST_REPORT`] while it does not; an unanswering peer
//! is logged at those times. Like etcd, a failed probe moves on to the
//! peer's next URL.
//!
//! Unlike etcd, each probe dials a new connection, so a sample includes the
//! TCP (and TLS) handshake: on loopback that is tens of microseconds.

use std::sync::Weak;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::response::IntoResponse;
use parking_lot::RwLock;

use crate::metrics::{observe, PeerTraffic};
use crate::tls_dial::PeerDialer;

/// Between probes of one peer (etcd: its stream read timeout minus 1 s).
pub const PROBE_INTERVAL: Duration = Duration::from_secs(4);
/// Until the first report, and between reports while a peer is down.
pub const FIRST_REPORT: Duration = Duration::from_secs(5);
/// Between reports while a peer answers.
pub const REPORT_INTERVAL: Duration = Duration::from_secs(30);
/// The weight of a new sample in the SRTT.
const ALPHA: f64 = 0.125;

/// `GET /raft/probing`: etcd's prober health body, `{"OK":true,"Now":…}`.
pub(crate) async fn handler() -> axum::response::Response {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let now = etcd_gotext::rfc3339_nano(now.as_nanos().min(i64::MAX as u128) as i64);
    let body = format!("{{\"OK\":true,\"Now\":\"{now}\"}}\n");
    ([(http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// What the prober knows of one peer.
#[derive(Default)]
struct Status {
    srtt_s: f64,
    healthy: bool,
    last_error: String,
}

impl Status {
    fn record(&mut self, rtt: Duration) {
        self.srtt_s = (1.0 - ALPHA) * self.srtt_s + ALPHA * rtt.as_secs_f64();
        self.healthy = true;
    }

    fn fail(&mut self, why: String) {
        self.healthy = false;
        self.last_error = why;
    }
}

/// Probes peer `to` at `urls` until the peer is removed (its URL list is
/// dropped by the transport).
pub(crate) async fn run(to: u64, urls: Weak<RwLock<Vec<String>>>, dialer: PeerDialer) {
    let mut status = Status::default();
    let mut pinned = 0usize;
    let mut probe = tokio::time::interval_at(tokio::time::Instant::now() + PROBE_INTERVAL, PROBE_INTERVAL);
    probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_report = tokio::time::Instant::now() + FIRST_REPORT;
    loop {
        tokio::select! {
            _ = probe.tick() => {
                let Some(url) = current_url(&urls, pinned) else { return };
                let start = Instant::now();
                match crate::fetch::get_with(&dialer, &url, "/raft/probing", PROBE_INTERVAL).await {
                    Ok(r) if r.status == 200 && r.body.starts_with(b"{\"OK\":true") => status.record(start.elapsed()),
                    Ok(r) => {
                        status.fail(format!("got unexpected HTTP status code {} from {url}/raft/probing", r.status));
                        pinned += 1;
                    }
                    Err(e) => {
                        status.fail(e);
                        pinned += 1;
                    }
                }
            }
            _ = tokio::time::sleep_until(next_report) => {
                if urls.strong_count() == 0 {
                    return;
                }
                if status.healthy {
                    next_report += REPORT_INTERVAL;
                } else {
                    tracing::warn!(target: "rafthttp", "health check for peer {to:x} could not connect: {}", status.last_error);
                    next_report += FIRST_REPORT;
                }
                observe(PeerTraffic::RoundTrip { to, seconds: status.srtt_s });
            }
        }
    }
}

fn current_url(urls: &Weak<RwLock<Vec<String>>>, pinned: usize) -> Option<String> {
    let urls = urls.upgrade()?;
    let urls = urls.read();
    (!urls.is_empty()).then(|| urls[pinned % urls.len()].clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srtt_moves_an_eighth_of_the_way_per_sample() {
        let mut s = Status::default();
        s.record(Duration::from_millis(80));
        assert!((s.srtt_s - 0.010).abs() < 1e-9, "{}", s.srtt_s);
        s.record(Duration::from_millis(80));
        assert!((s.srtt_s - (0.875 * 0.010 + 0.010)).abs() < 1e-9, "{}", s.srtt_s);
        assert!(s.healthy);
        s.fail("down".into());
        assert!(!s.healthy);
        assert!(s.srtt_s > 0.0, "a failure keeps the last estimate");
    }
}
