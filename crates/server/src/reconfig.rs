//! etcd's strict reconfiguration checks (`--strict-reconfig-check`, on by
//! default): a change is refused when the members that have started could
//! not form a quorum of the configuration after it (`not enough started
//! members`), or when the members this one has been actively connected to
//! for [`HEALTH_INTERVAL`] could not (`unhealthy cluster`): adding (a learner
//! too, as in etcd) needs every voter connected, removing a connected voter needs the connected rest to
//! be a quorum of the rest, and removing a disconnected one is always safe.
//! Connectivity is the peer transport's "active since" per peer.
//!
//! `--strict-reconfig-check=false` skips every check here except the
//! learner's catch-up before a promotion (etcd 3.4's `mayAddMember`,
//! `mayRemoveMember` and `mayPromoteMember` return early on it), so a change
//! that loses quorum is then proposed as asked.

use std::time::{Duration, Instant};

use crate::membership::Member;

/// How long a peer must have been connected to count (etcd's `HealthInterval`).
pub const HEALTH_INTERVAL: Duration = Duration::from_secs(5);

/// Voters counted as connected: this member, and every peer active since
/// before `now - HEALTH_INTERVAL`.
pub fn connected_voters(
    members: &[Member],
    local: u64,
    active_since: &dyn Fn(u64) -> Option<Instant>,
    now: Instant,
) -> usize {
    let cutoff = now.checked_sub(HEALTH_INTERVAL);
    voters(members)
        .filter(|m| m.id == local || matches!((active_since(m.id), cutoff), (Some(t), Some(c)) if t < c))
        .count()
}

/// Adding a voter: every voter has been connected for the health interval.
pub fn healthy_to_add(
    members: &[Member],
    local: u64,
    active_since: &dyn Fn(u64) -> Option<Instant>,
    now: Instant,
) -> bool {
    connected_voters(members, local, active_since, now) == voters(members).count()
}

/// Removing voter `id`: a disconnected one always may go; otherwise the
/// connected voters other than it must be a quorum of the rest.
pub fn healthy_to_remove(
    members: &[Member],
    local: u64,
    id: u64,
    active_since: &dyn Fn(u64) -> Option<Instant>,
    now: Instant,
) -> bool {
    if id != local && active_since(id).is_none() {
        return true;
    }
    let total = voters(members).count();
    let active = connected_voters(members, local, active_since, now);
    active.saturating_sub(1) > total.saturating_sub(1) / 2
}

/// A learner may be promoted once it has this share of the leader's log.
pub const LEARNER_READY_PERCENT: f64 = 0.9;

fn voters(members: &[Member]) -> impl Iterator<Item = &Member> {
    members.iter().filter(|m| !m.is_learner)
}

/// Adding a voter: the started voters must be a quorum of voters + 1
/// (the new member has not started yet).
pub fn ready_to_add_voter(members: &[Member]) -> bool {
    let total = voters(members).count() + 1;
    let started = voters(members).filter(|m| m.is_started()).count();
    // etcd's exception: a one-member cluster may grow (its restore recipe
    // adds members one by one to a cluster restored from a snapshot).
    if started == 1 && total == 2 {
        return true;
    }
    started >= total / 2 + 1
}

/// Removing voter `id`: the other started voters must be a quorum of the rest.
pub fn ready_to_remove_voter(members: &[Member], id: u64) -> bool {
    let rest: Vec<&Member> = voters(members).filter(|m| m.id != id).collect();
    let started = rest.iter().filter(|m| m.is_started()).count();
    started >= rest.len() / 2 + 1
}

/// Promoting a (started) learner: the started voters plus it must be a
/// quorum of voters + 1.
pub fn ready_to_promote(members: &[Member]) -> bool {
    let total = voters(members).count() + 1;
    let started = voters(members).filter(|m| m.is_started()).count() + 1;
    started >= total / 2 + 1
}

impl crate::EtcdServer {
    /// etcd's `mayAddMember`: with strict checks on, a voter needs a started
    /// quorum after the add, and any add needs every voter connected.
    pub(crate) fn may_add_member(&self, is_learner: bool) -> Result<(), etcd_proto::EtcdError> {
        if !self.config().strict_reconfig_check {
            return Ok(());
        }
        if !is_learner && !ready_to_add_voter(&self.members.list()) {
            return Err(etcd_proto::EtcdError::MemberNotEnoughStarted);
        }
        if !self.healthy_to_add() {
            return Err(etcd_proto::EtcdError::Unhealthy);
        }
        Ok(())
    }

    /// etcd's `mayRemoveMember` for member `target` of `members`: learners
    /// always may go; a voter needs a started and a connected quorum of the rest.
    pub(crate) fn may_remove_member(&self, members: &[Member], target: &Member) -> Result<(), etcd_proto::EtcdError> {
        if !self.config().strict_reconfig_check || target.is_learner {
            return Ok(());
        }
        if !ready_to_remove_voter(members, target.id) {
            return Err(etcd_proto::EtcdError::MemberNotEnoughStarted);
        }
        if !self.healthy_to_remove(members, target.id) {
            return Err(etcd_proto::EtcdError::Unhealthy);
        }
        Ok(())
    }

    /// etcd's `mayPromoteMember` after the learner's catch-up check: the
    /// started voters plus the learner must be a quorum of the new size.
    pub(crate) fn may_promote_member(&self, members: &[Member]) -> Result<(), etcd_proto::EtcdError> {
        if self.config().strict_reconfig_check && !ready_to_promote(members) {
            return Err(etcd_proto::EtcdError::MemberNotEnoughStarted);
        }
        Ok(())
    }

    /// [`healthy_to_add`] from this member's view of its peers.
    pub(crate) fn healthy_to_add(&self) -> bool {
        let t = self.transport();
        healthy_to_add(
            &self.members.list(),
            self.member_id(),
            &|id| t.active_since(id),
            Instant::now(),
        )
    }

    /// [`healthy_to_remove`] from this member's view of its peers.
    pub(crate) fn healthy_to_remove(&self, members: &[Member], id: u64) -> bool {
        let t = self.transport();
        healthy_to_remove(members, self.member_id(), id, &|id| t.active_since(id), Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: u64, started: bool, learner: bool) -> Member {
        Member {
            id,
            peer_urls: vec![format!("http://127.0.0.1:{id}")],
            is_learner: learner,
            name: if started { format!("m{id}") } else { String::new() },
            client_urls: vec![],
        }
    }

    #[test]
    fn add_needs_a_started_quorum_of_the_new_size() {
        // 1 started of 1: etcd lets a one-member cluster grow.
        assert!(ready_to_add_voter(&[m(1, true, false)]));
        // 1 started of 2: 3 after, quorum 2.
        assert!(!ready_to_add_voter(&[m(1, true, false), m(2, false, false)]));
        // 2 started of 2: 3 after, quorum 2.
        assert!(ready_to_add_voter(&[m(1, true, false), m(2, true, false)]));
        // 3 voters, one never started: 4 after, quorum 3, 2 started.
        assert!(!ready_to_add_voter(&[
            m(1, true, false),
            m(2, true, false),
            m(3, false, false)
        ]));
    }

    #[test]
    fn remove_needs_a_started_quorum_of_the_rest() {
        let ms = [m(1, true, false), m(2, true, false), m(3, false, false)];
        assert!(ready_to_remove_voter(&ms, 3));
        assert!(!ready_to_remove_voter(&ms, 1));
    }

    #[test]
    fn health_counts_peers_connected_for_the_interval() {
        let now = Instant::now();
        let old = now - HEALTH_INTERVAL - Duration::from_secs(1);
        let ms = [m(1, true, false), m(2, true, false), m(3, true, false)];
        let all = |_: u64| Some(old);
        assert!(healthy_to_add(&ms, 1, &all, now));
        assert!(healthy_to_remove(&ms, 1, 2, &all, now));
        // 3 is down: no add, no removal of 2, removal of 3 is fine.
        let three_down = |id: u64| if id == 3 { None } else { Some(old) };
        assert!(!healthy_to_add(&ms, 1, &three_down, now));
        assert!(!healthy_to_remove(&ms, 1, 2, &three_down, now));
        assert!(healthy_to_remove(&ms, 1, 3, &three_down, now));
        // Connected too recently does not count yet.
        let fresh = |_: u64| Some(now);
        assert!(!healthy_to_add(&ms, 1, &fresh, now));
        assert!(!healthy_to_remove(&ms, 1, 1, &fresh, now));
    }

    #[test]
    fn learners_do_not_count() {
        let ms = [m(1, true, false), m(9, false, true)];
        assert!(ready_to_remove_voter(&ms, 9));
        assert!(ready_to_promote(&ms));
    }
}
