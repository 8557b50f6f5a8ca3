//! Streaming writer: sorted (bucket, key, value) in, a compact bbolt file out.
//!
//! Contract:
//! - Top-level buckets only, given in strictly ascending name order; keys in
//!   strictly ascending order within a bucket; keys are non-empty and at most
//!   [`KEY_BYTES_MAX`]. Violations are errors, and the output is then garbage.
//! - Pages are written in order as they fill (leaves full, like bbolt's
//!   compaction with fill percent 1.0); only one leaf and the first key of
//!   each page per tree level are held in memory.
//! - A bucket whose content fits a quarter page and never filled a page is
//!   stored inline in its parent, as bbolt does for small buckets.
//! - Layout: pages 0 and 1 are the metas (written last), then the bucket
//!   pages, then the root bucket's pages. No freelist page is stored
//!   ([`NO_FREELIST`], as etcd 3.4 writes with `NoFreelistSync`) and no page
//!   is free, so bbolt's `tx.Check` finds every page reachable.

use std::io::{Seek, SeekFrom, Write};

use crate::error::BoltError;
use crate::node::{
    branch_entry_bytes, encode_branch, encode_leaf, leaf_entry_bytes, BranchEntry, LeafEntry,
};
use crate::page::{
    Meta, PageHeader, BUCKET_HEADER_BYTES, ELEMENT_BUCKET, FLAG_META, META_BYTES, NO_FREELIST,
    PAGE_HEADER_BYTES,
};

/// bbolt's default page size on Linux.
pub const PAGE_SIZE_DEFAULT: u32 = 4096;
/// bbolt's `MaxKeySize`.
pub const KEY_BYTES_MAX: usize = 32768;
/// bbolt's `MaxValueSize`.
pub const VALUE_BYTES_MAX: usize = (1 << 31) - 2;
/// Elements per node: the page header's `count` is a u16.
const NODE_ELEMENTS_MAX: usize = u16::MAX as usize - 1;

/// Writes pages sequentially and hands out their ids.
struct Sink<W> {
    out: W,
    page_size: usize,
    next_pgid: u64,
}

impl<W: Write> Sink<W> {
    fn write(&mut self, page: &[u8]) -> Result<(), BoltError> {
        assert_eq!(
            page.len() % self.page_size,
            0,
            "pages are padded to the page size"
        );
        self.out.write_all(page)?;
        self.next_pgid += (page.len() / self.page_size) as u64;
        Ok(())
    }
}

/// One B+tree being built bottom-up.
#[derive(Default)]
struct Tree {
    leaf: Vec<LeafEntry>,
    leaf_bytes: usize,
    /// First key and page of each written leaf.
    leaves: Vec<BranchEntry>,
    last_key: Option<Vec<u8>>,
}

impl Tree {
    fn push<W: Write>(&mut self, sink: &mut Sink<W>, entry: LeafEntry) -> Result<(), BoltError> {
        let add = leaf_entry_bytes(&entry.key, &entry.value);
        if !self.leaf.is_empty()
            && (PAGE_HEADER_BYTES + self.leaf_bytes + add > sink.page_size
                || self.leaf.len() >= NODE_ELEMENTS_MAX)
        {
            self.flush_leaf(sink)?;
        }
        self.leaf_bytes += add;
        self.last_key = Some(entry.key.clone());
        self.leaf.push(entry);
        Ok(())
    }

    fn flush_leaf<W: Write>(&mut self, sink: &mut Sink<W>) -> Result<(), BoltError> {
        let id = sink.next_pgid;
        let page = encode_leaf(&self.leaf, id, sink.page_size);
        let first = self.leaf.first().map(|e| e.key.clone()).unwrap_or_default();
        sink.write(&page)?;
        self.leaves.push(BranchEntry {
            key: first,
            pgid: id,
        });
        self.leaf.clear();
        self.leaf_bytes = 0;
        Ok(())
    }

    /// Finishes the tree; returns the bucket value to store in the parent.
    fn finish<W: Write>(
        mut self,
        sink: &mut Sink<W>,
        allow_inline: bool,
    ) -> Result<Vec<u8>, BoltError> {
        let inline_max = sink.page_size / 4;
        if allow_inline
            && self.leaves.is_empty()
            && PAGE_HEADER_BYTES + self.leaf_bytes <= inline_max
        {
            let mut v = vec![0u8; BUCKET_HEADER_BYTES];
            v.extend_from_slice(&encode_leaf(&self.leaf, 0, 0));
            return Ok(v);
        }
        if !self.leaf.is_empty() || self.leaves.is_empty() {
            self.flush_leaf(sink)?;
        }
        let mut level = std::mem::take(&mut self.leaves);
        while level.len() > 1 {
            level = write_branch_level(sink, level)?;
        }
        let root = level[0].pgid;
        let mut v = vec![0u8; BUCKET_HEADER_BYTES];
        v[0..8].copy_from_slice(&root.to_le_bytes());
        Ok(v)
    }
}

/// Packs one level of children into branch pages; returns the level above.
fn write_branch_level<W: Write>(
    sink: &mut Sink<W>,
    children: Vec<BranchEntry>,
) -> Result<Vec<BranchEntry>, BoltError> {
    let mut parents = Vec::new();
    let mut node: Vec<BranchEntry> = Vec::new();
    let mut bytes = 0usize;
    let mut flush = |node: &mut Vec<BranchEntry>,
                     bytes: &mut usize,
                     sink: &mut Sink<W>|
     -> Result<(), BoltError> {
        let id = sink.next_pgid;
        let page = encode_branch(node, id, sink.page_size);
        sink.write(&page)?;
        parents.push(BranchEntry {
            key: node[0].key.clone(),
            pgid: id,
        });
        node.clear();
        *bytes = 0;
        Ok(())
    };
    for child in children {
        let add = branch_entry_bytes(&child.key);
        if !node.is_empty()
            && (PAGE_HEADER_BYTES + bytes + add > sink.page_size || node.len() >= NODE_ELEMENTS_MAX)
        {
            flush(&mut node, &mut bytes, sink)?;
        }
        bytes += add;
        node.push(child);
    }
    if !node.is_empty() {
        flush(&mut node, &mut bytes, sink)?;
    }
    Ok(parents)
}

/// Builds a bbolt file from sorted input. See the module docs.
pub struct BoltWriter<W: Write + Seek> {
    sink: Sink<W>,
    root: Tree,
    current: Option<(Vec<u8>, Tree)>,
}

impl<W: Write + Seek> BoltWriter<W> {
    /// Starts a file with [`PAGE_SIZE_DEFAULT`] at the current start of `out`
    /// (which must be empty: offset 0 is page 0).
    pub fn new(out: W) -> Result<BoltWriter<W>, BoltError> {
        Self::with_page_size(out, PAGE_SIZE_DEFAULT)
    }

    /// Starts a file with `page_size_bytes` (a power of two, 1 KiB to 64 KiB).
    pub fn with_page_size(mut out: W, page_size_bytes: u32) -> Result<BoltWriter<W>, BoltError> {
        if !page_size_bytes.is_power_of_two() || !(1024..=65536).contains(&page_size_bytes) {
            return Err(BoltError::TooLarge(format!("page size {page_size_bytes}")));
        }
        let page_size = page_size_bytes as usize;
        out.seek(SeekFrom::Start(0))?;
        // Placeholder metas; the real ones are written by `finish`.
        out.write_all(&vec![0u8; 2 * page_size])?;
        Ok(BoltWriter {
            sink: Sink {
                out,
                page_size,
                next_pgid: 2,
            },
            root: Tree::default(),
            current: None,
        })
    }

    /// Starts the next top-level bucket (possibly left empty).
    pub fn begin_bucket(&mut self, name: &[u8]) -> Result<(), BoltError> {
        check_key(name)?;
        self.end_bucket()?;
        if let Some(last) = &self.root.last_key {
            if name <= last.as_slice() {
                return Err(BoltError::Unsorted(format!(
                    "bucket {:?} after {:?}",
                    String::from_utf8_lossy(name),
                    String::from_utf8_lossy(last)
                )));
            }
        }
        self.current = Some((name.to_vec(), Tree::default()));
        Ok(())
    }

    /// Appends `key` → `value` to the current bucket.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), BoltError> {
        check_key(key)?;
        if value.len() > VALUE_BYTES_MAX {
            return Err(BoltError::TooLarge(format!(
                "value of {} bytes",
                value.len()
            )));
        }
        let Some((name, tree)) = self.current.as_mut() else {
            return Err(BoltError::Unsorted("put before any bucket".into()));
        };
        if let Some(last) = &tree.last_key {
            if key <= last.as_slice() {
                return Err(BoltError::Unsorted(format!(
                    "key {:?} after {:?} in bucket {:?}",
                    String::from_utf8_lossy(key),
                    String::from_utf8_lossy(last),
                    String::from_utf8_lossy(name)
                )));
            }
        }
        tree.push(
            &mut self.sink,
            LeafEntry {
                key: key.to_vec(),
                value: value.to_vec(),
                flags: 0,
            },
        )
    }

    fn end_bucket(&mut self) -> Result<(), BoltError> {
        if let Some((name, tree)) = self.current.take() {
            let value = tree.finish(&mut self.sink, true)?;
            self.root.push(
                &mut self.sink,
                LeafEntry {
                    key: name,
                    value,
                    flags: ELEMENT_BUCKET,
                },
            )?;
        }
        Ok(())
    }

    /// Writes the root bucket and the meta pages; returns the sink and the
    /// database size in bytes (pages × page size). The caller syncs.
    pub fn finish(mut self) -> Result<(W, u64), BoltError> {
        self.end_bucket()?;
        let root = std::mem::take(&mut self.root).finish(&mut self.sink, false)?;
        let root_pgid = u64::from_le_bytes(root[0..8].try_into().expect("bucket header"));
        let page_size = self.sink.page_size;
        let high_water = self.sink.next_pgid;
        let mut metas = vec![0u8; 2 * page_size];
        for i in 0..2u64 {
            let page = &mut metas[i as usize * page_size..][..page_size];
            PageHeader {
                id: i,
                flags: FLAG_META,
                count: 0,
                overflow: 0,
            }
            .encode(page);
            Meta {
                page_size: page_size as u32,
                flags: 0,
                root_pgid,
                root_sequence: 0,
                freelist_pgid: NO_FREELIST,
                high_water_pgid: high_water,
                txid: i + 1,
            }
            .encode(&mut page[PAGE_HEADER_BYTES..PAGE_HEADER_BYTES + META_BYTES]);
        }
        let mut out = self.sink.out;
        out.flush()?;
        out.seek(SeekFrom::Start(0))?;
        out.write_all(&metas)?;
        out.seek(SeekFrom::Start(high_water * page_size as u64))?;
        out.flush()?;
        Ok((out, high_water * page_size as u64))
    }
}

fn check_key(key: &[u8]) -> Result<(), BoltError> {
    if key.is_empty() {
        return Err(BoltError::Unsorted("empty key".into()));
    }
    if key.len() > KEY_BYTES_MAX {
        return Err(BoltError::TooLarge(format!("key of {} bytes", key.len())));
    }
    Ok(())
}
