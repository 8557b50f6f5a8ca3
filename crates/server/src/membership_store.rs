//! The applied membership: members in memory, mirrored to the backend's
//! `members` table so a restart (or a snapshot) restores them.

use std::collections::BTreeMap;
use std::sync::Arc;

use etcd_backend::{Backend, Table};
use parking_lot::RwLock;

use crate::membership::Member;

/// Members of the cluster, as applied.
pub struct MembershipStore {
    backend: Arc<Backend>,
    members: RwLock<BTreeMap<u64, Member>>,
    cluster_id: std::sync::atomic::AtomicU64,
}

impl MembershipStore {
    /// Loads the members saved in the backend.
    pub fn load(backend: Arc<Backend>) -> Result<MembershipStore, etcd_backend::BackendError> {
        let mut members = BTreeMap::new();
        for (_, v) in backend.range(Table::Members, b"", None, usize::MAX)? {
            if let Ok(m) = serde_json::from_slice::<Member>(&v) {
                members.insert(m.id, m);
            }
        }
        let mut cid = 0;
        if let Some(v) = backend.get(Table::Cluster, b"cluster_id")? {
            cid = u64::from_le_bytes(v.as_slice().try_into().unwrap_or([0; 8]));
        }
        Ok(MembershipStore { backend, members: RwLock::new(members), cluster_id: cid.into() })
    }

    /// The cluster id.
    pub fn cluster_id(&self) -> u64 {
        self.cluster_id.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets the cluster id (bootstrap); saved with the next backend commit.
    pub fn set_cluster_id(&self, id: u64) {
        self.cluster_id.store(id, std::sync::atomic::Ordering::Relaxed);
        self.backend.put(Table::Cluster, b"cluster_id", &id.to_le_bytes());
    }

    /// A member by id.
    pub fn get(&self, id: u64) -> Option<Member> {
        self.members.read().get(&id).cloned()
    }

    /// All members, ordered by id (as etcd lists them).
    pub fn list(&self) -> Vec<Member> {
        self.members.read().values().cloned().collect()
    }

    /// Adds or replaces a member.
    pub fn upsert(&self, m: Member) {
        let json = serde_json::to_vec(&m).expect("member serialises");
        self.backend.put(Table::Members, &m.id.to_be_bytes(), &json);
        self.members.write().insert(m.id, m);
    }

    /// Removes a member.
    pub fn remove(&self, id: u64) {
        self.backend.delete(Table::Members, &id.to_be_bytes());
        self.members.write().remove(&id);
    }

    /// The members as JSON, carried in Raft snapshots.
    pub fn snapshot_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.list()).expect("members serialise")
    }
}
