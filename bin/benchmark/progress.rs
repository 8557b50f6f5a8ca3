//! A progress bar on stderr while a phase runs.
//!
//! Contract: counts are atomic and cheap to bump from any task; a drawing
//! thread redraws at most every [`REDRAW_INTERVAL`] while stderr is a
//! terminal, and [`Progress::finish`] always prints the final line, so
//! captured stderr (tests, scripts) holds one line per phase.
//! Nothing is ever written to stdout.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the bar is redrawn on a terminal.
const REDRAW_INTERVAL: Duration = Duration::from_millis(200);
/// Width of the bar in characters.
const BAR_WIDTH_CHARS: usize = 40;

struct Shared {
    done: AtomicU64,
    total: u64,
    stop: AtomicBool,
    started: Instant,
}

/// One phase's progress bar.
pub struct Progress {
    shared: Arc<Shared>,
    drawer: Option<JoinHandle<()>>,
}

/// A cheap handle for bumping the count from tasks.
#[derive(Clone)]
pub struct Tick(Arc<Shared>);

impl Tick {
    /// Adds `n` finished units.
    pub fn add(&self, n: u64) {
        self.0.done.fetch_add(n, Ordering::Relaxed);
    }
}

fn line(s: &Shared) -> String {
    let done = s.done.load(Ordering::Relaxed).min(s.total.max(1));
    let frac = if s.total == 0 {
        1.0
    } else {
        done as f64 / s.total as f64
    };
    let filled = (frac * BAR_WIDTH_CHARS as f64) as usize;
    let bar: String = (0..BAR_WIDTH_CHARS)
        .map(|i| {
            if i < filled {
                '='
            } else if i == filled {
                '>'
            } else {
                '-'
            }
        })
        .collect();
    format!(
        "\r{done} / {} [{bar}] {:.2}% {}s",
        s.total,
        frac * 100.0,
        s.started.elapsed().as_secs()
    )
}

fn stderr_is_terminal() -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(2) == 1 }
}

impl Progress {
    /// Starts a bar for `total` units.
    pub fn start(total: u64) -> Progress {
        let shared = Arc::new(Shared {
            done: AtomicU64::new(0),
            total,
            stop: AtomicBool::new(false),
            started: Instant::now(),
        });
        let drawer = stderr_is_terminal().then(|| {
            let s = shared.clone();
            std::thread::spawn(move || {
                while !s.stop.load(Ordering::Relaxed) {
                    let _ = std::io::stderr().write_all(line(&s).as_bytes());
                    std::thread::park_timeout(REDRAW_INTERVAL);
                }
            })
        });
        Progress { shared, drawer }
    }

    /// A handle to count progress with.
    pub fn tick(&self) -> Tick {
        Tick(self.shared.clone())
    }

    /// Stops redrawing and prints the final state.
    pub fn finish(mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(d) = self.drawer.take() {
            d.thread().unpark();
            let _ = d.join();
        }
        let _ = writeln!(std::io::stderr(), "{}", line(&self.shared));
    }
}
