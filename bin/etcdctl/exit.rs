//! Exit codes and error/log lines exactly as etcdctl prints them.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// Generic failure.
pub const EXIT_ERROR: i32 = 1;
/// Could not reach the cluster.
pub const EXIT_BAD_CONNECTION: i32 = 2;
/// Malformed input (txn, watch).
pub const EXIT_INVALID_INPUT: i32 = 3;
/// A valid flag with an unsupported value.
pub const EXIT_BAD_FEATURE: i32 = 4;
/// Interrupted (watch canceled, snapshot failed).
pub const EXIT_INTERRUPTED: i32 = 5;
/// Bad arguments.
pub const EXIT_BAD_ARGS: i32 = 128;

/// Prints `Error: <msg>` to stderr and exits with `code`.
pub fn fail(code: i32, msg: &str) -> ! {
    let _ = std::io::stdout().flush();
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "Error: {msg}");
    let _ = e.flush();
    std::process::exit(code)
}

/// Flushes stdout and exits.
pub fn exit(code: i32) -> ! {
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}

/// Civil date-time (UTC) of `now`: (year, month, day, h, m, s, micros).
fn now_parts() -> (i64, u32, u32, u32, u32, u32, u32) {
    let t = etcd_gotext::UtcTime::from_system_time(SystemTime::now());
    let micros = t.nanos / 1000;
    (t.year, t.month, t.day, t.hour, t.minute, t.second, micros)
}

/// A capnslog line as etcd's `pkg/flags` prints it:
/// `2006-01-02 15:04:05.000000 W | pkg/flags: ...`.
pub fn capnslog(level: char, msg: &str) {
    let (y, mo, d, h, mi, s, us) = now_parts();
    let mut e = std::io::stderr().lock();
    let _ = writeln!(
        e,
        "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06} {level} | pkg/flags: {msg}"
    );
}

/// A zap JSON warning as etcd's Go client logs a failed unary attempt.
pub fn retry_warning(target: &str, attempt: u32, error: &str) {
    let (y, mo, d, h, mi, s, us) = now_parts();
    let esc = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"");
    let mut e = std::io::stderr().lock();
    let _ = writeln!(
        e,
        "{{\"level\":\"warn\",\"ts\":\"{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z\",\"caller\":\"clientv3/retry_interceptor.go:62\",\"msg\":\"retrying of unary invoker failed\",\"target\":\"{}\",\"attempt\":{attempt},\"error\":\"{}\"}}",
        us / 1000,
        esc(target),
        esc(error)
    );
}

/// A random client id in UUID form (only used in log targets).
pub fn client_uuid() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let x = (d.as_nanos() as u64) ^ (u64::from(std::process::id()) << 32);
    let y = x.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (y >> 32) as u32,
        (y >> 16) as u16,
        (x & 0xfff) as u16,
        ((x >> 12) & 0xfff) as u16,
        y & 0xffff_ffff_ffff
    )
}
