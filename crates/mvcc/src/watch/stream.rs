//! One client stream: its queue of outgoing responses and its watchers.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use etcd_proto::etcdserverpb::{WatchCreateRequest, WatchResponse};

use super::hub::WatchHub;
use super::watcher::Watcher;
use super::WatchId;

/// Called (outside the hub lock) whenever a response was queued.
pub(crate) type Wake = Arc<dyn Fn() + Send + Sync>;

/// A queued response and whether its watcher asked for fragmentation.
#[derive(Debug)]
pub(crate) struct Queued {
    pub(crate) resp: WatchResponse,
    pub(crate) fragment: bool,
}

/// The hub's state of one stream.
pub(crate) struct StreamState {
    pub(crate) queue: VecDeque<Queued>,
    pub(crate) watchers: HashMap<WatchId, Watcher>,
    /// Next candidate for an assigned id (etcd's `nextID`).
    pub(crate) next_id: WatchId,
    pub(crate) wake: Wake,
    /// An unsynced watcher of this stream waits for queue room.
    pub(crate) starved: bool,
}

impl StreamState {
    pub(crate) fn new(wake: Wake) -> StreamState {
        StreamState {
            queue: VecDeque::new(),
            watchers: HashMap::new(),
            next_id: 0,
            wake,
            starved: false,
        }
    }

    /// Assigns the lowest free id from `next_id` on, like etcd.
    pub(crate) fn assign_id(&mut self) -> WatchId {
        while self.watchers.contains_key(&self.next_id) {
            self.next_id += 1;
        }
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub(crate) fn push(&mut self, resp: WatchResponse, fragment: bool) {
        self.queue.push_back(Queued { resp, fragment });
    }
}

/// A client stream's handle on the hub. Dropping it cancels its watchers.
///
/// The `try_*` requests return `false`, changing nothing, while the stream's
/// queue is full: drain it with [`WatchStream::pop`] and try again.
pub struct WatchStream {
    hub: Arc<WatchHub>,
    id: u64,
}

impl std::fmt::Debug for WatchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchStream").field("id", &self.id).finish()
    }
}

impl WatchStream {
    pub(crate) fn new(hub: Arc<WatchHub>, id: u64) -> WatchStream {
        WatchStream { hub, id }
    }

    /// Creates a watcher; queues the `created` response (or a created and
    /// canceled one with etcd's reason if the request is invalid).
    #[must_use]
    pub fn try_create(&self, req: &WatchCreateRequest) -> bool {
        self.hub.create(self.id, req)
    }

    /// Cancels a watcher and queues the `canceled` response; an unknown id is
    /// ignored, as in etcd.
    #[must_use]
    pub fn try_cancel(&self, id: WatchId) -> bool {
        self.hub.cancel(self.id, id)
    }

    /// Queues a progress response (watch id -1, the hub's revision).
    #[must_use]
    pub fn try_progress(&self) -> bool {
        self.hub.progress(self.id)
    }

    /// The next response to send, and whether its watcher asked for
    /// fragmented responses. The header carries only the revision.
    pub fn pop(&self) -> Option<(WatchResponse, bool)> {
        self.hub.pop(self.id)
    }

    /// Responses waiting in the queue.
    pub fn queued(&self) -> usize {
        self.hub.queued(self.id)
    }
}

impl Drop for WatchStream {
    fn drop(&mut self) {
        self.hub.close_stream(self.id);
    }
}
