//! The Range request: etcd's `applyRange` semantics.
//!
//! Order of steps (it decides what `count` and `more` mean):
//! 1. resolve the revision (future → `FutureRev`, below compaction → `Compacted`);
//! 2. collect the revisions of all matching keys from the index; `count` is
//!    their number, before any filter;
//! 3. `count_only` stops here;
//! 4. read the key-values: all of them if sorting or filtering, else
//!    `limit + 1` (the extra one decides `more`);
//! 5. drop those outside the min/max mod/create revision filters;
//! 6. sort (order `NONE` with a target other than `KEY` means ascending;
//!    `ASCEND` by `KEY` is the natural order); ties keep key order;
//! 7. truncate to `limit`, setting `more` if anything was cut;
//! 8. `keys_only` clears the values.

use std::cmp::Ordering;

use etcd_proto::etcdserverpb::range_request::{SortOrder, SortTarget};
use etcd_proto::etcdserverpb::{RangeRequest, RangeResponse, ResponseHeader};
use etcd_proto::mvccpb::KeyValue;

use crate::error::MvccError;
use crate::key_range::KeyRange;
use crate::view::View;

/// Serves `req` from `view`. The header carries only the revision.
pub(crate) fn range(view: &View<'_>, req: &RangeRequest) -> Result<RangeResponse, MvccError> {
    crate::metrics::count(&crate::metrics::RANGE_TOTAL, 1);
    let rev = view.resolve_rev(req.revision)?;
    let revs = view
        .index
        .revisions(KeyRange::new(&req.key, &req.range_end), rev);
    let mut resp = RangeResponse {
        header: Some(ResponseHeader {
            revision: view.rev,
            ..Default::default()
        }),
        count: revs.len() as i64,
        ..Default::default()
    };
    if req.count_only || revs.is_empty() {
        return Ok(resp);
    }
    let order = req.sort_order();
    let target = req.sort_target();
    let filtered = req.min_mod_revision != 0
        || req.max_mod_revision != 0
        || req.min_create_revision != 0
        || req.max_create_revision != 0;
    let fetch = if order != SortOrder::None || filtered || req.limit <= 0 {
        revs.len()
    } else {
        revs.len().min(req.limit as usize + 1)
    };
    let mut kvs = view.read_kvs(&revs[..fetch])?;
    if filtered {
        kvs.retain(|kv| keep_by_filters(req, kv));
    }
    sort(&mut kvs, order, target);
    if req.limit > 0 && kvs.len() > req.limit as usize {
        kvs.truncate(req.limit as usize);
        resp.more = true;
    }
    if req.keys_only {
        for kv in &mut kvs {
            kv.value = Vec::new();
        }
    }
    resp.kvs = kvs;
    Ok(resp)
}

fn keep_by_filters(req: &RangeRequest, kv: &KeyValue) -> bool {
    !(req.max_mod_revision != 0 && kv.mod_revision > req.max_mod_revision
        || req.min_mod_revision != 0 && kv.mod_revision < req.min_mod_revision
        || req.max_create_revision != 0 && kv.create_revision > req.max_create_revision
        || req.min_create_revision != 0 && kv.create_revision < req.min_create_revision)
}

/// Sorts key-ordered `kvs` as the request asks (stable: ties keep key order).
fn sort(kvs: &mut [KeyValue], order: SortOrder, target: SortTarget) {
    let order = match (order, target) {
        (SortOrder::None, SortTarget::Key) => return,
        (SortOrder::None, _) => SortOrder::Ascend,
        (o, _) => o,
    };
    let cmp = |a: &KeyValue, b: &KeyValue| -> Ordering {
        match target {
            SortTarget::Key => a.key.cmp(&b.key),
            SortTarget::Version => a.version.cmp(&b.version),
            SortTarget::Create => a.create_revision.cmp(&b.create_revision),
            SortTarget::Mod => a.mod_revision.cmp(&b.mod_revision),
            SortTarget::Value => a.value.cmp(&b.value),
        }
    };
    match (order, target) {
        (SortOrder::Ascend, SortTarget::Key) => {}
        (SortOrder::Descend, SortTarget::Key) => kvs.reverse(),
        (SortOrder::Descend, _) => kvs.sort_by(|a, b| cmp(b, a)),
        _ => kvs.sort_by(cmp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, version: i64, create: i64, modr: i64, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            version,
            create_revision: create,
            mod_revision: modr,
            value: value.into(),
            lease: 0,
        }
    }

    fn keys(kvs: &[KeyValue]) -> String {
        kvs.iter()
            .map(|k| String::from_utf8_lossy(&k.key).into_owned())
            .collect()
    }

    #[test]
    fn sort_targets_and_orders() {
        let base = vec![
            kv("a", 3, 5, 9, "z"),
            kv("b", 1, 2, 7, "y"),
            kv("c", 2, 2, 8, "x"),
        ];
        let cases = [
            (SortOrder::None, SortTarget::Key, "abc"),
            (SortOrder::Ascend, SortTarget::Key, "abc"),
            (SortOrder::Descend, SortTarget::Key, "cba"),
            (SortOrder::None, SortTarget::Version, "bca"),
            (SortOrder::Descend, SortTarget::Version, "acb"),
            (SortOrder::Ascend, SortTarget::Create, "bca"),
            (SortOrder::Descend, SortTarget::Create, "abc"),
            (SortOrder::Ascend, SortTarget::Mod, "bca"),
            (SortOrder::Ascend, SortTarget::Value, "cba"),
            (SortOrder::Descend, SortTarget::Value, "abc"),
        ];
        for (order, target, want) in cases {
            let mut kvs = base.clone();
            sort(&mut kvs, order, target);
            assert_eq!(keys(&kvs), want, "{order:?} {target:?}");
        }
    }

    #[test]
    fn filters() {
        let req = RangeRequest {
            min_mod_revision: 8,
            max_create_revision: 4,
            ..Default::default()
        };
        let all = [
            kv("a", 1, 5, 9, ""),
            kv("b", 1, 2, 7, ""),
            kv("c", 1, 2, 8, ""),
        ];
        let kept: Vec<_> = all
            .iter()
            .filter(|k| keep_by_filters(&req, k))
            .cloned()
            .collect();
        assert_eq!(keys(&kept), "c");
    }
}
