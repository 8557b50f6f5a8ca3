//! etcd's strict reconfiguration checks (`--strict-reconfig-check`, on by
//! default): a change is refused when the members that have started could
//! not form a quorum of the configuration after it.

use crate::membership::Member;

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
        assert!(!ready_to_add_voter(&[m(1, true, false), m(2, true, false), m(3, false, false)]));
    }

    #[test]
    fn remove_needs_a_started_quorum_of_the_rest() {
        let ms = [m(1, true, false), m(2, true, false), m(3, false, false)];
        assert!(ready_to_remove_voter(&ms, 3));
        assert!(!ready_to_remove_voter(&ms, 1));
    }

    #[test]
    fn learners_do_not_count() {
        let ms = [m(1, true, false), m(9, false, true)];
        assert!(ready_to_remove_voter(&ms, 9));
        assert!(ready_to_promote(&ms));
    }
}
