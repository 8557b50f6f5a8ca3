//! The warnings operators grep etcd's logs for, in etcd 3.4's wording for
//! both loggers (capnslog text and zap message plus fields), each with the
//! counter etcd bumps beside it:
//! - WAL fsync over 1 s: "slow fdatasync" (zap) / "sync duration of …,
//!   expected less than 1s" (capnslog);
//! - an applied request over 100 ms: "apply request took too long" /
//!   "request … took too long (…) to execute", `etcd_server_slow_apply_total`;
//! - a leader heartbeat to a peer later than twice the heartbeat interval
//!   after the previous one: "leader failed to send out heartbeat on time…" /
//!   "failed to send out heartbeat on time (…)",
//!   `etcd_server_heartbeat_send_failures_total`.
//!
//! Which wording is used is process-wide ([`set_zap`]), chosen by the binary
//! when it installs its logger. Durations print as Go's `time.Duration` does.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::metrics::metrics;
use etcd_gotext::format_duration as go_duration;

static ZAP: AtomicBool = AtomicBool::new(false);

/// Selects zap wording (message plus fields) instead of capnslog text.
pub fn set_zap(on: bool) {
    ZAP.store(on, Ordering::Relaxed);
}

fn zap() -> bool {
    ZAP.load(Ordering::Relaxed)
}

/// WAL fsyncs slower than this are reported (etcd's `warnSyncDuration`).
pub const SLOW_FSYNC: Duration = Duration::from_secs(1);

/// Applies slower than this are reported (etcd's `warnApplyDuration`).
pub const SLOW_APPLY: Duration = Duration::from_millis(100);

/// Reports a slow WAL fsync.
pub fn slow_fdatasync(took: Duration) {
    if took <= SLOW_FSYNC {
        return;
    }
    if zap() {
        tracing::warn!(target: "wal", took = %go_duration(took), "expected-duration" = %go_duration(SLOW_FSYNC),
            "slow fdatasync");
    } else {
        tracing::warn!(target: "wal", "sync duration of {}, expected less than {}", go_duration(took), go_duration(SLOW_FSYNC));
    }
}

/// Reports an apply that took `took`, if slow; `request` and `result` are
/// rendered only then.
pub(crate) fn slow_apply(
    took: Duration,
    request: impl FnOnce() -> String,
    result: impl FnOnce() -> Result<String, String>,
) {
    if took <= SLOW_APPLY {
        return;
    }
    metrics().slow_apply.inc();
    let request = request();
    match (zap(), result()) {
        (true, Ok(resp)) => tracing::warn!(target: "etcdserver", took = %go_duration(took),
            "expected-duration" = %go_duration(SLOW_APPLY), prefix = "", request = %request, response = %resp,
            "apply request took too long"),
        (true, Err(e)) => tracing::warn!(target: "etcdserver", took = %go_duration(took),
            "expected-duration" = %go_duration(SLOW_APPLY), prefix = "", request = %request, response = "",
            error = %e, "apply request took too long"),
        (false, result) => {
            let result = result.unwrap_or_else(|e| format!("error:{e}"));
            tracing::warn!(target: "etcdserver", "request {request:?} with result {result:?} took too long ({}) to execute",
                go_duration(took));
        }
    }
}

/// Watches the gaps between a leader's heartbeats to each peer (etcd's
/// `contention.TimeoutDetector`): a gap longer than twice the heartbeat
/// interval means the leader was too slow, usually from a slow disk.
pub(crate) struct HeartbeatWatch {
    interval: Duration,
    last_sent: HashMap<u64, Instant>,
}

impl HeartbeatWatch {
    pub(crate) fn new(interval: Duration) -> HeartbeatWatch {
        HeartbeatWatch {
            interval,
            last_sent: HashMap::new(),
        }
    }

    /// Forgets previous sends (leadership changed).
    pub(crate) fn reset(&mut self) {
        self.last_sent.clear();
    }

    /// Notes a heartbeat to `to` sent at `now`; returns how far past the
    /// allowed gap it was, if it was late.
    pub(crate) fn sent(&mut self, to: u64, now: Instant) -> Option<Duration> {
        let late = self
            .last_sent
            .insert(to, now)
            .and_then(|prev| {
                now.saturating_duration_since(prev)
                    .checked_sub(2 * self.interval)
            })
            .filter(|d| !d.is_zero());
        if let Some(exceeded) = late {
            metrics().heartbeat_send_failures.inc();
            if zap() {
                tracing::warn!(target: "etcdserver", to = %format!("{to:x}"),
                    "heartbeat-interval" = %go_duration(self.interval),
                    "expected-duration" = %go_duration(2 * self.interval),
                    "exceeded-duration" = %go_duration(exceeded),
                    "leader failed to send out heartbeat on time; took too long, leader is overloaded likely from slow disk");
            } else {
                tracing::warn!(target: "etcdserver", "failed to send out heartbeat on time (exceeded the {} timeout for {}, to {to:x})",
                    go_duration(self.interval), go_duration(exceeded));
                tracing::warn!(target: "etcdserver", "server is likely overloaded");
            }
        }
        late
    }
}

/// An applied request as etcd's slow-apply warning shows it: the header id
/// and the request kind, put values shown by size only.
pub(crate) fn describe_request(req: &etcd_proto::etcdserverpb::InternalRaftRequest) -> String {
    let id = req.header.as_ref().map(|h| h.id).unwrap_or(req.id);
    let body = if let Some(p) = &req.put {
        let lease = if p.lease != 0 {
            format!(" lease:{}", p.lease)
        } else {
            String::new()
        };
        format!(
            "put:<key:{:?} value_size:{}{lease} >",
            String::from_utf8_lossy(&p.key),
            p.value.len()
        )
    } else if let Some(d) = &req.delete_range {
        format!(
            "delete_range:<key:{:?} range_end:{:?} >",
            String::from_utf8_lossy(&d.key),
            String::from_utf8_lossy(&d.range_end)
        )
    } else if let Some(t) = &req.txn {
        format!(
            "txn:<compare_size:{} success_size:{} failure_size:{} >",
            t.compare.len(),
            t.success.len(),
            t.failure.len()
        )
    } else if let Some(c) = &req.compaction {
        format!(
            "compaction:<revision:{} physical:{} >",
            c.revision, c.physical
        )
    } else if let Some(l) = &req.lease_grant {
        format!("lease_grant:<ttl:{}-second id:{:x}>", l.ttl, l.id)
    } else if let Some(l) = &req.lease_revoke {
        format!("lease_revoke:<id:{:x}>", l.id)
    } else {
        "other".to_string()
    };
    format!("header:<ID:{id} > {body}")
}

/// An apply result as etcd's slow-apply warning shows it: the encoded
/// response size, or the error.
pub(crate) fn describe_result(result: &crate::ApplyResult) -> Result<String, String> {
    use crate::ApplyResponse as R;
    use prost::Message as _;
    match result {
        Ok(r) => Ok(format!(
            "size:{}",
            match r {
                R::Range(r) => r.encoded_len(),
                R::Put(r) => r.encoded_len(),
                R::DeleteRange(r) => r.encoded_len(),
                R::Txn(r) => r.encoded_len(),
                R::Compaction(r) => r.encoded_len(),
                R::LeaseGrant(r) => r.encoded_len(),
                R::LeaseRevoke(r) => r.encoded_len(),
                _ => 0,
            }
        )),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_late_only_past_twice_the_interval() {
        let mut w = HeartbeatWatch::new(Duration::from_millis(100));
        let t0 = Instant::now();
        let before = metrics().heartbeat_send_failures.get();
        assert_eq!(
            w.sent(2, t0),
            None,
            "first heartbeat has nothing to compare with"
        );
        assert_eq!(w.sent(2, t0 + Duration::from_millis(150)), None);
        assert_eq!(
            w.sent(2, t0 + Duration::from_millis(350)),
            None,
            "exactly 2x is on time"
        );
        assert_eq!(
            w.sent(2, t0 + Duration::from_millis(600)),
            Some(Duration::from_millis(50))
        );
        assert_eq!(
            w.sent(3, t0 + Duration::from_millis(600)),
            None,
            "peers are tracked apart"
        );
        w.reset();
        assert_eq!(w.sent(2, t0 + Duration::from_secs(5)), None);
        assert!(metrics().heartbeat_send_failures.get() > before);
    }
}
