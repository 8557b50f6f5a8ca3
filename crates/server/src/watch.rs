//! The member's watch hub: created at the store's revision before the
//! applier starts (so it sees every applied write), with its catch-up thread
//! reading the store. A storage fault in that thread stops the member.

use std::sync::Arc;

use etcd_mvcc::watch::{WatchConfig, WatchHub};
use etcd_mvcc::KvStore;

/// Creates the hub for `kv` and starts its catch-up thread.
pub(crate) fn start_hub(kv: &Arc<KvStore>, progress_notify_interval_ms: u64) -> std::io::Result<Arc<WatchHub>> {
    let mut cfg = WatchConfig::default();
    if progress_notify_interval_ms > 0 {
        cfg.progress_notify_interval_ms = progress_notify_interval_ms;
    }
    let hub = Arc::new(WatchHub::new(kv.current_revision(), cfg));
    hub.start_worker(
        kv.clone(),
        Box::new(|e| crate::apply::fatal(&format!("watch catch-up read failed: {e}"))),
    )?;
    Ok(hub)
}
