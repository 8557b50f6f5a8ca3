//! The write-ahead log: create, open (replay), append, record snapshots, release old segments.
//!
//! Contract:
//! - `save` returns only after the records are written and `fdatasync`ed: the caller may
//!   acknowledge anything in them afterwards, never before (etcd's "persist before send").
//!   One data fsync per call; a segment cut, when the tail passed its size, adds its own.
//! - A failed write or sync leaves the file content unknown; the `Wal` turns
//!   [`WalError::Broken`] for every later write and the caller must stop (fail-stop, no retry).
//! - Entries in one `save` have consecutive indexes (asserted). The first may follow a gap:
//!   etcd may save the entries after a received snapshot before the snapshot record itself
//!   (`etcdserver/raft.go`, `shouldWaitWALSync`); replay places entries relative to the
//!   snapshot it opens from, so the log reads back as long as it is opened from that snapshot.
//! - Every held segment is `flock`ed for the life of the `Wal`.

use std::fs::File;
use std::mem;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, WalError};
use crate::payload::{encode_entry, encode_snapshot, WalEntry, WalSnapshot};
use crate::record::{self, RecordType, RECORD_PAYLOAD_BYTES_MAX};
use crate::replay::{Replayer, WalContents};
use crate::segment::{self, Segment};
use crate::segment_name::{list_segments, select_from, SegmentName, TMP_SUFFIX, WAL_SUFFIX};

/// Default size past which the tail segment is cut (etcd's 64 MiB).
pub const SEGMENT_BYTES_DEFAULT: u64 = 64 * 1024 * 1024;

/// Tunables of a [`Wal`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalOptions {
    /// A new segment is cut once the tail reaches this many bytes; new segments are
    /// preallocated to it. Must be positive.
    pub segment_bytes: u64,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_bytes: SEGMENT_BYTES_DEFAULT,
        }
    }
}

/// An open, locked, appendable write-ahead log.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    dir_file: File,
    segment_bytes: u64,
    metadata: Vec<u8>,
    /// All segments known, oldest first. The last one is the tail and always held.
    segments: Vec<Segment>,
    /// Where the next record goes in the tail.
    tail_offset: u64,
    /// Crc of the last record written.
    crc: u32,
    /// Last entry index written, raised by snapshot records; names the next segment.
    last_index: u64,
    /// Last hard state written; repeated at the head of each new segment.
    hard_state: Option<Vec<u8>>,
    /// Set by any failed write or sync.
    broken: bool,
    /// Reused encode buffers.
    records: Vec<u8>,
    payload: Vec<u8>,
}

impl Wal {
    /// Whether `dir` holds any `*.wal` file.
    pub fn exists(dir: &Path) -> bool {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return false;
        };
        entries.flatten().any(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.ends_with(WAL_SUFFIX))
        })
    }

    /// Creates a new log in `dir` (created if missing) with default options.
    pub fn create(dir: &Path, metadata: &[u8]) -> Result<Wal, WalError> {
        Wal::create_with_options(dir, metadata, &WalOptions::default())
    }

    /// Creates a new log: the first segment `0000000000000000-0000000000000000.wal` holding a
    /// CRC record, `metadata` and the empty snapshot record `{0, 0}`, fsynced with its directory.
    pub fn create_with_options(
        dir: &Path,
        metadata: &[u8],
        options: &WalOptions,
    ) -> Result<Wal, WalError> {
        assert!(options.segment_bytes > 0, "segment_bytes must be positive");
        check_payload_bytes(metadata.len())?;
        std::fs::create_dir_all(dir).ctx(|| format!("create dir {}", dir.display()))?;
        if Wal::exists(dir) {
            return Err(WalError::AlreadyExists {
                dir: dir.to_path_buf(),
            });
        }
        let dir_file = segment::open_dir(dir)?;
        let mut header = Vec::new();
        let mut crc = record::encode(&mut header, RecordType::Crc, &[], 0);
        crc = record::encode(&mut header, RecordType::Metadata, metadata, crc);
        let empty_snap = encode_snapshot(WalSnapshot::default());
        crc = record::encode(&mut header, RecordType::Snapshot, &empty_snap, crc);
        let name = SegmentName {
            seq: 0,
            first_index: 0,
        };
        let first = segment::create(dir, &dir_file, name, &header, options.segment_bytes)?;
        crate::test_knobs::mark_synced(dir, &first.path, header.len() as u64);
        Ok(Wal {
            dir: dir.to_path_buf(),
            dir_file,
            segment_bytes: options.segment_bytes,
            metadata: metadata.to_vec(),
            segments: vec![first],
            tail_offset: header.len() as u64,
            crc,
            last_index: 0,
            hard_state: None,
            broken: false,
            records: Vec::new(),
            payload: Vec::new(),
        })
    }

    /// Opens the log in `dir` from snapshot `snap` with default options.
    pub fn open(dir: &Path, snap: WalSnapshot) -> Result<(Wal, WalContents), WalError> {
        Wal::open_with_options(dir, snap, &WalOptions::default())
    }

    /// Opens the log in `dir`: locks and replays every segment from the one holding
    /// `snap.index`, cuts off a torn tail, and returns what the log holds after `snap`.
    pub fn open_with_options(
        dir: &Path,
        snap: WalSnapshot,
        options: &WalOptions,
    ) -> Result<(Wal, WalContents), WalError> {
        assert!(options.segment_bytes > 0, "segment_bytes must be positive");
        let names = list_segments(dir)?;
        let start = select_from(&names, snap.index).ok_or_else(|| WalError::SegmentNotFound {
            dir: dir.to_path_buf(),
            index: snap.index,
        })?;
        let mut segments: Vec<Segment> = names[..start]
            .iter()
            .map(|&name| Segment {
                name,
                path: dir.join(name.file_name()),
                file: None,
            })
            .collect();
        // Lock everything we are about to read before reading any of it.
        for &name in &names[start..] {
            segments.push(segment::open_locked(dir, name)?);
        }
        let mut replayer = Replayer::new(snap, names[start].first_index.saturating_sub(1));
        let mut tail_end = None;
        for (i, seg) in segments.iter().enumerate().skip(start) {
            let file = seg.file.as_ref().expect("held segment");
            let bytes = segment::read_all(file, &seg.path)?;
            let is_last = i + 1 == segments.len();
            let end = replayer.feed(&seg.path, &bytes, is_last)?;
            if is_last {
                tail_end = Some((end, bytes.len() as u64));
            }
        }
        let replayed = replayer.finish()?;
        let (end, file_bytes) = tail_end.expect("at least one segment was read");
        remove_stale_tmp_files(dir)?;

        let mut wal = Wal {
            dir: dir.to_path_buf(),
            dir_file: segment::open_dir(dir)?,
            segment_bytes: options.segment_bytes,
            metadata: replayed.contents.metadata.clone(),
            segments,
            tail_offset: end.valid_bytes,
            crc: replayed.crc,
            last_index: replayed.last_index,
            hard_state: replayed.contents.hard_state.clone(),
            broken: false,
            records: Vec::new(),
            payload: Vec::new(),
        };
        if end.torn {
            wal.zero_torn_tail(file_bytes)?;
        }
        if wal.tail_offset == 0 {
            // The tail's own header was torn away; restate it so the segment can be read alone.
            let header = wal.segment_header();
            wal.append_and_sync(&header.0, header.1)?;
        }
        // The replayed tail may hold the previous run's writes that were never
        // fsynced (a crash of the process, not of the machine, leaves them in the
        // page cache). They are about to be treated as durable (replayed, voted
        // on), so make them so before anything depends on them.
        wal.sync_and_mark()?;
        Ok((wal, replayed.contents))
    }

    /// Appends `entries` then `hard_state`, and fsyncs once. Nothing given: no write, no fsync.
    pub fn save(
        &mut self,
        hard_state: Option<&[u8]>,
        entries: &[WalEntry],
    ) -> Result<(), WalError> {
        self.ensure_usable()?;
        if hard_state.is_none() && entries.is_empty() {
            return Ok(());
        }
        for entry in entries {
            check_payload_bytes(crate::payload::POSITION_BYTES + entry.data.len())?;
        }
        if let Some(hs) = hard_state {
            check_payload_bytes(hs.len())?;
        }
        for pair in entries.windows(2) {
            assert_eq!(
                pair[1].index,
                pair[0].index + 1,
                "wal: entries must be consecutive"
            );
        }

        let mut records = mem::take(&mut self.records);
        records.clear();
        let mut crc = self.crc;
        for entry in entries {
            encode_entry(&mut self.payload, entry);
            crc = record::encode(&mut records, RecordType::Entry, &self.payload, crc);
        }
        if let Some(hs) = hard_state {
            crc = record::encode(&mut records, RecordType::HardState, hs, crc);
        }
        let result = self.append_and_sync(&records, crc);
        self.records = records;
        result?;
        if let Some(last) = entries.last() {
            self.last_index = last.index;
        }
        if let Some(hs) = hard_state {
            self.hard_state = Some(hs.to_vec());
        }
        self.cut_if_full()
    }

    /// Records that a snapshot at `snap` exists, and fsyncs.
    pub fn save_snapshot(&mut self, snap: WalSnapshot) -> Result<(), WalError> {
        self.ensure_usable()?;
        let mut records = Vec::new();
        let crc = record::encode(
            &mut records,
            RecordType::Snapshot,
            &encode_snapshot(snap),
            self.crc,
        );
        self.append_and_sync(&records, crc)?;
        self.last_index = self.last_index.max(snap.index);
        self.cut_if_full()
    }

    /// Deletes, oldest first, the segments that only hold entries below `index`: never the
    /// segment that may hold `index`, never the tail.
    pub fn release_to(&mut self, index: u64) -> Result<(), WalError> {
        self.ensure_usable()?;
        let keep_from = match self
            .segments
            .iter()
            .position(|s| s.name.first_index >= index)
        {
            Some(i) => i.saturating_sub(1),
            None => self.segments.len() - 1,
        };
        if keep_from == 0 {
            return Ok(());
        }
        for _ in 0..keep_from {
            let path = &self.segments[0].path;
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(WalError::io(format!("remove {}", path.display()), e)),
            }
            self.segments.remove(0);
        }
        segment::sync_dir(&self.dir_file, &self.dir)
    }

    /// Paths of all segments this `Wal` knows, oldest first.
    pub fn segment_paths(&self) -> Vec<PathBuf> {
        self.segments.iter().map(|s| s.path.clone()).collect()
    }

    fn ensure_usable(&self) -> Result<(), WalError> {
        if self.broken {
            return Err(WalError::Broken);
        }
        Ok(())
    }

    /// Marks the log broken if `result` is an error.
    fn poison<T>(&mut self, result: Result<T, WalError>) -> Result<T, WalError> {
        if result.is_err() {
            self.broken = true;
        }
        result
    }

    fn tail(&self) -> (&File, &Path) {
        let tail = self.segments.last().expect("a wal always has a tail");
        (tail.file.as_ref().expect("the tail is held"), &tail.path)
    }

    /// Writes `records` at the tail offset, fdatasyncs, then adopts `crc` as the running crc.
    fn append_and_sync(&mut self, records: &[u8], crc: u32) -> Result<(), WalError> {
        let unsafe_ack = crate::test_knobs::ack_before_fsync();
        if unsafe_ack && crate::test_knobs::unsafe_fsync_due() {
            // Broken on purpose (test_knobs): earlier writes are made durable only now.
            self.sync_and_mark()?;
        }
        let (file, path) = self.tail();
        let written = file
            .write_all_at(records, self.tail_offset)
            .ctx(|| format!("write {}", path.display()));
        self.poison(written)?;
        if unsafe_ack {
            self.tail_offset += records.len() as u64;
            self.crc = crc;
            return Ok(());
        }
        fail::fail_point!("wal_before_fsync", |_| { std::process::abort() });
        let (file, path) = self.tail();
        let fsync_start = std::time::Instant::now();
        let synced = file
            .sync_data()
            .ctx(|| format!("fdatasync {}", path.display()));
        crate::metrics::synced(records.len(), fsync_start.elapsed());
        self.poison(synced)?;
        fail::fail_point!("wal_after_fsync", |_| { std::process::abort() });
        self.tail_offset += records.len() as u64;
        self.crc = crc;
        let (_, path) = self.tail();
        crate::test_knobs::mark_synced(&self.dir, path, self.tail_offset);
        Ok(())
    }

    /// Fsyncs the tail and records its synced end for the test-only side file (`test_knobs`).
    fn sync_and_mark(&mut self) -> Result<(), WalError> {
        let (file, path) = self.tail();
        let synced = file
            .sync_data()
            .ctx(|| format!("fdatasync {}", path.display()));
        self.poison(synced)?;
        let (_, path) = self.tail();
        crate::test_knobs::mark_synced(&self.dir, path, self.tail_offset);
        Ok(())
    }

    /// The records that open every segment: CRC, metadata, last hard state. Returns the bytes
    /// and the crc after them.
    fn segment_header(&self) -> (Vec<u8>, u32) {
        let mut header = Vec::new();
        let mut crc = record::encode(&mut header, RecordType::Crc, &[], self.crc);
        crc = record::encode(&mut header, RecordType::Metadata, &self.metadata, crc);
        if let Some(hs) = &self.hard_state {
            crc = record::encode(&mut header, RecordType::HardState, hs, crc);
        }
        (header, crc)
    }

    fn cut_if_full(&mut self) -> Result<(), WalError> {
        if self.tail_offset < self.segment_bytes {
            return Ok(());
        }
        let result = self.cut();
        self.poison(result)
    }

    /// Seals the tail at its data end and starts the next segment.
    fn cut(&mut self) -> Result<(), WalError> {
        let (file, path) = self.tail();
        file.set_len(self.tail_offset)
            .ctx(|| format!("truncate {}", path.display()))?;
        file.sync_all()
            .ctx(|| format!("fsync {}", path.display()))?;
        let tail_seq = self.segments.last().expect("tail").name.seq;
        let name = SegmentName {
            seq: tail_seq + 1,
            first_index: self.last_index + 1,
        };
        let (header, crc) = self.segment_header();
        let next = segment::create(&self.dir, &self.dir_file, name, &header, self.segment_bytes)?;
        self.segments.push(next);
        self.tail_offset = header.len() as u64;
        self.crc = crc;
        let (_, path) = self.tail();
        crate::test_knobs::mark_synced(&self.dir, path, self.tail_offset);
        Ok(())
    }

    /// Replaces everything after the valid data of the tail with zeros (by truncating and
    /// re-extending), so later appends never sit next to torn garbage.
    fn zero_torn_tail(&mut self, file_bytes: u64) -> Result<(), WalError> {
        let (file, path) = self.tail();
        file.set_len(self.tail_offset)
            .ctx(|| format!("truncate {}", path.display()))?;
        file.set_len(file_bytes.max(self.segment_bytes))
            .ctx(|| format!("preallocate {}", path.display()))?;
        file.sync_all().ctx(|| format!("fsync {}", path.display()))
    }
}

fn check_payload_bytes(payload_bytes: usize) -> Result<(), WalError> {
    if payload_bytes as u64 > RECORD_PAYLOAD_BYTES_MAX {
        return Err(WalError::RecordTooLarge {
            payload_bytes: payload_bytes as u64,
            max_bytes: RECORD_PAYLOAD_BYTES_MAX,
        });
    }
    Ok(())
}

/// Removes `*.wal.tmp` files left by a crash during a segment cut. Called with the tail locked,
/// so no other process is building one.
fn remove_stale_tmp_files(dir: &Path) -> Result<(), WalError> {
    let entries = std::fs::read_dir(dir).ctx(|| format!("read dir {}", dir.display()))?;
    for entry in entries {
        let entry = entry.ctx(|| format!("read dir {}", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name
            .strip_suffix(TMP_SUFFIX)
            .is_some_and(|n| SegmentName::parse(n).is_some())
        {
            let path = entry.path();
            std::fs::remove_file(&path).ctx(|| format!("remove {}", path.display()))?;
        }
    }
    Ok(())
}
