//! Maintenance.Defragment and Maintenance.Hash on the server.
//!
//! Defragmentation runs the backend's online copy-and-swap (see
//! `etcd_backend`'s `defrag.rs`) on a blocking thread: clients keep reading
//! and writing; only the final swap holds the backend's commit lock, and its
//! length is logged. Metrics: `etcd_disk_defrag_inflight` is 1 while one
//! runs; `etcd_disk_backend_defrag_duration_seconds` observes each success.

use etcd_proto::etcdserverpb::{HashResponse, ResponseHeader};
use etcd_proto::EtcdError;

use crate::EtcdServer;

impl EtcdServer {
    /// Defragments this member's backend; `Err` carries the failure text
    /// (etcd answers it as an unknown gRPC error).
    pub async fn defragment(&self) -> Result<etcd_backend::DefragStats, String> {
        tracing::info!(target: "etcdserver/api/v3rpc", notice = true, "starting to defragment the storage backend...");
        let backend = self.backend.clone();
        let m = crate::metrics::metrics();
        m.defrag_inflight.set(1);
        let started = std::time::Instant::now();
        let result = tokio::task::spawn_blocking(move || backend.defrag())
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()));
        m.defrag_inflight.set(0);
        if result.is_ok() {
            // etcd observes whole defragmentations (`defragSec`), not failures.
            m.backend_defrag_seconds
                .observe(started.elapsed().as_secs_f64());
        }
        match &result {
            Ok(st) => {
                tracing::info!(target: "etcdserver/api/v3rpc",
                    "defragmented the storage backend: {} -> {} bytes, copied in {:?}, writes paused {:?}",
                    st.size_before_bytes, st.size_after_bytes, st.copy, st.pause);
                tracing::info!(target: "etcdserver/api/v3rpc", notice = true, "finished defragmenting the storage backend");
            }
            Err(e) => {
                tracing::error!(target: "etcdserver/api/v3rpc", "failed to defragment the storage backend ({e})")
            }
        }
        result
    }

    /// Maintenance.Hash: the hash of the whole backend (see `etcd_backend`'s
    /// `hash.rs`) with the current revision.
    pub fn hash(&self) -> Result<HashResponse, EtcdError> {
        let rev = self.kv.current_revision();
        let hash = self.backend.hash().map_err(|e| {
            tracing::error!(target: "etcdserver", "failed to hash the backend: {e}");
            EtcdError::Stopped
        })?;
        Ok(HashResponse {
            header: Some(ResponseHeader {
                revision: rev,
                ..self.header(rev)
            }),
            hash,
        })
    }

    /// The database file's size in bytes (what the quota and Status report).
    pub(crate) fn backend_size_bytes(&self) -> i64 {
        self.backend.size_bytes()
    }
}
