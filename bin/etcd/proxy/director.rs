//! Which members' client URLs the proxy sends requests to (etcd's
//! `httpproxy.director`), as a pure state machine: the caller passes the
//! clock in, so tests step time instead of sleeping.
//!
//! Contract (etcd 3.4):
//! - [`Director::replace`] installs a fresh endpoint list from a refresh;
//!   every endpoint starts available, so a refresh also clears failures.
//!   The list is shuffled so proxies do not all pile onto one member.
//! - A request tries the [`Director::available`] endpoints in order; one that
//!   cannot be reached is [`Director::failed`] and skipped for `failure_wait`,
//!   after which it is available again "to retest connectivity".
//! - The refresh period is the configured interval, except that with an
//!   interval of 30 s or more and no endpoint available the proxy refreshes
//!   every second ([`Director::next_refresh_in`]).

use std::time::{Duration, Instant};

/// etcd's default refresh interval; at or above it, an empty endpoint list
/// is refreshed every [`EMPTY_REFRESH`].
pub const DEFAULT_REFRESH: Duration = Duration::from_millis(30_000);
/// Refresh period while no endpoint is available (long intervals only).
pub const EMPTY_REFRESH: Duration = Duration::from_secs(1);

/// One member client URL and when it may be tried again.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Endpoint {
    url: String,
    /// `Some(t)`: failed, skipped until `t`.
    unavailable_until: Option<Instant>,
}

/// The endpoint list and its failure bookkeeping.
#[derive(Debug)]
pub struct Director {
    endpoints: Vec<Endpoint>,
    failure_wait: Duration,
}

impl Director {
    /// An empty director whose failed endpoints stay out for `failure_wait`.
    pub fn new(failure_wait: Duration) -> Director {
        Director {
            endpoints: Vec::new(),
            failure_wait,
        }
    }

    /// Installs the URLs of a refresh, all available, shuffled with `seed`
    /// (Fisher–Yates over a xorshift sequence; any seed is fine).
    pub fn replace(&mut self, urls: Vec<String>, seed: u64) {
        let mut eps: Vec<Endpoint> = urls
            .into_iter()
            .map(|url| Endpoint {
                url,
                unavailable_until: None,
            })
            .collect();
        let mut x = seed | 1;
        for i in (1..eps.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            eps.swap(i, (x % (i as u64 + 1)) as usize);
        }
        self.endpoints = eps;
    }

    /// The endpoints to try now, in order. Endpoints whose failure wait has
    /// passed become available again; their URLs are returned second, for
    /// the caller to log.
    pub fn available(&mut self, now: Instant) -> (Vec<String>, Vec<String>) {
        let mut back = Vec::new();
        let mut out = Vec::new();
        for ep in &mut self.endpoints {
            if let Some(until) = ep.unavailable_until {
                if now < until {
                    continue;
                }
                ep.unavailable_until = None;
                back.push(ep.url.clone());
            }
            out.push(ep.url.clone());
        }
        (out, back)
    }

    /// Marks `url` unreachable until `now + failure_wait`. Returns false when
    /// it was already marked (or is not in the list), so the caller logs once.
    pub fn failed(&mut self, url: &str, now: Instant) -> bool {
        match self
            .endpoints
            .iter_mut()
            .find(|e| e.url == url && e.unavailable_until.is_none())
        {
            Some(ep) => {
                ep.unavailable_until = Some(now + self.failure_wait);
                true
            }
            None => false,
        }
    }

    /// How long to wait before the next refresh, given the configured
    /// interval and how many endpoints are available now.
    pub fn next_refresh_in(interval: Duration, available: usize) -> Duration {
        if interval >= DEFAULT_REFRESH && available == 0 {
            EMPTY_REFRESH
        } else {
            interval
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("http://127.0.0.1:{}", 2379 + i))
            .collect()
    }

    #[test]
    fn replace_keeps_every_url_once() {
        for seed in 0..50 {
            let mut d = Director::new(Duration::from_secs(5));
            d.replace(urls(5), seed);
            let (mut got, back) = d.available(Instant::now());
            assert!(back.is_empty());
            got.sort();
            assert_eq!(got, urls(5));
        }
    }

    #[test]
    fn shuffle_varies_with_the_seed() {
        let firsts: std::collections::BTreeSet<String> = (0..64u64)
            .map(|seed| {
                let mut d = Director::new(Duration::ZERO);
                d.replace(urls(3), seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
                d.available(Instant::now()).0[0].clone()
            })
            .collect();
        assert_eq!(firsts.len(), 3, "every endpoint comes first for some seed");
    }

    #[test]
    fn failed_endpoint_is_skipped_for_the_failure_wait() {
        let t0 = Instant::now();
        let wait = Duration::from_millis(5000);
        let mut d = Director::new(wait);
        d.replace(urls(2), 7);
        let first = d.available(t0).0[0].clone();
        assert!(d.failed(&first, t0));
        assert!(!d.failed(&first, t0), "second report of the same failure");
        let (now, back) = d.available(t0 + wait - Duration::from_millis(1));
        assert_eq!(now.len(), 1);
        assert!(!now.contains(&first));
        assert!(back.is_empty());
        let (now, back) = d.available(t0 + wait);
        assert_eq!(now.len(), 2);
        assert_eq!(back, vec![first]);
    }

    #[test]
    fn refresh_clears_failures() {
        let t0 = Instant::now();
        let mut d = Director::new(Duration::from_secs(60));
        d.replace(urls(1), 1);
        assert!(d.failed(&urls(1)[0], t0));
        assert!(d.available(t0).0.is_empty());
        d.replace(urls(1), 2);
        assert_eq!(d.available(t0).0, urls(1));
    }

    #[test]
    fn long_intervals_refresh_every_second_while_empty() {
        let i = DEFAULT_REFRESH;
        assert_eq!(Director::next_refresh_in(i, 0), EMPTY_REFRESH);
        assert_eq!(Director::next_refresh_in(i, 1), i);
        let short = Duration::from_millis(200);
        assert_eq!(Director::next_refresh_in(short, 0), short);
    }
}
