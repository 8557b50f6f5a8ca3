//! etcd 3.4 Raft entries → the entries our applier understands.
//!
//! Raft's `Entry`, `HardState`, `ConfChange` and `Snapshot` encode the same
//! in etcd's `raftpb` and raft-rs's `eraftpb`, so most entries are kept byte
//! for byte. The differences, rewritten at the same index and term:
//!
//! | etcd 3.4 entry                                      | ours                                   |
//! |-----------------------------------------------------|----------------------------------------|
//! | normal, a bare v2 `etcdserverpb.Request`            | `InternalRaftRequest{ID, v2}`          |
//! | … `PUT /0/members/<id>/attributes` (member publish) | `InternalRaftRequest{ID, member_attr}` |
//! | conf change `ConfChangeAddLearnerNode` (3)          | raft-rs `AddLearnerNode` (2)           |
//! | conf change `ConfChangeUpdateNode` (2)              | normal `InternalRaftRequest{member_raft_attr}` |
//!
//! etcd itself tells the two normal encodings apart the same way: an entry
//! that does not decode as `InternalRaftRequest` is a bare `Request`
//! (`applyEntryNormal`). `EntryConfChangeV2` is never written by etcd 3.4
//! and is refused.

use etcd_proto::etcdserverpb::{
    InternalRaftRequest, MemberAttrUpdate, MemberRaftAttrUpdate, Request,
};
use etcd_raft_node::raft::eraftpb::{ConfChange, ConfChangeType, Entry, EntryType};
use prost::Message as _;
use protobuf::Message as _;

use crate::membership::Member;

/// etcd's `raftpb.ConfChange`, read with its own enum numbering.
#[derive(Clone, PartialEq, prost::Message)]
struct EtcdConfChange {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(int32, tag = "2")]
    change_type: i32,
    #[prost(uint64, tag = "3")]
    node_id: u64,
    #[prost(bytes = "vec", tag = "4")]
    context: Vec<u8>,
}

/// etcd's `ConfChangeType` values.
const ETCD_ADD_NODE: i32 = 0;
const ETCD_REMOVE_NODE: i32 = 1;
const ETCD_UPDATE_NODE: i32 = 2;
const ETCD_ADD_LEARNER_NODE: i32 = 3;

/// etcd's `raftpb.EntryType` values (raft-rs's differ from `EntryConfChangeV2` on).
const ETCD_ENTRY_NORMAL: i32 = 0;
const ETCD_ENTRY_CONF_CHANGE: i32 = 1;

/// What the rewrite did, for the import log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rewrites {
    /// Bare v2 requests wrapped.
    pub v2_wrapped: u64,
    /// Member publishes turned into `member_attr`.
    pub member_attrs: u64,
    /// Conf changes renumbered or turned into normal entries.
    pub conf_changes: u64,
}

/// Decodes an etcd `raftpb.Entry` and rewrites it into our form.
pub(crate) fn convert(raw: &[u8], counts: &mut Rewrites) -> Result<Entry, String> {
    let typ = entry_type(raw)?;
    let mut e = Entry::default();
    match typ {
        ETCD_ENTRY_NORMAL | ETCD_ENTRY_CONF_CHANGE => {
            // The type field is what raft-rs would misread beyond 1; here it is 0 or 1.
            e.merge_from_bytes(raw)
                .map_err(|err| format!("bad raft entry: {err}"))?;
        }
        t => {
            return Err(format!(
                "unsupported raft entry type {t} (etcd 3.4 never writes it)"
            ))
        }
    }
    if typ == ETCD_ENTRY_CONF_CHANGE {
        convert_conf_change(&mut e, counts)?;
    } else if !e.data.is_empty() && InternalRaftRequest::decode(e.data.as_ref()).is_err() {
        let req = Request::decode(e.data.as_ref()).map_err(|err| {
            format!(
                "entry {} is neither an InternalRaftRequest nor a v2 Request: {err}",
                e.index
            )
        })?;
        let internal = match member_publish(&req) {
            Some(attr) => {
                counts.member_attrs += 1;
                InternalRaftRequest {
                    id: req.id(),
                    member_attr: Some(attr),
                    ..Default::default()
                }
            }
            None => {
                counts.v2_wrapped += 1;
                InternalRaftRequest {
                    id: req.id(),
                    v2: Some(req),
                    ..Default::default()
                }
            }
        };
        e.data = internal.encode_to_vec().into();
    }
    Ok(e)
}

/// The `type` field (1) of an encoded entry, read before raft-rs's enum
/// decoding sees it.
fn entry_type(raw: &[u8]) -> Result<i32, String> {
    #[derive(Clone, PartialEq, prost::Message)]
    struct TypeOnly {
        #[prost(int32, tag = "1")]
        entry_type: i32,
    }
    TypeOnly::decode(raw)
        .map(|t| t.entry_type)
        .map_err(|e| format!("bad raft entry: {e}"))
}

fn convert_conf_change(e: &mut Entry, counts: &mut Rewrites) -> Result<(), String> {
    let cc = EtcdConfChange::decode(e.data.as_ref())
        .map_err(|err| format!("bad conf change at {}: {err}", e.index))?;
    match cc.change_type {
        ETCD_ADD_NODE | ETCD_REMOVE_NODE => Ok(()),
        ETCD_ADD_LEARNER_NODE => {
            let mut ours = ConfChange {
                id: cc.id,
                node_id: cc.node_id,
                context: cc.context.into(),
                ..Default::default()
            };
            ours.set_change_type(ConfChangeType::AddLearnerNode);
            e.data = ours.write_to_bytes().map_err(|err| err.to_string())?.into();
            counts.conf_changes += 1;
            Ok(())
        }
        ETCD_UPDATE_NODE => {
            let m: Member = serde_json::from_slice(&cc.context)
                .map_err(|err| format!("bad member in the conf change at {}: {err}", e.index))?;
            let upd = MemberRaftAttrUpdate {
                member_id: cc.node_id,
                peer_urls: m.peer_urls,
            };
            let req = InternalRaftRequest {
                id: cc.id,
                member_raft_attr: Some(upd),
                ..Default::default()
            };
            e.set_entry_type(EntryType::EntryNormal);
            e.data = req.encode_to_vec().into();
            counts.conf_changes += 1;
            Ok(())
        }
        t => Err(format!("unknown conf change type {t} at {}", e.index)),
    }
}

/// A member publishing its name and client URLs (etcd 3.4's `publish`):
/// `PUT /0/members/<hex id>/attributes` with `{"name", "clientURLs"}`.
fn member_publish(req: &Request) -> Option<MemberAttrUpdate> {
    if req.method() != "PUT" {
        return None;
    }
    let hex = req
        .path()
        .strip_prefix("/0/members/")?
        .strip_suffix("/attributes")?;
    let member_id = u64::from_str_radix(hex, 16).ok()?;
    let a: super::Attributes = serde_json::from_str(req.val()).ok()?;
    Some(MemberAttrUpdate {
        member_id,
        name: a.name,
        client_urls: a.client_urls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_entry(typ: i32, index: u64, data: Vec<u8>) -> Vec<u8> {
        let e = Entry {
            index,
            term: 3,
            data: data.into(),
            ..Default::default()
        };
        let mut raw = e.write_to_bytes().unwrap();
        // etcd's type field, written by hand (raft-rs can't name 2 and 3 alike).
        let mut head = vec![0x08, typ as u8];
        head.append(&mut raw);
        head
    }

    #[test]
    fn v2_requests_and_publishes_are_wrapped() {
        let mut n = Rewrites::default();
        let put = Request {
            id: Some(7),
            method: Some("PUT".into()),
            path: Some("/1/k".into()),
            val: Some("v".into()),
            ..Default::default()
        };
        let e = convert(&raw_entry(0, 5, put.encode_to_vec()), &mut n).unwrap();
        let r = InternalRaftRequest::decode(e.data.as_ref()).unwrap();
        assert_eq!((e.index, e.term, r.id, r.v2), (5, 3, 7, Some(put)));

        let publish = Request {
            id: Some(8),
            method: Some("PUT".into()),
            path: Some("/0/members/bdae9bbc11dd390d/attributes".into()),
            val: Some(r#"{"name":"g","clientURLs":["http://a:1"]}"#.into()),
            ..Default::default()
        };
        let e = convert(&raw_entry(0, 6, publish.encode_to_vec()), &mut n).unwrap();
        let r = InternalRaftRequest::decode(e.data.as_ref()).unwrap();
        let attr = r.member_attr.unwrap();
        assert_eq!(
            (attr.member_id, attr.name.as_str(), attr.client_urls),
            (0xbdae9bbc11dd390d, "g", vec!["http://a:1".to_string()])
        );

        let v3 = InternalRaftRequest {
            id: 9,
            put: Some(Default::default()),
            ..Default::default()
        }
        .encode_to_vec();
        let e = convert(&raw_entry(0, 7, v3.clone()), &mut n).unwrap();
        assert_eq!(e.data.as_ref(), v3.as_slice());
        assert_eq!(
            n,
            Rewrites {
                v2_wrapped: 1,
                member_attrs: 1,
                conf_changes: 0
            }
        );
    }

    #[test]
    fn conf_changes_are_renumbered() {
        let mut n = Rewrites::default();
        let cc = |t: i32| {
            EtcdConfChange {
                id: 1,
                change_type: t,
                node_id: 42,
                context: br#"{"id":42,"peerURLs":["http://p:2"]}"#.to_vec(),
            }
            .encode_to_vec()
        };
        let e = convert(&raw_entry(1, 2, cc(ETCD_ADD_LEARNER_NODE)), &mut n).unwrap();
        let ours = ConfChange::parse_from_bytes(&e.data).unwrap();
        assert_eq!(
            (ours.get_change_type(), ours.node_id),
            (ConfChangeType::AddLearnerNode, 42)
        );
        let e = convert(&raw_entry(1, 3, cc(ETCD_UPDATE_NODE)), &mut n).unwrap();
        assert_eq!(e.get_entry_type(), EntryType::EntryNormal);
        let upd = InternalRaftRequest::decode(e.data.as_ref())
            .unwrap()
            .member_raft_attr
            .unwrap();
        assert_eq!(
            (upd.member_id, upd.peer_urls),
            (42, vec!["http://p:2".to_string()])
        );
        let e = convert(&raw_entry(1, 4, cc(ETCD_ADD_NODE)), &mut n).unwrap();
        assert_eq!(
            ConfChange::parse_from_bytes(&e.data)
                .unwrap()
                .get_change_type(),
            ConfChangeType::AddNode
        );
        assert!(convert(&raw_entry(2, 5, vec![]), &mut n).is_err());
    }
}
