//! `/metrics`: etcd's metric names and types, counters that move with the
//! events they count, `--listen-metrics-urls`, and the same names and types
//! as the real etcd 3.4 serves.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::cluster::{Cluster, ClusterOpts};
use common::{free_port, EtcdOpts, EtcdProcess};

/// The metrics every dashboard relies on, with etcd 3.4's types.
const REQUIRED: &[(&str, &str)] = &[
    ("etcd_server_has_leader", "gauge"),
    ("etcd_server_is_leader", "gauge"),
    ("etcd_server_leader_changes_seen_total", "counter"),
    ("etcd_server_proposals_committed_total", "gauge"),
    ("etcd_server_proposals_applied_total", "gauge"),
    ("etcd_server_proposals_pending", "gauge"),
    ("etcd_server_proposals_failed_total", "counter"),
    ("etcd_server_heartbeat_send_failures_total", "counter"),
    ("etcd_server_slow_apply_total", "counter"),
    ("etcd_disk_wal_fsync_duration_seconds", "histogram"),
    ("etcd_disk_backend_commit_duration_seconds", "histogram"),
    ("etcd_disk_backend_snapshot_duration_seconds", "histogram"),
    ("etcd_mvcc_db_total_size_in_bytes", "gauge"),
    ("etcd_mvcc_db_total_size_in_use_in_bytes", "gauge"),
    ("etcd_debugging_mvcc_keys_total", "gauge"),
    ("etcd_debugging_mvcc_db_compaction_keys_total", "counter"),
    (
        "etcd_debugging_mvcc_db_compaction_pause_duration_milliseconds",
        "histogram",
    ),
    (
        "etcd_debugging_mvcc_db_compaction_total_duration_milliseconds",
        "histogram",
    ),
    ("etcd_mvcc_put_total", "counter"),
    ("etcd_mvcc_delete_total", "counter"),
    ("etcd_mvcc_range_total", "counter"),
    ("etcd_mvcc_txn_total", "counter"),
    ("etcd_network_client_grpc_sent_bytes_total", "counter"),
    ("etcd_network_client_grpc_received_bytes_total", "counter"),
    ("grpc_server_started_total", "counter"),
    ("grpc_server_handled_total", "counter"),
    ("process_resident_memory_bytes", "gauge"),
    ("process_cpu_seconds_total", "counter"),
    ("process_open_fds", "gauge"),
    ("process_start_time_seconds", "gauge"),
];

/// Metrics that exist only once a member has peers.
const PEER_METRICS: &[(&str, &str)] = &[
    ("etcd_network_peer_sent_bytes_total", "counter"),
    ("etcd_network_peer_received_bytes_total", "counter"),
];

/// One parsed scrape: family types, and each sample by its full series name
/// (`name{label="v",...}` with labels as served).
#[derive(Debug, Default)]
struct Scrape {
    types: HashMap<String, String>,
    samples: HashMap<String, f64>,
}

impl Scrape {
    /// Parses Prometheus text format 0.0.4: `# TYPE name kind` lines and
    /// `series value` lines; a series' labels must be well formed.
    fn parse(text: &str) -> Scrape {
        let mut s = Scrape::default();
        for line in text.lines().filter(|l| !l.is_empty()) {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE line has a kind");
                assert!(
                    s.types.insert(name.to_string(), kind.to_string()).is_none(),
                    "{name} typed twice"
                );
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("bad sample line {line:?}"));
            if let Some((_, labels)) = series.split_once('{') {
                let labels = labels
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels in {line:?}"));
                for pair in labels.split("\",").filter(|p| !p.is_empty()) {
                    let (k, v) = pair
                        .split_once("=\"")
                        .unwrap_or_else(|| panic!("bad label {pair:?} in {line:?}"));
                    assert!(!k.is_empty() && !v.contains('\n'));
                }
            }
            let value = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v
                    .parse()
                    .unwrap_or_else(|_| panic!("bad value in {line:?}")),
            };
            s.samples.insert(series.to_string(), value);
        }
        s
    }

    fn value(&self, series: &str) -> f64 {
        *self
            .samples
            .get(series)
            .unwrap_or_else(|| panic!("no series {series}"))
    }

    /// Sum of every series of family `name` whose labels contain all of `with`.
    fn sum(&self, name: &str, with: &[&str]) -> f64 {
        self.samples
            .iter()
            .filter(|(k, _)| {
                k.split('{').next() == Some(name) && with.iter().all(|w| k.contains(w))
            })
            .map(|(_, v)| v)
            .sum()
    }
}

/// `GET path` over HTTP/1.0; returns (status, body).
fn get(port: u16, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("headers end");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status code");
    (status, body.to_string())
}

fn scrape(port: u16) -> Scrape {
    let (status, body) = get(port, "/metrics");
    assert_eq!(status, 200, "{body}");
    Scrape::parse(&body)
}

fn check_types(s: &Scrape, wanted: &[(&str, &str)]) {
    for (name, kind) in wanted {
        assert_eq!(
            s.types.get(*name).map(String::as_str),
            Some(*kind),
            "type of {name}"
        );
    }
}

#[test]
fn metrics_exist_and_move_with_requests() {
    let metrics_port = free_port();
    let p = EtcdProcess::start(EtcdOpts {
        args: vec![
            "--listen-metrics-urls".into(),
            format!("http://127.0.0.1:{metrics_port}"),
        ],
        ..Default::default()
    });
    let before = scrape(p.client_port());
    check_types(&before, REQUIRED);
    assert_eq!(before.value("etcd_server_has_leader"), 1.0);
    assert_eq!(before.value("etcd_server_is_leader"), 1.0);
    assert!(before.value("etcd_server_leader_changes_seen_total") >= 1.0);
    assert!(before.value("process_resident_memory_bytes") > 0.0);

    p.etcdctl(&["put", "k1", "v1"]).ok();
    p.etcdctl(&["put", "k2", "v2"]).ok();
    p.etcdctl(&["get", "k1"]).ok();
    p.etcdctl(&["del", "k2"]).ok();
    let after = scrape(p.client_port());
    let delta = |name: &str| after.value(name) - before.value(name);
    assert_eq!(delta("etcd_mvcc_put_total"), 2.0);
    assert_eq!(delta("etcd_debugging_mvcc_put_total"), 2.0);
    assert_eq!(delta("etcd_mvcc_delete_total"), 1.0);
    assert!(delta("etcd_mvcc_range_total") >= 1.0);
    assert_eq!(after.value("etcd_debugging_mvcc_keys_total"), 1.0);
    assert!(
        delta("etcd_disk_wal_fsync_duration_seconds_count") >= 3.0,
        "a proposal is fsynced"
    );
    assert!(delta("etcd_server_proposals_committed_total") >= 3.0);
    assert!(delta("etcd_network_client_grpc_received_bytes_total") > 0.0);
    let put = [
        "grpc_method=\"Put\"",
        "grpc_service=\"etcdserverpb.KV\"",
        "grpc_type=\"unary\"",
    ];
    assert_eq!(
        after.sum("grpc_server_started_total", &put)
            - before.sum("grpc_server_started_total", &put),
        2.0
    );
    let put_ok: Vec<&str> = put.iter().copied().chain(["grpc_code=\"OK\""]).collect();
    assert_eq!(
        after.sum("grpc_server_handled_total", &put_ok)
            - before.sum("grpc_server_handled_total", &put_ok),
        2.0
    );
    // A failed call is handled with its code.
    p.etcdctl(&["compact", "1000"]);
    let failed = scrape(p.client_port());
    let compact_bad = ["grpc_method=\"Compact\"", "grpc_code=\"OutOfRange\""];
    assert_eq!(failed.sum("grpc_server_handled_total", &compact_bad), 1.0);

    // The metrics listener serves /metrics and /health only.
    let m = scrape(metrics_port);
    check_types(&m, REQUIRED);
    assert_eq!(
        get(metrics_port, "/health"),
        (200, r#"{"health":"true"}"#.to_string())
    );
    assert_eq!(get(metrics_port, "/version").0, 404);
}

#[test]
fn extensive_adds_handling_histogram() {
    let basic = EtcdProcess::start(EtcdOpts::default());
    basic.etcdctl(&["put", "k", "v"]).ok();
    assert!(!scrape(basic.client_port())
        .types
        .contains_key("grpc_server_handling_seconds"));
    let ext = EtcdProcess::start(EtcdOpts {
        args: vec!["--metrics".into(), "extensive".into()],
        ..Default::default()
    });
    ext.etcdctl(&["put", "k", "v"]).ok();
    let s = scrape(ext.client_port());
    assert_eq!(
        s.types
            .get("grpc_server_handling_seconds")
            .map(String::as_str),
        Some("histogram")
    );
    assert!(
        s.sum(
            "grpc_server_handling_seconds_count",
            &["grpc_method=\"Put\""]
        ) >= 1.0
    );
}

#[test]
fn names_and_types_match_real_etcd() {
    if !std::path::Path::new("/usr/bin/etcd").exists() || common::testing_external_server() {
        eprintln!("skipped: needs /usr/bin/etcd and our server");
        return;
    }
    let ours = EtcdProcess::start(EtcdOpts::default());
    let real = EtcdProcess::start(EtcdOpts {
        binary: Some("/usr/bin/etcd".into()),
        ..Default::default()
    });
    for p in [&ours, &real] {
        p.etcdctl(&["put", "k", "v"]).ok();
    }
    let (o, r) = (scrape(ours.client_port()), scrape(real.client_port()));
    for (name, _) in REQUIRED {
        assert_eq!(
            o.types.get(*name),
            r.types.get(*name),
            "type of {name}: ours vs real etcd"
        );
    }
    // Histograms carry etcd's buckets.
    for name in [
        "etcd_disk_wal_fsync_duration_seconds",
        "etcd_disk_backend_commit_duration_seconds",
    ] {
        let buckets = |s: &Scrape| {
            let mut b: Vec<String> = s
                .samples
                .keys()
                .filter(|k| k.starts_with(&format!("{name}_bucket{{")))
                .map(|k| {
                    k.split("le=\"")
                        .nth(1)
                        .unwrap()
                        .trim_end_matches("\"}")
                        .to_string()
                })
                .collect();
            b.sort();
            b
        };
        assert_eq!(buckets(&o), buckets(&r), "{name} buckets");
    }
}

#[test]
fn leader_kill_counts_a_leader_change_on_survivors() {
    let mut c = Cluster::start(3, ClusterOpts::default());
    let leader = c.wait_leader(Duration::from_secs(30));
    let survivors: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    let port = |c: &Cluster, i: usize| {
        c.client_url(i)
            .rsplit(':')
            .next()
            .unwrap()
            .parse::<u16>()
            .unwrap()
    };
    let before: Vec<Scrape> = survivors.iter().map(|&i| scrape(port(&c, i))).collect();
    for s in &before {
        check_types(s, PEER_METRICS);
        assert_eq!(s.value("etcd_server_has_leader"), 1.0);
        assert!(s.sum("etcd_network_peer_received_bytes_total", &["From=\""]) > 0.0);
    }
    let leader_id = format!("{:x}", c.member_id(leader));
    assert!(
        before[0].sum(
            "etcd_network_peer_received_bytes_total",
            &[&format!("From=\"{leader_id}\"")]
        ) > 0.0
    );
    c.kill9(leader);
    let new_leader = c.wait_leader(Duration::from_secs(30));
    assert_ne!(new_leader, leader);
    for (k, &i) in survivors.iter().enumerate() {
        let name = "etcd_server_leader_changes_seen_total";
        let ok = common::wait_until(Duration::from_secs(15), || {
            scrape(port(&c, i)).value(name) > before[k].value(name)
        });
        assert!(ok, "member {i} saw no leader change\n{}", c.logs());
        let is_leader = scrape(port(&c, i)).value("etcd_server_is_leader");
        assert_eq!(is_leader, f64::from(u8::from(i == new_leader)));
    }
}

/// The peer prober's round-trip time: etcd reports it per peer five
/// seconds after the peer is added, then every 30 s.
#[test]
fn peer_round_trip_time_is_reported_for_every_peer() {
    let mut c = Cluster::start(3, ClusterOpts::default());
    c.wait_leader(Duration::from_secs(30));
    let name = "etcd_network_peer_round_trip_time_seconds";
    for i in 0..3 {
        let port: u16 = c.client_url(i).rsplit(':').next().unwrap().parse().unwrap();
        for j in (0..3).filter(|&j| j != i) {
            let to = format!("To=\"{:x}\"", c.member_id(j));
            let reported = common::wait_until(Duration::from_secs(20), || {
                scrape(port).sum(&format!("{name}_count"), &[&to]) >= 1.0
            });
            assert!(reported, "m{i} reported no round trip {to}\n{}", c.logs());
            let s = scrape(port);
            check_types(&s, &[(name, "histogram")]);
            let sum = s.sum(&format!("{name}_sum"), &[&to]);
            assert!(sum > 0.0 && sum < 1.0, "m{i} {to}: rtt sum {sum}");
        }
    }
}
