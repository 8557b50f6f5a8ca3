//! Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?unit)+`, or a bare `0`.
//!
//! Units are `ns`, `us`, `µs` (U+00B5), `μs` (U+03BC), `ms`, `s`, `m`, `h`.
//! A term needs a digit before or after its dot (`.5s`, `5.s` are fine, `.s`
//! is not). The value is an `i64` of nanoseconds, so the magnitude is at most
//! 2^63 − 1 ns (about 2562047h), or exactly 2^63 ns when negative; anything
//! larger is an invalid duration. A fraction's digits past what fits in 63
//! bits are ignored, and a fraction is scaled through `f64` and truncated, as
//! Go does (Go needs that to stay nanosecond-exact for fractions of hours).
//!
//! Errors are Go's texts, which etcd prints verbatim:
//! `time: invalid duration "x"`, `time: missing unit in duration "1"`,
//! `time: unknown unit "d" in duration "1d"`.

use std::time::Duration;

use crate::quote::time_quote;

/// 2^63: the largest magnitude a term, or the total, may reach (only a
/// negative total may equal it).
const MAGNITUDE_LIMIT_NS: u64 = 1 << 63;

/// Go's `time.ParseDuration`, as signed nanoseconds.
///
/// ```
/// assert_eq!(etcd_gotext::parse_duration_ns("-1.5h"), Ok(-5_400_000_000_000));
/// assert_eq!(
///     etcd_gotext::parse_duration_ns("1"),
///     Err("time: missing unit in duration \"1\"".to_string())
/// );
/// ```
pub fn parse_duration_ns(text: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", time_quote(text));
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total_ns: u64 = 0;
    while !rest.is_empty() {
        let (term_ns, after) = match parse_term(rest) {
            Ok(parsed) => parsed,
            Err(TermError::Invalid) => return Err(invalid()),
            Err(TermError::MissingUnit) => {
                return Err(format!(
                    "time: missing unit in duration {}",
                    time_quote(text)
                ))
            }
            Err(TermError::UnknownUnit(unit)) => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    time_quote(unit),
                    time_quote(text)
                ))
            }
        };
        total_ns = total_ns.checked_add(term_ns).ok_or_else(invalid)?;
        if total_ns > MAGNITUDE_LIMIT_NS {
            return Err(invalid());
        }
        rest = after;
    }
    if negative {
        // 2^63 wraps to i64::MIN, which is exactly its negation.
        Ok((total_ns as i64).wrapping_neg())
    } else if total_ns == MAGNITUDE_LIMIT_NS {
        Err(invalid())
    } else {
        Ok(total_ns as i64)
    }
}

/// Go's `time.ParseDuration` as a [`Duration`]; a negative value becomes
/// [`Duration::ZERO`] (a `Duration` cannot be negative). Callers that must
/// reject negatives use [`parse_duration_ns`].
///
/// ```
/// use std::time::Duration;
/// assert_eq!(etcd_gotext::parse_duration("1m30s"), Ok(Duration::from_secs(90)));
/// assert_eq!(etcd_gotext::parse_duration("-5s"), Ok(Duration::ZERO));
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let ns = parse_duration_ns(text)?;
    Ok(Duration::from_nanos(ns.max(0) as u64))
}

enum TermError<'a> {
    Invalid,
    MissingUnit,
    UnknownUnit(&'a str),
}

/// One `<number><unit>` term at the start of `s`: its nanoseconds (at most
/// 2^63) and the rest of `s`.
fn parse_term(s: &str) -> Result<(u64, &str), TermError<'_>> {
    let bytes = s.as_bytes();
    if !(bytes[0] == b'.' || bytes[0].is_ascii_digit()) {
        return Err(TermError::Invalid);
    }
    let mut at = 0;
    let mut whole: u64 = 0;
    while at < bytes.len() && bytes[at].is_ascii_digit() {
        if whole > MAGNITUDE_LIMIT_NS / 10 {
            return Err(TermError::Invalid);
        }
        whole = whole * 10 + u64::from(bytes[at] - b'0');
        if whole > MAGNITUDE_LIMIT_NS {
            return Err(TermError::Invalid);
        }
        at += 1;
    }
    let has_whole = at > 0;
    let (mut fraction, mut fraction_scale, mut has_fraction) = (0u64, 1f64, false);
    if at < bytes.len() && bytes[at] == b'.' {
        at += 1;
        let mut saturated = false;
        while at < bytes.len() && bytes[at].is_ascii_digit() {
            has_fraction = true;
            if !saturated {
                let digit = u64::from(bytes[at] - b'0');
                if fraction > (MAGNITUDE_LIMIT_NS - 1) / 10
                    || fraction * 10 + digit > MAGNITUDE_LIMIT_NS
                {
                    saturated = true;
                } else {
                    fraction = fraction * 10 + digit;
                    fraction_scale *= 10.0;
                }
            }
            at += 1;
        }
    }
    if !has_whole && !has_fraction {
        return Err(TermError::Invalid);
    }
    let unit_len = bytes[at..]
        .iter()
        .position(|&b| b == b'.' || b.is_ascii_digit())
        .unwrap_or(bytes.len() - at);
    if unit_len == 0 {
        return Err(TermError::MissingUnit);
    }
    // The unit ends at an ASCII byte or at the end, so both ends are char
    // boundaries.
    let unit = &s[at..at + unit_len];
    let unit_ns = unit_nanos(unit).ok_or(TermError::UnknownUnit(unit))?;
    if whole > MAGNITUDE_LIMIT_NS / unit_ns {
        return Err(TermError::Invalid);
    }
    let mut term_ns = whole * unit_ns;
    if fraction > 0 {
        term_ns += (fraction as f64 * (unit_ns as f64 / fraction_scale)) as u64;
        if term_ns > MAGNITUDE_LIMIT_NS {
            return Err(TermError::Invalid);
        }
    }
    Ok((term_ns, &s[at + unit_len..]))
}

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> i64 {
        parse_duration_ns(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    #[test]
    fn accepts_go_documented_forms() {
        // Examples from Go's time package documentation and tests.
        assert_eq!(ok("0"), 0);
        assert_eq!(ok("+0"), 0);
        assert_eq!(ok("-0"), 0);
        assert_eq!(ok("5s"), 5_000_000_000);
        assert_eq!(ok("30s"), 30_000_000_000);
        assert_eq!(ok("1478s"), 1_478_000_000_000);
        assert_eq!(ok("-5s"), -5_000_000_000);
        assert_eq!(ok("+5s"), 5_000_000_000);
        assert_eq!(ok("-0s"), 0);
        assert_eq!(ok("5.0s"), 5_000_000_000);
        assert_eq!(ok("5.6s"), 5_600_000_000);
        assert_eq!(ok("5.s"), 5_000_000_000);
        assert_eq!(ok(".5s"), 500_000_000);
        assert_eq!(ok("1.004s"), 1_004_000_000);
        assert_eq!(ok("100.00100s"), 100_001_000_000);
        assert_eq!(ok("10ns"), 10);
        assert_eq!(ok("11us"), 11_000);
        assert_eq!(ok("12\u{b5}s"), 12_000);
        assert_eq!(ok("12\u{3bc}s"), 12_000);
        assert_eq!(ok("13ms"), 13_000_000);
        assert_eq!(ok("14s"), 14_000_000_000);
        assert_eq!(ok("15m"), 900_000_000_000);
        assert_eq!(ok("16h"), 57_600_000_000_000);
        assert_eq!(ok("3h30m"), 12_600_000_000_000);
        assert_eq!(ok("10.5s4m"), 250_500_000_000);
        assert_eq!(ok("-2m3.4s"), -123_400_000_000);
        assert_eq!(ok("1h2m3s4ms5us6ns"), 3_723_004_005_006);
        assert_eq!(ok("1h2m3.5s"), 3_723_500_000_000);
        assert_eq!(ok(".5us"), 500);
        assert_eq!(ok("-1.5s"), -1_500_000_000);
        assert_eq!(ok("39h9m14.425s"), 140_954_425_000_000);
        assert_eq!(ok("52763797000ns"), 52_763_797_000);
        assert_eq!(ok("0.3333333333333333333h"), 1_200_000_000_000);
        assert_eq!(ok("9007199254740993ns"), 9_007_199_254_740_993);
        assert_eq!(ok("9223372036854775807ns"), i64::MAX);
        assert_eq!(ok("9223372036.854775807s"), i64::MAX);
        assert_eq!(ok("-9223372036854775808ns"), i64::MIN);
        assert_eq!(ok("-9223372036.854775808s"), i64::MIN);
        assert_eq!(ok("0.100000000000000000000h"), 360_000_000_000);
        assert_eq!(ok("0.830103483285477580700h"), 2_988_372_539_827);
        assert_eq!(ok("2562047h"), 2562047 * 3_600_000_000_000);
    }

    #[test]
    fn rejects_with_go_messages() {
        let err = |t: &str| parse_duration_ns(t).unwrap_err();
        for bad in ["", "3", "-", "s", ".", "-.", ".s", "+.s", "1d", "\u{fffd}"] {
            assert!(parse_duration_ns(bad).is_err(), "{bad:?}");
        }
        assert_eq!(err(""), "time: invalid duration \"\"");
        assert_eq!(err("x"), "time: invalid duration \"x\"");
        assert_eq!(err(".s"), "time: invalid duration \".s\"");
        assert_eq!(err("1"), "time: missing unit in duration \"1\"");
        assert_eq!(err("1h2"), "time: missing unit in duration \"1h2\"");
        assert_eq!(err("1d"), "time: unknown unit \"d\" in duration \"1d\"");
        assert_eq!(
            err("5µx"),
            r#"time: unknown unit "\xc2\xb5x" in duration "5\xc2\xb5x""#
        );
        assert_eq!(
            err("1\"s"),
            r#"time: unknown unit "\"s" in duration "1\"s""#
        );
        for overflow in [
            "9223372036854775808ns",
            "9223372036854775.808us",
            "9223372036854ms775us808ns",
            "-9223372036854775809ns",
            "2562048h",
            "3000000h",
            "99999999999999999999999s",
        ] {
            assert_eq!(
                err(overflow),
                format!("time: invalid duration \"{overflow}\""),
                "{overflow}"
            );
        }
    }

    #[test]
    fn as_std_duration_negative_is_zero() {
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("-1.5s"), Ok(Duration::ZERO));
        assert_eq!(
            parse_duration("5").unwrap_err(),
            "time: missing unit in duration \"5\""
        );
    }
}
