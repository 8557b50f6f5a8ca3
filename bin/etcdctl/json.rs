//! Go `encoding/json` renderings of the messages etcdctl prints with
//! `-w json`: field names from the gogoproto `json` tags, `omitempty`
//! everywhere the tags say so, int64/uint64 as exact numbers, bytes as
//! standard base64. Some clientv3 wrapper types embed the header, which
//! flattens its fields into the outer object; those are rendered here too.

use base64::Engine;
use etcd_proto::etcdserverpb::*;
use etcd_proto::mvccpb::{Event, KeyValue};

use crate::gofmt::json_string;

/// A JSON object under construction, fields in insertion order.
#[derive(Default)]
pub struct Obj {
    body: String,
}

impl Obj {
    /// An empty object.
    pub fn new() -> Self {
        Obj::default()
    }

    /// Adds a field with an already encoded value.
    pub fn raw(mut self, k: &str, v: &str) -> Self {
        if !self.body.is_empty() {
            self.body.push(',');
        }
        self.body.push_str(&json_string(k.as_bytes()));
        self.body.push(':');
        self.body.push_str(v);
        self
    }

    /// A number field, left out when zero (`omitempty`).
    pub fn num<T: PartialEq + Default + ToString>(self, k: &str, v: T) -> Self {
        if v == T::default() {
            self
        } else {
            self.raw(k, &v.to_string())
        }
    }

    /// A boolean field, left out when false.
    pub fn flag(self, k: &str, v: bool) -> Self {
        if v {
            self.raw(k, "true")
        } else {
            self
        }
    }

    /// A bytes field (base64), left out when empty.
    pub fn bytes(self, k: &str, v: &[u8]) -> Self {
        if v.is_empty() {
            self
        } else {
            self.raw(k, &b64(v))
        }
    }

    /// A string field, left out when empty.
    pub fn string(self, k: &str, v: &str) -> Self {
        if v.is_empty() {
            self
        } else {
            self.raw(k, &json_string(v.as_bytes()))
        }
    }

    /// A string-list field, left out when empty.
    pub fn strings(self, k: &str, v: &[String]) -> Self {
        if v.is_empty() {
            self
        } else {
            self.raw(k, &list(v.iter().map(|s| json_string(s.as_bytes()))))
        }
    }

    /// An optional object field, left out when None.
    pub fn opt(self, k: &str, v: Option<String>) -> Self {
        match v {
            Some(v) => self.raw(k, &v),
            None => self,
        }
    }

    /// A list field of encoded values, left out when empty.
    pub fn list(self, k: &str, v: Vec<String>) -> Self {
        if v.is_empty() {
            self
        } else {
            self.raw(k, &list(v.into_iter()))
        }
    }

    /// The encoded object.
    pub fn done(self) -> String {
        format!("{{{}}}", self.body)
    }
}

/// `[a,b,c]` of encoded values.
pub fn list(v: impl Iterator<Item = String>) -> String {
    format!("[{}]", v.collect::<Vec<_>>().join(","))
}

/// Standard base64 with padding (Go's []byte encoding).
pub fn b64(v: &[u8]) -> String {
    format!(
        "\"{}\"",
        base64::engine::general_purpose::STANDARD.encode(v)
    )
}

/// Header fields (for embedding or as an object body).
fn header_fields(o: Obj, h: &ResponseHeader) -> Obj {
    o.num("cluster_id", h.cluster_id)
        .num("member_id", h.member_id)
        .num("revision", h.revision)
        .num("raft_term", h.raft_term)
}

/// `ResponseHeader`.
pub fn header(h: &ResponseHeader) -> String {
    header_fields(Obj::new(), h).done()
}

/// A message's `header` field.
pub fn hdr(o: Obj, h: &Option<ResponseHeader>) -> Obj {
    o.opt("header", h.as_ref().map(header))
}

/// Header fields flattened into the outer object (clientv3 embeds
/// `*pb.ResponseHeader` in its lease response types).
pub fn flat_hdr(o: Obj, h: &Option<ResponseHeader>) -> Obj {
    match h {
        Some(h) => header_fields(o, h),
        None => o,
    }
}

/// `mvccpb.KeyValue`.
pub fn kv(kv: &KeyValue) -> String {
    Obj::new()
        .bytes("key", &kv.key)
        .num("create_revision", kv.create_revision)
        .num("mod_revision", kv.mod_revision)
        .num("version", kv.version)
        .bytes("value", &kv.value)
        .num("lease", kv.lease)
        .done()
}

fn kvs(v: &[KeyValue]) -> Vec<String> {
    v.iter().map(kv).collect()
}

/// `RangeResponse`.
pub fn range(r: &RangeResponse) -> String {
    hdr(Obj::new(), &r.header)
        .list("kvs", kvs(&r.kvs))
        .flag("more", r.more)
        .num("count", r.count)
        .done()
}

/// `PutResponse`.
pub fn put(r: &PutResponse) -> String {
    hdr(Obj::new(), &r.header)
        .opt("prev_kv", r.prev_kv.as_ref().map(kv))
        .done()
}

/// `DeleteRangeResponse`.
pub fn del(r: &DeleteRangeResponse) -> String {
    hdr(Obj::new(), &r.header)
        .num("deleted", r.deleted)
        .list("prev_kvs", kvs(&r.prev_kvs))
        .done()
}

/// `TxnResponse` (a oneof renders with Go field names:
/// `{"Response":{"ResponsePut":{...}}}`).
pub fn txn(r: &TxnResponse) -> String {
    use response_op::Response;
    let ops = r
        .responses
        .iter()
        .map(|op| {
            let inner = match &op.response {
                Some(Response::ResponseRange(x)) => {
                    Some(Obj::new().raw("ResponseRange", &range(x)).done())
                }
                Some(Response::ResponsePut(x)) => {
                    Some(Obj::new().raw("ResponsePut", &put(x)).done())
                }
                Some(Response::ResponseDeleteRange(x)) => {
                    Some(Obj::new().raw("ResponseDeleteRange", &del(x)).done())
                }
                Some(Response::ResponseTxn(x)) => {
                    Some(Obj::new().raw("ResponseTxn", &txn(x)).done())
                }
                None => None,
            };
            Obj::new()
                .raw("Response", &inner.unwrap_or_else(|| "null".into()))
                .done()
        })
        .collect();
    hdr(Obj::new(), &r.header)
        .flag("succeeded", r.succeeded)
        .list("responses", ops)
        .done()
}

/// `mvccpb.Event`.
pub fn event(e: &Event) -> String {
    Obj::new()
        .num("type", e.r#type)
        .opt("kv", e.kv.as_ref().map(kv))
        .opt("prev_kv", e.prev_kv.as_ref().map(kv))
        .done()
}

/// clientv3's `WatchResponse` (exported fields without tags, no omitempty).
pub fn watch(r: &WatchResponse) -> String {
    let h = r.header.unwrap_or_default();
    // The watch responses etcd's client delivers carry an allocated slice.
    let events = list(r.events.iter().map(event));
    Obj::new()
        .raw("Header", &header(&h))
        .raw("Events", &events)
        .raw("CompactRevision", &r.compact_revision.to_string())
        .raw("Canceled", &r.canceled.to_string())
        .raw("Created", &r.created.to_string())
        .done()
}

/// clientv3's `LeaseGrantResponse`.
pub fn grant(r: &LeaseGrantResponse) -> String {
    flat_hdr(Obj::new(), &r.header)
        .raw("ID", &r.id.to_string())
        .raw("TTL", &r.ttl.to_string())
        .raw("Error", &json_string(r.error.as_bytes()))
        .done()
}

/// clientv3's `LeaseKeepAliveResponse`.
pub fn keep_alive(r: &LeaseKeepAliveResponse) -> String {
    flat_hdr(Obj::new(), &r.header)
        .raw("ID", &r.id.to_string())
        .raw("TTL", &r.ttl.to_string())
        .done()
}

/// clientv3's `LeaseTimeToLiveResponse`.
pub fn time_to_live(r: &LeaseTimeToLiveResponse) -> String {
    let keys = if r.keys.is_empty() {
        "null".to_string()
    } else {
        list(r.keys.iter().map(|k| b64(k)))
    };
    flat_hdr(Obj::new(), &r.header)
        .raw("id", &r.id.to_string())
        .raw("ttl", &r.ttl.to_string())
        .raw("granted-ttl", &r.granted_ttl.to_string())
        .raw("keys", &keys)
        .done()
}

/// clientv3's `LeaseLeasesResponse`.
pub fn leases(r: &LeaseLeasesResponse) -> String {
    // clientv3 always allocates the slice: `[]`, never `null`.
    let ls = list(
        r.leases
            .iter()
            .map(|l| Obj::new().raw("id", &l.id.to_string()).done()),
    );
    flat_hdr(Obj::new(), &r.header).raw("leases", &ls).done()
}

/// `Member`.
pub fn member(m: &Member) -> String {
    Obj::new()
        .num("ID", m.id)
        .string("name", &m.name)
        .strings("peerURLs", &m.peer_ur_ls)
        .strings("clientURLs", &m.client_ur_ls)
        .flag("isLearner", m.is_learner)
        .done()
}

/// A header plus member list (list, remove, update, promote responses).
pub fn members(h: &Option<ResponseHeader>, ms: &[Member]) -> String {
    hdr(Obj::new(), h)
        .list("members", ms.iter().map(member).collect())
        .done()
}

/// `MemberAddResponse`.
pub fn member_add(r: &MemberAddResponse) -> String {
    hdr(Obj::new(), &r.header)
        .opt("member", r.member.as_ref().map(member))
        .list("members", r.members.iter().map(member).collect())
        .done()
}

/// `StatusResponse`.
pub fn status(r: &StatusResponse) -> String {
    hdr(Obj::new(), &r.header)
        .string("version", &r.version)
        .num("dbSize", r.db_size)
        .num("leader", r.leader)
        .num("raftIndex", r.raft_index)
        .num("raftTerm", r.raft_term)
        .num("raftAppliedIndex", r.raft_applied_index)
        .strings("errors", &r.errors)
        .num("dbSizeInUse", r.db_size_in_use)
        .flag("isLearner", r.is_learner)
        .done()
}

/// `HashKVResponse`.
pub fn hash_kv(r: &HashKvResponse) -> String {
    hdr(Obj::new(), &r.header)
        .num("hash", r.hash)
        .num("compact_revision", r.compact_revision)
        .done()
}

/// `AlarmResponse`.
pub fn alarm(r: &AlarmResponse) -> String {
    let alarms = r
        .alarms
        .iter()
        .map(|a| {
            Obj::new()
                .num("memberID", a.member_id)
                .num("alarm", a.alarm)
                .done()
        })
        .collect();
    hdr(Obj::new(), &r.header).list("alarms", alarms).done()
}

/// A response that only carries a header.
pub fn header_only(h: &Option<ResponseHeader>) -> String {
    hdr(Obj::new(), h).done()
}

/// `authpb.Permission`.
pub fn permission(p: &etcd_proto::authpb::Permission) -> String {
    Obj::new()
        .num("permType", p.perm_type)
        .bytes("key", &p.key)
        .bytes("range_end", &p.range_end)
        .done()
}
