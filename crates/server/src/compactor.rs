//! Auto-compaction (etcd 3.4's `v3compactor`): the leader proposes
//! compactions on a schedule; followers' compactors stay paused.
//!
//! - `periodic` with retention `P`: every `P/10` (capped at 6 min) record the
//!   current revision, keeping the last `P / (P/10) + 1` samples, so the
//!   oldest sample is the revision of about `P` ago. Once `P` has passed
//!   since the last success (then every `min(P, 1h)`), compact at the oldest
//!   sample. A failure retries after `P/10`.
//! - `revision` with retention `N`: every 5 minutes compact at
//!   `current - N` if that is positive and not the last compacted value.
//! - `Compacted` counts as success (someone compacted further already).
//!
//! The schedule is a pure state machine ([`Periodic`], [`RevisionMode`])
//! fed with times and revisions; [`spawn`] drives it with a Tokio timer.
//!
//! Test seam: the revision mode's 5-minute interval can be shortened with the
//! environment variable [`REVISION_MODE_INTERVAL_ENV`]
//! (`ETCD_RS_TEST_REVISION_COMPACTION_INTERVAL_MS=<ms>`, at least 1). It exists
//! only so process tests need not wait 5 minutes; etcd has no such knob, and
//! production deployments must not set it.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use etcd_proto::etcdserverpb::CompactionRequest;
use etcd_proto::EtcdError;

use crate::EtcdServer;
use etcd_gotext::format_duration as go_duration;

/// How often the revision mode looks (etcd: 5 minutes).
pub const REVISION_MODE_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Test-only override of [`REVISION_MODE_INTERVAL`], in milliseconds.
pub const REVISION_MODE_INTERVAL_ENV: &str = "ETCD_RS_TEST_REVISION_COMPACTION_INTERVAL_MS";
/// The longest compaction interval of the periodic mode (etcd: 1 hour).
const PERIODIC_INTERVAL_MAX: Duration = Duration::from_secs(3600);
/// The periodic mode samples ten times per interval.
const RETRY_DIVISOR: u32 = 10;

/// `--auto-compaction-mode` + `--auto-compaction-retention`, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutoCompaction {
    /// Retention 0: no auto-compaction.
    #[default]
    Off,
    /// Keep this much history.
    Periodic(Duration),
    /// Keep this many revisions.
    Revision(i64),
}

/// Parses the flags as etcd 3.4 does: a bare non-negative integer is hours
/// (periodic) or revisions; anything else must be a Go duration (in revision
/// mode its nanoseconds count as revisions, as in etcd). The error is etcd's
/// message, `error parsing CompactionRetention: ...`.
pub fn parse_auto_compaction(mode: &str, retention: &str) -> Result<AutoCompaction, String> {
    let amount = match retention.parse::<i64>() {
        Ok(n) if n >= 0 => match mode {
            "revision" => Amount::Count(n),
            _ => Amount::Time(Duration::from_secs(n as u64 * 3600)),
        },
        _ => match etcd_gotext::parse_duration_ns(retention) {
            Ok(ns) if ns >= 0 => Amount::Time(Duration::from_nanos(ns as u64)),
            // etcd takes a negative duration as given; no retention fits one, so refuse it.
            Ok(_) => {
                return Err(format!(
                    "error parsing CompactionRetention: time: invalid duration {retention:?}"
                ))
            }
            Err(e) => return Err(format!("error parsing CompactionRetention: {e}")),
        },
    };
    Ok(match (mode, amount) {
        (_, Amount::Count(0)) => AutoCompaction::Off,
        (_, Amount::Time(d)) if d.is_zero() => AutoCompaction::Off,
        ("revision", Amount::Count(n)) => AutoCompaction::Revision(n),
        ("revision", Amount::Time(d)) => {
            AutoCompaction::Revision(d.as_nanos().min(i64::MAX as u128) as i64)
        }
        (_, Amount::Time(d)) => AutoCompaction::Periodic(d),
        (_, Amount::Count(n)) => AutoCompaction::Periodic(Duration::from_secs(n as u64 * 3600)),
    })
}

enum Amount {
    Count(i64),
    Time(Duration),
}

/// The periodic mode's state.
#[derive(Debug)]
pub(crate) struct Periodic {
    period: Duration,
    revs: std::collections::VecDeque<i64>,
    last_success: Instant,
    base_interval: Duration,
}

impl Periodic {
    pub(crate) fn new(period: Duration, now: Instant) -> Periodic {
        Periodic {
            period,
            revs: Default::default(),
            last_success: now,
            base_interval: period,
        }
    }

    /// Time between two samples.
    pub(crate) fn retry_interval(&self) -> Duration {
        self.period.min(PERIODIC_INTERVAL_MAX) / RETRY_DIVISOR
    }

    fn retentions(&self) -> usize {
        (self.period.as_nanos() / self.retry_interval().as_nanos().max(1)) as usize + 1
    }

    /// Records the revision now; call before each wait.
    pub(crate) fn sample(&mut self, rev: i64) {
        self.revs.push_back(rev);
        if self.revs.len() > self.retentions() {
            self.revs.pop_front();
        }
    }

    /// After a wait: the revision to compact at, if it is time.
    pub(crate) fn due(&mut self, now: Instant) -> Option<i64> {
        if now.duration_since(self.last_success) < self.base_interval {
            return None;
        }
        if self.base_interval == self.period {
            self.base_interval = self.period.min(PERIODIC_INTERVAL_MAX);
        }
        self.revs.front().copied()
    }

    pub(crate) fn succeeded(&mut self, now: Instant) {
        self.last_success = now;
    }
}

/// The revision mode's state.
#[derive(Debug, Default)]
pub(crate) struct RevisionMode {
    retention: i64,
    prev: i64,
}

impl RevisionMode {
    /// The revision to compact at, given the current one.
    pub(crate) fn due(&self, current: i64) -> Option<i64> {
        let rev = current - self.retention;
        (rev > 0 && rev != self.prev).then_some(rev)
    }

    pub(crate) fn succeeded(&mut self, rev: i64) {
        self.prev = rev;
    }
}

/// Starts the compactor for `server` (nothing when auto-compaction is off).
pub(crate) fn spawn(server: &Arc<EtcdServer>, mode: AutoCompaction) {
    let weak = Arc::downgrade(server);
    match mode {
        AutoCompaction::Off => {}
        AutoCompaction::Periodic(period) => {
            tokio::spawn(run_periodic(weak, period));
        }
        AutoCompaction::Revision(retention) => {
            tokio::spawn(run_revision(weak, retention));
        }
    }
}

async fn compact(s: &EtcdServer, rev: i64) -> Result<(), EtcdError> {
    match s
        .compact(CompactionRequest {
            revision: rev,
            physical: false,
        })
        .await
    {
        Ok(_) | Err(EtcdError::Compacted) => Ok(()),
        Err(e) => Err(e),
    }
}

async fn run_periodic(weak: Weak<EtcdServer>, period: Duration) {
    let mut p = Periodic::new(period, Instant::now());
    let retry = p.retry_interval().max(Duration::from_millis(1));
    loop {
        match weak.upgrade() {
            Some(s) => p.sample(s.revision()),
            None => return,
        }
        tokio::time::sleep(retry).await;
        let Some(s) = weak.upgrade() else { return };
        if !s.is_leader() {
            continue; // paused, as etcd pauses it on followers
        }
        let Some(rev) = p.due(Instant::now()) else {
            continue;
        };
        tracing::info!(target: "compactor", notice = true, "Starting auto-compaction at revision {rev} (retention: {})", go_duration(period));
        match compact(&s, rev).await {
            Ok(()) => {
                tracing::info!(target: "compactor", notice = true, "Finished auto-compaction at revision {rev}");
                p.succeeded(Instant::now());
            }
            Err(e) => {
                tracing::info!(target: "compactor", notice = true, "Failed auto-compaction at revision {rev} ({e})");
                tracing::info!(target: "compactor", notice = true, "Retry after {}", go_duration(retry));
            }
        }
    }
}

/// The revision mode's interval: [`REVISION_MODE_INTERVAL`] unless the test
/// seam [`REVISION_MODE_INTERVAL_ENV`] holds a positive number of ms.
fn revision_mode_interval(env_value: Option<&str>) -> Duration {
    match env_value.and_then(|v| v.trim().parse::<u64>().ok()) {
        Some(ms) if ms > 0 => Duration::from_millis(ms),
        _ => REVISION_MODE_INTERVAL,
    }
}

async fn run_revision(weak: Weak<EtcdServer>, retention: i64) {
    let mut r = RevisionMode { retention, prev: 0 };
    let env = std::env::var(REVISION_MODE_INTERVAL_ENV).ok();
    let interval = revision_mode_interval(env.as_deref());
    if interval != REVISION_MODE_INTERVAL {
        tracing::warn!(target: "compactor", "revision compaction interval overridden by {REVISION_MODE_INTERVAL_ENV} to {} (test only)", go_duration(interval));
    }
    loop {
        tokio::time::sleep(interval).await;
        let Some(s) = weak.upgrade() else { return };
        if !s.is_leader() {
            continue;
        }
        let Some(rev) = r.due(s.revision()) else {
            continue;
        };
        tracing::info!(target: "compactor", notice = true, "Starting auto-compaction at revision {rev} (retention: {retention} revisions)");
        match compact(&s, rev).await {
            Ok(()) => {
                r.succeeded(rev);
                tracing::info!(target: "compactor", notice = true, "Finished auto-compaction at revision {rev}");
            }
            Err(e) => {
                tracing::info!(target: "compactor", notice = true, "Failed auto-compaction at revision {rev} ({e})");
                tracing::info!(target: "compactor", notice = true, "Retry after {}", go_duration(interval));
            }
        }
    }
}

/// The lines etcd's mvcc store logs for a finished compaction (every member
/// logs them when it applies one).
pub(crate) fn log_compacted(rev: i64, took: Duration) {
    tracing::info!(target: "mvcc", "store.index: compact {rev}");
    tracing::info!(target: "mvcc", "finished scheduled compaction at {rev} (took {})", go_duration(took));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_like_etcd() {
        assert_eq!(
            parse_auto_compaction("periodic", "0"),
            Ok(AutoCompaction::Off)
        );
        assert_eq!(
            parse_auto_compaction("periodic", "1"),
            Ok(AutoCompaction::Periodic(Duration::from_secs(3600)))
        );
        assert_eq!(
            parse_auto_compaction("periodic", "30m"),
            Ok(AutoCompaction::Periodic(Duration::from_secs(1800)))
        );
        assert_eq!(
            parse_auto_compaction("periodic", "1.5s"),
            Ok(AutoCompaction::Periodic(Duration::from_millis(1500)))
        );
        assert_eq!(
            parse_auto_compaction("revision", "1000"),
            Ok(AutoCompaction::Revision(1000))
        );
        assert_eq!(
            parse_auto_compaction("revision", "1us"),
            Ok(AutoCompaction::Revision(1000))
        );
        assert_eq!(
            parse_auto_compaction("periodic", "abc"),
            Err("error parsing CompactionRetention: time: invalid duration \"abc\"".into())
        );
        assert_eq!(
            parse_auto_compaction("periodic", "-1"),
            Err("error parsing CompactionRetention: time: missing unit in duration \"-1\"".into())
        );
        assert_eq!(
            parse_auto_compaction("periodic", "5x"),
            Err("error parsing CompactionRetention: time: unknown unit \"x\" in duration \"5x\"".into())
        );
        assert!(parse_auto_compaction("periodic", "-1h").is_err());
    }

    #[test]
    fn periodic_compacts_at_the_revision_of_one_period_ago() {
        let t0 = Instant::now();
        let period = Duration::from_secs(10);
        let mut p = Periodic::new(period, t0);
        assert_eq!(p.retry_interval(), Duration::from_secs(1));
        // One sample per second, revision = 100 + seconds.
        let mut due = None;
        for s in 0..=10u64 {
            p.sample(100 + s as i64);
            due = p.due(t0 + Duration::from_secs(s + 1));
            if due.is_some() {
                assert_eq!(s + 1, 10, "nothing before one period");
                break;
            }
        }
        assert_eq!(due, Some(100));
        p.succeeded(t0 + Duration::from_secs(10));
        p.sample(111);
        assert_eq!(
            p.due(t0 + Duration::from_secs(11)),
            None,
            "next one a period later"
        );
        for s in 12..=20u64 {
            p.sample(100 + s as i64);
        }
        // Samples 100..=109, 111..=120: the oldest of the last 11 is 109.
        assert_eq!(
            p.due(t0 + Duration::from_secs(20)),
            Some(109),
            "the oldest of the 11 samples"
        );
    }

    #[test]
    fn revision_mode_interval_seam() {
        assert_eq!(revision_mode_interval(None), REVISION_MODE_INTERVAL);
        assert_eq!(revision_mode_interval(Some("0")), REVISION_MODE_INTERVAL);
        assert_eq!(revision_mode_interval(Some("x")), REVISION_MODE_INTERVAL);
        assert_eq!(
            revision_mode_interval(Some("250")),
            Duration::from_millis(250)
        );
    }

    #[test]
    fn revision_mode_keeps_n_revisions() {
        let mut r = RevisionMode {
            retention: 10,
            prev: 0,
        };
        assert_eq!(r.due(5), None);
        assert_eq!(r.due(25), Some(15));
        r.succeeded(15);
        assert_eq!(r.due(25), None, "same revision twice is skipped");
        assert_eq!(r.due(26), Some(16));
    }
}
