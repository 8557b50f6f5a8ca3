//! Rebuilding the in-memory state from the backend on open.
//!
//! The `key` table is scanned in revision order, in bounded chunks. The first
//! revision seen of a key (the oldest left after compaction) seeds its
//! history with the stored create revision and version; later ones replay as
//! puts and tombstones. A key whose oldest surviving revision is a tombstone
//! is skipped until it is put again. The current revision is the newest
//! revision seen, but never below the compaction point (compaction may have
//! removed the newest revisions' tombstones), and 1 for an empty store.

use etcd_backend::{Backend, Table};

use crate::compact;
use crate::error::MvccError;
use crate::index::TreeIndex;
use crate::meta;
use crate::revision::Revision;
use crate::store::State;
use crate::view::decode_kv;

/// Revisions read from the backend per chunk while rebuilding.
const RESTORE_CHUNK_KEYS: usize = 10_000;

/// Loads the state stored in `backend`, finishing an interrupted compaction.
pub(crate) fn restore(backend: &Backend) -> Result<State, MvccError> {
    let compact_rev = meta::rev(backend, meta::FINISHED_COMPACT_KEY)?.unwrap_or(-1);
    let scheduled = meta::rev(backend, meta::SCHEDULED_COMPACT_KEY)?;
    let mut index = TreeIndex::default();
    let mut current_rev = 1;
    let mut start = Revision::new(1, 0).to_key(false);
    loop {
        let chunk = backend.range(Table::Key, &start, None, RESTORE_CHUNK_KEYS)?;
        for (k, v) in &chunk {
            let (rev, tombstone) = Revision::from_key(k);
            let kv = decode_kv(v);
            current_rev = rev.main;
            if index.key_index(&kv.key).is_some() {
                if tombstone {
                    index.tombstone(&kv.key, rev);
                } else {
                    index.put(&kv.key, rev);
                }
            } else if !tombstone {
                index.restore(
                    &kv.key,
                    Revision::new(kv.create_revision, 0),
                    rev,
                    kv.version,
                );
            }
        }
        match chunk.last() {
            Some((last, _)) if chunk.len() == RESTORE_CHUNK_KEYS => {
                start = last.clone();
                start.push(0);
            }
            _ => break,
        }
    }
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
