//! CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum etcd
//! uses for its hashes (`crc32.MakeTable(crc32.Castagnoli)`), shared by the
//! backend's whole-database hash and mvcc's HashKV so there is one table.
//!
//! Contract: [`crc32c_update`] chains, i.e. `update(update(0, a), b)` equals
//! `update(0, a ++ b)`, like Go's `crc32.Update`; 0 is the initial value.

/// The byte-at-a-time lookup table, built at compile time.
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82F6_3B78
            } else {
                c >> 1
            };
            bit += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// Extends the checksum `crc` (0 to start) with `data`.
pub fn crc32c_update(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    for &b in data {
        c = TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value_and_chaining() {
        assert_eq!(crc32c_update(0, b"123456789"), 0xE306_9283);
        let split = crc32c_update(crc32c_update(0, b"1234"), b"56789");
        assert_eq!(split, 0xE306_9283, "incremental updates chain");
        assert_eq!(crc32c_update(0, b""), 0);
    }
}
