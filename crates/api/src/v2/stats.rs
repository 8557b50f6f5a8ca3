//! `/v2/stats/store`, `/v2/stats/self`, `/v2/stats/leader`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use etcd_server::EtcdServer;

fn json(body: String) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

/// When this process first served v2 stats (approximates the member's start).
static START: std::sync::OnceLock<(i64, std::time::Instant)> = std::sync::OnceLock::new();

/// Records the start time used by `/v2/stats/self`.
pub(crate) fn mark_start() {
    START.get_or_init(|| (etcd_server::now_unix_ns(), std::time::Instant::now()));
}

/// The v2 store's counters (read and write counts are etcd's; see
/// `etcd_v2store::stats` for which operation counts where).
pub(crate) async fn store(State(s): State<Arc<EtcdServer>>) -> Response {
    let stats = s.v2_store().lock().stats();
    json(serde_json::to_string(&stats).unwrap_or_default())
}

/// A float as Go's `encoding/json` writes it in the range stats use
/// (shortest round-trip digits, no exponent below 1e21).
fn go_float(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        "0".into()
    }
}

/// A duration as Go's `time.Duration.String` writes it ("1h2m3.5s", "1.5ms").
fn go_duration(d: std::time::Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".into();
    }
    let frac = |v: u128, unit: u128| -> String {
        let whole = v / unit;
        let rest = v % unit;
        if rest == 0 {
            return whole.to_string();
        }
        let width = unit.to_string().len() - 1;
        let digits = format!("{rest:0width$}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    };
    if ns < 1_000 {
        return format!("{ns}ns");
    }
    if ns < 1_000_000 {
        return format!("{}µs", frac(ns, 1_000));
    }
    if ns < 1_000_000_000 {
        return format!("{}ms", frac(ns, 1_000_000));
    }
    let secs_ns = ns % 60_000_000_000;
    let mins = ns / 60_000_000_000;
    let mut out = String::new();
    if mins >= 60 {
        out.push_str(&format!("{}h", mins / 60));
    }
    if mins > 0 {
        out.push_str(&format!("{}m", mins % 60));
    }
    out.push_str(&format!("{}s", frac(secs_ns, 1_000_000_000)));
    out
}

/// The wall-clock time of `at`, as RFC 3339 with nanoseconds.
fn wall(at: std::time::Instant) -> String {
    let ns = etcd_server::now_unix_ns() - at.elapsed().as_nanos() as i64;
    etcd_v2store::render::rfc3339_nano(ns)
}

/// The leader this member last reported, and since when (leaders do not
/// receive appends, so their own leadership is dated here).
static LEADER_SEEN: std::sync::Mutex<Option<(u64, std::time::Instant)>> = std::sync::Mutex::new(None);

/// This member's identity, Raft state and append traffic (etcd's
/// `ServerStats`: rates are left out while zero, as etcd's `omitempty` does).
pub(crate) async fn self_stats(State(s): State<Arc<EtcdServer>>) -> Response {
    let (_, started) = *START.get_or_init(|| (etcd_server::now_unix_ns(), std::time::Instant::now()));
    let c = s.transport().v2stats().self_counters();
    let leader = s.leader();
    let since = {
        let mut seen = LEADER_SEEN.lock().unwrap_or_else(|e| e.into_inner());
        let from_appends = c.leader_seen.filter(|(l, _)| *l == leader && !s.is_leader());
        let at = match (*seen, from_appends) {
            (_, Some((_, at))) => at,
            (Some((l, at)), None) if l == leader => at,
            _ => std::time::Instant::now(),
        };
        *seen = Some((leader, at));
        at
    };
    let state = if s.is_leader() { "StateLeader" } else { "StateFollower" };
    let q = |v: &str| serde_json::to_string(v).unwrap_or_default();
    let mut body = format!(
        "{{\"name\":{},\"id\":{},\"state\":{},\"startTime\":{},\"leaderInfo\":{{\"leader\":{},\"uptime\":{},\"startTime\":{}}},\"recvAppendRequestCnt\":{}",
        q(&s.config().name),
        q(&format!("{:x}", s.member_id())),
        q(state),
        q(&wall(started)),
        q(&format!("{leader:x}")),
        q(&go_duration(since.elapsed())),
        q(&wall(since)),
        c.recv_append_request_cnt,
    );
    let mut rate = |name: &str, v: f64| {
        if v != 0.0 && v.is_finite() {
            body.push_str(&format!(",\"{name}\":{}", go_float(v)));
        }
    };
    rate("recvPkgRate", c.recv_pkg_rate);
    rate("recvBandwidthRate", c.recv_bandwidth_rate);
    body.push_str(&format!(",\"sendAppendRequestCnt\":{}", c.send_append_request_cnt));
    let mut rate = |name: &str, v: f64| {
        if v != 0.0 && v.is_finite() {
            body.push_str(&format!(",\"{name}\":{}", go_float(v)));
        }
    };
    rate("sendPkgRate", c.send_pkg_rate);
    rate("sendBandwidthRate", c.send_bandwidth_rate);
    body.push('}');
    json(body)
}

/// Leader statistics; etcd answers 403 `not current leader` on followers.
pub(crate) async fn leader(State(s): State<Arc<EtcdServer>>) -> Response {
    if !s.is_leader() {
        let mut r = json("{\"message\":\"not current leader\"}".into());
        *r.status_mut() = StatusCode::FORBIDDEN;
        return r;
    }
    let followers: Vec<String> = s
        .transport()
        .v2stats()
        .followers()
        .into_iter()
        .map(|(id, f)| {
            format!(
                "\"{id:x}\":{{\"latency\":{{\"current\":{},\"average\":{},\"standardDeviation\":{},\"minimum\":{},\"maximum\":{}}},\"counts\":{{\"fail\":{},\"success\":{}}}}}",
                go_float(f.current_ms),
                go_float(f.average_ms),
                go_float(f.standard_deviation_ms),
                go_float(f.minimum_ms),
                go_float(f.maximum_ms),
                f.fail,
                f.success
            )
        })
        .collect();
    json(format!("{{\"leader\":\"{:x}\",\"followers\":{{{}}}}}", s.member_id(), followers.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_print_like_go() {
        assert_eq!(go_duration(Duration::ZERO), "0s");
        assert_eq!(go_duration(Duration::from_nanos(1500)), "1.5µs");
        assert_eq!(go_duration(Duration::from_micros(2500)), "2.5ms");
        assert_eq!(go_duration(Duration::from_millis(62_500)), "1m2.5s");
        assert_eq!(go_duration(Duration::from_secs(3600 + 2)), "1h0m2s");
        assert_eq!(go_duration(Duration::from_nanos(5_000_000_001)), "5.000000001s");
    }

    #[test]
    fn floats_print_like_go() {
        assert_eq!(go_float(0.0), "0");
        assert_eq!(go_float((1u64 << 63) as f64), "9223372036854776000");
        assert_eq!(go_float(1.25), "1.25");
    }
}
