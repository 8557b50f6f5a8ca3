//! Rebuilding the in-memory state from the backend on open.
//!
//! The `key` table is scanned once in revision order. The first
//! revision seen of a key (the oldest left after compaction) seeds its
//! history with the stored create revision and version; later ones replay as
//! puts and tombstones. A key whose oldest surviving revision is a tombstone
//! is skipped until it is put again. The current revision is the newest
//! revision seen, but never below the compaction point (compaction may have
//! removed the newest revisions' tombstones), and 1 for an empty store.

use std::collections::HashMap;

use etcd_backend::{Backend, Table};

use crate::compact;
use crate::error::MvccError;
use crate::index::TreeIndex;
use crate::key_index::KeyIndex;
use crate::kv_head::decode_head;
use crate::meta;
use crate::revision::Revision;
use crate::store::State;

/// Loads the state stored in `backend`, finishing an interrupted compaction.
///
/// One streaming pass over the `key` table (no write can happen while the
/// store opens), reading only each record's head ([`decode_head`]) and
/// indexing by hash; the ordered index is built once at the end.
pub(crate) fn restore(backend: &Backend) -> Result<State, MvccError> {
    let compact_rev = meta::rev(backend, meta::FINISHED_COMPACT_KEY)?.unwrap_or(-1);
    let scheduled = meta::rev(backend, meta::SCHEDULED_COMPACT_KEY)?;
    let mut keys: HashMap<Vec<u8>, KeyIndex> = HashMap::new();
    let mut current_rev = 1;
    let start = Revision::new(1, 0).to_key(false);
    backend.read()?.for_each(Table::Key, &start, None, |k, v| {
        let (rev, tombstone) = Revision::from_key(k);
        let head = decode_head(v);
        current_rev = rev.main;
        if let Some(ki) = keys.get_mut(head.key) {
            if tombstone {
                ki.tombstone(rev);
            } else {
                ki.put(rev);
            }
        } else if !tombstone {
            let mut ki = KeyIndex::new();
            ki.restore(Revision::new(head.create_revision, 0), rev, head.version);
            keys.insert(head.key.to_vec(), ki);
        }
        true
    })?;
    let index = TreeIndex::from_unsorted(keys);
    let mut state = State {
        index,
        current_rev: current_rev.max(compact_rev),
        compact_rev,
    };
    if let Some(scheduled) = scheduled.filter(|&s| s > compact_rev) {
        state.compact_rev = scheduled;
        compact::run(backend, &mut state, scheduled)?;
    }
    Ok(state)
}
