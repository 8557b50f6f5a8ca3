//! KV service: range, put, delete, txn, compact.
//!
//! The methods take etcd's request messages as they are, so every option of
//! the wire API is reachable; `get`/`put`/`delete` are shorthands.

use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::{
    CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, PutRequest,
    PutResponse, RangeRequest, RangeResponse, TxnRequest, TxnResponse,
};

use crate::client::{Client, Retry};
use crate::error::Result;

pub use etcd_proto::prefix_range_end;
use etcd_proto::txn_is_read_only;

impl Client {
    /// `Range`, retried on failover (reads are idempotent).
    pub async fn range(&self, req: RangeRequest) -> Result<RangeResponse> {
        self.unary(Retry::Repeatable, req, |ch, r| async move {
            KvClient::new(ch).range(r).await
        })
        .await
    }

    /// Reads one key (linearizable).
    pub async fn get(&self, key: impl Into<Vec<u8>>) -> Result<RangeResponse> {
        self.range(RangeRequest {
            key: key.into(),
            ..Default::default()
        })
        .await
    }

    /// `Put`.
    pub async fn put_request(&self, req: PutRequest) -> Result<PutResponse> {
        self.unary(Retry::NonRepeatable, req, |ch, r| async move {
            KvClient::new(ch).put(r).await
        })
        .await
    }

    /// Writes one key.
    pub async fn put(
        &self,
        key: impl Into<Vec<u8>>,
        value: impl Into<Vec<u8>>,
    ) -> Result<PutResponse> {
        self.put_request(PutRequest {
            key: key.into(),
            value: value.into(),
            ..Default::default()
        })
        .await
    }

    /// `DeleteRange`.
    pub async fn delete_range(&self, req: DeleteRangeRequest) -> Result<DeleteRangeResponse> {
        self.unary(Retry::NonRepeatable, req, |ch, r| async move {
            KvClient::new(ch).delete_range(r).await
        })
        .await
    }

    /// Deletes one key.
    pub async fn delete(&self, key: impl Into<Vec<u8>>) -> Result<DeleteRangeResponse> {
        self.delete_range(DeleteRangeRequest {
            key: key.into(),
            ..Default::default()
        })
        .await
    }

    /// `Txn`; read-only transactions are retried on failover.
    pub async fn txn(&self, req: TxnRequest) -> Result<TxnResponse> {
        let retry = if txn_is_read_only(&req) {
            Retry::Repeatable
        } else {
            Retry::NonRepeatable
        };
        self.unary(
            retry,
            req,
            |ch, r| async move { KvClient::new(ch).txn(r).await },
        )
        .await
    }

    /// `Compact`.
    pub async fn compact(&self, revision: i64, physical: bool) -> Result<CompactionResponse> {
        let req = CompactionRequest { revision, physical };
        self.unary(Retry::Repeatable, req, |ch, r| async move {
            KvClient::new(ch).compact(r).await
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_carries_over_ff() {
        assert_eq!(prefix_range_end(b"\xff\xff"), vec![0]);
        assert_eq!(prefix_range_end(b"a\xff\xff"), b"b".to_vec());
    }
}
