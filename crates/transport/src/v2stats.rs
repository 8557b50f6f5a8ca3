//! The counters behind etcd's `/v2/stats/self` and `/v2/stats/leader`
//! (etcd's `v2stats` package): append requests sent and received with their
//! recent rates, and per-follower send latency and outcome counts.
//!
//! Rates are computed over the last [`RATE_WINDOW_REQUESTS`] requests and are
//! zero when the newest is older than a second, as etcd does. Follower
//! latency is the time from queueing a `MsgAppend` to handing it to the
//! peer's stream (etcd times the encode and write of each append); a failure
//! is an append dropped because the peer's queue was full.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How many recent requests a rate is computed over (etcd's `queueCapacity`).
pub const RATE_WINDOW_REQUESTS: usize = 200;

#[derive(Default)]
struct RateWindow {
    items: VecDeque<(Instant, usize)>,
    total_bytes: usize,
}

impl RateWindow {
    fn insert(&mut self, size_bytes: usize) {
        if self.items.len() == RATE_WINDOW_REQUESTS {
            let (_, old) = self.items.pop_front().expect("window is full");
            self.total_bytes -= old;
        }
        self.items.push_back((Instant::now(), size_bytes));
        self.total_bytes += size_bytes;
    }

    /// (requests per second, bytes per second).
    fn rate(&mut self) -> (f64, f64) {
        let (Some(&(front, _)), Some(&(back, _))) = (self.items.front(), self.items.back()) else {
            return (0.0, 0.0);
        };
        if back.elapsed() > Duration::from_secs(1) {
            *self = RateWindow::default();
            return (0.0, 0.0);
        }
        let secs = back.duration_since(front).as_secs_f64();
        if secs == 0.0 {
            // etcd divides by zero here and reports +Inf; JSON cannot carry it.
            return (0.0, 0.0);
        }
        (self.items.len() as f64 / secs, self.total_bytes as f64 / secs)
    }
}

/// This member's append traffic (etcd's `ServerStats` counters).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct SelfCounters {
    /// Appends received.
    pub recv_append_request_cnt: u64,
    /// Appends received per second, recently.
    pub recv_pkg_rate: f64,
    /// Append bytes received per second, recently.
    pub recv_bandwidth_rate: f64,
    /// Appends sent.
    pub send_append_request_cnt: u64,
    /// Appends sent per second, recently.
    pub send_pkg_rate: f64,
    /// Append bytes sent per second, recently.
    pub send_bandwidth_rate: f64,
    /// The member appends last came from (0: none yet) and since when.
    pub leader_seen: Option<(u64, Instant)>,
}

/// One follower's stats (etcd's `FollowerStats`), latencies in milliseconds.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FollowerStats {
    /// The last latency.
    pub current_ms: f64,
    /// The mean latency.
    pub average_ms: f64,
    average_square_ms: f64,
    /// The standard deviation of latencies.
    pub standard_deviation_ms: f64,
    /// The least latency (2^63 until the first success, as etcd starts it).
    pub minimum_ms: f64,
    /// The greatest latency.
    pub maximum_ms: f64,
    /// Appends that could not be sent.
    pub fail: u64,
    /// Appends sent.
    pub success: u64,
}

impl Default for FollowerStats {
    fn default() -> Self {
        FollowerStats {
            current_ms: 0.0,
            average_ms: 0.0,
            average_square_ms: 0.0,
            standard_deviation_ms: 0.0,
            minimum_ms: (1u64 << 63) as f64,
            maximum_ms: 0.0,
            fail: 0,
            success: 0,
        }
    }
}

impl FollowerStats {
    fn succ(&mut self, d: Duration) {
        let n = self.success as f64;
        let total = n * self.average_ms;
        let total_square = n * self.average_square_ms;
        self.success += 1;
        let cur = d.as_nanos() as f64 / 1_000_000.0;
        self.current_ms = cur;
        self.maximum_ms = self.maximum_ms.max(cur);
        self.minimum_ms = self.minimum_ms.min(cur);
        let n = self.success as f64;
        self.average_ms = (total + cur) / n;
        self.average_square_ms = (total_square + cur * cur) / n;
        self.standard_deviation_ms = (self.average_square_ms - self.average_ms * self.average_ms).max(0.0).sqrt();
    }
}

#[derive(Default)]
struct Inner {
    recv_cnt: u64,
    send_cnt: u64,
    recv: RateWindow,
    send: RateWindow,
    leader_seen: Option<(u64, Instant)>,
    followers: HashMap<u64, FollowerStats>,
}

/// The v2 stats of one member's transport.
#[derive(Default)]
pub struct V2Stats {
    inner: Mutex<Inner>,
}

impl V2Stats {
    pub(crate) fn add_follower(&self, id: u64) {
        self.inner.lock().followers.entry(id).or_default();
    }

    pub(crate) fn remove_follower(&self, id: u64) {
        self.inner.lock().followers.remove(&id);
    }

    pub(crate) fn sent_append(&self, size_bytes: usize) {
        let mut i = self.inner.lock();
        i.send_cnt += 1;
        i.send.insert(size_bytes);
    }

    pub(crate) fn received_append(&self, from: u64, size_bytes: usize) {
        let mut i = self.inner.lock();
        i.recv_cnt += 1;
        i.recv.insert(size_bytes);
        if i.leader_seen.map(|(l, _)| l) != Some(from) {
            i.leader_seen = Some((from, Instant::now()));
        }
    }

    pub(crate) fn follower_succ(&self, id: u64, latency: Duration) {
        if let Some(f) = self.inner.lock().followers.get_mut(&id) {
            f.succ(latency);
        }
    }

    pub(crate) fn follower_fail(&self, id: u64) {
        if let Some(f) = self.inner.lock().followers.get_mut(&id) {
            f.fail += 1;
        }
    }

    /// This member's counters and current rates.
    pub fn self_counters(&self) -> SelfCounters {
        let mut i = self.inner.lock();
        let (recv_pkg_rate, recv_bandwidth_rate) = i.recv.rate();
        let (send_pkg_rate, send_bandwidth_rate) = i.send.rate();
        SelfCounters {
            recv_append_request_cnt: i.recv_cnt,
            recv_pkg_rate,
            recv_bandwidth_rate,
            send_append_request_cnt: i.send_cnt,
            send_pkg_rate,
            send_bandwidth_rate,
            leader_seen: i.leader_seen,
        }
    }

    /// Each peer's follower stats, by member id.
    pub fn followers(&self) -> Vec<(u64, FollowerStats)> {
        let mut v: Vec<_> = self.inner.lock().followers.iter().map(|(k, f)| (*k, f.clone())).collect();
        v.sort_by_key(|(k, _)| *k);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follower_latency_statistics_match_etcds_formulas() {
        let mut f = FollowerStats::default();
        f.succ(Duration::from_millis(1));
        f.succ(Duration::from_millis(3));
        assert_eq!(f.success, 2);
        assert_eq!(f.current_ms, 3.0);
        assert_eq!(f.average_ms, 2.0);
        assert_eq!(f.minimum_ms, 1.0);
        assert_eq!(f.maximum_ms, 3.0);
        assert!((f.standard_deviation_ms - 1.0).abs() < 1e-9);
    }

    #[test]
    fn counters_and_rates() {
        let s = V2Stats::default();
        assert_eq!(s.self_counters().send_pkg_rate, 0.0);
        for _ in 0..RATE_WINDOW_REQUESTS + 5 {
            s.sent_append(10);
        }
        s.received_append(7, 4);
        let c = s.self_counters();
        assert_eq!(c.send_append_request_cnt, RATE_WINDOW_REQUESTS as u64 + 5);
        assert_eq!(c.recv_append_request_cnt, 1);
        assert_eq!(c.leader_seen.map(|l| l.0), Some(7));
        s.add_follower(2);
        s.follower_fail(2);
        s.follower_fail(3);
        assert_eq!(s.followers().len(), 1);
        assert_eq!(s.followers()[0].1.fail, 1);
    }
}
