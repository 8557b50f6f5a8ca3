//! Watch, lease and lock checkers on known good and bad logs.

use etcd_checker::{
    check_leases, check_locks, check_watches, EventKind, Input, LeaseLog, LeaseRead, LockHold, Op,
    Outcome, Output, WatchEvent, WatcherLog,
};

fn put(id: u64, key: &str, value: &str, rev: i64) -> Op {
    Op {
        id,
        client: 0,
        input: Input::Put {
            key: key.into(),
            value: value.into(),
        },
        outcome: Outcome::Ok(Output::Put { rev }),
        invoke_ns: id * 10,
        complete_ns: id * 10 + 5,
    }
}

fn ev(rev: i64, key: &str, value: &str) -> WatchEvent {
    WatchEvent {
        rev,
        key: key.into(),
        kind: EventKind::Put(value.into()),
    }
}

fn watcher(name: &str, events: Vec<WatchEvent>, caught_up_rev: i64) -> WatcherLog {
    WatcherLog {
        name: name.into(),
        prefix: "k".into(),
        start_rev: 2,
        caught_up_rev,
        events,
    }
}

fn kv() -> Vec<Op> {
    vec![
        put(0, "k1", "a", 2),
        put(1, "k2", "b", 3),
        put(2, "k1", "c", 4),
    ]
}

#[test]
fn complete_ordered_agreeing_watchers_pass() {
    let evs = vec![ev(2, "k1", "a"), ev(3, "k2", "b"), ev(4, "k1", "c")];
    let ws = [watcher("w1", evs.clone(), 4), watcher("w2", evs, 4)];
    assert_eq!(check_watches(&ws, &kv()), vec![]);
}

#[test]
fn gap_duplicate_phantom_and_disagreement_are_caught() {
    let gap = [watcher("w", vec![ev(2, "k1", "a"), ev(4, "k1", "c")], 4)];
    assert_eq!(check_watches(&gap, &kv())[0].check, "watch-gap");
    let dup = [watcher(
        "w",
        vec![
            ev(2, "k1", "a"),
            ev(3, "k2", "b"),
            ev(3, "k2", "b"),
            ev(4, "k1", "c"),
        ],
        4,
    )];
    assert_eq!(check_watches(&dup, &kv())[0].check, "watch-order");
    let phantom = [watcher(
        "w",
        vec![
            ev(2, "k1", "a"),
            ev(3, "k2", "b"),
            ev(4, "k1", "c"),
            ev(5, "k1", "zz"),
        ],
        4,
    )];
    assert_eq!(check_watches(&phantom, &kv())[0].check, "watch-phantom");
    let wrong_rev = [watcher(
        "w",
        vec![ev(2, "k1", "a"), ev(3, "k2", "b"), ev(5, "k1", "c")],
        3,
    )];
    assert_eq!(check_watches(&wrong_rev, &kv())[0].check, "watch-revision");
    // Two watchers, each consistent with the acknowledged writes up to rev
    // 3, disagreeing about an unacknowledged write at rev 4.
    let mut ops = kv();
    ops[2].outcome = Outcome::Unknown;
    let ws = [
        watcher(
            "w1",
            vec![ev(2, "k1", "a"), ev(3, "k2", "b"), ev(4, "k1", "c")],
            4,
        ),
        watcher("w2", vec![ev(2, "k1", "a"), ev(3, "k2", "b")], 4),
    ];
    let v = check_watches(&ws, &ops);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].check, "watch-disagree");
}

#[test]
fn lease_checks() {
    const S: u64 = 1_000_000_000;
    let read = |t: u64, present| LeaseRead {
        invoke_ns: t,
        complete_ns: t + 1,
        present,
    };
    let lease = |reads, revoked| LeaseLog {
        lease_id: 1,
        key: "l".into(),
        ttl_secs: 2,
        last_refresh_complete_ns: 10 * S,
        revoked_complete_ns: revoked,
        reads,
    };
    let slack = S;
    // Present within TTL + slack; absent later: fine.
    let ok = lease(
        vec![
            read(11 * S, true),
            read(12 * S + S / 2, true),
            read(14 * S, false),
        ],
        None,
    );
    assert!(check_leases(&[ok], 0, slack).is_empty());
    // Present past TTL + slack.
    let outlived = lease(vec![read(13 * S + 1, true)], None);
    assert_eq!(
        check_leases(&[outlived.clone()], 0, slack)[0].check,
        "lease-outlived"
    );
    // ... unless a leader change after the refresh extended it.
    assert!(check_leases(&[outlived], 11 * S, slack).is_empty());
    // Present after an acknowledged revoke.
    let revoked = lease(vec![read(11 * S, true)], Some(10 * S + 5));
    assert_eq!(check_leases(&[revoked], 0, slack)[0].check, "lease-revoked");
}

#[test]
fn lock_checks() {
    const S: u64 = 1_000_000_000;
    let hold = |client, acquired, released, rev| LockHold {
        client,
        acquired_ns: acquired,
        lock_invoke_ns: acquired - 1,
        released_invoke_ns: released,
        valid_until_ns: acquired + 5 * S,
        fencing_rev: rev,
    };
    assert!(check_locks(&[hold(1, 10, 20, 5), hold(2, 30, 40, 6)]).is_empty());
    assert_eq!(
        check_locks(&[hold(1, 10, 20, 5), hold(2, 15, 40, 6)])[0].check,
        "lock-overlap"
    );
    assert_eq!(
        check_locks(&[hold(1, 10, 20, 7), hold(2, 30, 40, 6)])[0].check,
        "lock-fencing"
    );
    // An overlap after a holder's lease may have expired is not a lock bug.
    let mut stale = hold(1, 10, 20 * S, 5);
    stale.valid_until_ns = 6 * S;
    assert!(check_locks(&[stale, hold(2, 7 * S, 8 * S, 6)]).is_empty());
}
