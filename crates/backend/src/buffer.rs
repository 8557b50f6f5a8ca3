//! The write buffer: applied-but-uncommitted writes, and the ordered merge of
//! buffer layers over the committed database.
//!
//! Contract: a put or delete is visible to every read issued after it returns,
//! whether or not it has been committed (etcd's txReadBuffer gives the same
//! guarantee). Reads therefore look at, in priority order: the pending buffer,
//! the buffer currently being committed (if any), then the database. A `None`
//! value in a buffer is a delete and hides anything below it.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Bound;

use crate::table::{Table, TABLE_COUNT};

/// One table's buffered writes: key → new value, or `None` for a delete.
pub(crate) type TableBuffer = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Buffered writes for all tables.
#[derive(Debug, Default)]
pub(crate) struct WriteBuffer {
    tables: [TableBuffer; TABLE_COUNT],
    /// Number of put/delete calls since the buffer was created.
    ops: usize,
}

impl WriteBuffer {
    /// Records a put.
    pub(crate) fn put(&mut self, t: Table, key: &[u8], value: &[u8]) {
        self.tables[t.index()].insert(key.to_vec(), Some(value.to_vec()));
        self.ops += 1;
    }

    /// Records a delete.
    pub(crate) fn delete(&mut self, t: Table, key: &[u8]) {
        self.tables[t.index()].insert(key.to_vec(), None);
        self.ops += 1;
    }

    /// `Some(Some(v))` if buffered as `v`, `Some(None)` if buffered as deleted,
    /// `None` if the buffer says nothing about `key`.
    pub(crate) fn get(&self, t: Table, key: &[u8]) -> Option<Option<&[u8]>> {
        self.tables[t.index()].get(key).map(|v| v.as_deref())
    }

    /// Number of buffered operations.
    pub(crate) fn ops(&self) -> usize {
        self.ops
    }

    /// True if nothing is buffered.
    pub(crate) fn is_empty(&self) -> bool {
        self.tables.iter().all(|t| t.is_empty())
    }

    /// One table's buffer.
    pub(crate) fn table(&self, t: Table) -> &TableBuffer {
        &self.tables[t.index()]
    }

    /// Buffered entries of `t` in `[start, end)` (`end` `None`: unbounded), in
    /// key order. The caller guarantees `start < end`.
    pub(crate) fn range<'a>(
        &'a self,
        t: Table,
        start: &[u8],
        end: Option<&[u8]>,
    ) -> impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)> + 'a {
        let upper = match end {
            Some(e) => Bound::Excluded(e),
            None => Bound::Unbounded,
        };
        self.tables[t.index()]
            .range::<[u8], _>((Bound::Included(start), upper))
            .map(|(k, v)| (k.as_slice(), v.as_deref()))
    }
}

/// An entry from one layer of the merge: a key and a value or a delete mark.
pub(crate) trait Entry {
    /// The entry's key.
    fn key(&self) -> &[u8];
    /// The value, or `None` if this layer deletes the key.
    fn value(&self) -> Option<&[u8]>;
}

impl Entry for (&[u8], Option<&[u8]>) {
    fn key(&self) -> &[u8] {
        self.0
    }
    fn value(&self) -> Option<&[u8]> {
        self.1
    }
}

/// An entry from either the upper or the lower layer of an [`Overlay`].
pub(crate) enum Either<A, B> {
    /// From the upper layer.
    Upper(A),
    /// From the lower layer.
    Lower(B),
}

impl<A: Entry, B: Entry> Entry for Either<A, B> {
    fn key(&self) -> &[u8] {
        match self {
            Either::Upper(a) => a.key(),
            Either::Lower(b) => b.key(),
        }
    }
    fn value(&self) -> Option<&[u8]> {
        match self {
            Either::Upper(a) => a.value(),
            Either::Lower(b) => b.value(),
        }
    }
}

/// Merges two key-ordered layers; on equal keys the upper layer wins and the
/// lower entry is skipped. Delete marks are passed through (the caller drops
/// them at the end, so a delete in an upper layer hides a lower value).
pub(crate) struct Overlay<U: Iterator, L: Iterator> {
    upper: U,
    lower: L,
    upper_next: Option<U::Item>,
    lower_next: Option<L::Item>,
    started: bool,
}

impl<U, L> Overlay<U, L>
where
    U: Iterator,
    L: Iterator,
    U::Item: Entry,
    L::Item: Entry,
{
    /// Creates the merge of `upper` over `lower`.
    pub(crate) fn new(upper: U, lower: L) -> Self {
        Overlay {
            upper,
            lower,
            upper_next: None,
            lower_next: None,
            started: false,
        }
    }

    /// The lower iterator, e.g. to collect an error it recorded.
    pub(crate) fn into_lower(self) -> L {
        self.lower
    }
}

impl<U, L> Iterator for Overlay<U, L>
where
    U: Iterator,
    L: Iterator,
    U::Item: Entry,
    L::Item: Entry,
{
    type Item = Either<U::Item, L::Item>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.started {
            self.started = true;
            self.upper_next = self.upper.next();
            self.lower_next = self.lower.next();
        }
        let order = match (&self.upper_next, &self.lower_next) {
            (None, None) => return None,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(u), Some(l)) => u.key().cmp(l.key()),
        };
        match order {
            Ordering::Less => {
                let u = std::mem::replace(&mut self.upper_next, self.upper.next());
                u.map(Either::Upper)
            }
            Ordering::Equal => {
                self.lower_next = self.lower.next();
                let u = std::mem::replace(&mut self.upper_next, self.upper.next());
                u.map(Either::Upper)
            }
            Ordering::Greater => {
                let l = std::mem::replace(&mut self.lower_next, self.lower.next());
                l.map(Either::Lower)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(
        v: &[(&'static str, Option<&'static str>)],
    ) -> Vec<(&'static [u8], Option<&'static [u8]>)> {
        v.iter()
            .map(|(k, v)| (k.as_bytes(), v.map(str::as_bytes)))
            .collect()
    }

    fn visible<I: Iterator>(it: I) -> Vec<(String, String)>
    where
        I::Item: Entry,
    {
        it.filter_map(|e| {
            let v = e.value()?;
            Some((
                String::from_utf8(e.key().to_vec()).unwrap(),
                String::from_utf8(v.to_vec()).unwrap(),
            ))
        })
        .collect()
    }

    #[test]
    fn upper_layer_wins_and_deletes_hide_lower_values() {
        let upper = entries(&[("a", Some("A2")), ("c", None), ("e", Some("E"))]);
        let lower = entries(&[
            ("a", Some("A1")),
            ("b", Some("B")),
            ("c", Some("C")),
            ("d", Some("D")),
        ]);
        let got = visible(Overlay::new(upper.into_iter(), lower.into_iter()));
        let want: Vec<(String, String)> = [("a", "A2"), ("b", "B"), ("d", "D"), ("e", "E")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn empty_layers() {
        let none = entries(&[]);
        let some = entries(&[("x", Some("1"))]);
        assert_eq!(
            visible(Overlay::new(
                none.clone().into_iter(),
                none.clone().into_iter()
            )),
            vec![]
        );
        assert_eq!(
            visible(Overlay::new(
                some.clone().into_iter(),
                none.clone().into_iter()
            ))
            .len(),
            1
        );
        assert_eq!(
            visible(Overlay::new(none.into_iter(), some.into_iter())).len(),
            1
        );
    }

    #[test]
    fn buffer_range_respects_bounds_and_counts_ops() {
        let mut b = WriteBuffer::default();
        b.put(Table::Key, b"a", b"1");
        b.put(Table::Key, b"b", b"2");
        b.delete(Table::Key, b"c");
        b.put(Table::Meta, b"b", b"x");
        assert_eq!(b.ops(), 4);
        let keys: Vec<_> = b
            .range(Table::Key, b"b", None)
            .map(|(k, _)| k.to_vec())
            .collect();
        assert_eq!(keys, vec![b"b".to_vec(), b"c".to_vec()]);
        let keys: Vec<_> = b
            .range(Table::Key, b"a", Some(b"c"))
            .map(|(k, _)| k.to_vec())
            .collect();
        assert_eq!(keys, vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(b.get(Table::Key, b"c"), Some(None));
        assert_eq!(b.get(Table::Key, b"z"), None);
        assert_eq!(b.get(Table::Meta, b"b"), Some(Some(&b"x"[..])));
    }
}
