//! Lock service (`v3lockpb`): locks held by the server, tied to a lease.

use etcd_proto::v3lockpb::lock_client::LockClient;
use etcd_proto::v3lockpb::{LockRequest, LockResponse, UnlockRequest, UnlockResponse};

use crate::client::{Client, Retry};
use crate::error::Result;

impl Client {
    /// Waits until the lock `name` is held for `lease`; the answer's `key`
    /// identifies the ownership and unlocks it. Not bounded by the command
    /// timeout (waiting for a lock may take arbitrarily long).
    pub async fn lock(&self, name: impl Into<Vec<u8>>, lease: i64) -> Result<LockResponse> {
        let req = LockRequest {
            name: name.into(),
            lease,
        };
        let (_, ch) = self.channel().await;
        Ok(LockClient::new(ch)
            .lock(self.request(req))
            .await?
            .into_inner())
    }

    /// Releases the lock held under `key`.
    pub async fn unlock(&self, key: impl Into<Vec<u8>>) -> Result<UnlockResponse> {
        let req = UnlockRequest { key: key.into() };
        self.unary(Retry::NonRepeatable, req, |ch, r| async move {
            LockClient::new(ch).unlock(r).await
        })
        .await
    }
}
