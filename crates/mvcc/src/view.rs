//! A read view: the key index plus the backend, as of one revision.
//!
//! The index says which revision holds each key; the backend's `key` table
//! holds the encoded `KeyValue` of every revision not yet compacted. A
//! revision named by the index is always in the backend (asserted).

use etcd_backend::{Backend, Table};
use etcd_proto::mvccpb::KeyValue;
use prost::Message;

use crate::error::MvccError;
use crate::index::TreeIndex;
use crate::key_range::KeyRange;
use crate::revision::Revision;

/// The store as seen by one read.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub(crate) index: &'a TreeIndex,
    pub(crate) backend: &'a Backend,
    /// The compaction point: revisions below it cannot be read.
    pub(crate) compact_rev: i64,
    /// The newest revision visible to this view.
    pub(crate) rev: i64,
}

impl View<'_> {
    /// Resolves a requested revision: `<= 0` means the view's revision.
    pub(crate) fn resolve_rev(&self, requested: i64) -> Result<i64, MvccError> {
        if requested > self.rev {
            return Err(MvccError::FutureRev);
        }
        let rev = if requested <= 0 { self.rev } else { requested };
        if rev < self.compact_rev {
            return Err(MvccError::Compacted);
        }
        Ok(rev)
    }

    /// Reads the stored key-values of `revs`, in order, through one reader.
    pub(crate) fn read_kvs(&self, revs: &[Revision]) -> Result<Vec<KeyValue>, MvccError> {
        let reader = self.backend.read()?;
        let mut out = Vec::with_capacity(revs.len());
        for &rev in revs {
            let kv = reader
                .get_with(Table::Key, &rev.to_bytes(), decode_kv)?
                .unwrap_or_else(|| panic!("revision {rev:?} is indexed but not in the backend"));
            out.push(kv);
        }
        Ok(out)
    }

    /// All key-values of `range` at the view's revision, in key order.
    pub(crate) fn kvs(&self, range: KeyRange<'_>) -> Result<Vec<KeyValue>, MvccError> {
        self.read_kvs(&self.index.revisions(range, self.rev))
    }

    /// The current key-value of `key`, if it is alive.
    pub(crate) fn latest(&self, key: &[u8]) -> Result<Option<KeyValue>, MvccError> {
        Ok(self.kvs(KeyRange::Single(key))?.pop())
    }
}

/// Decodes a stored `KeyValue`; a decoding failure is a storage invariant
/// violation.
pub(crate) fn decode_kv(b: &[u8]) -> KeyValue {
    KeyValue::decode(b).unwrap_or_else(|e| panic!("corrupt KeyValue in the key table: {e}"))
}
