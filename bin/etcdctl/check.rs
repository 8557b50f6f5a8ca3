//! `check perf` and `check datascale`: load the cluster with puts under a
//! prefix and judge it, with etcdctl 3.4's workloads, output and exit codes
//! (check.go).
//!
//! Both commands: the load name (`s`, `m`, `l`, `xl` or `small` ...
//! `xLarge`) is checked first (`unknown load option`, exit 4); one client
//! per simulated client connects; the prefix must be empty (exit 3
//! otherwise); puts of random keys (a varint in a zeroed key of fixed
//! size) with zeroed values run from all clients while a progress bar
//! (check/bar.rs) is drawn on stdout; then the prefix is deleted,
//! optionally compacted (`--auto-compact`, at the delete's revision) and
//! every endpoint defragmented (`--auto-defrag`), and the verdict printed.
//!
//! - perf: puts paced at the model's rate for its duration (60 s); PASS
//!   when throughput > 90 % of the rate, the slowest request ≤ 0.5 s and
//!   the latency standard deviation ≤ 0.1 s, and no request failed; a
//!   failed check prints `FAIL` and exits 1.
//! - datascale: the model's number of puts as fast as the clients go; the
//!   first endpoint's `process_resident_memory_bytes` (check/metrics.rs) is
//!   read before and after, the difference printed in MB.
//!
//! Latency statistics come from the benchmark tool's report
//! (bin/benchmark/report.rs) and pacing from its limiter, shared by path.

mod bar;
mod metrics;

#[path = "../benchmark/limiter.rs"]
mod limiter;
#[allow(dead_code)]
#[path = "../benchmark/report.rs"]
mod report;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use etcd_client::{prefix_range_end, Client};
use etcd_proto::etcdserverpb::{DeleteRangeRequest, PutRequest, RangeRequest};
use tokio::sync::mpsc;

use crate::cli::Parsed;
use crate::exit::{exit, fail, EXIT_BAD_FEATURE, EXIT_ERROR, EXIT_INVALID_INPUT};
use crate::global::{connect_to, globals, must_connect, Globals};
use crate::gofmt::quote;
use crate::printer::out;
use bar::Bar;
use limiter::Limiter;
use report::Report;

/// A `check perf` workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PerfModel {
    /// Puts per second.
    pub rate_per_sec: u64,
    /// Concurrent clients.
    pub clients: usize,
    /// Length of the run.
    pub duration_secs: u64,
}

/// A `check datascale` workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DatascaleModel {
    /// Keys written.
    pub keys: u64,
    /// Bytes per key-value pair.
    pub kv_bytes: u64,
    /// Concurrent clients.
    pub clients: usize,
}

/// Key and value sizes of `check perf`.
const PERF_KEY_BYTES: usize = 256;
const PERF_VALUE_BYTES: usize = 1024;
/// Key and value sizes of `check datascale`.
const DATASCALE_KEY_BYTES: usize = 512;
const DATASCALE_VALUE_BYTES: usize = 512;
/// Upper bound of the clean-up delete, compaction and each defragmentation.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The canonical model name of `--load` (`s`, `m`, `l`, `xl`).
pub fn model_name(load: &str) -> Option<&'static str> {
    match load {
        "s" | "small" => Some("s"),
        "m" | "medium" => Some("m"),
        "l" | "large" => Some("l"),
        "xl" | "xLarge" => Some("xl"),
        _ => None,
    }
}

/// etcdctl's perf workloads.
pub fn perf_model(name: &str) -> PerfModel {
    let (rate_per_sec, clients) = match name {
        "m" => (1000, 200),
        "l" => (8000, 500),
        "xl" => (15000, 1000),
        _ => (150, 50),
    };
    PerfModel {
        rate_per_sec,
        clients,
        duration_secs: 60,
    }
}

/// etcdctl's datascale workloads.
pub fn datascale_model(name: &str) -> DatascaleModel {
    let (keys, clients) = match name {
        "m" => (100_000, 200),
        "l" => (1_000_000, 500),
        "xl" => (3_000_000, 1000),
        _ => (10_000, 50),
    };
    DatascaleModel {
        keys,
        kv_bytes: 1024,
        clients,
    }
}

/// What a load run measured.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Successful requests per second.
    pub rps: f64,
    /// Slowest successful request, seconds.
    pub slowest_secs: f64,
    /// Standard deviation of the latencies, seconds.
    pub stddev_secs: f64,
    /// Failed requests by error message.
    pub errors: BTreeMap<String, u64>,
}

/// The `FAIL: ...` lines for failed requests.
fn error_lines(errors: &BTreeMap<String, u64>) -> Vec<String> {
    let mut v = vec!["FAIL: too many errors".to_string()];
    v.extend(
        errors
            .iter()
            .map(|(e, n)| format!("FAIL: ERROR({e}) -> {n}")),
    );
    v
}

/// `check perf`'s verdict lines and whether it passed.
pub fn perf_verdict(o: &Outcome, rate_per_sec: u64) -> (Vec<String>, bool) {
    let mut lines = Vec::new();
    let mut ok = true;
    if !o.errors.is_empty() {
        lines.extend(error_lines(&o.errors));
        ok = false;
    }
    let writes = o.rps as i64 + 1;
    if o.rps / rate_per_sec as f64 <= 0.9 {
        lines.push(format!("FAIL: Throughput too low: {writes} writes/s"));
        ok = false;
    } else {
        lines.push(format!("PASS: Throughput is {writes} writes/s"));
    }
    if o.slowest_secs > 0.5 {
        lines.push(format!(
            "Slowest request took too long: {:.6}s",
            o.slowest_secs
        ));
        ok = false;
    } else {
        lines.push(format!("PASS: Slowest request took {:.6}s", o.slowest_secs));
    }
    if o.stddev_secs > 0.1 {
        lines.push(format!("Stddev too high: {:.6}s", o.stddev_secs));
        ok = false;
    } else {
        lines.push(format!("PASS: Stddev is {:.6}s", o.stddev_secs));
    }
    lines.push(if ok { "PASS" } else { "FAIL" }.to_string());
    (lines, ok)
}

/// Go's `binary.PutVarint` of `x` at the start of `buf`.
pub fn put_varint(buf: &mut [u8], x: i64) {
    let mut ux = (x as u64) << 1;
    if x < 0 {
        ux = !ux;
    }
    let mut i = 0;
    while ux >= 0x80 {
        buf[i] = (ux as u8) | 0x80;
        ux >>= 7;
        i += 1;
    }
    buf[i] = ux as u8;
}

/// Random non-negative 63-bit numbers for the keys (splitmix64; the keys
/// only need to differ, not to be unpredictable).
struct KeyGen(u64);

impl KeyGen {
    fn new() -> KeyGen {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        KeyGen(seed ^ u64::from(std::process::id()).rotate_left(32))
    }

    fn key(&mut self, prefix: &str, key_bytes: usize) -> Vec<u8> {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        let n = ((z ^ (z >> 31)) >> 1) as i64;
        let mut k = vec![0u8; key_bytes];
        put_varint(&mut k, n);
        [prefix.as_bytes(), &k].concat()
    }
}

/// Connects `n` clients.
async fn clients(g: &Globals, n: usize) -> Vec<Client> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(must_connect(g, EXIT_ERROR).await);
    }
    v
}

/// Exits unless `prefix` is empty.
async fn require_empty(c: &Client, prefix: &str, timeout: Option<Duration>) {
    let req = RangeRequest {
        key: prefix.as_bytes().to_vec(),
        range_end: prefix_range_end(prefix.as_bytes()),
        limit: 1,
        ..Default::default()
    };
    let resp = match timeout {
        Some(t) => tokio::time::timeout(t, c.range(req))
            .await
            .unwrap_or(Err(etcd_client::Error::Timeout(t))),
        None => c.range(req).await,
    };
    let resp = resp.unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    if !resp.kvs.is_empty() {
        fail(
            EXIT_INVALID_INPUT,
            &format!(
                "prefix {} has keys. Delete with etcdctl del --prefix {prefix} first",
                quote(prefix.as_bytes())
            ),
        );
    }
}

/// Runs every put `requests` yields on the clients (each client one put at
/// a time), counting each done put on `bar` when given.
async fn run_load(
    clients: &[Client],
    requests: mpsc::Receiver<PutRequest>,
    bar: Option<Bar>,
) -> Outcome {
    let report = Arc::new(Mutex::new(Report::new("check", false)));
    let errors = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let work_rx = Arc::new(tokio::sync::Mutex::new(requests));
    let mut tasks = Vec::new();
    for c in clients {
        let (c, rx, report, errors, bar) = (
            c.clone(),
            work_rx.clone(),
            report.clone(),
            errors.clone(),
            bar.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(req) = rx.lock().await.recv().await else {
                    return;
                };
                let st = Instant::now();
                let res = c.put_request(req).await;
                let lat = st.elapsed();
                match res {
                    Ok(_) => report.lock().expect("report lock").ok(lat),
                    Err(e) => {
                        *errors
                            .lock()
                            .expect("errors lock")
                            .entry(e.to_string())
                            .or_insert(0) += 1
                    }
                }
                if let Some(b) = &bar {
                    b.add(1);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut r = report.lock().expect("report lock");
    r.finish();
    let j = r.json();
    let num = |k: &str| j[k].as_f64().unwrap_or(0.0);
    let errors = errors.lock().expect("errors lock").clone();
    Outcome {
        rps: num("requests_per_sec"),
        slowest_secs: num("slowest_secs"),
        stddev_secs: num("stddev_secs"),
        errors,
    }
}

/// The clean-up after a run: delete the prefix, then the optional
/// compaction and defragmentation (each printing etcdctl's lines).
async fn clean_up(p: &Parsed, g: &Globals, c: &Client, prefix: &str) {
    let del = DeleteRangeRequest {
        key: prefix.as_bytes().to_vec(),
        range_end: prefix_range_end(prefix.as_bytes()),
        ..Default::default()
    };
    let resp = bounded(c.delete_range(del)).await;
    let rev = resp.header.map_or(0, |h| h.revision);
    if p.bool("auto-compact") {
        out(&format!("Compacting with revision {rev}\n"));
        bounded(c.compact(rev, true)).await;
        out(&format!("Compacted with revision {rev}\n"));
    }
    if p.bool("auto-defrag") {
        for ep in &g.endpoints {
            out(&format!("Defragmenting {}\n", quote(ep.as_bytes())));
            let one = connect_to(g, vec![ep.clone()])
                .await
                .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
            bounded(one.defragment()).await;
            out(&format!("Defragmented {}\n", quote(ep.as_bytes())));
        }
    }
}

/// Awaits `fut` for at most [`CLEANUP_TIMEOUT`]; failures exit 1.
async fn bounded<T>(fut: impl std::future::Future<Output = etcd_client::Result<T>>) -> T {
    match tokio::time::timeout(CLEANUP_TIMEOUT, fut).await {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => fail(EXIT_ERROR, &e.to_string()),
        Err(_) => fail(EXIT_ERROR, "context deadline exceeded"),
    }
}

fn model_or_exit(p: &Parsed) -> &'static str {
    let load = p.string("load");
    model_name(&load)
        .unwrap_or_else(|| fail(EXIT_BAD_FEATURE, &format!("unknown load option {load}")))
}

/// `check perf`.
pub async fn perf(p: &mut Parsed) {
    let m = perf_model(model_or_exit(p));
    let g = globals(p);
    let cs = clients(&g, m.clients).await;
    let prefix = p.string("prefix");
    let duration = Duration::from_secs(m.duration_secs);
    require_empty(&cs[0], &prefix, Some(duration)).await;
    let bar = Bar::start(m.duration_secs);
    let b = bar.clone();
    let ticker = tokio::spawn(async move {
        for _ in 0..m.duration_secs {
            tokio::time::sleep(Duration::from_secs(1)).await;
            b.add(1);
        }
        b.finish();
    });
    let (tx, rx) = mpsc::channel(m.clients);
    let pfx = prefix.clone();
    tokio::spawn(async move {
        let limiter = Limiter::new(m.rate_per_sec);
        let deadline = tokio::time::Instant::now() + duration;
        let mut keys = KeyGen::new();
        let value = vec![0u8; PERF_VALUE_BYTES];
        loop {
            limiter.wait().await;
            if tokio::time::Instant::now() >= deadline {
                return;
            }
            let req = PutRequest {
                key: keys.key(&pfx, PERF_KEY_BYTES),
                value: value.clone(),
                ..Default::default()
            };
            if tx.send(req).await.is_err() {
                return;
            }
        }
    });
    let outcome = run_load(&cs, rx, None).await;
    let _ = ticker.await;
    clean_up(p, &g, &cs[0], &prefix).await;
    let (lines, ok) = perf_verdict(&outcome, m.rate_per_sec);
    for l in lines {
        out(&format!("{l}\n"));
    }
    if !ok {
        exit(EXIT_ERROR);
    }
}

/// `check datascale`.
pub async fn datascale(p: &mut Parsed) {
    let m = datascale_model(model_or_exit(p));
    let g = globals(p);
    let cs = clients(&g, m.clients).await;
    let prefix = p.string("prefix");
    require_empty(&cs[0], &prefix, None).await;
    let (cert, key) = (p.string("cert"), p.string("key"));
    let skip = p.bool("insecure-skip-tls-verify");
    let ep = g.endpoints[0].clone();
    let before = metrics::endpoint_resident_bytes(&ep, &cert, &key, skip).await;
    if before == 0.0 {
        out("FAIL: Could not read process_resident_memory_bytes before the put operations.\n");
        exit(EXIT_ERROR);
    }
    out(&format!(
        "Start data scale check for work load [{} key-value pairs, {} bytes per key-value, {} concurrent clients].\n",
        m.keys, m.kv_bytes, m.clients
    ));
    let bar = Bar::start(m.keys);
    let (tx, rx) = mpsc::channel(m.clients);
    let pfx = prefix.clone();
    tokio::spawn(async move {
        let mut keys = KeyGen::new();
        let value = vec![0u8; DATASCALE_VALUE_BYTES];
        for _ in 0..m.keys {
            let req = PutRequest {
                key: keys.key(&pfx, DATASCALE_KEY_BYTES),
                value: value.clone(),
                ..Default::default()
            };
            if tx.send(req).await.is_err() {
                return;
            }
        }
    });
    let outcome = run_load(&cs, rx, Some(bar.clone())).await;
    bar.finish();
    let after = metrics::endpoint_resident_bytes(&ep, &cert, &key, skip).await;
    if after == 0.0 {
        out("FAIL: Could not read process_resident_memory_bytes after the put operations.\n");
        exit(EXIT_ERROR);
    }
    clean_up(p, &g, &cs[0], &prefix).await;
    if !outcome.errors.is_empty() {
        for l in error_lines(&outcome.errors) {
            out(&format!("{l}\n"));
        }
        exit(EXIT_ERROR);
    }
    let mb_used = (after - before) / (1024.0 * 1024.0);
    out(&format!(
        "PASS: Approximate system memory used : {mb_used:.2} MB.\n"
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_aliases() {
        assert_eq!(model_name("xLarge"), Some("xl"));
        assert_eq!(model_name("medium"), Some("m"));
        assert_eq!(model_name("XL"), None);
        assert_eq!(perf_model("s").rate_per_sec, 150);
        assert_eq!(datascale_model("xl").keys, 3_000_000);
    }

    #[test]
    fn varint_matches_go() {
        let mut b = [0u8; 4];
        put_varint(&mut b, 1);
        assert_eq!(b, [2, 0, 0, 0]);
        put_varint(&mut b, 64);
        assert_eq!(b[..2], [0x80, 0x01]);
        put_varint(&mut b, -1);
        assert_eq!(b[0], 1);
    }

    #[test]
    fn perf_verdicts() {
        let good = Outcome {
            rps: 149.7,
            slowest_secs: 0.08628,
            stddev_secs: 0.003679,
            errors: BTreeMap::new(),
        };
        let (lines, ok) = perf_verdict(&good, 150);
        assert!(ok);
        assert_eq!(
            lines,
            [
                "PASS: Throughput is 150 writes/s",
                "PASS: Slowest request took 0.086280s",
                "PASS: Stddev is 0.003679s",
                "PASS"
            ]
        );
        let mut bad = good.clone();
        bad.rps = 100.0;
        bad.slowest_secs = 0.6;
        bad.errors.insert("boom".into(), 3);
        let (lines, ok) = perf_verdict(&bad, 150);
        assert!(!ok);
        assert_eq!(lines[0], "FAIL: too many errors");
        assert_eq!(lines[1], "FAIL: ERROR(boom) -> 3");
        assert_eq!(lines[2], "FAIL: Throughput too low: 101 writes/s");
        assert_eq!(lines[3], "Slowest request took too long: 0.600000s");
        assert_eq!(lines[5], "FAIL");
    }
}
