//! Spreading piled-up expiries on promotion (etcd's `Promote`).
//!
//! After a leader change every lease gets a fresh expiry at about the same
//! instant, so many could expire within one second and exceed the revoke
//! rate. When there are at least `revoke_rate_per_s` leases, leases beyond
//! `3/4` of the rate inside one one-second window are pushed back, so no
//! window holds more than the target. Pure: input and output are durations.

/// For leases sorted by remaining time (nanoseconds, ascending), the extra
/// delay in nanoseconds to add to each, `None` for leases left alone.
pub(crate) fn pile_up_delays_ns(
    sorted_remaining_ns: &[i64],
    revoke_rate_per_s: usize,
) -> Vec<Option<i64>> {
    const SECOND_NS: i64 = 1_000_000_000;
    let mut out = vec![None; sorted_remaining_ns.len()];
    let Some(&first) = sorted_remaining_ns.first() else {
        return out;
    };
    let target_per_s = ((3 * revoke_rate_per_s) / 4).max(1) as f64;
    let mut base_window = first;
    let mut next_window = base_window.saturating_add(SECOND_NS);
    let mut expires = 0usize;
    for (i, &remaining) in sorted_remaining_ns.iter().enumerate() {
        if remaining > next_window {
            base_window = remaining;
            next_window = base_window.saturating_add(SECOND_NS);
            expires = 1;
            continue;
        }
        expires += 1;
        if expires as f64 <= target_per_s {
            continue;
        }
        let mut rate_delay = SECOND_NS as f64 * (expires as f64 / target_per_s);
        // A lease already n seconds past the window start needs n seconds less.
        rate_delay -= (remaining - base_window) as f64;
        let delay = rate_delay as i64;
        next_window = base_window.saturating_add(delay);
        out[i] = Some(delay);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_leases_per_window_are_left_alone() {
        let r = vec![1_000_000_000; 3];
        assert_eq!(pile_up_delays_ns(&r, 4), vec![None, None, None]);
    }

    #[test]
    fn a_pile_is_spread_to_the_target_rate() {
        // 8 leases expiring together, rate 4/s → target 3 per second.
        let r = vec![5_000_000_000i64; 8];
        let d = pile_up_delays_ns(&r, 4);
        assert_eq!(&d[..3], &[None, None, None]);
        let delays: Vec<i64> = d[3..].iter().map(|x| x.unwrap()).collect();
        // 4/3 s, 5/3 s, 2 s, ...: strictly increasing, each window ≤ 3 leases.
        assert!(delays.windows(2).all(|w| w[0] < w[1]), "{delays:?}");
        assert_eq!(delays[0], 1_333_333_333);
        let mut per_second = std::collections::BTreeMap::new();
        for x in d.iter().map(|x| x.unwrap_or(0)) {
            *per_second.entry(x / 1_000_000_000).or_insert(0) += 1;
        }
        assert!(per_second.values().all(|n| *n <= 3), "{per_second:?}");
    }
}
