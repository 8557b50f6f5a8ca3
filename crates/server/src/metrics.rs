//! The process's Prometheus registry: etcd 3.4's metric names, types, help
//! texts, labels and histogram buckets, served as text on `/metrics`.
//!
//! Contract:
//! - One registry per process, like etcd's (Go's default registry): every
//!   server in the process adds to the same counters. Gauges describing a
//!   server (leader, sizes, revisions) are read from the server being scraped
//!   when [`render`] runs.
//! - Hot paths never lock: counters and histograms are atomics (the
//!   `prometheus` crate's), lower crates count in their own atomics or call
//!   a hook installed here ([`install_hooks`]); values kept elsewhere are
//!   copied into the registry under the scrape lock at scrape time.
//! - Counters only grow: a value copied from an atomic is added as the
//!   difference since the last scrape.
//! - `--metrics extensive` adds `grpc_server_handling_seconds`, which the
//!   gRPC layer observes only then (see [`set_extensive`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{LazyLock, Once};
use std::time::Duration;

use parking_lot::Mutex;
use prometheus::{
    exponential_buckets, Counter, Encoder, Gauge, Histogram, HistogramOpts, HistogramVec,
    IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::server::{EtcdServer, CLUSTER_VERSION, ETCD_VERSION};

/// Every metric the server keeps. Fields are public so the layers that see
/// an event bump the metric directly (`metrics().slow_apply.inc()`).
#[allow(missing_docs)]
pub struct Metrics {
    registry: Registry,
    extensive_registry: Registry,
    scrape: Mutex<()>,
    // etcdserver/metrics.go
    pub has_leader: IntGauge,
    pub is_leader: IntGauge,
    pub is_learner: IntGauge,
    pub leader_changes: IntCounter,
    pub heartbeat_send_failures: IntCounter,
    pub slow_apply: IntCounter,
    pub slow_read_indexes: IntCounter,
    pub read_indexes_failed: IntCounter,
    pub proposals_committed: IntGauge,
    pub proposals_applied: IntGauge,
    pub proposals_pending: IntGauge,
    pub proposals_failed: IntCounter,
    pub lease_expired: IntCounter,
    pub quota_backend_bytes: Gauge,
    pub snapshot_apply_in_progress: IntGauge,
    pub health_success: IntCounter,
    pub health_failures: IntCounter,
    pub learner_promote_successes: IntCounter,
    server_version: IntGaugeVec,
    cluster_version: IntGaugeVec,
    server_id: IntGaugeVec,
    // wal/metrics.go, mvcc/backend/metrics.go
    pub wal_fsync_seconds: Histogram,
    wal_write_bytes: Gauge,
    pub backend_commit_seconds: Histogram,
    pub backend_snapshot_seconds: Histogram,
    pub backend_defrag_seconds: Histogram,
    pub defrag_inflight: IntGauge,
    // mvcc/metrics.go
    put_total: [IntCounter; 2],
    delete_total: [IntCounter; 2],
    range_total: [IntCounter; 2],
    txn_total: [IntCounter; 2],
    put_size_bytes: Gauge,
    keys_total: IntGauge,
    current_revision: IntGauge,
    compact_revision: IntGauge,
    db_total_size: [IntGauge; 2],
    db_in_use_size: IntGauge,
    compaction_keys: IntCounter,
    pub compaction_db_pause_ms: Histogram,
    pub compaction_db_total_ms: Histogram,
    pub compaction_index_pause_ms: Histogram,
    pub watch_streams: IntGauge,
    pub watchers: IntGauge,
    // rafthttp/metrics.go
    pub peer_sent_bytes: IntCounterVec,
    pub peer_received_bytes: IntCounterVec,
    pub peer_round_trip_seconds: HistogramVec,
    // etcdserver/api/v3rpc/metrics.go and go-grpc-prometheus
    pub client_grpc_sent_bytes: IntCounter,
    pub client_grpc_received_bytes: IntCounter,
    pub grpc_started: IntCounterVec,
    pub grpc_handled: IntCounterVec,
    pub grpc_msg_received: IntCounterVec,
    pub grpc_msg_sent: IntCounterVec,
    pub grpc_handling_seconds: HistogramVec,
    // process collector
    process_cpu_seconds: Counter,
    process_open_fds: IntGauge,
    process_max_fds: IntGauge,
    process_resident_bytes: IntGauge,
    process_virtual_bytes: IntGauge,
    process_virtual_max_bytes: Gauge,
    process_start_time_seconds: Gauge,
}

/// etcd's default `--quota-backend-bytes` (2 GiB), reported for 0.
const DEFAULT_QUOTA_BYTES: f64 = 2.0 * 1024.0 * 1024.0 * 1024.0;

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
static EXTENSIVE: AtomicBool = AtomicBool::new(false);

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

/// `--metrics extensive`: also keep and serve gRPC handling-time histograms.
pub fn set_extensive(on: bool) {
    EXTENSIVE.store(on, Ordering::Relaxed);
}

/// Whether `--metrics extensive` is on.
pub fn extensive() -> bool {
    EXTENSIVE.load(Ordering::Relaxed)
}

/// Histogram buckets `start, start*2, ...` (`count` of them), etcd's choice
/// for every duration histogram.
fn doubling(start: f64, count: usize) -> Vec<f64> {
    exponential_buckets(start, 2.0, count).expect("valid buckets")
}

struct Builder<'a>(&'a Registry);

impl Builder<'_> {
    fn reg<C: prometheus::core::Collector + Clone + 'static>(&self, c: C) -> C {
        self.0
            .register(Box::new(c.clone()))
            .expect("metric names are unique");
        c
    }
    fn counter(&self, name: &str, help: &str) -> IntCounter {
        self.reg(IntCounter::new(name, help).expect("valid metric"))
    }
    fn gauge(&self, name: &str, help: &str) -> IntGauge {
        self.reg(IntGauge::new(name, help).expect("valid metric"))
    }
    fn fgauge(&self, name: &str, help: &str) -> Gauge {
        self.reg(Gauge::new(name, help).expect("valid metric"))
    }
    fn labelled_gauge(&self, name: &str, help: &str, label: &str) -> IntGaugeVec {
        self.reg(IntGaugeVec::new(Opts::new(name, help), &[label]).expect("valid metric"))
    }
    fn counter_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        self.reg(IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"))
    }
    fn histogram(&self, name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
        self.reg(
            Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
                .expect("valid metric"),
        )
    }
    fn histogram_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: Vec<f64>,
    ) -> HistogramVec {
        let opts = HistogramOpts::new(name, help).buckets(buckets);
        self.reg(HistogramVec::new(opts, labels).expect("valid metric"))
    }
    /// etcd registers each mvcc counter twice: `etcd_mvcc_*` and the
    /// deprecated `etcd_debugging_mvcc_*` with the same help.
    fn mvcc_pair(&self, suffix: &str, help: &str) -> [IntCounter; 2] {
        [
            self.counter(&format!("etcd_mvcc_{suffix}"), help),
            self.counter(&format!("etcd_debugging_mvcc_{suffix}"), help),
        ]
    }
}

const GRPC_LABELS: [&str; 3] = ["grpc_type", "grpc_service", "grpc_method"];

impl Metrics {
    fn new() -> Metrics {
        let registry = Registry::new();
        let extensive_registry = Registry::new();
        let b = Builder(&registry);
        let size_help = "Total size of the underlying database physically allocated in bytes.";
        let m = Metrics {
            has_leader: b.gauge("etcd_server_has_leader", "Whether or not a leader exists. 1 is existence, 0 is not."),
            is_leader: b.gauge("etcd_server_is_leader", "Whether or not this member is a leader. 1 if is, 0 otherwise."),
            is_learner: b.gauge("etcd_server_is_learner", "Whether or not this member is a learner. 1 if is, 0 otherwise."),
            leader_changes: b.counter("etcd_server_leader_changes_seen_total", "The number of leader changes seen."),
            heartbeat_send_failures: b.counter(
                "etcd_server_heartbeat_send_failures_total",
                "The total number of leader heartbeat send failures (likely overloaded from slow disk).",
            ),
            slow_apply: b.counter(
                "etcd_server_slow_apply_total",
                "The total number of slow apply requests (likely overloaded from slow disk).",
            ),
            slow_read_indexes: b.counter(
                "etcd_server_slow_read_indexes_total",
                "The total number of pending read indexes not in sync with leader's or timed out read index requests.",
            ),
            read_indexes_failed: b.counter("etcd_server_read_indexes_failed_total", "The total number of failed read indexes seen."),
            proposals_committed: b.gauge("etcd_server_proposals_committed_total", "The total number of consensus proposals committed."),
            proposals_applied: b.gauge("etcd_server_proposals_applied_total", "The total number of consensus proposals applied."),
            proposals_pending: b.gauge("etcd_server_proposals_pending", "The current number of pending proposals to commit."),
            proposals_failed: b.counter("etcd_server_proposals_failed_total", "The total number of failed proposals seen."),
            lease_expired: b.counter("etcd_debugging_server_lease_expired_total", "The total number of expired leases."),
            quota_backend_bytes: b.fgauge("etcd_server_quota_backend_bytes", "Current backend storage quota size in bytes."),
            snapshot_apply_in_progress: b.gauge(
                "etcd_server_snapshot_apply_in_progress_total",
                "1 if the server is applying the incoming snapshot. 0 if none.",
            ),
            health_success: b.counter("etcd_server_health_success", "The total number of successful health checks"),
            health_failures: b.counter("etcd_server_health_failures", "The total number of failed health checks"),
            learner_promote_successes: b.counter(
                "etcd_server_learner_promote_successes",
                "The total number of successful learner promotions while this member is leader.",
            ),
            server_version: b.labelled_gauge(
                "etcd_server_version",
                "Which version is running. 1 for 'server_version' label with current version.",
                "server_version",
            ),
            cluster_version: b.labelled_gauge(
                "etcd_cluster_version",
                "Which version is running. 1 for 'cluster_version' label with current cluster version",
                "cluster_version",
            ),
            server_id: b.labelled_gauge(
                "etcd_server_id",
                "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.",
                "server_id",
            ),
            wal_fsync_seconds: b.histogram(
                "etcd_disk_wal_fsync_duration_seconds",
                "The latency distributions of fsync called by WAL.",
                doubling(0.001, 14),
            ),
            wal_write_bytes: b.fgauge("etcd_disk_wal_write_bytes_total", "Total number of bytes written in WAL."),
            backend_commit_seconds: b.histogram(
                "etcd_disk_backend_commit_duration_seconds",
                "The latency distributions of commit called by backend.",
                doubling(0.001, 14),
            ),
            backend_snapshot_seconds: b.histogram(
                "etcd_disk_backend_snapshot_duration_seconds",
                "The latency distribution of backend snapshots.",
                doubling(0.01, 17),
            ),
            backend_defrag_seconds: b.histogram(
                "etcd_disk_backend_defrag_duration_seconds",
                "The latency distribution of backend defragmentation.",
                doubling(0.1, 13),
            ),
            defrag_inflight: b.gauge(
                "etcd_disk_defrag_inflight",
                "Whether or not defrag is active on the member. 1 means active, 0 means not.",
            ),
            put_total: b.mvcc_pair("put_total", "Total number of puts seen by this member."),
            delete_total: b.mvcc_pair("delete_total", "Total number of deletes seen by this member."),
            range_total: b.mvcc_pair("range_total", "Total number of ranges seen by this member."),
            txn_total: b.mvcc_pair("txn_total", "Total number of txns seen by this member."),
            put_size_bytes: b.fgauge(
                "etcd_debugging_mvcc_total_put_size_in_bytes",
                "The total size of put kv pairs seen by this member.",
            ),
            keys_total: b.gauge("etcd_debugging_mvcc_keys_total", "Total number of keys."),
            current_revision: b.gauge("etcd_debugging_mvcc_current_revision", "The current revision of store."),
            compact_revision: b.gauge("etcd_debugging_mvcc_compact_revision", "The revision of the last compaction in store."),
            db_total_size: [
                b.gauge("etcd_mvcc_db_total_size_in_bytes", size_help),
                b.gauge("etcd_debugging_mvcc_db_total_size_in_bytes", size_help),
            ],
            db_in_use_size: b.gauge(
                "etcd_mvcc_db_total_size_in_use_in_bytes",
                "Total size of the underlying database logically in use in bytes.",
            ),
            compaction_keys: b.counter("etcd_debugging_mvcc_db_compaction_keys_total", "Total number of db keys compacted."),
            compaction_db_pause_ms: b.histogram(
                "etcd_debugging_mvcc_db_compaction_pause_duration_milliseconds",
                "Bucketed histogram of db compaction pause duration.",
                doubling(1.0, 13),
            ),
            compaction_db_total_ms: b.histogram(
                "etcd_debugging_mvcc_db_compaction_total_duration_milliseconds",
                "Bucketed histogram of db compaction total duration.",
                doubling(100.0, 14),
            ),
            compaction_index_pause_ms: b.histogram(
                "etcd_debugging_mvcc_index_compaction_pause_duration_milliseconds",
                "Bucketed histogram of index compaction pause duration.",
                doubling(0.5, 14),
            ),
            watch_streams: b.gauge("etcd_debugging_mvcc_watch_stream_total", "Total number of watch streams."),
            watchers: b.gauge("etcd_debugging_mvcc_watcher_total", "Total number of watchers."),
            peer_sent_bytes: b.counter_vec("etcd_network_peer_sent_bytes_total", "The total number of bytes sent to peers.", &["To"]),
            peer_received_bytes: b.counter_vec(
                "etcd_network_peer_received_bytes_total",
                "The total number of bytes received from peers.",
                &["From"],
            ),
            peer_round_trip_seconds: b.histogram_vec(
                "etcd_network_peer_round_trip_time_seconds",
                "Round-Trip-Time histogram between peers",
                &["To"],
                doubling(0.0001, 16),
            ),
            client_grpc_sent_bytes: b.counter(
                "etcd_network_client_grpc_sent_bytes_total",
                "The total number of bytes sent to grpc clients.",
            ),
            client_grpc_received_bytes: b.counter(
                "etcd_network_client_grpc_received_bytes_total",
                "The total number of bytes received from grpc clients.",
            ),
            grpc_started: b.counter_vec("grpc_server_started_total", "Total number of RPCs started on the server.", &GRPC_LABELS),
            grpc_handled: b.counter_vec(
                "grpc_server_handled_total",
                "Total number of RPCs completed on the server, regardless of success or failure.",
                &["grpc_type", "grpc_service", "grpc_method", "grpc_code"],
            ),
            grpc_msg_received: b.counter_vec(
                "grpc_server_msg_received_total",
                "Total number of RPC stream messages received on the server.",
                &GRPC_LABELS,
            ),
            grpc_msg_sent: b.counter_vec(
                "grpc_server_msg_sent_total",
                "Total number of gRPC stream messages sent by the server.",
                &GRPC_LABELS,
            ),
            grpc_handling_seconds: Builder(&extensive_registry).histogram_vec(
                "grpc_server_handling_seconds",
                "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
                &GRPC_LABELS,
                prometheus::DEFAULT_BUCKETS.to_vec(),
            ),
            process_cpu_seconds: b.reg(
                Counter::new("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.").expect("valid"),
            ),
            process_open_fds: b.gauge("process_open_fds", "Number of open file descriptors."),
            process_max_fds: b.gauge("process_max_fds", "Maximum number of open file descriptors."),
            process_resident_bytes: b.gauge("process_resident_memory_bytes", "Resident memory size in bytes."),
            process_virtual_bytes: b.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes."),
            process_virtual_max_bytes: b.fgauge(
                "process_virtual_memory_max_bytes",
                "Maximum amount of virtual memory available in bytes.",
            ),
            process_start_time_seconds: b.fgauge(
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
            ),
            registry,
            extensive_registry,
            scrape: Mutex::new(()),
        };
        m.server_version.with_label_values(&[ETCD_VERSION]).set(1);
        // etcd labels the cluster version by major.minor only ("3.4").
        let major_minor: Vec<&str> = CLUSTER_VERSION.splitn(3, '.').take(2).collect();
        m.cluster_version
            .with_label_values(&[&major_minor.join(".")])
            .set(1);
        if let Some(start) = crate::metrics_process::start_time_seconds() {
            m.process_start_time_seconds.set(start);
        }
        m
    }

    /// Copies values kept outside the registry into it; under the scrape lock.
    fn refresh(&self, server: &EtcdServer) {
        let st = server.status();
        let me = server.member_id();
        self.has_leader.set(i64::from(st.leader != 0));
        self.is_leader
            .set(i64::from(st.leader != 0 && st.leader == me));
        self.is_learner.set(i64::from(st.is_learner));
        self.proposals_committed.set(st.raft_index as i64);
        self.proposals_applied.set(st.raft_applied_index as i64);
        self.proposals_pending
            .set(server.pending_proposals() as i64);
        self.quota_backend_bytes
            .set(match server.config().quota_backend_bytes {
                0 => DEFAULT_QUOTA_BYTES,
                n => n as f64,
            });
        self.server_id.reset();
        self.server_id
            .with_label_values(&[&format!("{me:x}")])
            .set(1);
        for g in &self.db_total_size {
            g.set(st.db_size);
        }
        self.db_in_use_size.set(st.db_size_in_use);
        self.keys_total.set(server.kv.keys_total() as i64);
        self.current_revision.set(server.kv.current_revision());
        self.compact_revision.set(server.kv.compact_revision());
        use etcd_mvcc::metrics as mv;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        for (pair, source) in [
            (&self.put_total, &mv::PUT_TOTAL),
            (&self.delete_total, &mv::DELETE_TOTAL),
            (&self.range_total, &mv::RANGE_TOTAL),
            (&self.txn_total, &mv::TXN_TOTAL),
        ] {
            for c in pair {
                catch_up(c, load(source));
            }
        }
        catch_up(&self.compaction_keys, load(&mv::COMPACTION_KEYS_TOTAL));
        self.put_size_bytes
            .set(load(&mv::PUT_SIZE_BYTES_TOTAL) as f64);
        self.wal_write_bytes
            .set(load(&etcd_wal::metrics::WRITE_BYTES_TOTAL) as f64);
        self.refresh_process();
    }

    fn refresh_process(&self) {
        let p = crate::metrics_process::sample();
        if let Some(cpu) = p.cpu_seconds {
            let delta = cpu - self.process_cpu_seconds.get();
            if delta > 0.0 {
                self.process_cpu_seconds.inc_by(delta);
            }
        }
        set_opt(&self.process_open_fds, p.open_fds);
        set_opt(&self.process_max_fds, p.max_fds);
        set_opt(&self.process_resident_bytes, p.resident_bytes);
        set_opt(&self.process_virtual_bytes, p.virtual_bytes);
        if let Some(v) = p.virtual_max_bytes {
            self.process_virtual_max_bytes.set(v);
        }
    }
}

fn set_opt(g: &IntGauge, v: Option<i64>) {
    if let Some(v) = v {
        g.set(v);
    }
}

/// Raises counter `c` to `total` (totals only grow).
fn catch_up(c: &IntCounter, total: u64) {
    let now = c.get();
    if total > now {
        c.inc_by(total - now);
    }
}

/// `/metrics` for `server`, in Prometheus text format 0.0.4.
pub fn render(server: &EtcdServer) -> String {
    install_hooks();
    let m = metrics();
    let _scrape = m.scrape.lock();
    m.refresh(server);
    let mut families = m.registry.gather();
    if extensive() {
        families.extend(m.extensive_registry.gather());
        families.sort_by(|a, b| a.name().cmp(b.name()));
    }
    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&families, &mut out)
        .expect("text encoding into memory");
    String::from_utf8(out).expect("the text format is UTF-8")
}

/// The content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Installs the observers lower crates call (WAL fsync, backend commit and
/// snapshot, compaction timings, peer traffic); idempotent, done by
/// `EtcdServer::start` and by the first scrape.
pub fn install_hooks() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        etcd_wal::metrics::set_fsync_observer(wal_fsynced);
        etcd_backend::metrics::set_observer(backend_timed);
        etcd_mvcc::metrics::set_compaction_observer(compaction_timed);
        etcd_transport::metrics::set_observer(peer_traffic);
        LazyLock::force(&METRICS);
    });
}

fn wal_fsynced(took: Duration) {
    metrics().wal_fsync_seconds.observe(took.as_secs_f64());
    crate::warnings::slow_fdatasync(took);
}

fn backend_timed(t: etcd_backend::metrics::BackendTiming) {
    use etcd_backend::metrics::BackendTiming;
    match t {
        BackendTiming::Commit(d) => metrics().backend_commit_seconds.observe(d.as_secs_f64()),
        BackendTiming::Snapshot(d) => metrics().backend_snapshot_seconds.observe(d.as_secs_f64()),
        _ => {}
    }
}

fn compaction_timed(t: etcd_mvcc::metrics::CompactionTiming) {
    use etcd_mvcc::metrics::CompactionTiming;
    let ms = |d: Duration| d.as_millis() as f64;
    match t {
        CompactionTiming::IndexPause(d) => metrics().compaction_index_pause_ms.observe(ms(d)),
        CompactionTiming::DbPause(d) => metrics().compaction_db_pause_ms.observe(ms(d)),
        CompactionTiming::Total(d) => metrics().compaction_db_total_ms.observe(ms(d)),
        _ => {}
    }
}

/// Per-peer byte counters, looked up once per peer and then cached here so
/// the per-frame cost is a short map lookup under an uncontended lock
/// (frames to one peer come from one task).
fn peer_traffic(t: etcd_transport::metrics::PeerTraffic) {
    use etcd_transport::metrics::PeerTraffic;
    static SENT: LazyLock<Mutex<HashMap<u64, IntCounter>>> = LazyLock::new(Default::default);
    static RECEIVED: LazyLock<Mutex<HashMap<u64, IntCounter>>> = LazyLock::new(Default::default);
    let (cache, vec, peer, bytes) = match t {
        PeerTraffic::Sent { to, bytes } => (&SENT, &metrics().peer_sent_bytes, to, bytes),
        PeerTraffic::Received { from, bytes } => {
            (&RECEIVED, &metrics().peer_received_bytes, from, bytes)
        }
        PeerTraffic::RoundTrip { to, seconds } => {
            let m = &metrics().peer_round_trip_seconds;
            m.with_label_values(&[&format!("{to:x}")]).observe(seconds);
            return;
        }
        _ => return,
    };
    let counter = cache
        .lock()
        .entry(peer)
        .or_insert_with(|| vec.with_label_values(&[&format!("{peer:x}")]))
        .clone();
    counter.inc_by(bytes as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_match_etcd() {
        assert_eq!(doubling(0.001, 14).last().copied(), Some(8.192));
        assert_eq!(doubling(0.01, 17).last().copied(), Some(655.36));
        assert_eq!(doubling(0.5, 14)[0], 0.5);
    }

    #[test]
    fn catch_up_only_grows() {
        let c = IntCounter::new("x", "y").unwrap();
        catch_up(&c, 5);
        catch_up(&c, 3);
        assert_eq!(c.get(), 5);
        catch_up(&c, 9);
        assert_eq!(c.get(), 9);
    }

    #[test]
    fn registry_holds_etcd_names_with_types() {
        let families = metrics().registry.gather();
        let kind = |name: &str| {
            families
                .iter()
                .find(|f| f.name() == name)
                .map(|f| format!("{:?}", f.get_field_type()))
        };
        assert_eq!(
            kind("etcd_server_proposals_committed_total").as_deref(),
            Some("GAUGE")
        );
        assert_eq!(
            kind("etcd_server_leader_changes_seen_total").as_deref(),
            Some("COUNTER")
        );
        assert_eq!(
            kind("etcd_disk_wal_fsync_duration_seconds").as_deref(),
            Some("HISTOGRAM")
        );
        assert_eq!(kind("etcd_mvcc_put_total").as_deref(), Some("COUNTER"));
        assert_eq!(
            kind("process_resident_memory_bytes").as_deref(),
            Some("GAUGE")
        );
    }
}
