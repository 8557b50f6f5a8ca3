//! Txn compares (etcd's applyCompare / compareKV).
//!
//! A compare names a key or a range; it holds if every key-value in it
//! satisfies the comparison. An empty range compares a zero key-value
//! (version 0, revisions 0, lease 0), except for `VALUE`, which then fails:
//! a missing value cannot equal anything. The target's value comes from the
//! union field matching the target; a mismatched or absent field compares as
//! zero / empty. Unknown targets compare equal; unknown results hold.

use std::cmp::Ordering;

use etcd_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_proto::etcdserverpb::Compare;
use etcd_proto::mvccpb::KeyValue;

use crate::error::MvccError;
use crate::key_range::KeyRange;
use crate::view::View;

/// Evaluates `c` against `view`.
pub(crate) fn holds(view: &View<'_>, c: &Compare) -> Result<bool, MvccError> {
    let kvs = view.kvs(KeyRange::new(&c.key, &c.range_end))?;
    if kvs.is_empty() {
        if c.target == CompareTarget::Value as i32 {
            return Ok(false);
        }
        return Ok(compare_kv(c, &KeyValue::default()));
    }
    Ok(kvs.iter().all(|kv| compare_kv(c, kv)))
}

/// Evaluates `c` against one key-value.
pub(crate) fn compare_kv(c: &Compare, kv: &KeyValue) -> bool {
    let order = match CompareTarget::try_from(c.target) {
        Ok(CompareTarget::Value) => {
            let want: &[u8] = match &c.target_union {
                Some(TargetUnion::Value(v)) => v,
                _ => &[],
            };
            kv.value.as_slice().cmp(want)
        }
        Ok(CompareTarget::Create) => kv
            .create_revision
            .cmp(&int_target(c, CompareTarget::Create)),
        Ok(CompareTarget::Mod) => kv.mod_revision.cmp(&int_target(c, CompareTarget::Mod)),
        Ok(CompareTarget::Version) => kv.version.cmp(&int_target(c, CompareTarget::Version)),
        Ok(CompareTarget::Lease) => kv.lease.cmp(&int_target(c, CompareTarget::Lease)),
        Err(_) => Ordering::Equal,
    };
    match CompareResult::try_from(c.result) {
        Ok(CompareResult::Equal) => order == Ordering::Equal,
        Ok(CompareResult::NotEqual) => order != Ordering::Equal,
        Ok(CompareResult::Greater) => order == Ordering::Greater,
        Ok(CompareResult::Less) => order == Ordering::Less,
        Err(_) => true,
    }
}

/// The integer operand for `target`, 0 if the union holds another field.
fn int_target(c: &Compare, target: CompareTarget) -> i64 {
    match (target, &c.target_union) {
        (CompareTarget::Create, Some(TargetUnion::CreateRevision(v)))
        | (CompareTarget::Mod, Some(TargetUnion::ModRevision(v)))
        | (CompareTarget::Version, Some(TargetUnion::Version(v)))
        | (CompareTarget::Lease, Some(TargetUnion::Lease(v))) => *v,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(target: CompareTarget, result: CompareResult, u: Option<TargetUnion>) -> Compare {
        Compare {
            result: result as i32,
            target: target as i32,
            key: b"k".to_vec(),
            range_end: vec![],
            target_union: u,
        }
    }

    #[test]
    fn every_target_and_result() {
        let kv = KeyValue {
            key: b"k".to_vec(),
            create_revision: 2,
            mod_revision: 5,
            version: 3,
            value: b"m".to_vec(),
            lease: 7,
        };
        use CompareResult::*;
        use CompareTarget as T;
        let cases = [
            (T::Version, Equal, TargetUnion::Version(3), true),
            (T::Version, Greater, TargetUnion::Version(2), true),
            (T::Version, Less, TargetUnion::Version(3), false),
            (T::Create, Equal, TargetUnion::CreateRevision(2), true),
            (T::Create, NotEqual, TargetUnion::CreateRevision(2), false),
            (T::Mod, Less, TargetUnion::ModRevision(6), true),
            (T::Mod, Greater, TargetUnion::ModRevision(5), false),
            (T::Value, Equal, TargetUnion::Value(b"m".to_vec()), true),
            (T::Value, Greater, TargetUnion::Value(b"a".to_vec()), true),
            (T::Value, Less, TargetUnion::Value(b"ma".to_vec()), true),
            (T::Lease, Equal, TargetUnion::Lease(7), true),
            (T::Lease, NotEqual, TargetUnion::Lease(0), true),
        ];
        for (t, r, u, want) in cases {
            assert_eq!(
                compare_kv(&cmp(t, r, Some(u.clone())), &kv),
                want,
                "{t:?} {r:?} {u:?}"
            );
        }
    }

    #[test]
    fn mismatched_union_compares_as_zero() {
        let kv = KeyValue {
            mod_revision: 5,
            ..Default::default()
        };
        let c = cmp(
            CompareTarget::Mod,
            CompareResult::Greater,
            Some(TargetUnion::Version(100)),
        );
        assert!(compare_kv(&c, &kv));
        let c = cmp(CompareTarget::Value, CompareResult::Equal, None);
        assert!(compare_kv(&c, &KeyValue::default()));
    }
}
