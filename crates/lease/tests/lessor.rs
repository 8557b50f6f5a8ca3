//! The lessor against etcd's lessor behaviour, driven by a manual clock.

use std::sync::Arc;
use std::time::Duration;

use etcd_lease::{
    LeaseError, LeaseRecord, Lessor, LessorConfig, ManualClock, Renewal, MAX_LEASE_TTL_S,
};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn lessor(cfg: LessorConfig) -> (Lessor, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    (Lessor::new(cfg, clock.clone()), clock)
}

fn primary() -> (Lessor, Arc<ManualClock>) {
    let (l, c) = lessor(LessorConfig {
        min_ttl_s: 2,
        ..Default::default()
    });
    l.promote(Duration::ZERO);
    (l, c)
}

#[test]
fn grant_checks_id_ttl_and_duplicates() {
    let (l, _) = primary();
    assert_eq!(l.grant(0, 10), Err(LeaseError::NotFound));
    assert_eq!(
        l.grant(1, MAX_LEASE_TTL_S + 1),
        Err(LeaseError::TtlTooLarge)
    );
    assert_eq!(
        l.grant(1, 10),
        Ok(LeaseRecord {
            id: 1,
            ttl_s: 10,
            remaining_ttl_s: 0
        })
    );
    assert_eq!(l.grant(1, 10), Err(LeaseError::Exists));
    assert_eq!(l.grant(2, 1).unwrap().ttl_s, 2, "raised to the minimum TTL");
    assert_eq!(l.grant(3, MAX_LEASE_TTL_S).unwrap().ttl_s, MAX_LEASE_TTL_S);
}

#[test]
fn leases_expire_in_expiry_order_and_only_when_due() {
    let (l, clock) = primary();
    l.grant(30, 30).unwrap();
    l.grant(10, 10).unwrap();
    l.grant(20, 20).unwrap();
    assert_eq!(l.leases(), vec![10, 20, 30]);
    clock.advance(secs(9));
    assert!(l.expired_leases(100).is_empty());
    clock.advance(secs(12));
    assert_eq!(l.expired_leases(100), vec![10, 20]);
    // Reported once; again only after the retry interval if still granted.
    assert!(l.expired_leases(100).is_empty());
    l.revoke(10).unwrap();
    clock.advance(secs(3));
    assert_eq!(l.expired_leases(100), vec![20]);
    l.revoke(20).unwrap();
    clock.advance(secs(10));
    assert_eq!(l.expired_leases(1), vec![30], "limit respected");
}

#[test]
fn expired_leases_respects_limit() {
    let (l, clock) = primary();
    for id in 1..=10 {
        l.grant(id, 5).unwrap();
    }
    clock.advance(secs(5));
    let first = l.expired_leases(4);
    assert_eq!(first.len(), 4);
    let rest = l.expired_leases(100);
    assert_eq!(rest.len(), 6);
    let mut all: Vec<i64> = first.into_iter().chain(rest).collect();
    all.sort_unstable();
    assert_eq!(all, (1..=10).collect::<Vec<_>>());
}

#[test]
fn renew_resets_expiry_to_the_full_ttl() {
    let (l, clock) = primary();
    l.grant(1, 10).unwrap();
    clock.advance(secs(8));
    assert_eq!(l.time_to_live(1, false).unwrap().remaining_s, 2);
    assert_eq!(
        l.renew(1),
        Ok(Renewal {
            ttl_s: 10,
            clear_checkpoint: false
        })
    );
    assert_eq!(l.time_to_live(1, false).unwrap().remaining_s, 10);
    clock.advance(secs(9));
    assert!(l.expired_leases(10).is_empty(), "old queue entry is stale");
    clock.advance(secs(1));
    assert_eq!(l.expired_leases(10), vec![1]);
    assert_eq!(l.renew(1), Err(LeaseError::Expired));
    assert_eq!(l.renew(99), Err(LeaseError::NotFound));
}

#[test]
fn only_a_primary_renews_and_expires() {
    let (l, clock) = lessor(LessorConfig::default());
    l.grant(1, 5).unwrap();
    assert_eq!(l.renew(1), Err(LeaseError::NotPrimary));
    clock.advance(secs(100));
    assert!(l.expired_leases(10).is_empty());
    // Non-primary: remaining is "forever" (Go's MaxInt64 duration in seconds).
    assert_eq!(
        l.time_to_live(1, false).unwrap().remaining_s,
        i64::MAX / 1_000_000_000
    );
}

#[test]
fn promote_gives_fresh_expiry_plus_extension_and_demote_stops_expiry() {
    let (l, clock) = lessor(LessorConfig::default());
    l.grant(1, 10).unwrap();
    clock.advance(secs(50));
    l.promote(secs(1));
    assert_eq!(l.time_to_live(1, false).unwrap().remaining_s, 11);
    clock.advance(secs(10));
    assert!(l.expired_leases(10).is_empty());
    l.demote();
    clock.advance(secs(5));
    assert!(
        l.expired_leases(10).is_empty(),
        "a demoted lessor expires nothing"
    );
    assert_eq!(l.renew(1), Err(LeaseError::NotPrimary));
    l.promote(Duration::ZERO);
    clock.advance(secs(10));
    assert_eq!(l.expired_leases(10), vec![1]);
}

#[test]
fn promote_spreads_piled_up_expiries() {
    let (l, clock) = lessor(LessorConfig {
        revoke_rate_per_s: 8,
        ..Default::default()
    });
    for id in 1..=16 {
        l.grant(id, 10).unwrap();
    }
    l.promote(Duration::ZERO);
    clock.advance(secs(10));
    // Target 6 per second: the first window holds 6, the rest are pushed back.
    let first = l.expired_leases(100);
    assert_eq!(first.len(), 6);
    first.iter().for_each(|id| drop(l.revoke(*id)));
    let mut total = 6;
    for _ in 0..5 {
        clock.advance(secs(1));
        let expired = l.expired_leases(100);
        expired.iter().for_each(|id| drop(l.revoke(*id)));
        let n = expired.len();
        assert!(n <= 6, "{n} expired in one second");
        total += n;
    }
    assert_eq!(total, 16);
}

#[test]
fn attach_moves_keys_and_revoke_returns_them_sorted() {
    let (l, _) = primary();
    l.grant(1, 10).unwrap();
    l.grant(2, 10).unwrap();
    assert_eq!(l.attach(3, b"k"), Err(LeaseError::NotFound));
    l.attach(1, b"b").unwrap();
    l.attach(1, b"a").unwrap();
    l.attach(1, b"c").unwrap();
    l.attach(2, b"c").unwrap();
    assert_eq!(l.lease_of(b"c"), 2);
    l.detach(1, b"b");
    assert_eq!(l.lease_of(b"b"), 0);
    assert_eq!(l.time_to_live(2, true).unwrap().keys, vec![b"c".to_vec()]);
    assert_eq!(l.revoke(1), Ok(vec![b"a".to_vec()]));
    assert_eq!(l.lease_of(b"a"), 0);
    assert_eq!(l.revoke(1), Err(LeaseError::NotFound));
    assert!(!l.exists(1) && l.exists(2));
}

#[test]
fn checkpoints_are_due_each_interval_and_honoured_on_promote() {
    let cfg = LessorConfig {
        checkpoint_interval: Some(secs(60)),
        checkpoint_persist: true,
        ..Default::default()
    };
    let (l, clock) = lessor(cfg);
    l.promote(Duration::ZERO);
    l.grant(1, 600).unwrap();
    l.grant(2, 30).unwrap(); // shorter than the interval: never checkpointed
    clock.advance(secs(59));
    assert!(l.due_checkpoints(10).is_empty());
    clock.advance(Duration::from_millis(1500));
    assert_eq!(
        l.due_checkpoints(10),
        vec![(1, 540)],
        "remaining rounded up"
    );
    // Applying the checkpoint records it, returns the record and reschedules.
    assert_eq!(
        l.checkpoint(1, 540),
        Some(LeaseRecord {
            id: 1,
            ttl_s: 600,
            remaining_ttl_s: 540
        })
    );
    assert_eq!(l.checkpoint(99, 5), None);
    // A new leader uses the checkpointed remaining TTL, not the full TTL.
    l.demote();
    l.promote(Duration::ZERO);
    assert_eq!(l.time_to_live(1, false).unwrap().remaining_s, 540);
    // Renewing asks for the checkpoint to be cleared and gives the full TTL.
    assert_eq!(
        l.renew(1),
        Ok(Renewal {
            ttl_s: 600,
            clear_checkpoint: true
        })
    );
    assert_eq!(l.time_to_live(1, false).unwrap().remaining_s, 600);
    l.checkpoint(1, 0);
    assert!(!l.renew(1).unwrap().clear_checkpoint);
}

#[test]
fn checkpoints_not_persisted_unless_configured() {
    let cfg = LessorConfig {
        checkpoint_interval: Some(secs(60)),
        ..Default::default()
    };
    let (l, _) = lessor(cfg);
    l.grant(1, 600).unwrap();
    assert_eq!(l.checkpoint(1, 100), None);
    assert_eq!(l.record(1).unwrap().remaining_ttl_s, 100);
}

#[test]
fn restore_rebuilds_leases_and_attachments_as_non_primary() {
    let (l, clock) = lessor(LessorConfig {
        min_ttl_s: 5,
        ..Default::default()
    });
    let records = vec![
        LeaseRecord {
            id: 1,
            ttl_s: 100,
            remaining_ttl_s: 0,
        },
        LeaseRecord {
            id: 2,
            ttl_s: 1,
            remaining_ttl_s: 0,
        },
        LeaseRecord {
            id: 3,
            ttl_s: 900,
            remaining_ttl_s: 40,
        },
    ];
    let keys = vec![
        (1, b"a".to_vec()),
        (3, b"b".to_vec()),
        (9, b"orphan".to_vec()),
    ];
    let orphans = l.restore(records, keys);
    assert_eq!(orphans, vec![(9, b"orphan".to_vec())]);
    assert_eq!(l.len(), 3);
    assert!(!l.is_primary());
    assert_eq!(
        l.time_to_live(2, false).unwrap().granted_ttl_s,
        5,
        "minimum applied"
    );
    assert_eq!(l.lease_of(b"a"), 1);
    l.promote(Duration::ZERO);
    assert_eq!(l.time_to_live(3, false).unwrap().remaining_s, 40);
    clock.advance(secs(40));
    assert_eq!(l.expired_leases(10), vec![2, 3]);
}

#[test]
fn queues_stay_bounded_under_many_renewals() {
    let (l, clock) = primary();
    l.grant(1, 10).unwrap();
    for _ in 0..10_000 {
        l.renew(1).unwrap();
    }
    clock.advance(secs(10));
    assert_eq!(l.expired_leases(10), vec![1]);
}
