//! Encoding leaf and branch nodes into page bytes, and sizing them.
//!
//! A node's bytes: header, then `count` 16-byte elements, then the keys (and,
//! for leaves, each value right after its key) in element order. Element
//! offsets (`pos`) count from the element's own first byte.

use crate::page::{PageHeader, ELEMENT_BYTES, FLAG_BRANCH, FLAG_LEAF, PAGE_HEADER_BYTES};

/// One leaf element: key, value, flags (`ELEMENT_BUCKET` for a bucket).
pub(crate) struct LeafEntry {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub flags: u32,
}

/// One branch element: the first key of a child and the child's page.
pub(crate) struct BranchEntry {
    pub key: Vec<u8>,
    pub pgid: u64,
}

/// Bytes a leaf element adds to its node.
pub(crate) fn leaf_entry_bytes(key: &[u8], value: &[u8]) -> usize {
    ELEMENT_BYTES + key.len() + value.len()
}

/// Bytes a branch element adds to its node.
pub(crate) fn branch_entry_bytes(key: &[u8]) -> usize {
    ELEMENT_BYTES + key.len()
}

/// Encodes a leaf node; `pad_to` rounds the length up to a multiple of it
/// (the page size) and sets `overflow`, or 0 for an inline bucket page.
pub(crate) fn encode_leaf(entries: &[LeafEntry], id: u64, pad_to: usize) -> Vec<u8> {
    let used = PAGE_HEADER_BYTES
        + entries
            .iter()
            .map(|e| leaf_entry_bytes(&e.key, &e.value))
            .sum::<usize>();
    let mut buf = vec![0u8; padded(used, pad_to)];
    header(&mut buf, id, FLAG_LEAF, entries.len(), pad_to);
    let mut data = PAGE_HEADER_BYTES + entries.len() * ELEMENT_BYTES;
    for (i, e) in entries.iter().enumerate() {
        let elem = PAGE_HEADER_BYTES + i * ELEMENT_BYTES;
        put_u32(&mut buf, elem, e.flags);
        put_u32(&mut buf, elem + 4, to_u32(data - elem));
        put_u32(&mut buf, elem + 8, to_u32(e.key.len()));
        put_u32(&mut buf, elem + 12, to_u32(e.value.len()));
        buf[data..data + e.key.len()].copy_from_slice(&e.key);
        data += e.key.len();
        buf[data..data + e.value.len()].copy_from_slice(&e.value);
        data += e.value.len();
    }
    buf
}

/// Encodes a branch node padded to whole pages of `page_size`.
pub(crate) fn encode_branch(entries: &[BranchEntry], id: u64, page_size: usize) -> Vec<u8> {
    let used = PAGE_HEADER_BYTES
        + entries
            .iter()
            .map(|e| branch_entry_bytes(&e.key))
            .sum::<usize>();
    let mut buf = vec![0u8; padded(used, page_size)];
    header(&mut buf, id, FLAG_BRANCH, entries.len(), page_size);
    let mut data = PAGE_HEADER_BYTES + entries.len() * ELEMENT_BYTES;
    for (i, e) in entries.iter().enumerate() {
        let elem = PAGE_HEADER_BYTES + i * ELEMENT_BYTES;
        put_u32(&mut buf, elem, to_u32(data - elem));
        put_u32(&mut buf, elem + 4, to_u32(e.key.len()));
        buf[elem + 8..elem + 16].copy_from_slice(&e.pgid.to_le_bytes());
        buf[data..data + e.key.len()].copy_from_slice(&e.key);
        data += e.key.len();
    }
    buf
}

fn padded(used: usize, pad_to: usize) -> usize {
    if pad_to == 0 {
        used
    } else {
        used.div_ceil(pad_to) * pad_to
    }
}

fn header(buf: &mut [u8], id: u64, flags: u16, count: usize, pad_to: usize) {
    let overflow = buf.len().checked_div(pad_to).map_or(0, |pages| pages - 1);
    PageHeader {
        id,
        flags,
        count: u16::try_from(count).expect("node element count checked by the writer"),
        overflow: to_u32(overflow),
    }
    .encode(buf);
}

fn put_u32(buf: &mut [u8], off: usize, v: u32) {
    buf[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn to_u32(v: usize) -> u32 {
    u32::try_from(v).expect("node sizes are checked by the writer to fit u32")
}
