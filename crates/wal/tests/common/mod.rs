//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use etcd_wal::{WalEntry, WalOptions};

/// Small segments so a few saves span several files.
pub fn small() -> WalOptions {
    WalOptions { segment_bytes: 512 }
}

pub fn entry(index: u64, term: u64) -> WalEntry {
    WalEntry {
        index,
        term,
        data: format!("entry-{index}-{term}").into_bytes(),
    }
}

/// Copies every file of `from` into a fresh temp dir.
pub fn copy_dir(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.path().join(e.file_name())).unwrap();
    }
    to
}

/// `*.wal` files in `dir`, sorted by name.
pub fn wal_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wal"))
        .collect();
    v.sort();
    v
}

/// Byte spans `[start, end)` of the records in a segment, walked by the length words as
/// FORMAT.md specifies (`len` u32 LE counts type + crc + payload; records padded to 8).
pub fn record_spans(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut off = 0;
    while off + 4 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
        if len == 0 {
            break;
        }
        let end = off + (4 + len).div_ceil(8) * 8;
        spans.push((off, end));
        off = end;
    }
    spans
}

/// Tiny deterministic PRNG (xorshift64*), so failures reproduce from the seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
