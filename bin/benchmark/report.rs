//! The summary etcd's benchmark prints (its `pkg/report` layout).

use std::fmt::Write as _;
use std::time::Duration;

/// Renders the summary, histogram and latency percentiles.
pub fn render(lat: &[Duration], total: Duration, errors: u64) -> String {
    let mut out = String::new();
    let mut secs: Vec<f64> = lat.iter().map(Duration::as_secs_f64).collect();
    secs.sort_by(f64::total_cmp);
    let n = secs.len().max(1) as f64;
    let avg = secs.iter().sum::<f64>() / n;
    let stddev = (secs.iter().map(|s| (s - avg).powi(2)).sum::<f64>() / n).sqrt();
    let _ = writeln!(out, "\nSummary:");
    let _ = writeln!(out, "  Total:\t{:.4} secs.", total.as_secs_f64());
    let _ = writeln!(out, "  Slowest:\t{:.4} secs.", secs.last().copied().unwrap_or(0.0));
    let _ = writeln!(out, "  Fastest:\t{:.4} secs.", secs.first().copied().unwrap_or(0.0));
    let _ = writeln!(out, "  Average:\t{avg:.4} secs.");
    let _ = writeln!(out, "  Stddev:\t{stddev:.4} secs.");
    let _ = writeln!(out, "  Requests/sec:\t{:.4}", secs.len() as f64 / total.as_secs_f64().max(1e-9));
    if secs.is_empty() {
        let _ = writeln!(out, "\nNo successful requests ({errors} errors).");
        return out;
    }
    let (lo, hi) = (secs[0], secs[secs.len() - 1]);
    let buckets = 10;
    let step = (hi - lo) / buckets as f64;
    let mut counts = vec![0usize; buckets + 1];
    for s in &secs {
        let b = if step > 0.0 { (((s - lo) / step) as usize).min(buckets) } else { 0 };
        counts[b] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(1).max(1);
    let _ = writeln!(out, "\nResponse time histogram:");
    for (i, c) in counts.iter().enumerate() {
        let bar = "∎".repeat(c * 40 / max);
        let _ = writeln!(out, "  {:.4} [{c}]\t|{bar}", lo + step * i as f64);
    }
    let _ = writeln!(out, "\nLatency distribution:");
    for p in [10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9] {
        let idx = (((p / 100.0) * secs.len() as f64).ceil() as usize).clamp(1, secs.len()) - 1;
        let _ = writeln!(out, "  {p}% in {:.4} secs.", secs[idx]);
    }
    if errors > 0 {
        let _ = writeln!(out, "\nErrors: {errors}");
    }
    out
}
