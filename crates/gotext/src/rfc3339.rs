//! Go's `time.RFC3339Nano` layout for a UTC time, as `encoding/json` writes a
//! `time.Time`: `2006-01-02T15:04:05.999999999Z`. The fraction keeps only its
//! significant digits and disappears when zero.

use crate::civil::UtcTime;

/// `unix_ns` (nanoseconds since the epoch) in Go's `RFC3339Nano`, UTC.
///
/// ```
/// assert_eq!(etcd_gotext::rfc3339_nano(1_500_000_000), "1970-01-01T00:00:01.5Z");
/// ```
pub fn rfc3339_nano(unix_ns: i64) -> String {
    let t = UtcTime::from_unix_ns(unix_ns);
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    );
    if t.nanos != 0 {
        let digits = format!("{:09}", t.nanos);
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_go() {
        assert_eq!(
            rfc3339_nano(1_392_062_089_357_382_223),
            "2014-02-10T19:54:49.357382223Z"
        );
        assert_eq!(
            rfc3339_nano(1_392_062_089_500_000_000),
            "2014-02-10T19:54:49.5Z"
        );
        assert_eq!(rfc3339_nano(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339_nano(951_782_400_000_000_000),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(rfc3339_nano(-1), "1969-12-31T23:59:59.999999999Z");
    }
}
