//! `--rate`: a token-bucket limiter with a burst of one, shared by all
//! clients of a phase. Each caller reserves the next free slot and sleeps
//! until it (the sleep *is* the rate limit, not a synchronisation stand-in).
//! A rate of zero means no limit.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Spaces requests `1/rate` seconds apart.
pub struct Limiter {
    interval: Option<Duration>,
    next: Mutex<Option<Instant>>,
}

impl Limiter {
    /// A limiter allowing `rate_per_sec` requests a second (0: unlimited).
    pub fn new(rate_per_sec: u64) -> Limiter {
        let interval =
            (rate_per_sec > 0).then(|| Duration::from_secs_f64(1.0 / rate_per_sec as f64));
        Limiter {
            interval,
            next: Mutex::new(None),
        }
    }

    /// Waits for this caller's slot.
    pub async fn wait(&self) {
        let Some(interval) = self.interval else {
            return;
        };
        let slot = {
            let mut next = self.next.lock().expect("limiter lock");
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}
