//! v2 keys responses as etcd's Go client decodes them and etcdctl prints
//! them (`-o simple|extended|json`). JSON output is the client's structs
//! re-encoded by Go's `encoding/json`: fixed field order, `nodes` null
//! when absent, `dir`/`expiration`/`ttl` left out when empty, HTML
//! characters escaped.

use serde_json::Value;

use super::client::{Error, EtcdError};
use super::http::Response;
use crate::gofmt::json_string;
use crate::json::Obj;

/// One node of the v2 tree.
#[derive(Clone, Debug, Default)]
pub struct Node {
    pub key: String,
    pub dir: bool,
    pub value: String,
    pub nodes: Option<Vec<Node>>,
    pub created_index: u64,
    pub modified_index: u64,
    pub expiration: Option<String>,
    pub ttl: i64,
}

/// A keys API response with the `X-Etcd-Index` header.
#[derive(Clone, Debug, Default)]
pub struct KeysResponse {
    pub action: String,
    pub node: Node,
    pub prev_node: Option<Node>,
    pub index: u64,
}

const INVALID_JSON: &str =
    "client: response is invalid json. The endpoint is probably not valid etcd cluster endpoint";

fn node(v: &Value) -> Node {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let u = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    Node {
        key: s("key"),
        dir: v.get("dir").and_then(Value::as_bool).unwrap_or(false),
        value: s("value"),
        nodes: v
            .get("nodes")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(node).collect()),
        created_index: u("createdIndex"),
        modified_index: u("modifiedIndex"),
        expiration: v
            .get("expiration")
            .and_then(Value::as_str)
            .map(str::to_string),
        ttl: v.get("ttl").and_then(Value::as_i64).unwrap_or(0),
    }
}

/// Decodes a keys API reply (`unmarshalHTTPResponse`).
pub fn decode(r: &Response) -> Result<KeysResponse, Error> {
    if r.status == 200 || r.status == 201 {
        if r.body.is_empty() {
            return Err(Error::Other("client: response body is empty".into()));
        }
        let v: Value =
            serde_json::from_slice(&r.body).map_err(|_| Error::Other(INVALID_JSON.into()))?;
        let index = match r.header("X-Etcd-Index") {
            Some(h) if !h.is_empty() => h.parse().map_err(|_| {
                Error::Other(format!("strconv.ParseUint: parsing {h:?}: invalid syntax"))
            })?,
            _ => 0,
        };
        return Ok(KeysResponse {
            action: v
                .get("action")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            node: v.get("node").map(node).unwrap_or_default(),
            prev_node: v.get("prevNode").filter(|p| !p.is_null()).map(node),
            index,
        });
    }
    let v: Value =
        serde_json::from_slice(&r.body).map_err(|_| Error::Other(INVALID_JSON.into()))?;
    Err(Error::Etcd(EtcdError {
        code: v.get("errorCode").and_then(Value::as_i64).unwrap_or(0),
        message: v
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        cause: v
            .get("cause")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        index: v.get("index").and_then(Value::as_u64).unwrap_or(0),
    }))
}

fn node_json(n: &Node) -> String {
    let nodes = match &n.nodes {
        None => "null".to_string(),
        Some(v) => format!(
            "[{}]",
            v.iter().map(node_json).collect::<Vec<_>>().join(",")
        ),
    };
    Obj::new()
        .raw("key", &json_string(n.key.as_bytes()))
        .flag("dir", n.dir)
        .raw("value", &json_string(n.value.as_bytes()))
        .raw("nodes", &nodes)
        .raw("createdIndex", &n.created_index.to_string())
        .raw("modifiedIndex", &n.modified_index.to_string())
        .opt(
            "expiration",
            n.expiration.as_ref().map(|e| json_string(e.as_bytes())),
        )
        .num("ttl", n.ttl)
        .done()
}

/// The response as etcdctl's `-o json` prints it.
pub fn json(r: &KeysResponse) -> String {
    Obj::new()
        .raw("action", &json_string(r.action.as_bytes()))
        .raw("node", &node_json(&r.node))
        .raw(
            "prevNode",
            &r.prev_node.as_ref().map_or("null".into(), node_json),
        )
        .done()
}

/// etcdctl's `printResponseKey`: the text for `format` (stdout, stderr).
pub fn response_key(r: &KeysResponse, format: &str) -> (String, String) {
    let mut s = String::new();
    match format {
        "simple" => {
            if r.action != "delete" {
                s = format!("{}\n", r.node.value);
            } else {
                let prev = r.prev_node.as_ref().map_or("", |p| p.value.as_str());
                s = format!("PrevNode.Value: {prev}\n");
            }
        }
        "extended" => {
            s.push_str(&format!(
                "Key: {}\nCreated-Index: {}\nModified-Index: {}\n",
                r.node.key, r.node.created_index, r.node.modified_index
            ));
            if let Some(p) = &r.prev_node {
                s.push_str(&format!("PrevNode.Value: {}\n", p.value));
            }
            s.push_str(&format!("TTL: {}\nIndex: {}\n", r.node.ttl, r.index));
            if r.action != "delete" {
                s.push_str(&format!("\n{}\n", r.node.value));
            }
        }
        "json" => s = format!("{}\n", json(r)),
        other => {
            return (
                String::new(),
                format!("Unsupported output format: {other}\n"),
            )
        }
    }
    (s, String::new())
}

/// Prints [`response_key`]'s text.
pub fn print_response_key(r: &KeysResponse, format: &str) {
    let (out, err) = response_key(r, format);
    print!("{out}");
    eprint!("{err}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_matches_go_client_reencoding() {
        let r = KeysResponse {
            action: "set".into(),
            node: Node {
                key: "/a".into(),
                value: "x<y>".into(),
                created_index: 6,
                modified_index: 6,
                ..Default::default()
            },
            prev_node: None,
            index: 6,
        };
        assert_eq!(
            json(&r),
            r#"{"action":"set","node":{"key":"/a","value":"x\u003cy\u003e","nodes":null,"createdIndex":6,"modifiedIndex":6},"prevNode":null}"#
        );
    }
}
