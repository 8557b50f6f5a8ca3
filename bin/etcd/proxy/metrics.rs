//! The v2 proxy's Prometheus metrics (etcd's `etcd_proxy_*` families),
//! served on the proxy's own client port at `/metrics`, in the text
//! exposition format.
//!
//! Label sets are bounded: methods and status codes come from parsed HTTP,
//! and [`LABEL_SETS_MAX`] caps each family (further label sets are not
//! counted) so odd methods cannot grow memory without limit.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bound on label combinations per family.
pub const LABEL_SETS_MAX: usize = 1024;
/// Histogram upper bounds: 0.5 ms doubling 13 times (etcd's buckets).
const BUCKETS: usize = 13;

/// Why a request was not forwarded (etcd's `proxying_error` label).
#[derive(Clone, Copy, Debug)]
pub enum Dropped {
    /// No endpoint available.
    ZeroEndpoints,
    /// Sending to one endpoint failed.
    FailedSending,
    /// No endpoint answered.
    FailedGettingResponse,
}

impl Dropped {
    fn label(self) -> &'static str {
        match self {
            Dropped::ZeroEndpoints => "zero_endpoints",
            Dropped::FailedSending => "failed_sending_request",
            Dropped::FailedGettingResponse => "failed_getting_response",
        }
    }
}

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS],
    count: u64,
    sum_s: f64,
}

#[derive(Default)]
struct State {
    incoming: BTreeMap<String, u64>,
    handled: BTreeMap<(String, u16), u64>,
    dropped: BTreeMap<(String, &'static str), u64>,
    handling: BTreeMap<String, Histogram>,
}

/// The counters.
#[derive(Default)]
pub struct ProxyMetrics {
    state: Mutex<State>,
}

fn bump<K: Ord>(map: &mut BTreeMap<K, u64>, key: K) {
    if map.len() < LABEL_SETS_MAX || map.contains_key(&key) {
        *map.entry(key).or_insert(0) += 1;
    }
}

fn bucket_bound_s(i: usize) -> f64 {
    0.0005 * f64::from(1u32 << i)
}

impl ProxyMetrics {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A request arrived.
    pub fn incoming(&self, method: &str) {
        bump(&mut self.state().incoming, method.to_string());
    }

    /// A member answered `code` after `elapsed`.
    pub fn handled(&self, method: &str, code: u16, elapsed: Duration) {
        let mut s = self.state();
        bump(&mut s.handled, (method.to_string(), code));
        if s.handling.len() >= LABEL_SETS_MAX && !s.handling.contains_key(method) {
            return;
        }
        let h = s.handling.entry(method.to_string()).or_default();
        let secs = elapsed.as_secs_f64();
        for (i, b) in h.buckets.iter_mut().enumerate() {
            if secs <= bucket_bound_s(i) {
                *b += 1;
            }
        }
        h.count += 1;
        h.sum_s += secs;
    }

    /// A request was dropped.
    pub fn dropped(&self, method: &str, why: Dropped) {
        bump(&mut self.state().dropped, (method.to_string(), why.label()));
    }

    /// The text exposition of every family.
    pub fn render(&self) -> String {
        let s = self.state();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP etcd_proxy_dropped_total Counter of requests dropped on the proxy."
        );
        let _ = writeln!(out, "# TYPE etcd_proxy_dropped_total counter");
        for ((m, e), n) in &s.dropped {
            let _ = writeln!(
                out,
                "etcd_proxy_dropped_total{{method=\"{m}\",proxying_error=\"{e}\"}} {n}"
            );
        }
        let _ = writeln!(out, "# HELP etcd_proxy_handled_total Counter of requests fully handled (by authoratitave servers)");
        let _ = writeln!(out, "# TYPE etcd_proxy_handled_total counter");
        for ((m, c), n) in &s.handled {
            let _ = writeln!(
                out,
                "etcd_proxy_handled_total{{code=\"{c}\",method=\"{m}\"}} {n}"
            );
        }
        let _ = writeln!(out, "# HELP etcd_proxy_handling_duration_seconds Bucketed histogram of handling time of successful events (non-watches), by method (GET/PUT etc.).");
        let _ = writeln!(out, "# TYPE etcd_proxy_handling_duration_seconds histogram");
        for (m, h) in &s.handling {
            for (i, b) in h.buckets.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "etcd_proxy_handling_duration_seconds_bucket{{method=\"{m}\",le=\"{}\"}} {b}",
                    bucket_bound_s(i)
                );
            }
            let _ = writeln!(
                out,
                "etcd_proxy_handling_duration_seconds_bucket{{method=\"{m}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "etcd_proxy_handling_duration_seconds_sum{{method=\"{m}\"}} {}",
                h.sum_s
            );
            let _ = writeln!(
                out,
                "etcd_proxy_handling_duration_seconds_count{{method=\"{m}\"}} {}",
                h.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP etcd_proxy_requests_total Counter requests incoming by method."
        );
        let _ = writeln!(out, "# TYPE etcd_proxy_requests_total counter");
        for (m, n) in &s.incoming {
            let _ = writeln!(out, "etcd_proxy_requests_total{{method=\"{m}\"}} {n}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_with_labels() {
        let m = ProxyMetrics::default();
        m.incoming("GET");
        m.incoming("GET");
        m.handled("GET", 200, Duration::from_millis(3));
        m.dropped("PUT", Dropped::ZeroEndpoints);
        let text = m.render();
        assert!(
            text.contains("etcd_proxy_requests_total{method=\"GET\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("etcd_proxy_handled_total{code=\"200\",method=\"GET\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "etcd_proxy_dropped_total{method=\"PUT\",proxying_error=\"zero_endpoints\"} 1\n"
            ),
            "{text}"
        );
        assert!(text.contains("le=\"0.002\"} 0\n"), "{text}");
        assert!(text.contains("le=\"0.004\"} 1\n"), "{text}");
        assert!(
            text.contains("etcd_proxy_handling_duration_seconds_count{method=\"GET\"} 1\n"),
            "{text}"
        );
    }

    #[test]
    fn label_sets_are_bounded() {
        let m = ProxyMetrics::default();
        for i in 0..LABEL_SETS_MAX + 10 {
            m.incoming(&format!("M{i}"));
        }
        assert_eq!(m.state().incoming.len(), LABEL_SETS_MAX);
    }
}
