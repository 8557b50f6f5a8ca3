//! One gRPC Watch stream, as the watch commands use it.
//!
//! etcd answers a Watch call's headers only together with its first
//! response, so [`WatchStream::open`] queues the first create request before
//! awaiting the call. Creates are then confirmed one at a time with
//! [`WatchStream::create`]; afterwards [`WatchStream::into_responses`] hands
//! the response stream to a reader task. The request side stays open until
//! the `WatchStream` (or its sender) is dropped.

use anyhow::{anyhow, bail};
use etcd_proto::etcdserverpb::watch_client::WatchClient;
use etcd_proto::etcdserverpb::{
    watch_request::RequestUnion, WatchCreateRequest, WatchRequest, WatchResponse,
};
use tokio::sync::mpsc;
use tonic::transport::Channel;
use tonic::Streaming;

use crate::{conn, MAX_RECV_BYTES};

/// Requests queued on one stream before the sender waits.
const REQUEST_QUEUE: usize = 1024;

/// An open Watch stream.
pub struct WatchStream {
    tx: mpsc::Sender<WatchRequest>,
    rx: Streaming<WatchResponse>,
}

fn create_req(c: WatchCreateRequest) -> WatchRequest {
    WatchRequest {
        request_union: Some(RequestUnion::CreateRequest(c)),
    }
}

impl WatchStream {
    /// Opens a stream whose first request is `first` (not yet confirmed:
    /// call [`WatchStream::wait_created`] next).
    pub async fn open(ch: Channel, first: WatchCreateRequest) -> anyhow::Result<WatchStream> {
        let (tx, rx) = mpsc::channel(REQUEST_QUEUE);
        tx.send(create_req(first))
            .await
            .map_err(|_| anyhow!("watch stream closed"))?;
        let mut client = WatchClient::new(ch).max_decoding_message_size(MAX_RECV_BYTES);
        let rx = client
            .watch(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .map_err(|s| anyhow!(conn::grpc_error(&s)))?
            .into_inner();
        Ok(WatchStream { tx, rx })
    }

    /// Sends a create request without waiting for its confirmation.
    pub async fn send_create(&self, c: WatchCreateRequest) -> anyhow::Result<()> {
        self.tx
            .send(create_req(c))
            .await
            .map_err(|_| anyhow!("watch stream closed"))
    }

    /// Waits for the next `created` response (only valid while no events
    /// can arrive, i.e. before any watched key changes).
    pub async fn wait_created(&mut self) -> anyhow::Result<i64> {
        loop {
            match self.rx.message().await {
                Ok(Some(r)) if r.canceled => bail!("watch canceled: {}", r.cancel_reason),
                Ok(Some(r)) if r.created => return Ok(r.watch_id),
                Ok(Some(_)) => continue,
                Ok(None) => bail!("watch stream closed"),
                Err(s) => bail!(conn::grpc_error(&s)),
            }
        }
    }

    /// Sends a create request and waits for its confirmation.
    pub async fn create(&mut self, c: WatchCreateRequest) -> anyhow::Result<i64> {
        self.send_create(c).await?;
        self.wait_created().await
    }

    /// Splits into the request sender (keep it to keep the stream open) and
    /// the responses.
    pub fn into_parts(self) -> (mpsc::Sender<WatchRequest>, Streaming<WatchResponse>) {
        (self.tx, self.rx)
    }
}
