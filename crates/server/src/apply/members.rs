//! Applying membership changes: Raft conf changes (whose context carries the
//! member as JSON, as etcd's `ConfigChangeContext` does) and member
//! attribute updates.
//!
//! Every member validates each change against the membership as of that
//! log position (deterministic), then tells raft-rs to apply it; an invalid
//! change is answered with etcd's error and never reaches raft-rs. These
//! entries are re-applied on every restart from the Raft snapshot's
//! membership onwards, so raft-rs's configuration is rebuilt in order.

use etcd_proto::etcdserverpb::{MemberAttrUpdate, MemberRaftAttrUpdate};
use etcd_proto::EtcdError;
use etcd_raft_node::raft::eraftpb::{ConfChange, ConfChangeType, Entry};
use etcd_raft_node::Input;
use protobuf::Message as _;

use super::{fatal, ApplyResponse, ApplyResult, Applier};
use crate::membership::ConfChangeContext;

/// How many learners a cluster may have (etcd's `maxLearners`).
pub const MAX_LEARNERS: usize = 1;

pub(super) fn apply_conf_change(a: &mut Applier, e: &Entry) -> (u64, ApplyResult) {
    let cc = match ConfChange::parse_from_bytes(&e.data) {
        Ok(cc) => cc,
        Err(err) => fatal(&format!("cannot decode conf change at {}: {err}", e.index)),
    };
    let result = validate(a, &cc).map(|ctx| {
        change(a, &cc, ctx);
        let _ = a.node.send(Input::ApplyConfChange(cc.clone()));
        ApplyResponse::Members(a.members.list())
    });
    (cc.id, result)
}

fn context(cc: &ConfChange) -> Option<ConfChangeContext> {
    ConfChangeContext::parse(&cc.context)
}

fn validate(a: &Applier, cc: &ConfChange) -> Result<Option<ConfChangeContext>, EtcdError> {
    let id = cc.node_id;
    if a.members.is_removed(id) {
        return Err(EtcdError::MemberNotFound);
    }
    let existing = a.members.get(id);
    match cc.get_change_type() {
        ConfChangeType::AddNode | ConfChangeType::AddLearnerNode => {
            let ctx = context(cc).unwrap_or_else(|| fatal(&format!("conf change for {id:x} has no member")));
            if ctx.is_promote {
                let m = existing.ok_or(EtcdError::MemberNotFound)?;
                if !m.is_learner {
                    return Err(EtcdError::MemberNotLearner);
                }
                return Ok(Some(ctx));
            }
            if existing.is_some() {
                return Err(EtcdError::MemberExist);
            }
            let taken: Vec<String> = a.members.list().into_iter().flat_map(|m| m.peer_urls).collect();
            if ctx.member.peer_urls.iter().any(|u| taken.contains(u)) {
                return Err(EtcdError::PeerUrlExist);
            }
            if cc.get_change_type() == ConfChangeType::AddLearnerNode
                && a.members.list().iter().filter(|m| m.is_learner).count() + 1 > MAX_LEARNERS
            {
                return Err(EtcdError::TooManyLearners);
            }
            Ok(Some(ctx))
        }
        ConfChangeType::RemoveNode => {
            existing.ok_or(EtcdError::MemberNotFound)?;
            Ok(None)
        }
    }
}

fn change(a: &mut Applier, cc: &ConfChange, ctx: Option<ConfChangeContext>) {
    let id = cc.node_id;
    let cid = a.members.cluster_id();
    match (cc.get_change_type(), ctx) {
        (ConfChangeType::RemoveNode, _) => {
            a.members.remove(id);
            a.transport.remove_peer(id);
            tracing::info!(target: "etcdserver/membership", "removed member {id:x} from cluster {cid:x}");
            if id == a.transport.local_id() {
                removed_self();
            }
        }
        (_, Some(ctx)) if ctx.is_promote => {
            if let Some(mut m) = a.members.get(id) {
                m.is_learner = false;
                a.members.upsert(m);
            }
            tracing::info!(target: "etcdserver/membership", "promote member {id:x} in cluster {cid:x}");
        }
        (t, Some(ctx)) => {
            let mut m = ctx.member;
            m.id = id;
            m.is_learner = t == ConfChangeType::AddLearnerNode;
            tracing::info!(target: "etcdserver/membership", "added member {:x} {:?} to cluster {cid:x}", m.id, m.peer_urls);
            a.transport.add_peer(m.id, m.peer_urls.clone());
            a.members.upsert(m);
        }
        (_, None) => {}
    }
    a.conf_state = a.members.conf_state();
}

/// A member removed from the cluster stops, as etcd's does, after giving the
/// request that removed it a moment to be answered.
pub(crate) fn removed_self() {
    tracing::warn!(target: "etcdserver", "the member has been permanently removed from the cluster");
    std::thread::spawn(|| {
        std::thread::sleep(std::time::Duration::from_millis(500));
        tracing::info!(target: "etcdserver", "the data-dir used by this member must be removed.");
        std::process::exit(0);
    });
}

pub(super) fn apply_attributes(a: &mut Applier, attr: &MemberAttrUpdate) -> ApplyResult {
    if let Some(mut m) = a.members.get(attr.member_id) {
        m.name = attr.name.clone();
        m.client_urls = attr.client_urls.clone();
        a.members.upsert(m);
    }
    Ok(ApplyResponse::Empty)
}

/// MemberUpdate: new peer URLs for a member (etcd's `ConfChangeUpdateNode`,
/// which raft-rs lacks; Raft's configuration doesn't change, so a normal
/// entry carries it).
pub(super) fn apply_raft_attributes(a: &mut Applier, upd: &MemberRaftAttrUpdate) -> ApplyResult {
    let Some(mut m) = a.members.get(upd.member_id) else {
        return Err(EtcdError::MemberNotFound);
    };
    let taken = a.members.list().into_iter().filter(|o| o.id != m.id).any(|o| {
        o.peer_urls.iter().any(|u| upd.peer_urls.contains(u))
    });
    if taken {
        return Err(EtcdError::PeerUrlExist);
    }
    let mut urls = upd.peer_urls.clone();
    urls.sort();
    m.peer_urls = urls;
    tracing::info!(target: "etcdserver/membership", "updated member {:x} {:?} in cluster {:x}", m.id, m.peer_urls, a.members.cluster_id());
    a.transport.add_peer(m.id, m.peer_urls.clone());
    a.members.upsert(m);
    Ok(ApplyResponse::Members(a.members.list()))
}
