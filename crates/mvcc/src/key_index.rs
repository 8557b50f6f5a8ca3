//! The history of one key: generations of revisions (etcd's keyIndex).
//!
//! A generation is one life of the key: it starts with the put that created
//! the key and, unless it is the last generation, ends with the tombstone
//! that deleted it. A deleted key therefore ends with an empty generation.
//!
//! Invariants (asserted):
//! - revisions only grow: every put/tombstone is newer than `modified`;
//! - every generation but the last is non-empty and ends with a tombstone;
//! - a key index is dropped from the tree once compaction empties it.

use std::collections::HashSet;

use crate::revision::Revision;

/// One life of a key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generation {
    /// Number of puts (and the tombstone) in this generation, including
    /// compacted ones: the key's version at the last revision.
    pub ver: i64,
    /// Revision of the put that created the key.
    pub created: Revision,
    /// Remaining revisions, oldest first.
    pub revs: Vec<Revision>,
}

impl Generation {
    fn is_empty(&self) -> bool {
        self.revs.is_empty()
    }

    /// Index of the newest revision with `main <= at_rev`.
    fn newest_at_or_before(&self, at_rev: i64) -> Option<usize> {
        self.revs.iter().rposition(|r| r.main <= at_rev)
    }
}

/// What a key looked like at some revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyAt {
    /// Revision of the change visible at that point.
    pub modified: Revision,
    /// Revision that created the key's current life.
    pub created: Revision,
    /// The key's version then.
    pub version: i64,
}

/// The history of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyIndex {
    modified: Revision,
    generations: Vec<Generation>,
}

impl Default for KeyIndex {
    fn default() -> Self {
        KeyIndex::new()
    }
}

impl KeyIndex {
    /// An index with no history.
    pub fn new() -> KeyIndex {
        KeyIndex {
            modified: Revision::default(),
            generations: vec![Generation::default()],
        }
    }

    /// The generations, oldest first (for tests and diagnostics).
    pub fn generations(&self) -> &[Generation] {
        &self.generations
    }

    /// The revision of the last change.
    pub fn modified(&self) -> Revision {
        self.modified
    }

    /// True if no revision is left.
    pub fn is_empty(&self) -> bool {
        self.generations.len() == 1 && self.generations[0].is_empty()
    }

    /// Records a put at `rev`.
    pub fn put(&mut self, rev: Revision) {
        assert!(
            rev > self.modified,
            "put at {rev:?} not after last change {:?}",
            self.modified
        );
        let g = self
            .generations
            .last_mut()
            .expect("at least one generation");
        if g.revs.is_empty() {
            g.created = rev;
        }
        g.revs.push(rev);
        g.ver += 1;
        self.modified = rev;
    }

    /// Seeds an empty index from a compacted history: the key was created at
    /// `created`, last changed at `modified`, and has version `ver`.
    pub fn restore(&mut self, created: Revision, modified: Revision, ver: i64) {
        assert!(
            self.is_empty() && self.modified == Revision::default(),
            "restore into a used key index"
        );
        self.modified = modified;
        self.generations = vec![Generation {
            ver,
            created,
            revs: vec![modified],
        }];
    }

    /// Records a delete at `rev`. Returns false (and changes nothing) if the
    /// key is not live.
    pub fn tombstone(&mut self, rev: Revision) -> bool {
        if self
            .generations
            .last()
            .expect("at least one generation")
            .is_empty()
        {
            return false;
        }
        self.put(rev);
        self.generations.push(Generation::default());
        true
    }

    /// The key as of `at_rev`, or `None` if it did not exist then.
    pub fn get(&self, at_rev: i64) -> Option<KeyAt> {
        let g = self.find_generation(at_rev)?;
        let n = g.newest_at_or_before(at_rev)?;
        Some(KeyAt {
            modified: g.revs[n],
            created: g.created,
            version: g.ver - (g.revs.len() - n - 1) as i64,
        })
    }

    /// Every revision with `main >= rev`, keeping only the last change per
    /// main revision, oldest first.
    pub fn since(&self, rev: i64) -> Vec<Revision> {
        let since = Revision::new(rev, 0);
        // Start at the newest generation created before `since`.
        let mut gi = self.generations.len() - 1;
        while gi > 0 {
            let g = &self.generations[gi];
            if !g.is_empty() && since > g.created {
                break;
            }
            gi -= 1;
        }
        let mut out: Vec<Revision> = Vec::new();
        for g in &self.generations[gi..] {
            for &r in &g.revs {
                if since > r {
                    continue;
                }
                match out.last_mut() {
                    Some(last) if last.main == r.main => *last = r,
                    _ => out.push(r),
                }
            }
        }
        out
    }

    /// Drops revisions made obsolete by a compaction at `at_rev`: all but the
    /// newest revision `<= at_rev` of the generation alive at `at_rev`, and
    /// whole generations that ended by then. Revisions that must stay in the
    /// backend are added to `keep`.
    pub fn compact(&mut self, at_rev: i64, keep: &mut HashSet<Revision>) {
        assert!(!self.is_empty(), "compact on an empty key index");
        let (mut gen_idx, rev_idx) = self.compaction_point(at_rev, keep);
        let last = self.generations.len() - 1;
        let g = &mut self.generations[gen_idx];
        if !g.is_empty() {
            if let Some(i) = rev_idx {
                g.revs.drain(..i);
            }
            if g.revs.len() == 1 && gen_idx != last {
                keep.remove(&g.revs[0]);
                gen_idx += 1;
            }
        }
        self.generations.drain(..gen_idx);
    }

    /// Adds to `keep` the revisions a compaction at `at_rev` would keep,
    /// without changing anything.
    pub fn keep(&self, at_rev: i64, keep: &mut HashSet<Revision>) {
        if self.is_empty() {
            return;
        }
        // The search must not leave its candidate in `keep` when the kept
        // revision would be the closing tombstone of an ended generation.
        let (gen_idx, rev_idx) = self.compaction_point(at_rev, keep);
        let g = &self.generations[gen_idx];
        if let Some(i) = rev_idx {
            if i == g.revs.len() - 1 && gen_idx != self.generations.len() - 1 {
                keep.remove(&g.revs[i]);
            }
        }
    }

    /// The generation alive at `at_rev` (the first one not ended by then, or
    /// the last) and the index in it of its newest revision `<= at_rev`, which
    /// is added to `keep`.
    fn compaction_point(
        &self,
        at_rev: i64,
        keep: &mut HashSet<Revision>,
    ) -> (usize, Option<usize>) {
        let mut gen_idx = 0;
        while gen_idx < self.generations.len() - 1 {
            let g = &self.generations[gen_idx];
            let tomb = g.revs.last().expect("ended generations are not empty");
            if tomb.main > at_rev {
                break;
            }
            gen_idx += 1;
        }
        let rev_idx = self.generations[gen_idx].newest_at_or_before(at_rev);
        if let Some(i) = rev_idx {
            keep.insert(self.generations[gen_idx].revs[i]);
        }
        (gen_idx, rev_idx)
    }

    /// The generation holding the key's state at `rev`, if the key was alive.
    fn find_generation(&self, rev: i64) -> Option<&Generation> {
        let last = self.generations.len() - 1;
        for (i, g) in self.generations.iter().enumerate().rev() {
            let (Some(first), Some(end)) = (g.revs.first(), g.revs.last()) else {
                continue;
            };
            if i != last && end.main <= rev {
                // The key had been deleted by `rev`.
                return None;
            }
            if first.main <= rev {
                return Some(g);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(main: i64) -> Revision {
        Revision::new(main, 0)
    }

    /// puts at 2, 4, 6; tombstone at 8; puts at 10, 12; tombstone 14; put 16.
    fn sample() -> KeyIndex {
        let mut ki = KeyIndex::new();
        for m in [2, 4, 6] {
            ki.put(r(m));
        }
        assert!(ki.tombstone(r(8)));
        ki.put(r(10));
        ki.put(r(12));
        assert!(ki.tombstone(r(14)));
        ki.put(r(16));
        ki
    }

    #[test]
    fn generations_and_versions() {
        let ki = sample();
        let g = ki.generations();
        assert_eq!(g.len(), 3);
        assert_eq!(g[0].revs, vec![r(2), r(4), r(6), r(8)]);
        assert_eq!((g[0].ver, g[0].created), (4, r(2)));
        assert_eq!(g[1].revs, vec![r(10), r(12), r(14)]);
        assert_eq!(g[2].revs, vec![r(16)]);
        assert_eq!(ki.modified(), r(16));
    }

    #[test]
    fn get_at_each_revision() {
        let ki = sample();
        // (at, Some((modified, created, version)))
        type Case = (i64, Option<(i64, i64, i64)>);
        let want: &[Case] = &[
            (1, None),
            (2, Some((2, 2, 1))),
            (3, Some((2, 2, 1))),
            (5, Some((4, 2, 2))),
            (7, Some((6, 2, 3))),
            (8, None),
            (9, None),
            (10, Some((10, 10, 1))),
            (13, Some((12, 10, 2))),
            (14, None),
            (15, None),
            (16, Some((16, 16, 1))),
            (100, Some((16, 16, 1))),
        ];
        for &(at, exp) in want {
            let got = ki
                .get(at)
                .map(|k| (k.modified.main, k.created.main, k.version));
            assert_eq!(got, exp, "at {at}");
        }
    }

    #[test]
    fn tombstone_of_deleted_key_fails() {
        let mut ki = KeyIndex::new();
        ki.put(r(2));
        assert!(ki.tombstone(r(3)));
        assert!(!ki.tombstone(r(4)));
        assert_eq!(ki.modified(), r(3));
    }

    #[test]
    #[should_panic(expected = "not after last change")]
    fn put_must_move_forward() {
        let mut ki = KeyIndex::new();
        ki.put(r(5));
        ki.put(r(5));
    }

    #[test]
    fn since_keeps_last_sub_per_main() {
        let mut ki = KeyIndex::new();
        ki.put(Revision::new(2, 0));
        ki.put(Revision::new(2, 1));
        ki.put(Revision::new(3, 0));
        assert!(ki.tombstone(Revision::new(4, 0)));
        ki.put(Revision::new(5, 0));
        assert_eq!(ki.since(2), vec![Revision::new(2, 1), r(3), r(4), r(5)]);
        assert_eq!(ki.since(4), vec![r(4), r(5)]);
        assert_eq!(ki.since(6), vec![]);
    }

    fn compacted(at: i64) -> (KeyIndex, HashSet<Revision>) {
        let mut ki = sample();
        let mut keep = HashSet::new();
        ki.compact(at, &mut keep);
        (ki, keep)
    }

    #[test]
    fn compact_inside_a_generation_keeps_the_newest_older_revision() {
        let (ki, keep) = compacted(5);
        assert_eq!(ki.generations()[0].revs, vec![r(4), r(6), r(8)]);
        assert_eq!(ki.generations()[0].ver, 4, "version survives compaction");
        assert_eq!(keep, HashSet::from([r(4)]));
        assert_eq!(ki.get(5).map(|k| k.version), Some(2));
    }

    #[test]
    fn compact_at_tombstone_drops_the_generation_and_the_tombstone() {
        let (ki, keep) = compacted(8);
        assert_eq!(ki.generations().len(), 2);
        assert_eq!(ki.generations()[0].revs, vec![r(10), r(12), r(14)]);
        assert!(keep.is_empty(), "the tombstone is not kept: {keep:?}");
        let (ki, keep) = compacted(9);
        assert_eq!(ki.generations()[0].revs, vec![r(10), r(12), r(14)]);
        assert!(keep.is_empty());
    }

    #[test]
    fn compact_everything_but_the_live_revision() {
        let (ki, keep) = compacted(16);
        assert_eq!(ki.generations().len(), 1);
        assert_eq!(ki.generations()[0].revs, vec![r(16)]);
        assert_eq!(keep, HashSet::from([r(16)]));
    }

    #[test]
    fn compact_of_deleted_key_empties_it() {
        let mut ki = KeyIndex::new();
        ki.put(r(2));
        ki.put(r(3));
        assert!(ki.tombstone(r(4)));
        let mut keep = HashSet::new();
        ki.compact(3, &mut keep);
        assert_eq!(keep, HashSet::from([r(3)]));
        assert!(!ki.is_empty());
        let mut keep = HashSet::new();
        ki.compact(4, &mut keep);
        assert!(ki.is_empty());
        assert!(keep.is_empty());
    }

    #[test]
    fn keep_matches_compact_without_changing_anything() {
        for at in 1..18 {
            let ki = sample();
            let mut kept = HashSet::new();
            ki.keep(at, &mut kept);
            assert_eq!(ki, sample());
            let (_, compact_keep) = compacted(at);
            assert_eq!(kept, compact_keep, "at {at}");
        }
    }

    #[test]
    fn restore_seeds_a_compacted_history() {
        let mut ki = KeyIndex::new();
        ki.restore(Revision::new(3, 0), Revision::new(7, 1), 4);
        let at = ki.get(7).unwrap();
        assert_eq!(
            (at.created.main, at.modified, at.version),
            (3, Revision::new(7, 1), 4)
        );
        ki.put(r(9));
        assert_eq!(ki.get(9).unwrap().version, 5);
    }
}
