//! The in-memory index: key → [`KeyIndex`], ordered by key (etcd's treeIndex).
//!
//! It answers "which revision holds key K as of revision R" without touching
//! the backend. It is rebuilt from the backend on open and mutated only by the
//! single writer, under the store's write lock.

use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;

use crate::key_index::{KeyAt, KeyIndex};
use crate::key_range::KeyRange;
use crate::revision::Revision;

/// The key index of the whole store.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TreeIndex {
    keys: BTreeMap<Vec<u8>, KeyIndex>,
}

impl TreeIndex {
    /// Number of keys with any history left.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True if no key has history.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The history of one key.
    pub fn key_index(&self, key: &[u8]) -> Option<&KeyIndex> {
        self.keys.get(key)
    }

    /// Records a put of `key` at `rev`.
    pub fn put(&mut self, key: &[u8], rev: Revision) {
        match self.keys.get_mut(key) {
            Some(ki) => ki.put(rev),
            None => {
                let mut ki = KeyIndex::new();
                ki.put(rev);
                self.keys.insert(key.to_vec(), ki);
            }
        }
    }

    /// Seeds `key` with a compacted history (used when rebuilding).
    pub fn restore(&mut self, key: &[u8], created: Revision, modified: Revision, ver: i64) {
        let mut ki = KeyIndex::new();
        ki.restore(created, modified, ver);
        let old = self.keys.insert(key.to_vec(), ki);
        assert!(old.is_none(), "restore of a key already indexed");
    }

    /// An index of `keys` (in any order); rebuilding collects key histories
    /// in a hash map first (one hash lookup per revision) and sorts once here.
    pub(crate) fn from_unsorted(keys: impl IntoIterator<Item = (Vec<u8>, KeyIndex)>) -> TreeIndex {
        TreeIndex { keys: keys.into_iter().collect() }
    }

    /// Records a delete of `key` at `rev`; false if the key is not live.
    pub fn tombstone(&mut self, key: &[u8], rev: Revision) -> bool {
        self.keys.get_mut(key).is_some_and(|ki| ki.tombstone(rev))
    }

    /// `key` as of `at_rev`.
    pub fn get(&self, key: &[u8], at_rev: i64) -> Option<KeyAt> {
        self.keys.get(key)?.get(at_rev)
    }

    /// Visits, in key order, every key of `range` alive at `at_rev`.
    pub fn visit<'a>(
        &'a self,
        range: KeyRange<'_>,
        at_rev: i64,
        mut f: impl FnMut(&'a [u8], KeyAt),
    ) {
        match range {
            KeyRange::Single(key) => {
                if let Some((k, ki)) = self.keys.get_key_value(key) {
                    if let Some(at) = ki.get(at_rev) {
                        f(k, at);
                    }
                }
            }
            KeyRange::Span { start, end } => {
                if end.is_some_and(|e| e <= start) {
                    return;
                }
                let upper = end.map_or(Bound::Unbounded, Bound::Excluded);
                for (k, ki) in self.keys.range::<[u8], _>((Bound::Included(start), upper)) {
                    if let Some(at) = ki.get(at_rev) {
                        f(k, at);
                    }
                }
            }
        }
    }

    /// Revisions of the keys of `range` alive at `at_rev`, in key order.
    pub fn revisions(&self, range: KeyRange<'_>, at_rev: i64) -> Vec<Revision> {
        let mut out = Vec::new();
        self.visit(range, at_rev, |_, at| out.push(at.modified));
        out
    }

    /// Keys of `range` alive at `at_rev` with their revisions, in key order.
    pub fn keys(&self, range: KeyRange<'_>, at_rev: i64) -> Vec<(Vec<u8>, Revision)> {
        let mut out = Vec::new();
        self.visit(range, at_rev, |k, at| out.push((k.to_vec(), at.modified)));
        out
    }

    /// Compacts every key at `at_rev`, drops emptied keys, and returns the
    /// revisions `<= at_rev` that must stay in the backend.
    pub fn compact(&mut self, at_rev: i64) -> HashSet<Revision> {
        let mut keep = HashSet::new();
        self.keys.retain(|_, ki| {
            ki.compact(at_rev, &mut keep);
            !ki.is_empty()
        });
        keep
    }

    /// The revisions a compaction at `at_rev` would keep.
    pub fn keep(&self, at_rev: i64) -> HashSet<Revision> {
        let mut keep = HashSet::new();
        for ki in self.keys.values() {
            ki.keep(at_rev, &mut keep);
        }
        keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(main: i64) -> Revision {
        Revision::new(main, 0)
    }

    fn sample() -> TreeIndex {
        let mut t = TreeIndex::default();
        t.put(b"a", r(2));
        t.put(b"b", r(3));
        t.put(b"c", r(4));
        t.put(b"a", r(5));
        assert!(t.tombstone(b"b", r(6)));
        assert!(!t.tombstone(b"b", r(7)), "already deleted");
        assert!(!t.tombstone(b"zz", r(7)), "never existed");
        t
    }

    #[test]
    fn ranges_at_revisions() {
        let t = sample();
        let all = KeyRange::new(b"a", b"\0");
        assert_eq!(t.revisions(all, 1), vec![]);
        assert_eq!(t.revisions(all, 4), vec![r(2), r(3), r(4)]);
        assert_eq!(t.revisions(all, 6), vec![r(5), r(4)]);
        assert_eq!(t.revisions(KeyRange::new(b"b", b"c"), 3), vec![r(3)]);
        assert_eq!(t.revisions(KeyRange::new(b"c", b"b"), 6), vec![]);
        assert_eq!(t.revisions(KeyRange::new(b"a", b""), 4), vec![r(2)]);
        let keys: Vec<_> = t.keys(all, 6).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![b"a".to_vec(), b"c".to_vec()]);
    }

    #[test]
    fn compaction_drops_deleted_keys() {
        let mut t = sample();
        let keep = t.compact(6);
        assert_eq!(keep, HashSet::from([r(5), r(4)]));
        assert_eq!(t.len(), 2);
        assert!(t.key_index(b"b").is_none());
        assert_eq!(t.get(b"a", 6).unwrap().version, 2);
    }
}
