//! The progress bar `check perf` and `check datascale` draw on stdout,
//! drawn as etcdctl 3.4's (cheggaaa/pb v1 with the format `Bom !`).
//!
//! Each redraw is `\r` + ` <current> / <total> ` + bar + ` <percent>%` +
//! time left, padded with spaces to the terminal width. The bar (between
//! `B` and `!`, `o` filled, `m` its head, ` ` empty) is drawn only when
//! the terminal width is known, i.e. with a tty on `/dev/tty` or stdin;
//! without one the width is 0: no bar, no padding. Redraws come every
//! [`REFRESH_INTERVAL`] from a task; [`Bar::finish`] draws the final line
//! with the elapsed time (Go's duration format) and a newline.
//!
//! [`render`] is the pure part; time is passed in.

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};


/// How often the bar is redrawn (pb's default refresh rate).
pub const REFRESH_INTERVAL: Duration = Duration::from_millis(200);

/// Inputs of one drawing.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    /// Units to reach.
    pub total: u64,
    /// Units done.
    pub current: u64,
    /// Terminal width in columns (0: unknown).
    pub width: usize,
    /// Time since start.
    pub elapsed: Duration,
    /// Time from start to the last redraw that saw `current` change.
    pub changed_at: Duration,
    /// Whether this is the final drawing.
    pub finished: bool,
}

/// pb's `%02dm%02ds` time-left format (with `h`/`d` prefixes).
fn time_left(d: Duration) -> String {
    let mut secs = d.as_secs();
    let mut s = String::new();
    if secs > 24 * 3600 {
        s.push_str(&format!("{}d", secs / (24 * 3600)));
        secs %= 24 * 3600;
    }
    if secs > 3600 {
        s.push_str(&format!("{}h", secs / 3600));
        secs %= 3600;
    }
    s.push_str(&format!("{:02}m{:02}s", secs / 60, secs % 60));
    s
}

/// The text of one drawing (without the leading `\r`).
pub fn render(f: &Frame) -> String {
    let percent = if f.total > 0 {
        f.current as f64 / (f.total as f64 / 100.0)
    } else {
        f.current as f64 / 100.0
    };
    let percent_box = format!(" {percent:6.2}%");
    let counters = format!(" {} / {} ", f.current, f.total);
    let time_box = if f.finished {
        format!(
            " {}",
            etcd_gotext::format_duration(Duration::from_secs(f.elapsed.as_secs()))
        )
    } else if f.current > 0 && f.total > 0 {
        let per_entry = f.changed_at.as_secs_f64() / f.current as f64;
        let since_change = f.elapsed.saturating_sub(f.changed_at).as_secs_f64();
        let left = (f.total.saturating_sub(f.current)) as f64 * per_entry - since_change;
        if left >= 1.0 {
            format!(" {}", time_left(Duration::from_secs(left as u64)))
        } else {
            String::new()
        }
    } else {
        String::new()
    };
    let fixed = counters.chars().count() + 2 + percent_box.len() + time_box.len();
    let mut bar = String::new();
    if f.width > fixed && f.total > 0 {
        let size = f.width - fixed;
        let filled = ((f.current as f64 / f.total as f64) * size as f64)
            .ceil()
            .min(size as f64) as usize;
        let empty = size - filled;
        bar.push('B');
        if empty == 0 {
            bar.push_str(&"o".repeat(filled));
        } else if filled > 0 {
            bar.push_str(&"o".repeat(filled - 1));
            bar.push('m');
        }
        bar.push_str(&" ".repeat(empty));
        bar.push('!');
    }
    let mut line = format!("{counters}{bar}{percent_box}{time_box}");
    let len = line.chars().count();
    if len < f.width {
        line.push_str(&" ".repeat(f.width - len));
    }
    line
}

/// Columns of the controlling terminal (pb asks `/dev/tty`, else stdin).
fn terminal_width() -> usize {
    let tty = std::fs::File::open("/dev/tty");
    let fd = match &tty {
        Ok(f) => std::os::unix::io::AsRawFd::as_raw_fd(f),
        Err(_) => 0,
    };
    // SAFETY: TIOCGWINSZ only writes a winsize into the struct we own.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is open for the duration of the call.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    if rc == 0 {
        usize::from(ws.ws_col)
    } else {
        0
    }
}

struct State {
    started: Instant,
    width: usize,
    /// Last `current` seen by a redraw and when it changed.
    seen: u64,
    changed_at: Duration,
    finished: bool,
}

/// A running bar; count with [`Bar::add`], end with [`Bar::finish`].
#[derive(Clone)]
pub struct Bar {
    total: u64,
    current: Arc<AtomicU64>,
    state: Arc<Mutex<State>>,
}

impl Bar {
    /// Draws the first frame and starts redrawing.
    pub fn start(total: u64) -> Bar {
        let bar = Bar {
            total,
            current: Arc::new(AtomicU64::new(0)),
            state: Arc::new(Mutex::new(State {
                started: Instant::now(),
                width: terminal_width(),
                seen: 0,
                changed_at: Duration::ZERO,
                finished: false,
            })),
        };
        bar.draw(false);
        let b = bar.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(REFRESH_INTERVAL).await;
                if !b.draw(false) {
                    return;
                }
            }
        });
        bar
    }

    /// Adds `n` done units.
    pub fn add(&self, n: u64) {
        self.current.fetch_add(n, Ordering::Relaxed);
    }

    /// Draws one frame; false once finished.
    fn draw(&self, finish: bool) -> bool {
        let mut st = self.state.lock().expect("bar lock");
        if st.finished {
            return false;
        }
        let current = self.current.load(Ordering::Relaxed);
        let elapsed = st.started.elapsed();
        if current != st.seen {
            st.seen = current;
            st.changed_at = elapsed;
        }
        let line = render(&Frame {
            total: self.total,
            current,
            width: st.width,
            elapsed,
            changed_at: st.changed_at,
            finished: finish,
        });
        let mut o = std::io::stdout().lock();
        let _ = write!(o, "\r{line}");
        if finish {
            let _ = writeln!(o);
            st.finished = true;
        }
        let _ = o.flush();
        true
    }

    /// Draws the final frame and a newline; stops redrawing.
    pub fn finish(&self) {
        self.draw(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(total: u64, current: u64, width: usize) -> Frame {
        Frame {
            total,
            current,
            width,
            elapsed: Duration::from_millis(1500),
            changed_at: Duration::from_millis(1000),
            finished: false,
        }
    }

    #[test]
    fn without_a_terminal_there_is_no_bar() {
        assert_eq!(render(&frame(60, 0, 0)), " 0 / 60    0.00%");
        // 1 unit per second so far, 59 left, 0.5 s since the change.
        assert_eq!(render(&frame(60, 1, 0)), " 1 / 60    1.67% 00m58s");
        let done = Frame {
            elapsed: Duration::from_millis(60_400),
            finished: true,
            ..frame(60, 60, 0)
        };
        assert_eq!(render(&done), " 60 / 60  100.00% 1m0s");
    }

    #[test]
    fn bar_fills_the_terminal_width() {
        let s = render(&frame(10, 5, 40));
        assert_eq!(s.chars().count(), 40);
        assert!(s.starts_with(" 5 / 10 Boo"), "{s:?}");
        assert!(s.contains("m "), "{s:?}");
        assert!(s.contains("!  50.00%"), "{s:?}");
    }

    #[test]
    fn time_left_format() {
        assert_eq!(time_left(Duration::from_secs(59)), "00m59s");
        assert_eq!(time_left(Duration::from_secs(3661)), "1h01m01s");
    }
}
