//! The `process_*` metrics (Prometheus's process collector, as Go's client
//! exports them), read from Linux's `/proc/self` at scrape time. On other
//! systems, or when a file cannot be read, the value is simply not updated.
//!
//! `/proc` reports CPU time in clock ticks of `USER_HZ`, which the kernel
//! ABI fixes at 100 per second whatever the kernel's internal tick rate.

/// `USER_HZ`: ticks per second in `/proc/*/stat`.
const USER_HZ: f64 = 100.0;
const PAGE_BYTES: i64 = 4096;

/// One reading of the process's resources.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ProcessSample {
    pub(crate) cpu_seconds: Option<f64>,
    pub(crate) open_fds: Option<i64>,
    pub(crate) max_fds: Option<i64>,
    pub(crate) resident_bytes: Option<i64>,
    pub(crate) virtual_bytes: Option<i64>,
    pub(crate) virtual_max_bytes: Option<f64>,
}

/// Reads `/proc/self`.
pub(crate) fn sample() -> ProcessSample {
    let mut s = ProcessSample::default();
    if let Some(stat) = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|t| parse_stat(&t))
    {
        s.cpu_seconds = Some((stat.utime_ticks + stat.stime_ticks) as f64 / USER_HZ);
        s.virtual_bytes = Some(stat.vsize_bytes);
        s.resident_bytes = Some(stat.rss_pages * PAGE_BYTES);
    }
    s.open_fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count() as i64);
    if let Ok(limits) = std::fs::read_to_string("/proc/self/limits") {
        s.max_fds = soft_limit(&limits, "Max open files").map(|v| v as i64);
        s.virtual_max_bytes = soft_limit(&limits, "Max address space").map(|v| v as f64);
    }
    s
}

/// Process start, in seconds since the Unix epoch (boot time plus the
/// process's start tick).
pub(crate) fn start_time_seconds() -> Option<f64> {
    let stat = parse_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
    let boot = std::fs::read_to_string("/proc/stat").ok()?;
    let btime: f64 = boot
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(btime + stat.start_ticks as f64 / USER_HZ)
}

#[derive(Debug, PartialEq)]
struct Stat {
    utime_ticks: u64,
    stime_ticks: u64,
    start_ticks: u64,
    vsize_bytes: i64,
    rss_pages: i64,
}

/// Parses `/proc/<pid>/stat`; the command name (field 2) may hold spaces
/// and parentheses, so fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    // rest starts at field 3 (state): index i here is field i + 3.
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| f.get(n - 3).copied();
    Some(Stat {
        utime_ticks: field(14)?.parse().ok()?,
        stime_ticks: field(15)?.parse().ok()?,
        start_ticks: field(22)?.parse().ok()?,
        vsize_bytes: field(23)?.parse().ok()?,
        rss_pages: field(24)?.parse().ok()?,
    })
}

/// The soft limit of a `/proc/self/limits` row; "unlimited" is `u64::MAX`,
/// as Go's collector reports it.
fn soft_limit(limits: &str, row: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with(row))?;
    match line[row.len()..].split_whitespace().next()? {
        "unlimited" => Some(u64::MAX),
        n => n.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_counted_after_the_command() {
        let text = "3176 (a) b (c)) R 3172 3172 24474 0 -1 4194304 124 0 0 0 7 5 0 0 20 0 1 0 992706 3133440 407 18446744073709551615";
        assert_eq!(
            parse_stat(text),
            Some(Stat {
                utime_ticks: 7,
                stime_ticks: 5,
                start_ticks: 992706,
                vsize_bytes: 3133440,
                rss_pages: 407
            })
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn limits_rows() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            20000                40000                files\n\
                      Max address space         unlimited            unlimited            bytes\n";
        assert_eq!(soft_limit(limits, "Max open files"), Some(20000));
        assert_eq!(soft_limit(limits, "Max address space"), Some(u64::MAX));
        assert_eq!(soft_limit(limits, "Max nothing"), None);
    }

    #[test]
    fn live_sample_reads_this_process() {
        let s = sample();
        if cfg!(target_os = "linux") {
            assert!(s.open_fds.unwrap() > 0);
            assert!(s.resident_bytes.unwrap() > 0);
            assert!(start_time_seconds().unwrap() > 1.0e9);
        }
    }
}
