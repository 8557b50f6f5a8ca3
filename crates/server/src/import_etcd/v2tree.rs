//! etcd 3.4's saved v2 store (the JSON in its Raft snapshots) → our Raft
//! snapshot payload: the membership JSON and our v2 store's saved state.
//!
//! etcd's JSON (`v2store.store` marshalled): `{"Root": node, "CurrentIndex": n,
//! "WatcherHub": …, "Stats": …}`, a node being `{"Path", "CreatedIndex",
//! "ModifiedIndex", "ExpireTime" (RFC 3339; year 1 = permanent), "Value",
//! "Children" (null for a key)}`. Ours (`etcd_v2store::Store::save`):
//! `{"root": node, "index": n, "history": …}` with `{"path", "created_index",
//! "modified_index", "expire_ns" (Unix ns or null), "value", "children"}`.
//! The event history is carried over by `v2history.rs`.
//!
//! The membership is etcd's `/0/members/<hex id>/{raftAttributes,attributes}`
//! and `/0/removed_members/<hex id>`, as our `MembershipStore` saves it:
//! `{"members": {id: member}, "removed": [id]}`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::membership::Member;

/// Our `(membership JSON, v2 store state)` for etcd's saved store.
pub(crate) fn convert(etcd_json: &[u8]) -> Result<(Vec<u8>, Value), String> {
    let v: Value = serde_json::from_slice(etcd_json)
        .map_err(|e| format!("bad v2 store JSON in the snapshot: {e}"))?;
    let root = v.get("Root").ok_or("v2 store JSON without Root")?;
    let index = v.get("CurrentIndex").and_then(Value::as_u64).unwrap_or(0);
    let ours = json!({
        "root": node(root, 0)?,
        "index": index,
        "history": super::v2history::convert(&v),
    });
    Ok((membership(root)?, ours))
}

/// Deepest directory nesting accepted (the JSON parser's own limit is 128).
const DEPTH_MAX: usize = 128;

fn node(n: &Value, depth: usize) -> Result<Value, String> {
    if depth > DEPTH_MAX {
        return Err("v2 store tree nested too deep".into());
    }
    let path = n
        .get("Path")
        .and_then(Value::as_str)
        .ok_or("v2 node without Path")?;
    let children = match n.get("Children") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::Object(c)) => {
            let mut out = Map::new();
            for (name, child) in c {
                out.insert(name.clone(), node(child, depth + 1)?);
            }
            Value::Object(out)
        }
        Some(_) => return Err(format!("v2 node {path}: Children is not an object")),
    };
    let expire = match n.get("ExpireTime").and_then(Value::as_str) {
        Some(t) => unix_ns(t).ok_or_else(|| format!("v2 node {path}: bad ExpireTime {t:?}"))?,
        None => None,
    };
    Ok(json!({
        "path": path,
        "created_index": n.get("CreatedIndex").and_then(Value::as_u64).unwrap_or(0),
        "modified_index": n.get("ModifiedIndex").and_then(Value::as_u64).unwrap_or(0),
        "expire_ns": expire,
        "value": n.get("Value").and_then(Value::as_str).unwrap_or(""),
        "children": children,
    }))
}

/// Go's RFC 3339 time → Unix ns; `Some(None)` for the zero time (year 1),
/// `None` when unparsable.
pub(super) fn unix_ns(t: &str) -> Option<Option<i64>> {
    let (date, rest) = t.split_once('T')?;
    let mut d = date.splitn(3, '-');
    let (y, mo, da): (i64, u32, u32) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    if y <= 1 {
        return Some(None);
    }
    let tz_at = rest.find(['Z', '+', '-'])?;
    let (clock, tz) = rest.split_at(tz_at);
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut c = hms.splitn(3, ':');
    let (h, mi, s): (i64, i64, i64) = (
        c.next()?.parse().ok()?,
        c.next()?.parse().ok()?,
        c.next()?.parse().ok()?,
    );
    let mut nanos: i64 = 0;
    for (i, ch) in frac.chars().take(9).enumerate() {
        nanos += i64::from(ch.to_digit(10)?) * 10i64.pow(8 - i as u32);
    }
    let offset_s = match tz {
        "Z" => 0,
        _ => {
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            let (oh, om) = tz[1..].split_once(':')?;
            sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60)
        }
    };
    let secs = etcd_gotext::days_from_civil(y, mo, da) * 86_400 + h * 3600 + mi * 60 + s - offset_s;
    Some(Some(secs.checked_mul(1_000_000_000)?.checked_add(nanos)?))
}

/// `/0/members/<id>/raftAttributes`.
#[derive(serde::Deserialize)]
struct RaftAttributes {
    #[serde(rename = "peerURLs", default)]
    peer_urls: Vec<String>,
    #[serde(rename = "isLearner", default)]
    is_learner: bool,
}

fn child<'a>(n: &'a Value, name: &str) -> Option<&'a Value> {
    n.get("Children")?.get(name)
}

fn membership(root: &Value) -> Result<Vec<u8>, String> {
    let cluster = child(root, "0");
    let mut members = BTreeMap::new();
    if let Some(Value::Object(ms)) = cluster
        .and_then(|c| child(c, "members"))
        .and_then(|m| m.get("Children"))
    {
        for (hex, m) in ms {
            let id = u64::from_str_radix(hex, 16)
                .map_err(|_| format!("bad member id {hex:?} in the v2 store"))?;
            let value = |name: &str| {
                child(m, name)
                    .and_then(|v| v.get("Value"))
                    .and_then(Value::as_str)
            };
            let raft = value("raftAttributes")
                .ok_or_else(|| format!("member {hex} has no raftAttributes"))?;
            let r: RaftAttributes =
                serde_json::from_str(raft).map_err(|e| format!("member {hex}: {e}"))?;
            let mut member = Member {
                id,
                peer_urls: r.peer_urls,
                is_learner: r.is_learner,
                name: String::new(),
                client_urls: vec![],
            };
            if let Some(attrs) = value("attributes") {
                let a: super::Attributes = serde_json::from_str(attrs)
                    .map_err(|e| format!("member {hex} attributes: {e}"))?;
                member.name = a.name;
                member.client_urls = a.client_urls;
            }
            members.insert(id, member);
        }
    }
    let mut removed = BTreeSet::new();
    if let Some(Value::Object(rs)) = cluster
        .and_then(|c| child(c, "removed_members"))
        .and_then(|m| m.get("Children"))
    {
        for hex in rs.keys() {
            removed.insert(
                u64::from_str_radix(hex, 16)
                    .map_err(|_| format!("bad removed member id {hex:?}"))?,
            );
        }
    }
    Ok(serde_json::to_vec(&json!({ "members": members, "removed": removed })).expect("serialises"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETCD: &str = r#"{"Root":{"Path":"/","CreatedIndex":0,"ModifiedIndex":0,"ExpireTime":"0001-01-01T00:00:00Z","Value":"","Children":{
      "0":{"Path":"/0","CreatedIndex":0,"ModifiedIndex":0,"ExpireTime":"0001-01-01T00:00:00Z","Value":"","Children":{
        "members":{"Path":"/0/members","CreatedIndex":1,"ModifiedIndex":1,"ExpireTime":"0001-01-01T00:00:00Z","Value":"","Children":{
          "bdae9bbc11dd390d":{"Path":"/0/members/bdae9bbc11dd390d","CreatedIndex":1,"ModifiedIndex":1,"ExpireTime":"0001-01-01T00:00:00Z","Value":"","Children":{
            "attributes":{"Path":"/0/members/bdae9bbc11dd390d/attributes","CreatedIndex":2,"ModifiedIndex":2,"ExpireTime":"0001-01-01T00:00:00Z","Value":"{\"name\":\"g\",\"clientURLs\":[\"http://127.0.0.1:23791\"]}","Children":null},
            "raftAttributes":{"Path":"/0/members/bdae9bbc11dd390d/raftAttributes","CreatedIndex":1,"ModifiedIndex":1,"ExpireTime":"0001-01-01T00:00:00Z","Value":"{\"peerURLs\":[\"http://127.0.0.1:23801\"]}","Children":null}}}}},
        "removed_members":{"Path":"/0/removed_members","CreatedIndex":5,"ModifiedIndex":5,"ExpireTime":"0001-01-01T00:00:00Z","Value":"","Children":{
          "2a":{"Path":"/0/removed_members/2a","CreatedIndex":5,"ModifiedIndex":5,"ExpireTime":"0001-01-01T00:00:00Z","Value":"removed","Children":null}}},
        "version":{"Path":"/0/version","CreatedIndex":3,"ModifiedIndex":3,"ExpireTime":"0001-01-01T00:00:00Z","Value":"3.4.0","Children":null}}},
      "1":{"Path":"/1","CreatedIndex":0,"ModifiedIndex":0,"ExpireTime":"0001-01-01T00:00:00Z","Value":"","Children":{
        "v2k":{"Path":"/1/v2k","CreatedIndex":4,"ModifiedIndex":4,"ExpireTime":"0001-01-01T00:00:00Z","Value":"hello","Children":null},
        "ttl":{"Path":"/1/ttl","CreatedIndex":6,"ModifiedIndex":6,"ExpireTime":"2100-01-02T03:04:05.5+01:00","Value":"x","Children":null}}}}},
      "WatcherHub":{"EventHistory":{}},"CurrentIndex":6,"Stats":{},"CurrentVersion":2}"#;

    #[test]
    fn etcd_store_becomes_ours_and_membership() {
        let (members, v2) = convert(ETCD.as_bytes()).unwrap();
        let mut store = etcd_v2store::Store::new();
        store.recover(&v2).unwrap();
        assert_eq!(store.index(), 6);
        let e = store.get("/1/v2k", false, false).unwrap();
        assert_eq!(
            (e.node.value.as_deref(), e.node.created_index),
            (Some("hello"), 4)
        );
        let ttl = store.get("/1/ttl", false, false).unwrap();
        // 2100-01-02T02:04:05.5Z
        assert_eq!(ttl.node.expiration_ns, Some(4_102_538_645_500_000_000));
        let m: Value = serde_json::from_slice(&members).unwrap();
        let got = &m["members"][&0xbdae9bbc11dd390du64.to_string()];
        assert_eq!(got["name"], "g");
        assert_eq!(got["peerURLs"][0], "http://127.0.0.1:23801");
        assert_eq!(got["clientURLs"][0], "http://127.0.0.1:23791");
        assert_eq!(m["removed"], json!([42]));
    }

    #[test]
    fn times_parse_like_go() {
        assert_eq!(unix_ns("0001-01-01T00:00:00Z"), Some(None));
        assert_eq!(unix_ns("1970-01-01T00:00:01Z"), Some(Some(1_000_000_000)));
        assert_eq!(
            unix_ns("1970-01-01T01:00:01.000000002+01:00"),
            Some(Some(1_000_000_002))
        );
        assert_eq!(unix_ns("garbage"), None);
    }
}
