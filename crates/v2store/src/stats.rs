//! The counters of `/v2/stats/store`, in etcd's JSON field order, and the
//! rule that says which counter an operation bumps.
//!
//! Contract: [`Stats::record`] reproduces etcd 3.4's `v2store/store.go`
//! exactly, quirks included, because clients and dashboards compare the
//! numbers across versions:
//! - Each operation counts success or failure once, judged by a deferred
//!   check of a local `err` that some early returns never set. So these
//!   failures count as *successes*: `compareAndSwap` and `delete` on a
//!   read-only root (errorCode 107), `update` on a read-only root or with a
//!   value on a directory (107, 102), and `compareAndDelete` on a directory
//!   or whose comparison fails (102, 101).
//! - A `create` (also the in-order `POST`) whose path crosses a key (104,
//!   found while walking to the parent) also counts a failed *set*
//!   (`internalCreate` bumps `SetFail` there). `set` meets such a path in
//!   its own lookup first, so it counts one failure only.
//! - `expireCount` grows by one per node expired by a `SYNC`; `watchers`
//!   is the number of registered watchers when the stats are read.
//!
//! Where the counting happens is the caller's business: requests applied
//! through Raft (every write, quorum reads, membership bookkeeping in `/0`)
//! count on every member, plain reads only on the member serving them.

use serde::{Deserialize, Serialize};

use crate::error::{NOT_DIR, NOT_FILE, ROOT_READ_ONLY, TEST_FAILED};

/// Operation counters (successful and failed) of the store.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Stats {
    #[serde(rename = "getsSuccess")]
    pub gets_success: u64,
    #[serde(rename = "getsFail")]
    pub gets_fail: u64,
    #[serde(rename = "setsSuccess")]
    pub sets_success: u64,
    #[serde(rename = "setsFail")]
    pub sets_fail: u64,
    #[serde(rename = "deleteSuccess")]
    pub delete_success: u64,
    #[serde(rename = "deleteFail")]
    pub delete_fail: u64,
    #[serde(rename = "updateSuccess")]
    pub update_success: u64,
    #[serde(rename = "updateFail")]
    pub update_fail: u64,
    #[serde(rename = "createSuccess")]
    pub create_success: u64,
    #[serde(rename = "createFail")]
    pub create_fail: u64,
    #[serde(rename = "compareAndSwapSuccess")]
    pub compare_and_swap_success: u64,
    #[serde(rename = "compareAndSwapFail")]
    pub compare_and_swap_fail: u64,
    #[serde(rename = "compareAndDeleteSuccess")]
    pub compare_and_delete_success: u64,
    #[serde(rename = "compareAndDeleteFail")]
    pub compare_and_delete_fail: u64,
    #[serde(rename = "expireCount")]
    pub expire_count: u64,
    pub watchers: u64,
}

/// A counted store operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `Get` (plain or quorum read, membership lookups).
    Get,
    /// `Set`.
    Set,
    /// `Create` (also in-order `POST`).
    Create,
    /// `Update` (`prevExist=true`).
    Update,
    /// `CompareAndSwap`.
    CompareAndSwap,
    /// `Delete`.
    Delete,
    /// `CompareAndDelete`.
    CompareAndDelete,
}

impl Stats {
    /// Counts one `op` that ended with `error_code` (`None`: it succeeded),
    /// as etcd 3.4 counts it (see the module docs).
    pub fn record(&mut self, op: Op, error_code: Option<u32>) {
        let ok = match (op, error_code) {
            (_, None) => true,
            (Op::CompareAndSwap | Op::Delete, Some(ROOT_READ_ONLY)) => true,
            (Op::Update, Some(ROOT_READ_ONLY | NOT_FILE)) => true,
            (Op::CompareAndDelete, Some(NOT_FILE | TEST_FAILED)) => true,
            _ => false,
        };
        if op == Op::Create && error_code == Some(NOT_DIR) {
            self.sets_fail += 1;
        }
        let (success, fail) = match op {
            Op::Get => (&mut self.gets_success, &mut self.gets_fail),
            Op::Set => (&mut self.sets_success, &mut self.sets_fail),
            Op::Create => (&mut self.create_success, &mut self.create_fail),
            Op::Update => (&mut self.update_success, &mut self.update_fail),
            Op::CompareAndSwap => (
                &mut self.compare_and_swap_success,
                &mut self.compare_and_swap_fail,
            ),
            Op::Delete => (&mut self.delete_success, &mut self.delete_fail),
            Op::CompareAndDelete => (
                &mut self.compare_and_delete_success,
                &mut self.compare_and_delete_fail,
            ),
        };
        if ok {
            *success += 1;
        } else {
            *fail += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{DIR_NOT_EMPTY, KEY_NOT_FOUND, NODE_EXIST};

    fn after(op: Op, code: Option<u32>) -> Stats {
        let mut s = Stats::default();
        s.record(op, code);
        s
    }

    #[test]
    fn plain_outcomes_count_where_they_belong() {
        assert_eq!(after(Op::Get, None).gets_success, 1);
        assert_eq!(after(Op::Get, Some(KEY_NOT_FOUND)).gets_fail, 1);
        assert_eq!(after(Op::Set, Some(NOT_DIR)).sets_fail, 1);
        assert_eq!(after(Op::Create, Some(NODE_EXIST)).create_fail, 1);
        assert_eq!(after(Op::Delete, Some(DIR_NOT_EMPTY)).delete_fail, 1);
        assert_eq!(
            after(Op::CompareAndSwap, Some(TEST_FAILED)).compare_and_swap_fail,
            1
        );
        assert_eq!(
            after(Op::CompareAndDelete, Some(KEY_NOT_FOUND)).compare_and_delete_fail,
            1
        );
    }

    #[test]
    fn early_returns_count_as_successes_like_etcd() {
        assert_eq!(
            after(Op::CompareAndSwap, Some(ROOT_READ_ONLY)).compare_and_swap_success,
            1
        );
        assert_eq!(after(Op::Delete, Some(ROOT_READ_ONLY)).delete_success, 1);
        assert_eq!(after(Op::Update, Some(NOT_FILE)).update_success, 1);
        assert_eq!(
            after(Op::CompareAndDelete, Some(TEST_FAILED)).compare_and_delete_success,
            1
        );
        assert_eq!(
            after(Op::CompareAndDelete, Some(NOT_FILE)).compare_and_delete_success,
            1
        );
        // A CAS on a directory sets etcd's err first: a real failure.
        assert_eq!(
            after(Op::CompareAndSwap, Some(NOT_FILE)).compare_and_swap_fail,
            1
        );
    }

    #[test]
    fn create_through_a_key_also_fails_a_set() {
        let s = after(Op::Create, Some(NOT_DIR));
        assert_eq!((s.create_fail, s.sets_fail), (1, 1));
        let s = after(Op::Set, Some(NOT_DIR));
        assert_eq!((s.sets_fail, s.create_fail), (1, 0));
    }
}
