//! Property tests: histories generated from a real sequential execution
//! (with random overlaps and timeouts) are linearizable; corrupting one
//! read into a value never written at that point is caught.

use etcd_checker::{check_linearizable, Bounds, Guard, Input, Op, Outcome, Output};
use proptest::prelude::*;

/// Executes `script` sequentially on a register, assigning each op an
/// instant; ops get random invoke/complete windows around their instant.
fn history(script: &[(u8, u8, u64, u64, bool)]) -> Vec<Op> {
    let mut value: Option<(String, i64)> = None;
    let mut rev = 1i64;
    let mut ops = Vec::new();
    for (i, &(kind, _, before, after, timeout)) in script.iter().enumerate() {
        let at = (i as u64 + 1) * 100;
        let key = "k".to_string();
        let new = format!("v{i}");
        let (input, output) = match kind % 4 {
            0 => (Input::Get { key }, Output::Get(value.clone())),
            1 => {
                rev += 1;
                value = Some((new.clone(), rev));
                (Input::Put { key, value: new }, Output::Put { rev })
            }
            2 => {
                let g = value.as_ref().map_or(0, |v| v.1);
                let guard = if i % 3 == 0 { g + 1 } else { g };
                let ok = guard == g;
                if ok {
                    rev += 1;
                    value = Some((new.clone(), rev));
                }
                (
                    Input::Txn {
                        guards: vec![(key.clone(), Guard::ModRev(guard))],
                        puts: vec![(key, new)],
                    },
                    Output::Txn { succeeded: ok, rev },
                )
            }
            _ => {
                let deleted = value.is_some();
                if deleted {
                    rev += 1;
                }
                value = None;
                (Input::Delete { key }, Output::Delete { deleted, rev })
            }
        };
        let outcome = if timeout && input.is_write() {
            Outcome::Unknown
        } else {
            Outcome::Ok(output)
        };
        ops.push(Op {
            id: i as u64,
            client: i as u32,
            input,
            outcome,
            invoke_ns: at - before.min(99),
            complete_ns: at + after.min(99),
        });
    }
    ops
}

fn script() -> impl Strategy<Value = Vec<(u8, u8, u64, u64, bool)>> {
    prop::collection::vec(
        (
            0u8..4,
            0u8..4,
            0u64..250,
            0u64..250,
            prop::bool::weighted(0.1),
        ),
        1..40,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn real_executions_are_linearizable(s in script()) {
        let ops = history(&s);
        let r = check_linearizable(&ops, Bounds::default()).unwrap();
        prop_assert!(r.ok(), "{}", r.render());
    }

    #[test]
    fn a_read_of_a_value_never_written_fails(s in script(), pick in 0usize..40) {
        let mut ops = history(&s);
        let reads: Vec<usize> = (0..ops.len()).filter(|&i| matches!(ops[i].input, Input::Get { .. })).collect();
        prop_assume!(!reads.is_empty());
        let i = reads[pick % reads.len()];
        ops[i].outcome = Outcome::Ok(Output::Get(Some(("never".into(), 1))));
        let r = check_linearizable(&ops, Bounds::default()).unwrap();
        prop_assert!(!r.ok());
        prop_assert!(r.failures[0].minimal.len() <= ops.len());
    }
}
