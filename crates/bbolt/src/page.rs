//! Page and meta layouts: fixed-width little-endian fields (see `FORMAT.md`).
//!
//! Every page starts with a 16-byte header: `id u64`, `flags u16`,
//! `count u16`, `overflow u32`. A page of `overflow + 1` consecutive
//! `page_size` blocks holds one node. Branch and leaf elements are 16 bytes
//! each and locate their key (and value) by an offset from the element's own
//! first byte.

/// Bytes of a page header.
pub const PAGE_HEADER_BYTES: usize = 16;
/// Bytes of one branch or leaf element.
pub const ELEMENT_BYTES: usize = 16;
/// Bytes of a bucket header (`root u64`, `sequence u64`).
pub const BUCKET_HEADER_BYTES: usize = 16;
/// Bytes of the meta structure that follows the page header.
pub const META_BYTES: usize = 64;

/// Branch page flag.
pub const FLAG_BRANCH: u16 = 0x01;
/// Leaf page flag.
pub const FLAG_LEAF: u16 = 0x02;
/// Meta page flag.
pub const FLAG_META: u16 = 0x04;
/// Freelist page flag.
pub const FLAG_FREELIST: u16 = 0x10;
/// Leaf element flag: the value is a nested bucket.
pub const ELEMENT_BUCKET: u32 = 0x01;

/// The magic number of a bbolt file.
pub const MAGIC: u32 = 0xED0C_DAED;
/// The only supported format version.
pub const VERSION: u32 = 2;
/// `freelist` value meaning "no freelist stored" (etcd 3.4's `NoFreelistSync`).
pub const NO_FREELIST: u64 = u64::MAX;

/// A decoded page header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageHeader {
    /// Page id.
    pub id: u64,
    /// Page kind flags.
    pub flags: u16,
    /// Element count.
    pub count: u16,
    /// Extra pages this node spans.
    pub overflow: u32,
}

impl PageHeader {
    /// Decodes from the first 16 bytes of `b`.
    pub fn decode(b: &[u8]) -> PageHeader {
        PageHeader {
            id: u64_at(b, 0),
            flags: u16::from_le_bytes([b[8], b[9]]),
            count: u16::from_le_bytes([b[10], b[11]]),
            overflow: u32_at(b, 12),
        }
    }

    /// Encodes into the first 16 bytes of `b`.
    pub fn encode(&self, b: &mut [u8]) {
        b[0..8].copy_from_slice(&self.id.to_le_bytes());
        b[8..10].copy_from_slice(&self.flags.to_le_bytes());
        b[10..12].copy_from_slice(&self.count.to_le_bytes());
        b[12..16].copy_from_slice(&self.overflow.to_le_bytes());
    }
}

/// The meta structure of pages 0 and 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// Page size in bytes.
    pub page_size: u32,
    /// Flags (unused, 0).
    pub flags: u32,
    /// Root bucket's root page.
    pub root_pgid: u64,
    /// Root bucket's sequence.
    pub root_sequence: u64,
    /// Freelist page or [`NO_FREELIST`].
    pub freelist_pgid: u64,
    /// High-water mark: number of pages in use.
    pub high_water_pgid: u64,
    /// Transaction id; the valid meta with the larger one wins.
    pub txid: u64,
}

/// Why a meta page was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaFault {
    /// Wrong magic number: not a bbolt file.
    Magic,
    /// Unsupported version.
    Version(u32),
    /// Checksum mismatch.
    Checksum,
}

impl Meta {
    /// Encodes the 64-byte meta (checksum included) into `b`.
    pub fn encode(&self, b: &mut [u8]) {
        b[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        b[4..8].copy_from_slice(&VERSION.to_le_bytes());
        b[8..12].copy_from_slice(&self.page_size.to_le_bytes());
        b[12..16].copy_from_slice(&self.flags.to_le_bytes());
        b[16..24].copy_from_slice(&self.root_pgid.to_le_bytes());
        b[24..32].copy_from_slice(&self.root_sequence.to_le_bytes());
        b[32..40].copy_from_slice(&self.freelist_pgid.to_le_bytes());
        b[40..48].copy_from_slice(&self.high_water_pgid.to_le_bytes());
        b[48..56].copy_from_slice(&self.txid.to_le_bytes());
        let sum = fnv1a64(&b[0..56]);
        b[56..64].copy_from_slice(&sum.to_le_bytes());
    }

    /// Decodes and validates the 64-byte meta in `b`. A zero checksum is
    /// accepted unchecked, as bbolt does.
    pub fn decode(b: &[u8]) -> Result<Meta, MetaFault> {
        if u32_at(b, 0) != MAGIC {
            return Err(MetaFault::Magic);
        }
        let version = u32_at(b, 4);
        if version != VERSION {
            return Err(MetaFault::Version(version));
        }
        let sum = u64_at(b, 56);
        if sum != 0 && sum != fnv1a64(&b[0..56]) {
            return Err(MetaFault::Checksum);
        }
        Ok(Meta {
            page_size: u32_at(b, 8),
            flags: u32_at(b, 12),
            root_pgid: u64_at(b, 16),
            root_sequence: u64_at(b, 24),
            freelist_pgid: u64_at(b, 32),
            high_water_pgid: u64_at(b, 40),
            txid: u64_at(b, 48),
        })
    }
}

/// 64-bit FNV-1a, the meta checksum.
pub fn fnv1a64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Little-endian u32 at `off` (caller checked bounds).
pub fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}

/// Little-endian u64 at `off` (caller checked bounds).
pub fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_round_trips_and_detects_corruption() {
        let m = Meta {
            page_size: 4096,
            flags: 0,
            root_pgid: 3,
            root_sequence: 0,
            freelist_pgid: NO_FREELIST,
            high_water_pgid: 9,
            txid: 7,
        };
        let mut b = [0u8; META_BYTES];
        m.encode(&mut b);
        assert_eq!(Meta::decode(&b), Ok(m));
        b[40] ^= 1;
        assert_eq!(Meta::decode(&b), Err(MetaFault::Checksum));
        b[0] ^= 1;
        assert_eq!(Meta::decode(&b), Err(MetaFault::Magic));
    }

    #[test]
    fn fnv_known_value() {
        // FNV-1a 64 of "a" (published test vector).
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
