//! etcd's JSON for events: field order `action, node, prevNode`; in a node
//! `key, value, dir, expiration, ttl, nodes, modifiedIndex, createdIndex`,
//! empty fields left out as Go's `omitempty` does. `expiration` is
//! RFC 3339 with nanoseconds (trailing zeros dropped), `ttl` the remaining
//! seconds rounded up at the time of rendering.

use serde::Serialize;

use crate::event::{Event, NodeExtern};

#[derive(Serialize)]
struct JsonNode<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
    #[serde(skip_serializing_if = "is_false")]
    dir: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<String>,
    #[serde(skip_serializing_if = "is_zero_i64")]
    ttl: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    nodes: Vec<JsonNode<'a>>,
    #[serde(rename = "modifiedIndex", skip_serializing_if = "is_zero")]
    modified_index: u64,
    #[serde(rename = "createdIndex", skip_serializing_if = "is_zero")]
    created_index: u64,
}

#[derive(Serialize)]
struct JsonEvent<'a> {
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    node: Option<JsonNode<'a>>,
    #[serde(rename = "prevNode", skip_serializing_if = "Option::is_none")]
    prev_node: Option<JsonNode<'a>>,
}

fn is_false(b: &bool) -> bool {
    !*b
}
fn is_zero(n: &u64) -> bool {
    *n == 0
}
fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

fn node<'a>(n: &'a NodeExtern, now_ns: i64, trim: &str) -> JsonNode<'a> {
    JsonNode {
        key: n.key.strip_prefix(trim).unwrap_or(&n.key),
        value: n.value.as_deref(),
        dir: n.dir,
        expiration: n.expiration_ns.map(rfc3339_nano),
        ttl: n.expiration_ns.map(|e| ttl_secs(e, now_ns)).unwrap_or(0),
        nodes: n.nodes.iter().map(|c| node(c, now_ns, trim)).collect(),
        modified_index: n.modified_index,
        created_index: n.created_index,
    }
}

/// Seconds left until `expiration_ns`, rounded up (etcd: 1..n, 0 or less once due).
pub fn ttl_secs(expiration_ns: i64, now_ns: i64) -> i64 {
    let left = expiration_ns.saturating_sub(now_ns);
    let mut ttl = left / 1_000_000_000;
    if left % 1_000_000_000 > 0 {
        ttl += 1;
    }
    ttl
}

/// An event as etcd writes it (with its trailing newline); keys lose the
/// `trim` prefix (`/1` for `/v2/keys`). `no_value` drops the nodes of a
/// successful write (`noValueOnSuccess`).
pub fn event_json(ev: &Event, now_ns: i64, trim: &str, no_value: bool) -> String {
    let hide = no_value
        && !matches!(
            ev.action,
            crate::Action::Get
                | crate::Action::Delete
                | crate::Action::CompareAndDelete
                | crate::Action::Expire
        );
    let j = JsonEvent {
        action: ev.action.as_str(),
        node: (!hide).then(|| node(&ev.node, now_ns, trim)),
        prev_node: if hide {
            None
        } else {
            ev.prev_node.as_ref().map(|p| node(p, now_ns, trim))
        },
    };
    let mut s = serde_json::to_string(&j).expect("event serialises");
    s.push('\n');
    s
}

/// Go's `time.RFC3339Nano` in UTC: `2014-02-10T19:54:49.357382223Z`.
pub fn rfc3339_nano(unix_ns: i64) -> String {
    let secs = unix_ns.div_euclid(1_000_000_000);
    let nanos = unix_ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    );
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_go() {
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
    }

    #[test]
    fn ttl_rounds_up() {
        assert_eq!(ttl_secs(10_000_000_000, 0), 10);
        assert_eq!(ttl_secs(10_000_000_001, 0), 11);
        assert_eq!(ttl_secs(1, 0), 1);
        assert_eq!(ttl_secs(0, 5), 0);
    }
}
