//! The watcher hub: long-poll and streaming watchers keyed by path.
//!
//! A watcher on `/a` wakes for events on `/a`, for events below it when
//! `recursive`, and when `/a` is removed as part of a deleted or expired
//! directory. Events on hidden nodes below the watched path are not sent
//! unless the watch is on the hidden node itself. A watcher that is not
//! `stream` is removed after its first event; one whose buffer of
//! [`WATCHER_BUFFER`] events is full is removed (the client sees its
//! response end).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::event::Event;
use crate::store::clean_path;

/// Events buffered per watcher (etcd: 100).
pub const WATCHER_BUFFER: usize = 100;

struct Entry {
    id: u64,
    tx: mpsc::Sender<Event>,
    recursive: bool,
    stream: bool,
    since_index: u64,
}

#[derive(Default)]
pub(crate) struct HubInner {
    watchers: HashMap<String, Vec<Entry>>,
    count: usize,
    next_id: u64,
}

impl HubInner {
    fn remove(&mut self, key: &str, id: u64) {
        if let Some(list) = self.watchers.get_mut(key) {
            let before = list.len();
            list.retain(|e| e.id != id);
            self.count -= before - list.len();
            if list.is_empty() {
                self.watchers.remove(key);
            }
        }
    }
}

/// Watchers registered on the store.
#[derive(Clone, Default)]
pub struct WatcherHub {
    inner: Arc<Mutex<HubInner>>,
}

/// A registered watch; dropping it unregisters it.
pub struct Watcher {
    rx: mpsc::Receiver<Event>,
    start_index: u64,
    registration: Option<(Arc<Mutex<HubInner>>, String, u64)>,
}

impl Watcher {
    /// The store index when the watch started (`X-Etcd-Index` of the response).
    pub fn start_index(&self) -> u64 {
        self.start_index
    }

    /// The next event; `None` once the watcher was removed (non-stream after
    /// its event, or overflowed).
    pub async fn next(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    /// An event already waiting, without blocking.
    pub fn try_next(&mut self) -> Option<Event> {
        self.rx.try_recv().ok()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if let Some((hub, key, id)) = self.registration.take() {
            hub.lock().remove(&key, id);
        }
    }
}

impl WatcherHub {
    /// Number of registered watchers.
    pub fn count(&self) -> usize {
        self.inner.lock().count
    }

    /// A watcher that already holds `event` (found in history).
    pub(crate) fn ready(event: Event, start_index: u64) -> Watcher {
        let (tx, rx) = mpsc::channel(1);
        tx.try_send(event).expect("fresh channel has room");
        Watcher {
            rx,
            start_index,
            registration: None,
        }
    }

    /// Registers a watcher on `key` for events at or after `since_index`.
    pub(crate) fn register(
        &self,
        key: &str,
        recursive: bool,
        stream: bool,
        since_index: u64,
        start_index: u64,
    ) -> Watcher {
        let (tx, rx) = mpsc::channel(WATCHER_BUFFER);
        let mut inner = self.inner.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner
            .watchers
            .entry(key.to_string())
            .or_default()
            .push(Entry {
                id,
                tx,
                recursive,
                stream,
                since_index,
            });
        inner.count += 1;
        Watcher {
            rx,
            start_index,
            registration: Some((self.inner.clone(), key.to_string(), id)),
        }
    }

    /// Wakes the watchers on `key` and on every directory above it.
    pub(crate) fn notify(&self, e: &Event) {
        let mut path = String::from("/");
        self.notify_path(e, "/", false);
        for seg in e.node.key.split('/').filter(|s| !s.is_empty()) {
            if path.len() > 1 {
                path.push('/');
            }
            path.push_str(seg);
            self.notify_path(e, &path, false);
        }
    }

    /// Wakes the watchers on exactly `path`; `deleted` when `path` itself
    /// was removed by `e`.
    pub(crate) fn notify_path(&self, e: &Event, path: &str, deleted: bool) {
        let mut inner = self.inner.lock();
        let Some(list) = inner.watchers.get_mut(path) else {
            return;
        };
        let original = e.node.key == path;
        let before = list.len();
        list.retain(|w| {
            let wants = (w.recursive || original || deleted) && e.index() >= w.since_index;
            let hidden = !original && is_hidden(path, &e.node.key);
            if !wants || hidden {
                return true;
            }
            match w.tx.try_send(e.clone()) {
                Ok(()) => w.stream,
                Err(_) => false,
            }
        });
        let removed = before - list.len();
        if list.is_empty() {
            inner.watchers.remove(path);
        }
        inner.count -= removed;
    }
}

/// True when `key_path` is below a hidden node relative to `watch_path`.
fn is_hidden(watch_path: &str, key_path: &str) -> bool {
    if watch_path.len() > key_path.len() {
        return false;
    }
    let after = clean_path(&format!("/{}", &key_path[watch_path.len()..]));
    after.contains("/_")
}
