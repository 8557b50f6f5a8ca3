//! Known-good and known-bad list-append histories: one per anomaly class,
//! some with transactions of unknown outcome, and a property test that
//! every serial execution (seen through overlapping intervals, with
//! unknown and aborted transactions) passes.

use proptest::prelude::*;

use super::*;
use crate::READ_ANOMALIES_PER_KIND_MAX;

fn r(k: &str, l: &[u64]) -> Mop {
    Mop::Read {
        key: k.into(),
        list: Some(l.to_vec()),
    }
}

fn a(k: &str, v: u64) -> Mop {
    Mop::Append {
        key: k.into(),
        value: v,
    }
}

fn txn(id: u64, span: (u64, u64), outcome: TxnOutcome, mops: Vec<Mop>) -> AppendTxn {
    AppendTxn {
        id,
        client: id as u32,
        mops,
        outcome,
        invoke_ns: span.0,
        complete_ns: span.1,
    }
}

fn ok(id: u64, span: (u64, u64), mops: Vec<Mop>) -> AppendTxn {
    txn(id, span, TxnOutcome::Committed, mops)
}

fn kinds(h: &[AppendTxn]) -> Vec<&'static str> {
    let report = check_appends(h).expect("well-formed");
    for an in &report.anomalies {
        eprintln!("{}: {}", an.kind, an.explanation);
    }
    report.anomalies.iter().map(|a| a.kind).collect()
}

#[test]
fn serial_history_is_ok() {
    let h = [
        ok(1, (0, 10), vec![r("x", &[]), a("x", 1), a("y", 1)]),
        ok(2, (20, 30), vec![r("x", &[1]), r("y", &[1]), a("y", 2)]),
        ok(3, (40, 50), vec![r("x", &[1]), r("y", &[1, 2])]),
    ];
    let report = check_appends(&h).unwrap();
    assert!(report.ok(), "{:?}", report.anomalies);
    assert_eq!(report.graph.0, 3);
}

#[test]
fn indeterminate_and_aborted_transactions_are_fine_when_consistent() {
    let h = [
        // Unknown, later observed: committed at some point after 0.
        txn(1, (0, 0), TxnOutcome::Unknown, vec![r("x", &[]), a("x", 1)]),
        // Unknown, never observed: may never have happened.
        txn(2, (5, 0), TxnOutcome::Unknown, vec![a("y", 7)]),
        // Aborted, never observed.
        txn(3, (5, 8), TxnOutcome::Aborted, vec![a("x", 9)]),
        ok(4, (20, 30), vec![r("x", &[]), r("y", &[])]),
        ok(5, (40, 50), vec![r("x", &[1]), r("y", &[])]),
    ];
    let report = check_appends(&h).unwrap();
    assert!(report.ok(), "{:?}", report.anomalies);
    assert_eq!(report.unknown_committed, 1);
    assert_eq!(report.graph.0, 3, "T1 joins the graph, T2 and T3 do not");
}

#[test]
fn g0_write_cycle_including_an_unknown_transaction() {
    // T1 (unknown) and T2 append to x and y in opposite orders.
    let h = [
        txn(1, (0, 0), TxnOutcome::Unknown, vec![a("x", 1), a("y", 1)]),
        ok(2, (0, 10), vec![a("x", 2), a("y", 2)]),
        ok(3, (20, 30), vec![r("x", &[1, 2]), r("y", &[2, 1])]),
    ];
    assert_eq!(kinds(&h), vec!["G0"]);
    let report = check_appends(&h).unwrap();
    assert_eq!(report.anomalies[0].txns.len(), 2);
    assert!(report.anomalies[0].explanation.contains("-ww on x-> T2"));
}

#[test]
fn g1a_aborted_read() {
    let h = [
        txn(1, (0, 10), TxnOutcome::Aborted, vec![a("x", 1)]),
        ok(2, (20, 30), vec![r("x", &[1])]),
    ];
    assert_eq!(kinds(&h), vec!["G1a"]);
}

#[test]
fn g1b_intermediate_read() {
    let h = [
        ok(1, (0, 10), vec![a("x", 1), a("x", 2)]),
        ok(2, (0, 30), vec![r("x", &[1])]),
        ok(3, (40, 50), vec![r("x", &[1, 2])]),
    ];
    assert_eq!(kinds(&h), vec!["G1b"]);
}

#[test]
fn g1c_circular_information_flow() {
    let h = [
        ok(1, (0, 10), vec![a("x", 1), r("y", &[2])]),
        ok(2, (0, 10), vec![a("y", 2), r("x", &[1])]),
    ];
    assert_eq!(kinds(&h), vec!["G1c"]);
}

#[test]
fn g_single_read_skew() {
    // T1 saw x before T2 but y after it.
    let h = [
        ok(1, (0, 10), vec![r("x", &[]), r("y", &[2])]),
        ok(2, (0, 10), vec![a("x", 2), a("y", 2)]),
        ok(3, (20, 30), vec![r("x", &[2])]),
    ];
    assert_eq!(kinds(&h), vec!["G-single"]);
}

#[test]
fn g2_write_skew_with_an_unknown_writer() {
    // T2's outcome is unknown, but T3 read its append: it committed.
    let h = [
        ok(1, (0, 10), vec![r("x", &[]), a("y", 1)]),
        txn(2, (0, 0), TxnOutcome::Unknown, vec![r("y", &[]), a("x", 2)]),
        ok(4, (0, 10), vec![r("y", &[]), a("x", 3)]),
        ok(3, (20, 30), vec![r("x", &[3, 2]), r("y", &[1])]),
    ];
    // T2's read is unknown, so only T4 is in write skew with T1.
    assert_eq!(kinds(&h), vec!["G2"]);
    let report = check_appends(&h).unwrap();
    assert_eq!(report.anomalies[0].txns.len(), 2);
}

#[test]
fn g_single_realtime_stale_read() {
    // T2 began after T1's append was acknowledged but did not see it.
    let h = [
        ok(1, (0, 10), vec![r("x", &[]), a("x", 1)]),
        ok(2, (20, 30), vec![r("x", &[])]),
        ok(3, (40, 50), vec![r("x", &[1])]),
    ];
    assert_eq!(kinds(&h), vec!["G-single-realtime"]);
}

#[test]
fn g0_realtime_with_an_unknown_transaction() {
    // T2 (unknown) was invoked after T1 completed, yet x orders it first.
    let h = [
        ok(1, (0, 10), vec![a("x", 1)]),
        txn(2, (20, 0), TxnOutcome::Unknown, vec![a("x", 2)]),
        ok(3, (40, 50), vec![r("x", &[2, 1])]),
    ];
    assert_eq!(kinds(&h), vec!["G0-realtime"]);
}

#[test]
fn g1c_realtime_read_from_the_future() {
    let h = [
        ok(1, (0, 10), vec![r("y", &[2])]),
        ok(2, (20, 30), vec![a("y", 2)]),
    ];
    assert_eq!(kinds(&h), vec!["G1c-realtime"]);
}

#[test]
fn g2_realtime() {
    let h = [
        ok(1, (0, 10), vec![a("x", 1)]),
        ok(2, (20, 30), vec![r("y", &[])]),
        ok(3, (0, 50), vec![r("x", &[]), a("y", 3)]),
        ok(4, (60, 70), vec![r("x", &[1]), r("y", &[3])]),
    ];
    assert_eq!(kinds(&h), vec!["G2-realtime"]);
}

#[test]
fn incompatible_orders() {
    let h = [
        ok(1, (0, 10), vec![a("x", 1)]),
        ok(2, (0, 10), vec![a("x", 2)]),
        ok(3, (0, 10), vec![a("x", 3)]),
        ok(4, (20, 30), vec![r("x", &[1, 2])]),
        ok(5, (20, 30), vec![r("x", &[1, 3])]),
    ];
    assert_eq!(kinds(&h), vec!["incompatible-order"]);
}

#[test]
fn duplicated_append() {
    let h = [
        ok(1, (0, 10), vec![a("x", 1)]),
        ok(2, (20, 30), vec![r("x", &[1, 1])]),
    ];
    assert_eq!(kinds(&h), vec!["duplicated-append"]);
}

#[test]
fn lost_append_but_not_an_unknown_one() {
    let h = [
        ok(1, (0, 10), vec![a("x", 1)]),
        txn(2, (0, 0), TxnOutcome::Unknown, vec![a("x", 2)]),
        ok(3, (20, 30), vec![r("x", &[])]),
    ];
    assert_eq!(kinds(&h), vec!["lost-append"]);
    // Without a read begun after the acknowledgement, nothing is lost yet.
    let h = [
        ok(1, (0, 10), vec![a("x", 1)]),
        ok(3, (5, 30), vec![r("x", &[])]),
    ];
    assert!(kinds(&h).is_empty());
}

#[test]
fn garbage_read() {
    let h = [ok(1, (0, 10), vec![r("x", &[42])])];
    assert_eq!(kinds(&h), vec!["garbage-read"]);
}

#[test]
fn internal_inconsistency() {
    let h = [ok(1, (0, 10), vec![r("x", &[]), a("x", 1), r("x", &[])])];
    assert_eq!(kinds(&h), vec!["internal"]);
}

#[test]
fn read_anomalies_are_capped_per_kind() {
    let h: Vec<AppendTxn> = (0..20)
        .map(|i| ok(i, (0, 10), vec![r("x", &[99])]))
        .collect();
    let report = check_appends(&h).unwrap();
    assert_eq!(report.anomalies.len(), READ_ANOMALIES_PER_KIND_MAX + 1);
    assert_eq!(
        report.anomalies.last().unwrap().explanation,
        "... and 12 more"
    );
}

#[test]
fn malformed_histories_are_errors() {
    let h = [
        ok(1, (0, 10), vec![a("x", 1)]),
        ok(2, (0, 10), vec![a("x", 1)]),
    ];
    assert_eq!(
        check_appends(&h).unwrap_err(),
        CheckerError::DuplicateAppend {
            key: "x".into(),
            value: 1
        }
    );
    let h = [ok(1, (10, 5), vec![a("x", 1)])];
    assert!(matches!(
        check_appends(&h),
        Err(CheckerError::CompletesBeforeInvoke { id: 1, .. })
    ));
}

/// How a generated transaction ends.
#[derive(Clone, Copy, Debug)]
enum Fate {
    Committed,
    Aborted,
    UnknownApplied,
    UnknownLost,
}

fn fate() -> impl Strategy<Value = Fate> {
    prop_oneof![
        6 => Just(Fate::Committed),
        1 => Just(Fate::Aborted),
        1 => Just(Fate::UnknownApplied),
        1 => Just(Fate::UnknownLost),
    ]
}

proptest! {
    /// A serial execution, each transaction taking effect at its own
    /// instant inside an interval that may overlap its neighbours', is
    /// strictly serializable whatever the outcomes recorded.
    #[test]
    fn serial_executions_pass(
        plan in prop::collection::vec(
            (prop::collection::vec((any::<bool>(), 0..3usize), 1..5), fate(), 0..40u64, 0..40u64),
            1..40,
        )
    ) {
        let keys = ["x", "y", "z"];
        let mut state: Vec<Vec<u64>> = vec![vec![]; 3];
        let mut next = 1u64;
        let mut h = Vec::new();
        for (i, (mops, fate, before, after)) in plan.into_iter().enumerate() {
            let at = 100 + 10 * i as u64;
            let applies = matches!(fate, Fate::Committed | Fate::UnknownApplied);
            let mut local = state.clone();
            let mut recorded = Vec::new();
            for (is_append, k) in mops {
                if is_append {
                    local[k].push(next);
                    recorded.push(a(keys[k], next));
                    next += 1;
                } else {
                    let known = matches!(fate, Fate::Committed);
                    recorded.push(Mop::Read {
                        key: keys[k].into(),
                        list: known.then(|| local[k].clone()),
                    });
                }
            }
            if applies {
                state = local;
            }
            let outcome = match fate {
                Fate::Committed => TxnOutcome::Committed,
                Fate::Aborted => TxnOutcome::Aborted,
                Fate::UnknownApplied | Fate::UnknownLost => TxnOutcome::Unknown,
            };
            h.push(txn(i as u64, (at - before, at + after), outcome, recorded));
        }
        let report = check_appends(&h).unwrap();
        prop_assert!(report.ok(), "{:?}", report.anomalies);
    }
}

#[test]
fn a_large_cyclic_history_is_explained_within_the_bounds() {
    // Appends to x one after another, each followed by a read that lags
    // half the history behind: one huge component of realtime cycles.
    let n = 1500u64;
    let mut h = Vec::new();
    for i in 1..=n {
        h.push(ok(2 * i, (10 * i, 10 * i + 4), vec![a("x", i)]));
        let seen: Vec<u64> = (1..=i / 2).collect();
        h.push(ok(2 * i + 1, (10 * i + 5, 10 * i + 9), vec![r("x", &seen)]));
    }
    h.push(ok(
        1,
        (10 * n + 20, 10 * n + 30),
        vec![r("x", &(1..=n).collect::<Vec<_>>())],
    ));
    let report = check_appends(&h).unwrap();
    // {T2, T3} alone (the only read of nothing), then everything else.
    assert_eq!(report.cyclic_components, 2);
    let kinds: Vec<&str> = report.anomalies.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, vec!["G-single-realtime"; 2]);
    for an in &report.anomalies {
        assert!(an.txns.len() <= 4, "{}", an.explanation);
    }
}
