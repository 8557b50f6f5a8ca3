//! [`KvHead`]: the fields of a stored `mvccpb.KeyValue` that rebuilding the
//! index needs, read straight from the encoded bytes.
//!
//! Rebuilding reads every revision in the `key` table; decoding each one
//! whole (key and value copied into fresh buffers) was most of the restart
//! cost. This reader borrows the key, takes `create_revision` and `version`,
//! and skips every other field (`mod_revision`, `value`, `lease` and any
//! unknown field) without copying. It accepts exactly what prost's decoder
//! accepts for those fields: the last occurrence of a field wins, as in
//! protobuf. A malformed record is a corrupt backend: it panics, as
//! `decode_kv` does.

/// `KeyValue.key` (bytes).
const KEY_TAG: u64 = 1;
/// `KeyValue.create_revision` (int64).
const CREATE_REVISION_TAG: u64 = 2;
/// `KeyValue.version` (int64).
const VERSION_TAG: u64 = 4;

const WIRE_VARINT: u64 = 0;
const WIRE_FIXED64: u64 = 1;
const WIRE_LEN: u64 = 2;
const WIRE_FIXED32: u64 = 5;

/// The head of a stored key-value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KvHead<'a> {
    pub(crate) key: &'a [u8],
    pub(crate) create_revision: i64,
    pub(crate) version: i64,
}

/// Reads the head of an encoded `KeyValue`; panics on a malformed one.
pub(crate) fn decode_head(b: &[u8]) -> KvHead<'_> {
    let mut head = KvHead {
        key: &[],
        create_revision: 0,
        version: 0,
    };
    let mut at = 0usize;
    while at < b.len() {
        let key = varint(b, &mut at);
        let (tag, wire) = (key >> 3, key & 7);
        match wire {
            WIRE_VARINT => {
                let v = varint(b, &mut at) as i64;
                match tag {
                    CREATE_REVISION_TAG => head.create_revision = v,
                    VERSION_TAG => head.version = v,
                    _ => {}
                }
            }
            WIRE_LEN => {
                let len = usize::try_from(varint(b, &mut at)).unwrap_or(usize::MAX);
                let end = at.checked_add(len).filter(|&e| e <= b.len());
                let end = end.unwrap_or_else(|| corrupt("field runs past the record"));
                if tag == KEY_TAG {
                    head.key = &b[at..end];
                }
                at = end;
            }
            WIRE_FIXED64 => at = skip(b, at, 8),
            WIRE_FIXED32 => at = skip(b, at, 4),
            _ => corrupt("unsupported wire type"),
        }
    }
    head
}

fn skip(b: &[u8], at: usize, n: usize) -> usize {
    let end = at + n;
    if end > b.len() {
        corrupt("fixed field runs past the record");
    }
    end
}

/// A protobuf varint (at most 10 bytes) at `*at`.
fn varint(b: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    for i in 0..10 {
        let Some(&byte) = b.get(*at) else {
            corrupt("truncated varint")
        };
        *at += 1;
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return v;
        }
    }
    corrupt("varint longer than 10 bytes")
}

fn corrupt(what: &str) -> ! {
    panic!("corrupt KeyValue in the key table: {what}")
}

#[cfg(test)]
mod tests {
    use etcd_proto::mvccpb::KeyValue;
    use prost::Message;
    use rand::{Rng, SeedableRng};

    use super::*;

    #[test]
    fn matches_the_full_decoder_on_random_key_values() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..2000 {
            let kv = KeyValue {
                key: (0..rng.random_range(0..40)).map(|_| rng.random()).collect(),
                create_revision: rng.random_range(-1..i64::MAX),
                mod_revision: rng.random(),
                version: rng.random_range(0..1 << 40),
                value: (0..rng.random_range(0..300))
                    .map(|_| rng.random())
                    .collect(),
                lease: rng.random(),
            };
            let bytes = kv.encode_to_vec();
            let head = decode_head(&bytes);
            assert_eq!(head.key, kv.key.as_slice());
            assert_eq!(
                (head.create_revision, head.version),
                (kv.create_revision, kv.version)
            );
        }
    }

    #[test]
    fn skips_unknown_fields_of_every_wire_type() {
        let kv = KeyValue {
            key: b"k".to_vec(),
            create_revision: 5,
            version: 2,
            ..Default::default()
        };
        let mut bytes = kv.encode_to_vec();
        // field 20 fixed64, field 21 fixed32, field 22 bytes, field 23 varint
        // Two-byte varint keys: (field << 3 | wire) = 161, 173, 178, 184.
        bytes.extend_from_slice(&[0xa1, 0x01, 1, 2, 3, 4, 5, 6, 7, 8]);
        bytes.extend_from_slice(&[0xad, 0x01, 1, 2, 3, 4]);
        bytes.extend_from_slice(&[0xb2, 0x01, 2, 9, 9]);
        bytes.extend_from_slice(&[0xb8, 0x01, 0x80, 0x01]);
        let head = decode_head(&bytes);
        assert_eq!(
            head,
            KvHead {
                key: b"k",
                create_revision: 5,
                version: 2
            }
        );
        assert_eq!(KeyValue::decode(bytes.as_slice()).unwrap(), kv);
    }

    #[test]
    #[should_panic(expected = "corrupt KeyValue")]
    fn a_truncated_record_is_corrupt() {
        let kv = KeyValue {
            key: b"key".to_vec(),
            create_revision: 5,
            ..Default::default()
        };
        let bytes = kv.encode_to_vec();
        decode_head(&bytes[..3]); // the key field claims 3 bytes, 1 is left
    }
}
