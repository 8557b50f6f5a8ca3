//! Wall-clock time in the local time zone, and etcd's two timestamp layouts.
//!
//! The clock is a plain function pointer so formatters can be tested with a fixed time.
//! Local time comes from the C library (`localtime_r`), which reads `TZ` and
//! `/etc/localtime` like Go does.

use std::time::{SystemTime, UNIX_EPOCH};

/// A broken-down local time with microseconds and the UTC offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    /// Calendar year.
    pub year: i32,
    /// 1..=12.
    pub month: u32,
    /// 1..=31.
    pub day: u32,
    /// 0..=23.
    pub hour: u32,
    /// 0..=59.
    pub minute: u32,
    /// 0..=60.
    pub second: u32,
    /// 0..=999_999.
    pub micros: u32,
    /// Offset from UTC in seconds (east positive).
    pub utc_offset_secs: i64,
}

/// Source of the current time.
pub type Clock = fn() -> LocalTime;

impl LocalTime {
    /// capnslog's layout: `2026-11-21 19:10:30.619569`.
    pub fn capnslog(&self) -> String {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.micros
        )
    }

    /// zap's ISO 8601 layout as etcd configures it: `2026-11-21T19:10:30.619Z`, or with
    /// `+0100`-style offset outside UTC.
    pub fn zap(&self) -> String {
        let zone = if self.utc_offset_secs == 0 {
            "Z".to_string()
        } else {
            let sign = if self.utc_offset_secs < 0 { '-' } else { '+' };
            let minutes = self.utc_offset_secs.unsigned_abs() / 60;
            format!("{sign}{:02}{:02}", minutes / 60, minutes % 60)
        };
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{zone}",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.micros / 1000
        )
    }
}

/// The current local time.
pub fn now_local() -> LocalTime {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since_epoch.as_secs() as libc::time_t;
    // SAFETY: `tm` is a plain C struct that may be zero-initialised; `localtime_r` only
    // writes into the buffer we pass and returns null on failure.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    if !ok {
        return utc_from_unix(since_epoch.as_secs() as i64, since_epoch.subsec_micros());
    }
    LocalTime {
        year: tm.tm_year + 1900,
        month: (tm.tm_mon + 1) as u32,
        day: tm.tm_mday as u32,
        hour: tm.tm_hour as u32,
        minute: tm.tm_min as u32,
        second: tm.tm_sec as u32,
        micros: since_epoch.subsec_micros(),
        utc_offset_secs: tm.tm_gmtoff as i64,
    }
}

/// UTC broken-down time for a Unix timestamp.
pub fn utc_from_unix(secs: i64, micros: u32) -> LocalTime {
    let t = etcd_gotext::UtcTime::from_unix(secs, micros * 1000);
    LocalTime {
        year: t.year as i32,
        month: t.month,
        day: t.day,
        hour: t.hour,
        minute: t.minute,
        second: t.second,
        micros,
        utc_offset_secs: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let t = utc_from_unix(1_795_288_230, 619_569);
        assert_eq!(t.capnslog(), "2026-11-21 19:10:30.619569");
        assert_eq!(t.zap(), "2026-11-21T19:10:30.619Z");
        let east = LocalTime {
            utc_offset_secs: 3600 + 1800,
            ..t
        };
        assert_eq!(east.zap(), "2026-11-21T19:10:30.619+0130");
        let west = LocalTime {
            utc_offset_secs: -5 * 3600,
            ..t
        };
        assert_eq!(west.zap(), "2026-11-21T19:10:30.619-0500");
        assert_eq!(utc_from_unix(0, 0).capnslog(), "1970-01-01 00:00:00.000000");
        assert_eq!(
            utc_from_unix(951_782_400, 0).capnslog(),
            "2000-02-29 00:00:00.000000"
        );
    }

    #[test]
    fn local_clock_agrees_with_utc_up_to_offset() {
        let local = now_local();
        assert!(local.utc_offset_secs.abs() <= 14 * 3600);
        assert!((1..=12).contains(&local.month));
    }
}
