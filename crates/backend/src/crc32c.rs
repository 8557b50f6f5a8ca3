//! CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum etcd
//! uses for its hashes (`crc32.MakeTable(crc32.Castagnoli)`), shared by the
//! backend's whole-database hash, mvcc's HashKV, etcd's WAL/snap files
//! (crates/wal) and bbolt snapshot status (crates/bbolt).
//!
//! Contract: [`crc32c_update`] chains, i.e. `update(update(0, a), b)` equals
//! `update(0, a ++ b)`, like Go's `crc32.Update`; 0 is the initial value.

/// Extends the checksum `crc` (0 to start) with `data`.
pub fn crc32c_update(crc: u32, data: &[u8]) -> u32 {
    ::crc32c::crc32c_append(crc, data)
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
