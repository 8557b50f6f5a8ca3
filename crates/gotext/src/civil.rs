//! Proleptic Gregorian calendar arithmetic in UTC.
//!
//! Day numbers count from 1970-01-01 (day 0) and may be negative. The two
//! conversions are H. Hinnant's branch-light algorithms ("chrono-compatible
//! low-level date algorithms"): the year is shifted to start on 1 March so the
//! leap day falls last, and 400-year eras of 146 097 days make the arithmetic
//! exact. They are inverses for every date in range.

use std::time::{SystemTime, UNIX_EPOCH};

const SECS_PER_DAY: i64 = 86_400;
const NS_PER_S: i64 = 1_000_000_000;
/// Days from 0000-03-01 to 1970-01-01.
const EPOCH_SHIFT_DAYS: i64 = 719_468;
const DAYS_PER_ERA: i64 = 146_097;

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01.
///
/// ```
/// assert_eq!(etcd_gotext::civil_from_days(0), (1970, 1, 1));
/// ```
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + EPOCH_SHIFT_DAYS;
    let era = shifted.div_euclid(DAYS_PER_ERA);
    let day_of_era = shifted.rem_euclid(DAYS_PER_ERA);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let march_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * march_month + 2) / 5 + 1) as u32;
    let month = if march_month < 10 {
        march_month + 3
    } else {
        march_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The day count since 1970-01-01 of (year, month 1..=12, day 1..=31).
///
/// ```
/// assert_eq!(etcd_gotext::days_from_civil(2000, 3, 1), 11_017);
/// ```
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let march_month = (month + 9) % 12;
    let day_of_year = (153 * march_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_ERA + day_of_era - EPOCH_SHIFT_DAYS
}

/// A UTC instant broken down into calendar fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcTime {
    /// Calendar year (proleptic Gregorian).
    pub year: i64,
    /// 1..=12.
    pub month: u32,
    /// 1..=31.
    pub day: u32,
    /// 0..=23.
    pub hour: u32,
    /// 0..=59.
    pub minute: u32,
    /// 0..=59 (Unix time has no leap seconds).
    pub second: u32,
    /// 0..=999_999_999.
    pub nanos: u32,
}

impl UtcTime {
    /// The instant `unix_ns` nanoseconds after 1970-01-01T00:00:00Z
    /// (before it when negative).
    ///
    /// ```
    /// let t = etcd_gotext::UtcTime::from_unix_ns(-1);
    /// assert_eq!((t.year, t.month, t.day, t.second, t.nanos), (1969, 12, 31, 59, 999_999_999));
    /// ```
    pub fn from_unix_ns(unix_ns: i64) -> UtcTime {
        let secs = unix_ns.div_euclid(NS_PER_S);
        UtcTime::from_unix(secs, unix_ns.rem_euclid(NS_PER_S) as u32)
    }

    /// The instant `secs` seconds (plus `nanos`, below 10^9) after the epoch.
    pub fn from_unix(secs: i64, nanos: u32) -> UtcTime {
        let (year, month, day) = civil_from_days(secs.div_euclid(SECS_PER_DAY));
        let second_of_day = secs.rem_euclid(SECS_PER_DAY) as u32;
        UtcTime {
            year,
            month,
            day,
            hour: second_of_day / 3600,
            minute: second_of_day / 60 % 60,
            second: second_of_day % 60,
            nanos,
        }
    }

    /// The instant a [`SystemTime`] names (times before the epoch included).
    pub fn from_system_time(t: SystemTime) -> UtcTime {
        match t.duration_since(UNIX_EPOCH) {
            Ok(after) => UtcTime::from_unix(after.as_secs() as i64, after.subsec_nanos()),
            Err(e) => {
                let before = e.duration();
                let ns = before.as_nanos().min(i64::MAX as u128) as i64;
                UtcTime::from_unix_ns(-ns)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(20_413), (2025, 11, 21));
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
        assert_eq!(days_from_civil(1, 1, 1), -719_162);
    }

    #[test]
    fn conversions_are_inverse() {
        // Every day across several eras, both sides of the epoch.
        let mut expected = civil_from_days(-800_000);
        for days in -800_000i64..=800_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            assert_eq!((y, m, d), expected, "day {days}");
            expected = next_day(y, m, d);
        }
    }

    fn next_day(y: i64, m: u32, d: u32) -> (i64, u32, u32) {
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let len = match m {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        match (d < len, m < 12) {
            (true, _) => (y, m, d + 1),
            (false, true) => (y, m + 1, 1),
            (false, false) => (y + 1, 1, 1),
        }
    }

    #[test]
    fn broken_down_times() {
        let t = UtcTime::from_unix_ns(1_392_062_089_357_382_223);
        assert_eq!(
            t,
            UtcTime {
                year: 2014,
                month: 2,
                day: 10,
                hour: 19,
                minute: 54,
                second: 49,
                nanos: 357_382_223
            }
        );
        let before = UNIX_EPOCH - std::time::Duration::from_millis(1);
        let t = UtcTime::from_system_time(before);
        assert_eq!(
            (t.year, t.hour, t.minute, t.second, t.nanos),
            (1969, 23, 59, 59, 999_000_000)
        );
    }
}
