//! The catch-up thread: runs [`WatchHub::sync_once`] when asked (a new
//! unsynced watcher, a drained queue) or every `sync_interval_ms`, and
//! [`WatchHub::progress_tick`] every `progress_notify_interval_ms`. It holds
//! the hub weakly and ends when the hub is dropped.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::error::MvccError;

use super::config::MIN_PROGRESS_NOTIFY_INTERVAL_MS;
use super::hub::WatchHub;
use super::source::WatchSource;

#[derive(Debug, Default)]
struct SignalState {
    requested: bool,
    stopped: bool,
}

/// Wakes the catch-up thread.
#[derive(Debug, Default)]
pub(crate) struct Signal {
    state: Mutex<SignalState>,
    cv: Condvar,
}

impl Signal {
    pub(crate) fn request(&self) {
        self.state.lock().requested = true;
        self.cv.notify_one();
    }

    pub(crate) fn stop(&self) {
        self.state.lock().stopped = true;
        self.cv.notify_one();
    }

    /// Waits for a request or `timeout`; true once stopped.
    fn wait(&self, timeout: Duration) -> bool {
        let mut st = self.state.lock();
        if !st.requested && !st.stopped {
            self.cv.wait_for(&mut st, timeout);
        }
        st.requested = false;
        st.stopped
    }
}

/// Called with a storage fault met by the catch-up thread; the member must stop.
pub type FaultHandler = Box<dyn Fn(MvccError) + Send>;

impl WatchHub {
    /// Starts the catch-up thread reading from `source`. It stops when the
    /// hub is dropped, or after calling `on_fault` with a storage error.
    pub fn start_worker(
        self: &Arc<Self>,
        source: Arc<dyn WatchSource>,
        on_fault: FaultHandler,
    ) -> std::io::Result<()> {
        let hub = Arc::downgrade(self);
        let signal = self.signal.clone();
        std::thread::Builder::new()
            .name("watch-sync".into())
            .spawn(move || run(hub, signal, source, on_fault))?;
        Ok(())
    }
}

fn run(
    hub: Weak<WatchHub>,
    signal: Arc<Signal>,
    source: Arc<dyn WatchSource>,
    on_fault: FaultHandler,
) {
    let Some(cfg) = hub.upgrade().map(|h| *h.config()) else {
        return;
    };
    let sync_every = Duration::from_millis(cfg.sync_interval_ms.max(1));
    let progress_every = Duration::from_millis(
        cfg.progress_notify_interval_ms
            .max(MIN_PROGRESS_NOTIFY_INTERVAL_MS),
    );
    let mut next_progress = Instant::now() + progress_every;
    loop {
        let timeout = sync_every.min(next_progress.saturating_duration_since(Instant::now()));
        if signal.wait(timeout) {
            return;
        }
        let Some(hub) = hub.upgrade() else {
            return;
        };
        loop {
            match hub.sync_once(&*source) {
                Ok(r) if r.progressed > 0 && r.remaining > 0 => continue,
                Ok(_) => break,
                Err(e) => {
                    on_fault(e);
                    return;
                }
            }
        }
        if Instant::now() >= next_progress {
            hub.progress_tick();
            next_progress = Instant::now() + progress_every;
        }
    }
}
