//! `etcdctl defrag --cluster` and `etcdctl endpoint hashkv --cluster` on a
//! 3-member cluster, ours beside the real etcd 3.4: the same script on both,
//! outputs compared after normalising member ids, ports and hash values
//! (our backend encodes records differently, so hashes differ from etcd's;
//! they must agree across our own members). Members are listed in member-id
//! order, which depends on the random ports, so lines are compared sorted.

mod common;

use std::time::Duration;

use common::cluster::{Cluster, ClusterOpts};

/// One etcdctl step's normalised output: (command, exit code, stdout, last stderr line).
type Step = (String, i32, String, String);

/// Replaces every decimal number following `", "` (hashkv's hash column) or
/// a `"hash":` key with `<HASH>`.
fn mask_hashes(s: &str) -> String {
    let mut out = String::new();
    for line in s.lines() {
        let mut l = line.to_string();
        // simple: `<url>, <hash>` (3.4 prints the endpoint and the hash).
        if let Some((ep, rest)) = l.split_once(", ") {
            if !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()) {
                l = format!("{ep}, <HASH>");
            }
        }
        // table: `| <url> | <hash> |`; column widths follow the hash's
        // digit count, so runs of padding and border dashes are collapsed.
        let cells: Vec<&str> = l.split('|').collect();
        if cells.len() == 4 && cells[2].trim().chars().all(|c| c.is_ascii_digit()) {
            l = format!("| {} | <HASH> |", cells[1].trim());
        }
        if l.starts_with('|') || l.starts_with('+') {
            l = collapse_runs(&l);
        }
        // json: `"hash":123`.
        while let Some(at) = l.find("\"hash\":") {
            let start = at + "\"hash\":".len();
            let end = l[start..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(l.len(), |e| start + e);
            if end == start {
                break;
            }
            l = format!("{}\"hash\":\"<HASH>\"{}", &l[..at], &l[end..]);
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// Collapses runs of spaces and of dashes to one character each.
fn collapse_runs(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        if (ch == ' ' || ch == '-') && out.ends_with(ch) {
            continue;
        }
        out.push(ch);
    }
    out
}

fn sorted_lines(s: &str) -> String {
    let mut lines: Vec<&str> = s.lines().collect();
    lines.sort_unstable();
    lines.join("\n")
}

/// The hash column of `endpoint hashkv --cluster` (simple format), per line.
fn hashes(stdout: &str) -> Vec<u32> {
    stdout
        .lines()
        .map(|l| {
            let (_, h) = l
                .split_once(", ")
                .unwrap_or_else(|| panic!("bad line {l:?}"));
            h.trim()
                .parse()
                .unwrap_or_else(|_| panic!("bad hash in {l:?}"))
        })
        .collect()
}

/// Runs the script on a fresh 3-member cluster; returns the normalised steps
/// and checks what must hold on any correct cluster.
fn scenario(opts: ClusterOpts) -> Vec<Step> {
    let mut c = Cluster::start(3, opts);
    // Set-up writes get a generous deadline: a slow disk (a 1 s fsync on a
    // busy CI machine) can cost an election, which is not what this tests.
    for n in 0..50 {
        c.put_timeout(0, &format!("key{}", n % 10), &"x".repeat(1000), Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("put: {e}\n{}", c.logs()));
    }
    c.wait_converged(&[0, 1, 2], Duration::from_secs(20));
    let mut steps = Vec::new();
    let scripts: &[&[&str]] = &[
        &["endpoint", "hashkv", "--cluster"],
        &["compact", "30"],
        &["defrag", "--cluster"],
        &["endpoint", "hashkv", "--cluster"],
        &["endpoint", "hashkv", "--cluster", "-w", "table"],
        &["defrag"],
        &["--endpoints=127.0.0.1:1", "defrag", "--command-timeout=1s"],
    ];
    for args in scripts {
        // Compaction reaches followers asynchronously: let every member apply it.
        c.wait_converged(&[0, 1, 2], Duration::from_secs(20));
        let out = c.etcdctl(0, args);
        if *args == ["endpoint", "hashkv", "--cluster"] {
            assert_eq!(out.code, 0, "{out:?}");
            let h = hashes(&out.stdout);
            assert_eq!(h.len(), 3, "{out:?}");
            assert!(h.iter().all(|&x| x == h[0]), "members disagree: {out:?}");
        }
        steps.push((
            args.join(" "),
            out.code,
            sorted_lines(&mask_hashes(&c.normalise(&out.stdout))),
            c.normalise(out.last_err_line()),
        ));
    }
    // Every successful defragmentation of member 0 is observed in
    // `etcd_disk_backend_defrag_duration_seconds` (3.4 has this histogram).
    let metrics = std::process::Command::new("curl")
        .args(["-s", &format!("{}/metrics", c.client_url(0))])
        .output()
        .expect("curl");
    let metrics = String::from_utf8_lossy(&metrics.stdout).to_string();
    let count = metrics
        .lines()
        .find(|l| l.starts_with("etcd_disk_backend_defrag_duration_seconds_count "))
        .unwrap_or_else(|| panic!("no defrag histogram in /metrics"))
        .to_string();
    steps.push(("/metrics".into(), 0, count, String::new()));
    // Defragmentation kept every key on every member.
    let kvs: Vec<(String, String)> = (0..10)
        .map(|n| (format!("key{n}"), "x".repeat(1000)))
        .collect();
    c.assert_all_readable(&[0, 1, 2], &kvs);
    steps
}

#[test]
fn defrag_and_hashkv_cluster_match_etcd() {
    if common::testing_external_server() {
        return; // this test runs the real etcd itself
    }
    let ours = scenario(ClusterOpts::default());
    let real = scenario(ClusterOpts::real_etcd());
    println!("ours: {ours:#?}\nreal: {real:#?}");
    for (o, r) in ours.iter().zip(&real) {
        assert_eq!(o, r, "ours (left) and etcd 3.4 (right) differ");
    }
    assert_eq!(ours.len(), real.len());
}
