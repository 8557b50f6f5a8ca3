//! What a catch-up round reads: the history kept in the KV store.

use etcd_proto::etcdserverpb::RangeRequest;
use etcd_proto::mvccpb::{Event, KeyValue};

use crate::error::MvccError;
use crate::store::KvStore;

/// The history a catch-up round reads. [`KvStore`] is the real one; tests
/// may substitute their own.
pub trait WatchSource: Send + Sync {
    /// The compaction point (-1 if never compacted).
    fn compact_revision(&self) -> i64;

    /// Every change with `start_rev <= revision <= end_rev`, in order,
    /// without `prev_kv`; `Compacted` if `start_rev` is below the compaction point.
    fn events(&self, start_rev: i64, end_rev: i64) -> Result<Vec<Event>, MvccError>;

    /// The value of `key` as of `rev` (`rev >= 1`), if it was alive then.
    fn kv_at(&self, key: &[u8], rev: i64) -> Result<Option<KeyValue>, MvccError>;
}

impl WatchSource for KvStore {
    fn compact_revision(&self) -> i64 {
        KvStore::compact_revision(self)
    }

    fn events(&self, start_rev: i64, end_rev: i64) -> Result<Vec<Event>, MvccError> {
        KvStore::events(self, start_rev, end_rev)
    }

    fn kv_at(&self, key: &[u8], rev: i64) -> Result<Option<KeyValue>, MvccError> {
        let req = RangeRequest {
            key: key.to_vec(),
            revision: rev,
            ..Default::default()
        };
        Ok(self.range(&req)?.kvs.pop())
    }
}
