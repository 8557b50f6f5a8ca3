//! Reader: open a bbolt file, list its top-level buckets, iterate a bucket.
//!
//! Every page read is checked before use: its id is below the meta's
//! high-water mark, it lies inside the file (else [`BoltError::Truncated`]),
//! its header names the page it was read from, its type is the one expected,
//! and its elements point inside it. Keys must come out strictly ascending
//! and trees at most [`TREE_DEPTH_MAX`] deep, so a corrupt file fails with an
//! error rather than a loop or a panic. Pages are read with positioned reads;
//! memory is bounded by the tree depth times the largest node.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::BoltError;
use crate::page::{
    u32_at, u64_at, Meta, MetaFault, PageHeader, BUCKET_HEADER_BYTES, ELEMENT_BUCKET,
    ELEMENT_BYTES, FLAG_BRANCH, FLAG_LEAF, META_BYTES, PAGE_HEADER_BYTES,
};

/// Deepest tree accepted.
pub const TREE_DEPTH_MAX: usize = 64;
/// Largest node accepted, in pages (bounds memory on a corrupt `overflow`).
const NODE_PAGES_MAX: u64 = 1 << 20;

/// An open bbolt file (read only).
pub struct BoltReader {
    file: File,
    file_bytes: u64,
    meta: Meta,
}

/// A walk's callback: (key, value, element flags) → go on?
type Visit<'a> = dyn FnMut(&[u8], &[u8], u32) -> Result<bool, BoltError> + 'a;

/// Where a tree's root lives.
enum Root {
    Page(u64),
    Inline(Vec<u8>),
}

impl BoltReader {
    /// Opens `path` and validates its meta pages.
    pub fn open(path: &Path) -> Result<BoltReader, BoltError> {
        Self::from_file(File::open(path)?)
    }

    /// Reads from an already open file.
    pub fn from_file(file: File) -> Result<BoltReader, BoltError> {
        let file_bytes = file.metadata()?.len();
        let mut first = vec![0u8; PAGE_HEADER_BYTES + META_BYTES];
        if file_bytes < first.len() as u64 {
            return Err(BoltError::Invalid(format!(
                "file of {file_bytes} bytes is too small"
            )));
        }
        file.read_exact_at(&mut first, 0)?;
        let m0 = Meta::decode(&first[PAGE_HEADER_BYTES..]);
        let page_size = match m0 {
            Ok(m) => m.page_size,
            Err(MetaFault::Magic) => {
                return Err(BoltError::Invalid("not a bbolt file (bad magic)".into()))
            }
            Err(MetaFault::Version(v)) => {
                return Err(BoltError::Invalid(format!("unsupported version {v}")))
            }
            // Page 0 is damaged; bbolt then assumes the OS page size.
            Err(MetaFault::Checksum) => crate::writer::PAGE_SIZE_DEFAULT,
        };
        if !page_size.is_power_of_two() || !(512..=65536).contains(&page_size) {
            return Err(BoltError::Invalid(format!("bad page size {page_size}")));
        }
        let mut m1 = Err(MetaFault::Magic);
        if file_bytes >= u64::from(page_size) + (PAGE_HEADER_BYTES + META_BYTES) as u64 {
            let mut second = vec![0u8; PAGE_HEADER_BYTES + META_BYTES];
            file.read_exact_at(&mut second, u64::from(page_size))?;
            m1 = Meta::decode(&second[PAGE_HEADER_BYTES..]);
        }
        let meta = match (m0, m1) {
            (Ok(a), Ok(b)) => {
                if b.txid > a.txid {
                    b
                } else {
                    a
                }
            }
            (Ok(a), Err(_)) => a,
            (Err(_), Ok(b)) => b,
            (Err(_), Err(_)) => {
                return Err(BoltError::Invalid(
                    "both meta pages are invalid (checksum mismatch)".into(),
                ))
            }
        };
        if meta.page_size != page_size {
            return Err(BoltError::Invalid(
                "meta pages disagree on the page size".into(),
            ));
        }
        let need_bytes = meta.high_water_pgid.saturating_mul(u64::from(page_size));
        if meta.high_water_pgid < 3 || meta.root_pgid < 2 || meta.root_pgid >= meta.high_water_pgid
        {
            return Err(BoltError::Invalid(format!(
                "meta page points outside the database (root {}, pages {})",
                meta.root_pgid, meta.high_water_pgid
            )));
        }
        if file_bytes < need_bytes {
            return Err(BoltError::Truncated {
                need_bytes,
                have_bytes: file_bytes,
            });
        }
        Ok(BoltReader {
            file,
            file_bytes,
            meta,
        })
    }

    /// The page size in bytes.
    pub fn page_size(&self) -> u32 {
        self.meta.page_size
    }

    /// The database size as bbolt's `tx.Size()`: pages in use × page size.
    pub fn size_bytes(&self) -> u64 {
        self.meta.high_water_pgid * u64::from(self.meta.page_size)
    }

    /// The file length (may exceed [`BoltReader::size_bytes`], e.g. by a
    /// snapshot's sha256 trailer).
    pub fn file_bytes(&self) -> u64 {
        self.file_bytes
    }

    /// The top-level bucket names, ascending.
    pub fn buckets(&self) -> Result<Vec<Vec<u8>>, BoltError> {
        let mut names = Vec::new();
        self.walk(Root::Page(self.meta.root_pgid), &mut |k, _v, flags| {
            if flags & ELEMENT_BUCKET != 0 {
                names.push(k.to_vec());
            }
            Ok(true)
        })?;
        Ok(names)
    }

    /// Calls `f(key, value)` for every entry of top-level bucket `name` in
    /// key order until it returns false. Nested buckets (unused by etcd) are
    /// passed with an empty value, as bbolt's `ForEach` passes nil.
    pub fn for_each(
        &self,
        name: &[u8],
        mut f: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), BoltError> {
        let mut header = None;
        self.walk(Root::Page(self.meta.root_pgid), &mut |k, v, flags| {
            if k == name && flags & ELEMENT_BUCKET != 0 {
                header = Some(v.to_vec());
                return Ok(false);
            }
            Ok(true)
        })?;
        let header = header
            .ok_or_else(|| BoltError::BucketNotFound(String::from_utf8_lossy(name).into_owned()))?;
        let root = self.bucket_root(&header)?;
        self.walk(root, &mut |k, v, flags| {
            Ok(f(k, if flags & ELEMENT_BUCKET != 0 { &[] } else { v }))
        })
    }

    fn bucket_root(&self, value: &[u8]) -> Result<Root, BoltError> {
        if value.len() < BUCKET_HEADER_BYTES {
            return Err(self.corrupt(self.meta.root_pgid, "bucket value shorter than its header"));
        }
        match u64_at(value, 0) {
            0 => Ok(Root::Inline(value[BUCKET_HEADER_BYTES..].to_vec())),
            pgid => Ok(Root::Page(pgid)),
        }
    }

    /// Depth-first, in-order walk of a tree; `f` gets (key, value, flags)
    /// and returns whether to go on.
    fn walk(&self, root: Root, f: &mut Visit<'_>) -> Result<(), BoltError> {
        let mut last_key: Option<Vec<u8>> = None;
        let mut check_order = |pgid: u64, key: &[u8]| -> Result<(), BoltError> {
            if let Some(last) = &last_key {
                if key <= last.as_slice() {
                    return Err(self.corrupt(pgid, "keys out of order"));
                }
            }
            last_key = Some(key.to_vec());
            Ok(())
        };
        // Stack of (node bytes, its pgid, next element index).
        let mut stack: Vec<(Vec<u8>, u64, usize)> = Vec::new();
        match root {
            Root::Inline(bytes) => {
                if bytes.len() < PAGE_HEADER_BYTES {
                    return Err(self.corrupt(0, "inline bucket shorter than a page header"));
                }
                let h = PageHeader::decode(&bytes);
                if h.flags & FLAG_LEAF == 0 {
                    return Err(self.corrupt(0, "inline bucket is not a leaf"));
                }
                stack.push((bytes, 0, 0));
            }
            Root::Page(pgid) => stack.push((self.read_node(pgid)?, pgid, 0)),
        }
        while let Some((node, pgid, idx)) = stack.last_mut() {
            let h = PageHeader::decode(node);
            if *idx >= usize::from(h.count) {
                stack.pop();
                continue;
            }
            let i = *idx;
            *idx += 1;
            let elem = PAGE_HEADER_BYTES + i * ELEMENT_BYTES;
            let pgid = *pgid;
            if elem + ELEMENT_BYTES > node.len() {
                return Err(self.corrupt(pgid, "element past the end of the page"));
            }
            if h.flags & FLAG_BRANCH != 0 {
                let pos = u32_at(node, elem) as usize;
                let ksize = u32_at(node, elem + 4) as usize;
                let child = u64_at(node, elem + 8);
                slice(node, elem + pos, ksize)
                    .ok_or_else(|| self.corrupt(pgid, "branch key past the end of the page"))?;
                if stack.len() >= TREE_DEPTH_MAX {
                    return Err(self.corrupt(child, "tree too deep (a cycle?)"));
                }
                let child_node = self.read_node(child)?;
                stack.push((child_node, child, 0));
            } else {
                let flags = u32_at(node, elem);
                let pos = u32_at(node, elem + 4) as usize;
                let ksize = u32_at(node, elem + 8) as usize;
                let vsize = u32_at(node, elem + 12) as usize;
                let key = slice(node, elem + pos, ksize)
                    .ok_or_else(|| self.corrupt(pgid, "leaf key past the end of the page"))?;
                let value = slice(node, elem + pos + ksize, vsize)
                    .ok_or_else(|| self.corrupt(pgid, "leaf value past the end of the page"))?;
                check_order(pgid, key)?;
                if !f(key, value, flags)? {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Reads a branch or leaf node with its overflow pages.
    fn read_node(&self, pgid: u64) -> Result<Vec<u8>, BoltError> {
        let ps = u64::from(self.meta.page_size);
        if pgid < 2 || pgid >= self.meta.high_water_pgid {
            return Err(self.corrupt(
                pgid,
                &format!(
                    "page id out of bounds (database has {} pages)",
                    self.meta.high_water_pgid
                ),
            ));
        }
        let mut buf = vec![0u8; ps as usize];
        self.read_at(&mut buf, pgid * ps)?;
        let h = PageHeader::decode(&buf);
        if h.id != pgid {
            return Err(self.corrupt(pgid, &format!("header names page {}", h.id)));
        }
        if h.flags & (FLAG_BRANCH | FLAG_LEAF) == 0 {
            return Err(self.corrupt(
                pgid,
                &format!("not a branch or leaf page (flags {:#x})", h.flags),
            ));
        }
        let pages = u64::from(h.overflow) + 1;
        if pages > NODE_PAGES_MAX || pgid + pages > self.meta.high_water_pgid {
            return Err(self.corrupt(
                pgid,
                &format!("overflow {} runs past the database", h.overflow),
            ));
        }
        if pages > 1 {
            buf.resize((pages * ps) as usize, 0);
            self.read_at(&mut buf[ps as usize..], (pgid + 1) * ps)?;
        }
        if PAGE_HEADER_BYTES + usize::from(h.count) * ELEMENT_BYTES > buf.len() {
            return Err(self.corrupt(pgid, "element count exceeds the page"));
        }
        if h.flags & FLAG_BRANCH != 0 && h.count == 0 {
            return Err(self.corrupt(pgid, "empty branch page"));
        }
        Ok(buf)
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<(), BoltError> {
        let end = offset + buf.len() as u64;
        if end > self.file_bytes {
            return Err(BoltError::Truncated {
                need_bytes: end,
                have_bytes: self.file_bytes,
            });
        }
        self.file.read_exact_at(buf, offset)?;
        Ok(())
    }

    fn corrupt(&self, pgid: u64, reason: &str) -> BoltError {
        BoltError::Corrupt {
            pgid,
            reason: reason.to_string(),
        }
    }
}

fn slice(b: &[u8], start: usize, len: usize) -> Option<&[u8]> {
    b.get(start..start.checked_add(len)?)
}
