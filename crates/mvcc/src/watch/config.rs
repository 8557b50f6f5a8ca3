//! Limits and timings of the watch hub, with etcd 3.4's defaults.

/// Settings of a [`crate::watch::WatchHub`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchConfig {
    /// Event responses a stream may hold before its watchers become
    /// unsynced (etcd's `chanBufLen`: 128).
    pub stream_queue_len: usize,
    /// Extra room for created/canceled/progress responses (etcd's
    /// `ctrlStreamBufLen`: 16).
    pub control_queue_len: usize,
    /// Unsynced watchers handled per catch-up round (etcd's
    /// `maxWatchersPerSync`: 512).
    pub watchers_per_sync: usize,
    /// Revisions read from the backend per catch-up round (etcd's
    /// `watchBatchMaxRevs`: 1000).
    pub revs_per_sync: i64,
    /// A catch-up round whose data went stale by at most this many
    /// revisions closes the gap under the hub lock instead of retrying.
    pub final_gap_revs: i64,
    /// Pause between catch-up rounds when nothing asks for one (etcd: 100 ms).
    pub sync_interval_ms: u64,
    /// Period of progress notifications to watchers that asked for them
    /// (etcd's `--experimental-watch-progress-notify-interval`: 10 min).
    pub progress_notify_interval_ms: u64,
}

/// etcd's floor for the progress notification period.
pub const MIN_PROGRESS_NOTIFY_INTERVAL_MS: u64 = 100;

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            stream_queue_len: 128,
            control_queue_len: 16,
            watchers_per_sync: 512,
            revs_per_sync: 1000,
            final_gap_revs: 64,
            sync_interval_ms: 100,
            progress_notify_interval_ms: 10 * 60 * 1000,
        }
    }
}

impl WatchConfig {
    /// Total queue length a stream accepts control responses up to.
    pub(crate) fn control_limit(&self) -> usize {
        self.stream_queue_len + self.control_queue_len
    }
}
