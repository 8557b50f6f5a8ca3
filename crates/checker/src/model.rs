//! The sequential specification: a group of registers (keys) with etcd's
//! get / put / delete / guarded-txn semantics.
//!
//! The model is nondeterministic where the history is silent: an op whose
//! outcome is unknown has no output, so a put leaves the key's revision
//! [`Rev::Unknown`] (a wildcard that the next read or successful guard
//! pins down) and a txn may have succeeded or not. [`step`] therefore
//! returns every state the op may lead to (at most two).

use crate::history::{Guard, Input, Outcome, Output};

/// A key's `mod_revision` as far as the history tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rev {
    /// Known exactly (0 for an absent key).
    Known(i64),
    /// Written by an op whose answer was lost: some revision.
    Unknown,
}

/// One key's state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Cell {
    /// Value, None if the key is absent (then `rev` is `Known(0)`).
    pub value: Option<String>,
    /// Its `mod_revision`.
    pub rev: Rev,
}

impl Cell {
    /// An absent key.
    pub const ABSENT: Cell = Cell {
        value: None,
        rev: Rev::Known(0),
    };
}

/// The state of one group of keys: cells in the order of the group's keys.
pub type State = Vec<Cell>;

/// Maps a key to its slot in a group.
pub fn slot(keys: &[String], key: &str) -> usize {
    keys.iter()
        .position(|k| k == key)
        .expect("op key belongs to its group")
}

/// Whether `g` holds on `c`: Some(true/false) when decided, None when it
/// depends on an unknown revision.
fn guard_holds(c: &Cell, g: &Guard) -> Option<bool> {
    match g {
        Guard::Value(v) => Some(c.value.as_deref() == Some(v.as_str())),
        Guard::ModRev(r) => match c.rev {
            Rev::Known(k) => Some(k == *r),
            // An unknown-revision write made the key present with rev > 0.
            Rev::Unknown if *r == 0 => Some(false),
            Rev::Unknown => None,
        },
    }
}

/// The states `input` with `outcome` may lead to from `s` (empty: it
/// cannot be linearized here).
pub fn step(keys: &[String], s: &State, input: &Input, outcome: &Outcome) -> Vec<State> {
    let out = match outcome {
        Outcome::Ok(o) => Some(o),
        Outcome::Unknown => None,
        Outcome::Failed => return vec![s.clone()],
    };
    match (input, out) {
        (Input::Get { key }, Some(Output::Get(got))) => {
            let i = slot(keys, key);
            let c = &s[i];
            match (got, &c.value) {
                (None, None) => vec![s.clone()],
                (Some((v, r)), Some(cv)) if v == cv => match c.rev {
                    Rev::Known(k) if k == *r => vec![s.clone()],
                    Rev::Known(_) => vec![],
                    Rev::Unknown => {
                        let mut n = s.clone();
                        n[i].rev = Rev::Known(*r);
                        vec![n]
                    }
                },
                _ => vec![],
            }
        }
        (Input::Get { .. }, None) => vec![s.clone()],
        (Input::Put { key, value }, out) => {
            let rev = match out {
                Some(Output::Put { rev }) => Rev::Known(*rev),
                None => Rev::Unknown,
                Some(_) => return vec![],
            };
            if !rev_advances(s, &[key.as_str()], keys, rev) {
                return vec![];
            }
            let mut n = s.clone();
            n[slot(keys, key)] = Cell {
                value: Some(value.clone()),
                rev,
            };
            vec![n]
        }
        (Input::Delete { key }, out) => {
            let i = slot(keys, key);
            let present = s[i].value.is_some();
            match out {
                Some(Output::Delete { deleted, .. }) if *deleted != present => vec![],
                Some(Output::Delete { .. }) | None => {
                    let mut n = s.clone();
                    n[i] = Cell::ABSENT;
                    vec![n]
                }
                Some(_) => vec![],
            }
        }
        (Input::Txn { guards, puts }, out) => txn_step(keys, s, guards, puts, out),
        (Input::Get { .. }, Some(_)) => vec![],
    }
}

/// A write at a known revision must be newer than every known revision of
/// the keys it writes (revisions only grow).
fn rev_advances(s: &State, written: &[&str], keys: &[String], rev: Rev) -> bool {
    let Rev::Known(r) = rev else { return true };
    written
        .iter()
        .all(|k| !matches!(s[slot(keys, k)].rev, Rev::Known(old) if old >= r))
}

fn txn_step(
    keys: &[String],
    s: &State,
    guards: &[(String, Guard)],
    puts: &[(String, String)],
    out: Option<&Output>,
) -> Vec<State> {
    let (succeeded, rev) = match out {
        Some(Output::Txn { succeeded, rev }) => (Some(*succeeded), Rev::Known(*rev)),
        None => (None, Rev::Unknown),
        Some(_) => return vec![],
    };
    // Evaluate the guards: decided false, decided true, or undecided (some
    // guard compares an unknown revision).
    let mut all_true = true;
    let mut any_false = false;
    for (k, g) in guards {
        match guard_holds(&s[slot(keys, k)], g) {
            Some(true) => {}
            Some(false) => any_false = true,
            None => all_true = false,
        }
    }
    let can_succeed = !any_false;
    let can_fail = any_false || !all_true;
    let mut res = Vec::new();
    if can_succeed && succeeded != Some(false) {
        let written: Vec<&str> = puts.iter().map(|(k, _)| k.as_str()).collect();
        if rev_advances(s, &written, keys, rev) {
            let mut n = s.clone();
            // Success pins every undecided revision guard.
            for (k, g) in guards {
                if let Guard::ModRev(r) = g {
                    n[slot(keys, k)].rev = Rev::Known(*r);
                }
            }
            for (k, v) in puts {
                n[slot(keys, k)] = Cell {
                    value: Some(v.clone()),
                    rev,
                };
            }
            res.push(n);
        }
    }
    if can_fail && succeeded != Some(true) {
        res.push(s.clone());
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<String> {
        vec!["a".into()]
    }

    #[test]
    fn unknown_put_revision_is_pinned_by_a_read() {
        let s = vec![Cell::ABSENT];
        let put = Input::Put {
            key: "a".into(),
            value: "1".into(),
        };
        let n = step(&keys(), &s, &put, &Outcome::Unknown);
        assert_eq!(n.len(), 1);
        assert_eq!(n[0][0].rev, Rev::Unknown);
        let get = Input::Get { key: "a".into() };
        let r = step(
            &keys(),
            &n[0],
            &get,
            &Outcome::Ok(Output::Get(Some(("1".into(), 7)))),
        );
        assert_eq!(r[0][0].rev, Rev::Known(7));
    }

    #[test]
    fn unknown_cas_may_succeed_or_fail() {
        let s = vec![Cell {
            value: Some("x".into()),
            rev: Rev::Unknown,
        }];
        let cas = Input::Txn {
            guards: vec![("a".into(), Guard::ModRev(5))],
            puts: vec![("a".into(), "y".into())],
        };
        assert_eq!(step(&keys(), &s, &cas, &Outcome::Unknown).len(), 2);
        let ok = Outcome::Ok(Output::Txn {
            succeeded: true,
            rev: 9,
        });
        assert_eq!(step(&keys(), &s, &cas, &ok).len(), 1);
    }

    #[test]
    fn value_guard_fails_on_absent_key() {
        let s = vec![Cell::ABSENT];
        let cas = Input::Txn {
            guards: vec![("a".into(), Guard::Value("".into()))],
            puts: vec![("a".into(), "y".into())],
        };
        let ok = Outcome::Ok(Output::Txn {
            succeeded: true,
            rev: 9,
        });
        assert!(step(&keys(), &s, &cas, &ok).is_empty());
    }
}
