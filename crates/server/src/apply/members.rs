//! Applying membership changes: Raft conf changes (whose context carries the
//! member as JSON, as etcd's does) and published member attributes.

use etcd_proto::etcdserverpb::MemberAttrUpdate;
use etcd_raft_node::raft::eraftpb::{ConfChange, ConfChangeType, Entry};
use protobuf::Message as _;

use super::{fatal, Applier};
use crate::membership::Member;

pub(super) fn apply_conf_change(a: &mut Applier, e: &Entry) {
    let cc = match ConfChange::parse_from_bytes(&e.data) {
        Ok(cc) => cc,
        Err(err) => fatal(&format!("cannot decode conf change at {}: {err}", e.index)),
    };
    match cc.get_change_type() {
        ConfChangeType::AddNode | ConfChangeType::AddLearnerNode => {
            let mut m: Member = match serde_json::from_slice(&cc.context) {
                Ok(m) => m,
                Err(err) => fatal(&format!("bad member in conf change at {}: {err}", e.index)),
            };
            m.is_learner = cc.get_change_type() == ConfChangeType::AddLearnerNode;
            if let Some(existing) = a.members.get(m.id) {
                // Promotion or re-add keeps the published attributes.
                m.name = existing.name;
                m.client_urls = existing.client_urls;
            }
            tracing::info!(target: "etcdserver/membership", "added member {:x} {:?} to cluster {:x}",
                m.id, m.peer_urls, a.members.cluster_id());
            a.transport.add_peer(m.id, m.peer_urls.clone());
            a.members.upsert(m);
        }
        ConfChangeType::RemoveNode => {
            a.members.remove(cc.node_id);
            a.transport.remove_peer(cc.node_id);
            tracing::info!(target: "etcdserver/membership", "removed member {:x} from cluster {:x}",
                cc.node_id, a.members.cluster_id());
        }
    }
}

pub(super) fn apply_attributes(a: &mut Applier, attr: &MemberAttrUpdate) {
    if let Some(mut m) = a.members.get(attr.member_id) {
        m.name = attr.name.clone();
        m.client_urls = attr.client_urls.clone();
        a.members.upsert(m);
    }
}
