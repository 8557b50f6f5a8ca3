//! Watch service: one bidirectional stream carrying any number of watchers.
//!
//! [`Watcher`] owns the stream. `watch` opens it with a first create
//! request; more watchers can be added on the same stream with
//! [`Watcher::create`] (etcdctl's interactive mode does). Answers of all
//! watchers arrive in stream order through [`Watcher::next`].

use etcd_proto::etcdserverpb::watch_client::WatchClient;
use etcd_proto::etcdserverpb::watch_request::RequestUnion;
use etcd_proto::etcdserverpb::{
    WatchCancelRequest, WatchCreateRequest, WatchProgressRequest, WatchRequest, WatchResponse,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;

use crate::client::Client;
use crate::error::{Error, Result};

/// Capacity of the outgoing request queue of one watch stream.
pub const WATCH_REQUEST_BUFFER: usize = 64;

/// An open watch stream.
pub struct Watcher {
    requests: mpsc::Sender<WatchRequest>,
    answers: tonic::Streaming<WatchResponse>,
}

impl Watcher {
    /// Adds a watcher on this stream.
    pub async fn create(&self, req: WatchCreateRequest) -> Result<()> {
        self.send(RequestUnion::CreateRequest(req)).await
    }

    /// Cancels watcher `watch_id`.
    pub async fn cancel(&self, watch_id: i64) -> Result<()> {
        self.send(RequestUnion::CancelRequest(WatchCancelRequest { watch_id }))
            .await
    }

    /// Asks for a progress notification.
    pub async fn request_progress(&self) -> Result<()> {
        self.send(RequestUnion::ProgressRequest(WatchProgressRequest {}))
            .await
    }

    async fn send(&self, u: RequestUnion) -> Result<()> {
        self.requests
            .send(WatchRequest {
                request_union: Some(u),
            })
            .await
            .map_err(|_| Error::Stream("watch stream closed".into()))
    }

    /// The next answer (created / events / canceled), or None when the
    /// server closed the stream.
    pub async fn next(&mut self) -> Result<Option<WatchResponse>> {
        match self.answers.next().await {
            None => Ok(None),
            Some(Ok(r)) => Ok(Some(r)),
            Some(Err(s)) => Err(Error::Status(s)),
        }
    }
}

impl Client {
    /// Opens a watch stream with one watcher.
    ///
    /// ```no_run
    /// # async fn demo(client: etcd_client::Client) -> etcd_client::Result<()> {
    /// use etcd_proto::etcdserverpb::WatchCreateRequest;
    /// let mut w = client
    ///     .watch(WatchCreateRequest { key: b"foo".to_vec(), ..Default::default() })
    ///     .await?;
    /// while let Some(resp) = w.next().await? {
    ///     for ev in resp.events {
    ///         println!("{:?}", ev.kv);
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn watch(&self, first: WatchCreateRequest) -> Result<Watcher> {
        let (tx, rx) = mpsc::channel(WATCH_REQUEST_BUFFER);
        tx.send(WatchRequest {
            request_union: Some(RequestUnion::CreateRequest(first)),
        })
        .await
        .map_err(|_| Error::Stream("watch stream closed".into()))?;
        let (_, ch) = self.channel().await;
        let answers = self
            .bounded(async {
                Ok(WatchClient::new(ch)
                    .watch(self.request(ReceiverStream::new(rx)))
                    .await?
                    .into_inner())
            })
            .await?;
        Ok(Watcher {
            requests: tx,
            answers,
        })
    }
}
