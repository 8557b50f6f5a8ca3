//! The applied membership: members and removed ids in memory, mirrored to
//! the backend's `members` / `members_removed` tables.
//!
//! On start the membership comes from the Raft snapshot (state at the
//! snapshot index), not from the backend: the membership entries after the
//! snapshot are then re-applied in log order, which is what rebuilds raft-rs's
//! configuration (see `apply/members.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use etcd_backend::{Backend, Table};
use etcd_raft_node::raft::eraftpb::ConfState;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use crate::membership::Member;

#[derive(Default, Serialize, Deserialize)]
struct State {
    members: BTreeMap<u64, Member>,
    removed: BTreeSet<u64>,
}

/// Members of the cluster, as applied.
pub struct MembershipStore {
    backend: Arc<Backend>,
    state: RwLock<State>,
    cluster_id: std::sync::atomic::AtomicU64,
}

impl MembershipStore {
    /// Membership as of a Raft snapshot (`snapshot_data` from
    /// [`MembershipStore::snapshot_bytes`]), or empty before the first one.
    pub fn new(backend: Arc<Backend>, cluster_id: u64, snapshot_data: Option<&[u8]>) -> MembershipStore {
        let state = snapshot_data
            .and_then(|b| serde_json::from_slice::<State>(b).ok())
            .unwrap_or_default();
        backend.put(Table::Cluster, b"cluster_id", &cluster_id.to_le_bytes());
        MembershipStore { backend, state: RwLock::new(state), cluster_id: cluster_id.into() }
    }

    /// Replaces the membership with a Raft snapshot's.
    pub fn restore(&self, snapshot_data: &[u8]) {
        let state = serde_json::from_slice::<State>(snapshot_data).unwrap_or_default();
        for m in state.members.values() {
            let json = serde_json::to_vec(m).expect("member serialises");
            self.backend.put(Table::Members, &m.id.to_be_bytes(), &json);
        }
        *self.state.write() = state;
    }

    /// The cluster id.
    pub fn cluster_id(&self) -> u64 {
        self.cluster_id.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A member by id.
    pub fn get(&self, id: u64) -> Option<Member> {
        self.state.read().members.get(&id).cloned()
    }

    /// All members, ordered by id (as etcd lists them).
    pub fn list(&self) -> Vec<Member> {
        self.state.read().members.values().cloned().collect()
    }

    /// True when `id` was removed from the cluster (it may never return).
    pub fn is_removed(&self, id: u64) -> bool {
        self.state.read().removed.contains(&id)
    }

    /// Adds or replaces a member.
    pub fn upsert(&self, m: Member) {
        let json = serde_json::to_vec(&m).expect("member serialises");
        self.backend.put(Table::Members, &m.id.to_be_bytes(), &json);
        self.state.write().members.insert(m.id, m);
    }

    /// Removes a member for good.
    pub fn remove(&self, id: u64) {
        self.backend.delete(Table::Members, &id.to_be_bytes());
        self.backend.put(Table::MembersRemoved, &id.to_be_bytes(), b"removed");
        let mut st = self.state.write();
        st.members.remove(&id);
        st.removed.insert(id);
    }

    /// raft-rs's configuration for this membership.
    pub fn conf_state(&self) -> ConfState {
        let st = self.state.read();
        let mut cs = ConfState::default();
        for m in st.members.values() {
            if m.is_learner {
                cs.learners.push(m.id);
            } else {
                cs.voters.push(m.id);
            }
        }
        cs
    }

    /// The membership as JSON, carried in Raft snapshots.
    pub fn snapshot_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&*self.state.read()).expect("membership serialises")
    }
}
