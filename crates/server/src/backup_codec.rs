//! Our backend tables ⇄ etcd 3.4's bolt buckets, entry by entry.
//!
//! Table names already equal etcd's bucket names; most encodings are equal
//! too (`key`: revision → `mvccpb.KeyValue`; `lease`: big-endian id →
//! `leasepb.Lease`; `authUsers`/`authRoles`: name → protobuf; `alarm`:
//! `AlarmMember` → empty). The differences (STYLE §7 made ours little-endian):
//!
//! | bucket            | key                         | ours                   | etcd 3.4                         |
//! |-------------------|-----------------------------|------------------------|----------------------------------|
//! | `meta`            | `consistent_index`          | u64 LE                 | u64 BE                           |
//! | `meta`            | `scheduled/finishedCompactRev` | i64 LE              | 17-byte revision `{main, 0}`     |
//! | `auth`            | `authRevision`              | u64 LE                 | u64 BE                           |
//! | `members`(`_removed`) | member id               | 8 bytes BE             | lowercase hex, no padding        |
//! | `cluster`         | `cluster_id`                | u64 LE (ours only)     | — (dropped on export)            |
//!
//! A translated key can sort differently (member ids), so callers re-sort
//! every bucket except `key`, whose keys are unchanged.

use etcd_backend::Table;
use etcd_mvcc::{Revision, CONSISTENT_INDEX_KEY, FINISHED_COMPACT_KEY, SCHEDULED_COMPACT_KEY};

/// Key of our cluster id in the `cluster` table (not in etcd's bucket).
const CLUSTER_ID_KEY: &[u8] = b"cluster_id";
/// Key of the auth revision in the `auth` table.
const AUTH_REVISION_KEY: &[u8] = b"authRevision";

/// Our entry in etcd's encoding; `None` drops it from the export.
pub(crate) fn export_entry(t: Table, key: &[u8], value: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let same = || Some((key.to_vec(), value.to_vec()));
    match t {
        Table::Meta if key == CONSISTENT_INDEX_KEY => Some((key.to_vec(), swap8(value)?.to_vec())),
        Table::Meta if key == SCHEDULED_COMPACT_KEY || key == FINISHED_COMPACT_KEY => {
            let rev = i64::from_le_bytes(value.try_into().ok()?);
            Some((key.to_vec(), Revision::new(rev, 0).to_bytes().to_vec()))
        }
        Table::Auth if key == AUTH_REVISION_KEY => Some((key.to_vec(), swap8(value)?.to_vec())),
        Table::Members | Table::MembersRemoved => {
            let id = u64::from_be_bytes(key.try_into().ok()?);
            Some((format!("{id:x}").into_bytes(), value.to_vec()))
        }
        Table::Cluster if key == CLUSTER_ID_KEY => None,
        _ => same(),
    }
}

/// What to do with one etcd bucket entry on restore.
pub(crate) enum Imported {
    /// Put it in our table.
    Put(Table, Vec<u8>, Vec<u8>),
    /// Leave it out (membership is replaced; unknown buckets are ignored).
    Skip,
}

/// An etcd bucket entry in our encoding; `Err` names what is malformed.
pub(crate) fn import_entry(bucket: &[u8], key: &[u8], value: &[u8]) -> Result<Imported, String> {
    let Some(t) = Table::ALL
        .iter()
        .copied()
        .find(|t| t.name().as_bytes() == bucket)
    else {
        return Ok(Imported::Skip);
    };
    let bad = |what: &str| format!("bad {what} in bucket {:?}: {} bytes", t.name(), value.len());
    let put = |k: &[u8], v: Vec<u8>| Ok(Imported::Put(t, k.to_vec(), v));
    match t {
        Table::Members | Table::MembersRemoved => Ok(Imported::Skip),
        Table::Meta if key == CONSISTENT_INDEX_KEY => put(
            key,
            swap8(value)
                .ok_or_else(|| bad("consistent_index"))?
                .to_vec(),
        ),
        Table::Meta if key == SCHEDULED_COMPACT_KEY || key == FINISHED_COMPACT_KEY => {
            if value.len() < 8 {
                return Err(bad("compaction revision"));
            }
            let main = i64::from_be_bytes(value[..8].try_into().expect("8 bytes"));
            put(key, main.to_le_bytes().to_vec())
        }
        Table::Auth if key == AUTH_REVISION_KEY => put(
            key,
            swap8(value).ok_or_else(|| bad("authRevision"))?.to_vec(),
        ),
        Table::Key
            if !(key.len() == etcd_mvcc::REV_BYTES_LEN
                || key.len() == etcd_mvcc::MARKED_REV_BYTES_LEN) =>
        {
            Err(format!(
                "bad revision key of {} bytes in bucket \"key\"",
                key.len()
            ))
        }
        _ => put(key, value.to_vec()),
    }
}

/// Reverses the byte order of an 8-byte value.
fn swap8(v: &[u8]) -> Option<[u8; 8]> {
    let mut b: [u8; 8] = v.try_into().ok()?;
    b.reverse();
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(t: Table, k: &[u8], v: &[u8]) {
        let (ek, ev) = export_entry(t, k, v).unwrap();
        match import_entry(t.name().as_bytes(), &ek, &ev).unwrap() {
            Imported::Put(it, ik, iv) => assert_eq!((it, ik.as_slice(), iv.as_slice()), (t, k, v)),
            Imported::Skip => panic!("skipped"),
        }
    }

    #[test]
    fn encodings_match_etcd_and_round_trip() {
        let (k, v) = export_entry(Table::Meta, CONSISTENT_INDEX_KEY, &7u64.to_le_bytes()).unwrap();
        assert_eq!(
            (k.as_slice(), v),
            (CONSISTENT_INDEX_KEY, 7u64.to_be_bytes().to_vec())
        );
        let (_, v) = export_entry(Table::Meta, FINISHED_COMPACT_KEY, &5i64.to_le_bytes()).unwrap();
        assert_eq!(v, [0, 0, 0, 0, 0, 0, 0, 5, b'_', 0, 0, 0, 0, 0, 0, 0, 0]);
        let (k, _) =
            export_entry(Table::Members, &0x8e9e05c52164694du64.to_be_bytes(), b"{}").unwrap();
        assert_eq!(k, b"8e9e05c52164694d");
        assert!(export_entry(Table::Cluster, CLUSTER_ID_KEY, &[0; 8]).is_none());
        round_trip(Table::Meta, CONSISTENT_INDEX_KEY, &9u64.to_le_bytes());
        round_trip(Table::Meta, SCHEDULED_COMPACT_KEY, &3i64.to_le_bytes());
        round_trip(Table::Auth, AUTH_REVISION_KEY, &4u64.to_le_bytes());
        round_trip(Table::Lease, &1i64.to_be_bytes(), b"lease");
        assert!(matches!(
            import_entry(b"members", b"1", b"{}"),
            Ok(Imported::Skip)
        ));
        assert!(import_entry(b"key", b"short", b"").is_err());
    }
}
