//! etcd's JSON for events: field order `action, node, prevNode`; in a node
//! `key, value, dir, expiration, ttl, nodes, modifiedIndex, createdIndex`,
//! empty fields left out as Go's `omitempty` does. `expiration` is
//! RFC 3339 with nanoseconds (trailing zeros dropped), `ttl` the remaining
//! seconds rounded up at the time of rendering.

use serde::Serialize;

use crate::event::{Event, NodeExtern};

/// Go's `time.RFC3339Nano` in UTC (the v2 API's `expiration`).
pub use etcd_gotext::rfc3339_nano;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_rounds_up() {
        assert_eq!(ttl_secs(10_000_000_000, 0), 10);
        assert_eq!(ttl_secs(10_000_000_001, 0), 11);
        assert_eq!(ttl_secs(1, 0), 1);
        assert_eq!(ttl_secs(0, 5), 0);
    }
}
