//! Go's `time.Duration.String`.
//!
//! Below one second the value is printed in the largest unit that keeps the
//! whole part non-zero (`5ns`, `1.5µs` with U+00B5, `12.5ms`); from one
//! second up it is `[<h>h][<m>m]<s>s` with minutes shown whenever hours are
//! (`1h0m0s`, `2m3.004s`). Fractions print every significant digit and no
//! trailing zeros. Zero is `0s`. Integer arithmetic throughout, so the output
//! is exact for every value.

use std::time::Duration;

const NS_PER_US: u128 = 1_000;
const NS_PER_MS: u128 = 1_000_000;
const NS_PER_S: u128 = 1_000_000_000;

/// Go's `time.Duration.String` of `d`.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(etcd_gotext::format_duration(Duration::from_millis(62_500)), "1m2.5s");
/// assert_eq!(etcd_gotext::format_duration(Duration::from_nanos(1_500)), "1.5µs");
/// ```
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".to_string();
    }
    if ns < NS_PER_US {
        return format!("{ns}ns");
    }
    if ns < NS_PER_MS {
        return format!("{}µs", decimal(ns, NS_PER_US));
    }
    if ns < NS_PER_S {
        return format!("{}ms", decimal(ns, NS_PER_MS));
    }
    let whole_secs = ns / NS_PER_S;
    let (hours, minutes) = (whole_secs / 3600, whole_secs / 60 % 60);
    let secs_ns = ns - (hours * 3600 + minutes * 60) * NS_PER_S;
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&decimal(secs_ns, NS_PER_S));
    out.push('s');
    out
}

/// `value / unit` (unit a power of ten) with the fraction's trailing zeros
/// dropped.
fn decimal(value: u128, unit: u128) -> String {
    let (whole, fraction) = (value / unit, value % unit);
    if fraction == 0 {
        return whole.to_string();
    }
    let width = unit.ilog10() as usize;
    let digits = format!("{fraction:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_go() {
        // Go's own table (time_test.go) plus the cases the old copies tested.
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(1), "1ns"),
            (Duration::from_nanos(5), "5ns"),
            (Duration::from_nanos(1_100), "1.1µs"),
            (Duration::from_nanos(1_500), "1.5µs"),
            (Duration::from_micros(978), "978µs"),
            (Duration::from_nanos(2_200_000), "2.2ms"),
            (Duration::from_micros(2_500), "2.5ms"),
            (Duration::from_nanos(1_856_684), "1.856684ms"),
            (Duration::from_micros(12_500), "12.5ms"),
            (Duration::from_millis(100), "100ms"),
            (Duration::from_secs(1), "1s"),
            (Duration::from_secs(2), "2s"),
            (Duration::from_millis(1_500), "1.5s"),
            (Duration::from_millis(3_300), "3.3s"),
            (Duration::from_nanos(5_000_000_001), "5.000000001s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_millis(62_500), "1m2.5s"),
            (Duration::from_millis(123_004), "2m3.004s"),
            (Duration::from_millis(4 * 60_000 + 5_000), "4m5s"),
            (Duration::from_millis(4 * 60_000 + 5_001), "4m5.001s"),
            (Duration::from_secs(300), "5m0s"),
            (Duration::from_secs(1800), "30m0s"),
            (Duration::from_secs(3600), "1h0m0s"),
            (Duration::from_secs(3600 + 2), "1h0m2s"),
            (
                Duration::from_millis(5 * 3_600_000 + 6 * 60_000 + 7_001),
                "5h6m7.001s",
            ),
            (Duration::from_secs(8 * 3600 + 1), "8h0m1s"),
            (
                Duration::from_nanos(i64::MAX as u64),
                "2562047h47m16.854775807s",
            ),
        ];
        for (d, want) in cases {
            assert_eq!(format_duration(d), want, "{d:?}");
        }
    }
}
