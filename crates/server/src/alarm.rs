//! The alarm store (etcd's `v3alarm.AlarmStore`) and the server's alarm calls.
//!
//! Contract:
//! - Alarms change only by applying an `AlarmRequest` entry, so every member
//!   holds the same set. The set is kept in memory and mirrored in the
//!   backend table `alarm`, in the same batch as the entry's consistent
//!   index: it survives restarts, and a database shipped with a Raft
//!   snapshot brings its alarms ([`AlarmStore::reload`]).
//! - Key format: the protobuf encoding of `AlarmMember {member_id, alarm}`
//!   (as etcd's), empty value. One alarm per (type, member).
//! - While NOSPACE is active, applying a put, a txn with a put, or a lease
//!   grant fails with `NoSpace`; while CORRUPT is active, every KV write,
//!   proposed range, compaction, lease grant and revoke fails with `Corrupt`
//!   (see `apply/alarm.rs`).

use std::collections::BTreeSet;
use std::sync::Arc;

use etcd_backend::{Backend, Table};
use etcd_proto::etcdserverpb::{
    alarm_request::AlarmAction, AlarmMember, AlarmRequest, AlarmResponse, AlarmType,
};
use etcd_proto::EtcdError;
use parking_lot::Mutex;
use prost::Message as _;

use crate::apply::ApplyResponse;
use crate::{EtcdServer, ServerError};

/// The raised alarms, in memory and in the backend.
#[derive(Debug)]
pub(crate) struct AlarmStore {
    backend: Arc<Backend>,
    /// (alarm type, member id).
    set: Mutex<BTreeSet<(i32, u64)>>,
}

impl AlarmStore {
    /// Loads the alarms persisted in `backend`.
    pub(crate) fn open(backend: Arc<Backend>) -> Result<AlarmStore, ServerError> {
        let store = AlarmStore {
            backend,
            set: Mutex::new(BTreeSet::new()),
        };
        store.reload()?;
        Ok(store)
    }

    /// Re-reads the set from the backend (after its data was replaced).
    pub(crate) fn reload(&self) -> Result<(), ServerError> {
        let rows = self.backend.range(Table::Alarm, &[], None, 0)?;
        let mut set = BTreeSet::new();
        for (k, _) in rows {
            let m = AlarmMember::decode(k.as_slice())
                .map_err(|e| ServerError::Config(format!("bad alarm record {k:02x?}: {e}")))?;
            set.insert((m.alarm, m.member_id));
        }
        *self.set.lock() = set;
        Ok(())
    }

    /// Raises `alarm` for `member`; returns the alarm (new or already raised).
    pub(crate) fn activate(&self, member_id: u64, alarm: i32) -> AlarmMember {
        let m = AlarmMember { member_id, alarm };
        if self.set.lock().insert((alarm, member_id)) {
            self.backend.put(Table::Alarm, &m.encode_to_vec(), &[]);
        }
        m
    }

    /// Clears `alarm` for `member`; `None` if it was not raised.
    pub(crate) fn deactivate(&self, member_id: u64, alarm: i32) -> Option<AlarmMember> {
        let m = AlarmMember { member_id, alarm };
        if !self.set.lock().remove(&(alarm, member_id)) {
            return None;
        }
        self.backend.delete(Table::Alarm, &m.encode_to_vec());
        Some(m)
    }

    /// The alarms of type `alarm` (`NONE`: all), ordered by type then member.
    pub(crate) fn get(&self, alarm: i32) -> Vec<AlarmMember> {
        self.set
            .lock()
            .iter()
            .filter(|(t, _)| alarm == AlarmType::None as i32 || *t == alarm)
            .map(|&(alarm, member_id)| AlarmMember { member_id, alarm })
            .collect()
    }

    /// Whether any alarm of type `alarm` is raised.
    pub(crate) fn has(&self, alarm: AlarmType) -> bool {
        self.set.lock().iter().any(|(t, _)| *t == alarm as i32)
    }
}

/// An alarm as etcd prints it (gogoproto's compact text, zero fields left
/// out): `memberID:10276657743932975437 alarm:NOSPACE `.
pub fn alarm_text(m: &AlarmMember) -> String {
    let mut s = String::new();
    if m.member_id != 0 {
        s.push_str(&format!("memberID:{} ", m.member_id));
    }
    if m.alarm != 0 {
        let name = AlarmType::try_from(m.alarm)
            .map(|a| a.as_str_name())
            .unwrap_or("UNKNOWN");
        s.push_str(&format!("alarm:{name} "));
    }
    s
}

/// An alarm request as etcd prints it, e.g. in "alarm disarmed".
pub(crate) fn request_text(r: &AlarmRequest) -> String {
    let mut s = String::new();
    if r.action != 0 {
        let name = AlarmAction::try_from(r.action)
            .map(|a| a.as_str_name())
            .unwrap_or("UNKNOWN");
        s.push_str(&format!("action:{name} "));
    }
    s.push_str(&alarm_text(&AlarmMember {
        member_id: r.member_id,
        alarm: r.alarm,
    }));
    s
}

impl EtcdServer {
    /// Maintenance.Alarm: every action (GET too) goes through Raft, as in
    /// etcd; the response carries no header (etcd sends none).
    pub async fn alarm(&self, req: AlarmRequest) -> Result<AlarmResponse, EtcdError> {
        match self
            .propose(etcd_proto::etcdserverpb::InternalRaftRequest {
                alarm: Some(req),
                ..Default::default()
            })
            .await?
        {
            ApplyResponse::Alarm(r) => Ok(r),
            _ => Ok(AlarmResponse::default()),
        }
    }

    /// The raised alarms, from this member's applied state.
    pub fn alarms(&self) -> Vec<AlarmMember> {
        self.alarms.get(AlarmType::None as i32)
    }

    /// `StatusResponse.errors`: "no leader" when there is none, then each alarm.
    pub fn status_errors(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if self.leader() == 0 {
            errors.push(EtcdError::NoLeader.to_string());
        }
        errors.extend(self.alarms().iter().map(alarm_text));
        errors
    }

    /// Proposes raising `alarm` for `member_id` (0: not one member's, as for
    /// CORRUPT); errors are logged.
    pub(crate) async fn raise_alarm(&self, member_id: u64, alarm: AlarmType) {
        let req = AlarmRequest {
            action: AlarmAction::Activate as i32,
            member_id,
            alarm: alarm as i32,
        };
        if let Err(e) = self.alarm(req).await {
            tracing::warn!(target: "etcdserver", "failed to raise alarm {}: {e}", alarm.as_str_name());
        }
    }
}

/// Starts the task that raises NOSPACE for answers the applier held back
/// (see `apply/alarm.rs`), then releases them.
pub(crate) fn spawn_nospace_raiser(
    server: &Arc<EtcdServer>,
    mut held: tokio::sync::mpsc::Receiver<crate::apply::alarm::HeldAnswer>,
) {
    let weak = Arc::downgrade(server);
    tokio::spawn(async move {
        while let Some((id, result)) = held.recv().await {
            let Some(s) = weak.upgrade() else { return };
            if !s.alarms.has(AlarmType::Nospace) {
                s.raise_alarm(s.member_id(), AlarmType::Nospace).await;
            }
            s.wait.trigger(id, result);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_matches_etcd() {
        let m = AlarmMember {
            member_id: 10276657743932975437,
            alarm: AlarmType::Nospace as i32,
        };
        assert_eq!(
            alarm_text(&m),
            "memberID:10276657743932975437 alarm:NOSPACE "
        );
        let c = AlarmMember {
            member_id: 0,
            alarm: AlarmType::Corrupt as i32,
        };
        assert_eq!(alarm_text(&c), "alarm:CORRUPT ");
        let r = AlarmRequest {
            action: AlarmAction::Deactivate as i32,
            member_id: 5,
            alarm: 1,
        };
        assert_eq!(
            request_text(&r),
            "action:DEACTIVATE memberID:5 alarm:NOSPACE "
        );
    }

    #[test]
    fn store_persists_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let be = Arc::new(Backend::open(&dir.path().join("db"), Default::default()).unwrap());
        let s = AlarmStore::open(be.clone()).unwrap();
        s.activate(2, AlarmType::Nospace as i32);
        s.activate(1, AlarmType::Nospace as i32);
        s.activate(0, AlarmType::Corrupt as i32);
        assert_eq!(s.activate(1, AlarmType::Nospace as i32).member_id, 1);
        assert_eq!(s.get(AlarmType::Nospace as i32).len(), 2);
        assert_eq!(s.get(AlarmType::None as i32).len(), 3);
        assert!(s.deactivate(9, AlarmType::Nospace as i32).is_none());
        assert!(s.deactivate(2, AlarmType::Nospace as i32).is_some());
        be.commit().unwrap();
        let again = AlarmStore::open(be).unwrap();
        let got: Vec<_> = again
            .get(0)
            .iter()
            .map(|m| (m.alarm, m.member_id))
            .collect();
        assert_eq!(got, vec![(1, 1), (2, 0)]);
        assert!(again.has(AlarmType::Corrupt));
    }
}
