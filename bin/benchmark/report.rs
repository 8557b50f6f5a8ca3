//! The latency report every command prints, in the layout of etcd's
//! `pkg/report`: `Summary:` (Total, Slowest, Fastest, Average, Stddev,
//! Requests/sec), `Response time histogram:` (11 buckets, bars of `∎`
//! normalised to 40), `Latency distribution:` (10 … 99.9 percentiles, a
//! percentile whose value is zero is omitted, as etcd does) and
//! `Error distribution:`.
//!
//! Contract: `Total` runs from [`Report::new`] to [`Report::finish`];
//! Requests/sec counts successful requests only; errors are grouped by message.
//! Memory is one `f64` per recorded request, bounded by the command's `--total`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde_json::json;

/// The percentiles etcd prints.
const PERCENTILES: [f64; 8] = [10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9];
/// Histogram buckets (etcd's `bc`); one more bucket holds the slowest value.
const HISTOGRAM_BUCKETS: usize = 10;
/// Longest histogram bar.
const BAR_MAX_CHARS: usize = 40;

/// Latencies and errors of one measured phase.
#[derive(Debug)]
pub struct Report {
    name: String,
    precise: bool,
    started: Instant,
    total: Option<Duration>,
    lats_secs: Vec<f64>,
    errors: BTreeMap<String, u64>,
}

impl Report {
    /// Starts the clock of a report called `name` (the JSON line's `name`).
    pub fn new(name: &str, precise: bool) -> Report {
        Report {
            name: name.to_string(),
            precise,
            started: Instant::now(),
            total: None,
            lats_secs: Vec::new(),
            errors: BTreeMap::new(),
        }
    }

    /// Records one successful request.
    pub fn ok(&mut self, latency: Duration) {
        self.lats_secs.push(latency.as_secs_f64());
    }

    /// Records one failed request.
    pub fn err(&mut self, message: impl Into<String>) {
        *self.errors.entry(message.into()).or_insert(0) += 1;
    }

    /// Records a request's outcome.
    pub fn record<E: std::fmt::Display>(&mut self, latency: Duration, result: Result<(), E>) {
        match result {
            Ok(()) => self.ok(latency),
            Err(e) => self.err(e.to_string()),
        }
    }

    /// Stops the clock (idempotent: the first call counts).
    pub fn finish(&mut self) {
        if self.total.is_none() {
            self.total = Some(self.started.elapsed());
        }
        self.lats_secs.sort_by(f64::total_cmp);
    }

    /// Successful requests recorded.
    pub fn ok_count(&self) -> u64 {
        self.lats_secs.len() as u64
    }

    /// Failed requests recorded.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    fn total_secs(&self) -> f64 {
        self.total
            .unwrap_or_else(|| self.started.elapsed())
            .as_secs_f64()
    }

    fn num(&self, v: f64) -> String {
        if self.precise {
            format!("{v}")
        } else {
            format!("{v:4.4}")
        }
    }

    fn secs(&self, v: f64) -> String {
        format!("{} secs", self.num(v))
    }

    fn stats(&self) -> Stats {
        let n = self.lats_secs.len();
        if n == 0 {
            return Stats::default();
        }
        let average = self.lats_secs.iter().sum::<f64>() / n as f64;
        let var = self
            .lats_secs
            .iter()
            .map(|l| (l - average).powi(2))
            .sum::<f64>()
            / n as f64;
        Stats {
            fastest: self.lats_secs[0],
            slowest: self.lats_secs[n - 1],
            average,
            stddev: var.sqrt(),
            rps: n as f64 / self.total_secs().max(1e-9),
        }
    }

    /// etcd's percentile walk: the first sample at or past each percentile's
    /// rank; zero where there are too few samples.
    pub fn percentiles(&self) -> [f64; 8] {
        let mut out = [0.0; 8];
        let n = self.lats_secs.len();
        let mut j = 0;
        for (i, lat) in self.lats_secs.iter().enumerate() {
            if j >= PERCENTILES.len() {
                break;
            }
            if i as f64 * 100.0 / n as f64 >= PERCENTILES[j] {
                out[j] = *lat;
                j += 1;
            }
        }
        out
    }

    /// The text etcd prints (empty sections are left out as etcd does).
    pub fn render(&self) -> String {
        let mut s = String::new();
        if !self.lats_secs.is_empty() {
            let st = self.stats();
            let _ = writeln!(s, "\nSummary:");
            let _ = writeln!(s, "  Total:\t{}.", self.secs(self.total_secs()));
            let _ = writeln!(s, "  Slowest:\t{}.", self.secs(st.slowest));
            let _ = writeln!(s, "  Fastest:\t{}.", self.secs(st.fastest));
            let _ = writeln!(s, "  Average:\t{}.", self.secs(st.average));
            let _ = writeln!(s, "  Stddev:\t{}.", self.secs(st.stddev));
            let _ = writeln!(s, "  Requests/sec:\t{}", self.num(st.rps));
            s.push_str(&self.histogram(&st));
            let _ = writeln!(s, "\nLatency distribution:");
            for (p, v) in PERCENTILES.iter().zip(self.percentiles()) {
                if v > 0.0 {
                    let _ = writeln!(s, "  {p}% in {}.", self.secs(v));
                }
            }
        }
        if !self.errors.is_empty() {
            let _ = writeln!(s, "\nError distribution:");
            for (msg, n) in &self.errors {
                let _ = writeln!(s, "  [{n}]\t{msg}");
            }
        }
        s
    }

    fn histogram(&self, st: &Stats) -> String {
        let step = (st.slowest - st.fastest) / HISTOGRAM_BUCKETS as f64;
        let mut bounds: Vec<f64> = (0..HISTOGRAM_BUCKETS)
            .map(|i| st.fastest + step * i as f64)
            .collect();
        bounds.push(st.slowest);
        let mut counts = vec![0usize; bounds.len()];
        let mut b = 0;
        for lat in &self.lats_secs {
            while *lat > bounds[b] && b < bounds.len() - 1 {
                b += 1;
            }
            counts[b] += 1;
        }
        let max = counts.iter().copied().max().unwrap_or(0);
        let mut s = String::from("\nResponse time histogram:\n");
        for (bound, count) in bounds.iter().zip(&counts) {
            let bar = (count * BAR_MAX_CHARS).checked_div(max).unwrap_or(0);
            let _ = writeln!(s, "  {} [{count}]\t|{}", self.num(*bound), "∎".repeat(bar));
        }
        s
    }

    /// The machine-readable form of this report (one object of the JSON line).
    pub fn json(&self) -> serde_json::Value {
        let st = self.stats();
        let p = self.percentiles();
        json!({
            "name": self.name,
            "ok": self.ok_count(),
            "errors": self.error_count(),
            "total_secs": self.total_secs(),
            "slowest_secs": st.slowest,
            "fastest_secs": st.fastest,
            "average_secs": st.average,
            "stddev_secs": st.stddev,
            "requests_per_sec": st.rps,
            "p50_secs": p[2],
            "p90_secs": p[4],
            "p99_secs": p[6],
            "p999_secs": p[7],
        })
    }
}

#[derive(Default)]
struct Stats {
    fastest: f64,
    slowest: f64,
    average: f64,
    stddev: f64,
    rps: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report_of(ms: &[u64]) -> Report {
        let mut r = Report::new("t", false);
        for m in ms {
            r.ok(Duration::from_millis(*m));
        }
        r.finish();
        r
    }

    #[test]
    fn histogram_counts_every_sample_once() {
        let r = report_of(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10]);
        let text = r.render();
        let counted: usize = text
            .lines()
            .skip_while(|l| !l.starts_with("Response time histogram"))
            .skip(1)
            .take(11)
            .map(|l| {
                l.split('[')
                    .nth(1)
                    .unwrap()
                    .split(']')
                    .next()
                    .unwrap()
                    .parse::<usize>()
                    .unwrap()
            })
            .sum();
        assert_eq!(counted, 11);
        assert!(text.contains("  Slowest:\t0.0100 secs."), "{text}");
        assert!(text.contains("  Fastest:\t0.0010 secs."), "{text}");
    }

    #[test]
    fn percentiles_follow_etcds_walk() {
        let r = report_of(&(1..=100).collect::<Vec<_>>());
        let p = r.percentiles();
        assert!((p[0] - 0.011).abs() < 1e-9);
        assert!((p[2] - 0.051).abs() < 1e-9);
        assert!((p[6] - 0.100).abs() < 1e-9);
        // 99.9 needs a rank past 99.9%: with 100 samples it is never reached.
        assert_eq!(p[7], 0.0);
        assert!(!r.render().contains("99.9%"));
    }

    #[test]
    fn errors_only_prints_error_distribution() {
        let mut r = Report::new("t", false);
        r.err("boom");
        r.err("boom");
        r.finish();
        assert_eq!(r.render(), "\nError distribution:\n  [2]\tboom\n");
        assert_eq!(r.json()["errors"], 2);
    }
}
