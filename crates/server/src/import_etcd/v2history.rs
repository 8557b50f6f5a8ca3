//! etcd 3.4's saved v2 event history → ours, so `waitIndex` watches into
//! the past answer after an import as they do after an etcd restart (etcd
//! saves the history in its Raft snapshots and replays the entries after
//! them, so a restart loses none of the last 1000 events).
//!
//! etcd's JSON (`WatcherHub.EventHistory`): `{"Queue": {"Events": ring of
//! capacity "Capacity", "Front", "Size"}, "StartIndex", "LastIndex"}`; the
//! events in order are `Events[(Front + i) % Capacity]` for `i < Size`,
//! each in the wire form clients see (`action`, `node`, `prevNode`,
//! `refresh`; times RFC 3339, `ttl` ignored: it is recomputed on render).
//! Contract: a history that does not parse is dropped (an empty history,
//! whose watches into the past answer "event index cleared"), never an
//! import failure: the events only serve those watches.

use serde_json::Value;

use etcd_v2store::history::EventHistory;
use etcd_v2store::{Action, Event, NodeExtern};

/// Deepest node nesting accepted in an event (listings are not events).
const DEPTH_MAX: usize = 128;

/// Our saved history for etcd's saved store `etcd` (its top-level JSON).
pub(super) fn convert(etcd: &Value) -> Value {
    let mut history = EventHistory::default();
    if let Some(h) = etcd.get("WatcherHub").and_then(|w| w.get("EventHistory")) {
        match events(h) {
            Ok(evs) => evs.into_iter().for_each(|e| history.add(e)),
            Err(e) => tracing::warn!(target: "etcdserver", "dropping etcd's v2 event history: {e}"),
        }
    }
    serde_json::to_value(&history).expect("history serialises")
}

fn events(h: &Value) -> Result<Vec<Event>, String> {
    let q = h.get("Queue").ok_or("no Queue")?;
    let ring = q
        .get("Events")
        .and_then(Value::as_array)
        .ok_or("no Events")?;
    let num = |k: &str| q.get(k).and_then(Value::as_u64).ok_or(format!("no {k}"));
    let (front, size, capacity) = (
        num("Front")? as usize,
        num("Size")? as usize,
        num("Capacity")? as usize,
    );
    if capacity == 0 || capacity > ring.len() || size > capacity {
        return Err(format!(
            "bad ring: size {size}, capacity {capacity}, {} slots",
            ring.len()
        ));
    }
    let mut out = Vec::with_capacity(size);
    let mut last = 0;
    for i in 0..size {
        let e = event(&ring[(front + i) % capacity])?;
        if e.index() < last {
            return Err(format!("event {} after {last}", e.index()));
        }
        last = e.index();
        out.push(e);
    }
    Ok(out)
}

fn event(v: &Value) -> Result<Event, String> {
    let action = match v.get("action").and_then(Value::as_str).unwrap_or("") {
        "get" => Action::Get,
        "create" => Action::Create,
        "set" => Action::Set,
        "update" => Action::Update,
        "delete" => Action::Delete,
        "compareAndSwap" => Action::CompareAndSwap,
        "compareAndDelete" => Action::CompareAndDelete,
        "expire" => Action::Expire,
        other => return Err(format!("unknown action {other:?}")),
    };
    let node = extern_node(v.get("node").ok_or("event without node")?, 0)?;
    let prev_node = match v.get("prevNode") {
        None | Some(Value::Null) => None,
        Some(p) => Some(extern_node(p, 0)?),
    };
    Ok(Event {
        action,
        // etcd does not save it; it is what the event reported when new.
        etcd_index: node.modified_index,
        node,
        prev_node,
        refresh: v.get("refresh").and_then(Value::as_bool).unwrap_or(false),
    })
}

fn extern_node(v: &Value, depth: usize) -> Result<NodeExtern, String> {
    if depth > DEPTH_MAX {
        return Err("event node nested too deep".into());
    }
    let key = v
        .get("key")
        .and_then(Value::as_str)
        .ok_or("node without key")?;
    let expiration_ns = match v.get("expiration").and_then(Value::as_str) {
        Some(t) => {
            super::v2tree::unix_ns(t).ok_or_else(|| format!("node {key}: bad expiration {t:?}"))?
        }
        None => None,
    };
    let nodes = match v.get("nodes").and_then(Value::as_array) {
        Some(ns) => ns
            .iter()
            .map(|n| extern_node(n, depth + 1))
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    Ok(NodeExtern {
        key: key.to_string(),
        value: v.get("value").and_then(Value::as_str).map(str::to_string),
        dir: v.get("dir").and_then(Value::as_bool).unwrap_or(false),
        expiration_ns,
        nodes,
        modified_index: v.get("modifiedIndex").and_then(Value::as_u64).unwrap_or(0),
        created_index: v.get("createdIndex").and_then(Value::as_u64).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(events: &[&str], front: usize, size: usize, capacity: usize) -> Value {
        let mut ring = vec![Value::Null; capacity];
        for (i, e) in events.iter().enumerate() {
            ring[(front + i) % capacity] = serde_json::from_str(e).expect("event json");
        }
        serde_json::json!({"WatcherHub": {"EventHistory": {
            "Queue": {"Events": ring, "Size": size, "Front": front, "Back": (front + size) % capacity, "Capacity": capacity},
            "StartIndex": 0, "LastIndex": 0}}})
    }

    #[test]
    fn ring_order_and_fields_carry_over() {
        let etcd = saved(
            &[
                r#"{"action":"set","node":{"key":"/1/a","value":"1","modifiedIndex":4,"createdIndex":4}}"#,
                r#"{"action":"delete","node":{"key":"/1/d","dir":true,"modifiedIndex":5,"createdIndex":3},"prevNode":{"key":"/1/d","dir":true,"modifiedIndex":3,"createdIndex":3}}"#,
                r#"{"action":"set","node":{"key":"/1/t","value":"x","expiration":"2100-01-02T03:04:05Z","ttl":9,"modifiedIndex":6,"createdIndex":6},"refresh":true}"#,
            ],
            2,
            3,
            4,
        );
        let ours: EventHistory = serde_json::from_value(convert(&etcd)).expect("ours");
        let got = ours.scan("/1", true, 4).expect("scan").expect("event");
        assert_eq!(
            (got.action, got.node.value.as_deref()),
            (Action::Set, Some("1"))
        );
        let del = ours.scan("/1/d", false, 5).expect("scan").expect("event");
        assert!(del.prev_node.expect("prev").dir);
        // The refresh is kept but never handed to a watcher.
        assert!(ours.scan("/1/t", false, 6).expect("scan").is_none());
        assert!(
            ours.scan("/1", true, 3).is_err(),
            "before the first event is cleared"
        );
    }

    #[test]
    fn a_bad_history_is_dropped_not_fatal() {
        let etcd = saved(
            &[r#"{"action":"bogus","node":{"key":"/1/a","modifiedIndex":4}}"#],
            0,
            1,
            2,
        );
        let ours: EventHistory = serde_json::from_value(convert(&etcd)).expect("ours");
        assert!(ours.scan("/1", true, 4).expect("scan").is_none());
        let none: EventHistory =
            serde_json::from_value(convert(&serde_json::json!({}))).expect("empty");
        assert!(none.scan("/1", true, 1).expect("scan").is_none());
    }
}
