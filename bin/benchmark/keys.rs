//! Keys and values like etcd's benchmark makes them: a key is `--key-size`
//! bytes holding the zig-zag varint of its number (the rest zero), the number
//! either sequential modulo `--key-space-size` or pseudo-random below it.
//! Values are pseudo-random bytes. Generation is deterministic per index, so
//! runs are reproducible.

/// Zig-zag varint of `n` (Go's `binary.PutVarint`), cut or zero-padded to `size` bytes.
pub fn varint_key(n: i64, size: usize) -> Vec<u8> {
    let mut ux = ((n << 1) ^ (n >> 63)) as u64;
    let mut key = Vec::with_capacity(size.max(10));
    while ux >= 0x80 {
        key.push((ux as u8) | 0x80);
        ux >>= 7;
    }
    key.push(ux as u8);
    key.resize(size, 0);
    key
}

/// The key number for request `i`.
pub fn key_number(i: u64, space: u64, sequential: bool) -> i64 {
    let space = space.max(1);
    (if sequential {
        i % space
    } else {
        mix(i) % space
    }) as i64
}

/// Deterministic pseudo-random bytes (`seed` picks the stream).
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(
            &mix(seed.wrapping_mul(0x1000_0000_01b3).wrapping_add(i)).to_le_bytes(),
        );
        i += 1;
    }
    out.truncate(len);
    out
}

/// A fixed 64-bit mixing function (splitmix64's finaliser).
pub fn mix(i: u64) -> u64 {
    let mut x = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_matches_go_encoding() {
        assert_eq!(varint_key(0, 4), vec![0, 0, 0, 0]);
        assert_eq!(varint_key(1, 2), vec![2, 0]);
        assert_eq!(varint_key(64, 3), vec![0x80, 0x01, 0]);
        assert_eq!(varint_key(-1, 1), vec![1]);
    }

    #[test]
    fn key_numbers_stay_in_space() {
        assert!((0..1000).all(|i| key_number(i, 7, false) < 7));
        assert_eq!(key_number(9, 7, true), 2);
        assert_eq!(random_bytes(13, 1).len(), 13);
    }
}
