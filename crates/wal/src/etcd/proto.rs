//! The few protobuf and checksum primitives needed to read etcd 3.4's files
//! without a code generator: a field reader for the small messages etcd
//! frames its WAL and snapshot files with (`walpb.Record`, `walpb.Snapshot`,
//! `snappb.snapshot`, and the index/term/commit numbers of `raftpb` messages),
//! and CRC-32C (Castagnoli), the checksum of both file kinds.
//!
//! Contract: [`fields`] accepts exactly the proto2 wire format (varint,
//! 64-bit, length-delimited, 32-bit); groups and truncated fields are errors,
//! never panics.

/// A decoded field value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    Fixed64(u64),
    /// Wire type 2.
    Bytes(&'a [u8]),
    /// Wire type 5.
    Fixed32(u32),
}

impl Value<'_> {
    /// The number carried by a varint field, if it is one.
    pub(crate) fn varint(self) -> Option<u64> {
        match self {
            Value::Varint(v) => Some(v),
            _ => None,
        }
    }
}

/// Reads a varint at `*pos`, advancing it.
fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, String> {
    let mut out = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos).ok_or("truncated varint")?;
        *pos += 1;
        out |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(out);
        }
    }
    Err("varint longer than 10 bytes".into())
}

/// Every `(field number, value)` of a message, in wire order.
pub(crate) fn fields(buf: &[u8]) -> Result<Vec<(u32, Value<'_>)>, String> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let number = u32::try_from(key >> 3).map_err(|_| "field number out of range")?;
        if number == 0 {
            return Err("field number 0".into());
        }
        let value = match key & 7 {
            0 => Value::Varint(varint(buf, &mut pos)?),
            1 => {
                let b = buf.get(pos..pos + 8).ok_or("truncated fixed64")?;
                pos += 8;
                Value::Fixed64(u64::from_le_bytes(b.try_into().expect("8 bytes")))
            }
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).map_err(|_| "length overflow")?;
                let end = pos.checked_add(len).ok_or("length overflow")?;
                let b = buf
                    .get(pos..end)
                    .ok_or("truncated length-delimited field")?;
                pos = end;
                Value::Bytes(b)
            }
            5 => {
                let b = buf.get(pos..pos + 4).ok_or("truncated fixed32")?;
                pos += 4;
                Value::Fixed32(u32::from_le_bytes(b.try_into().expect("4 bytes")))
            }
            w => return Err(format!("unsupported wire type {w}")),
        };
        out.push((number, value));
    }
    Ok(out)
}

/// The last varint value of field `number` (proto2 "last one wins"), 0 when absent.
pub(crate) fn varint_field(buf: &[u8], number: u32) -> Result<u64, String> {
    let mut out = 0;
    for (n, v) in fields(buf)? {
        if n == number {
            out = v
                .varint()
                .ok_or_else(|| format!("field {number} is not a varint"))?;
        }
    }
    Ok(out)
}

/// Continues a CRC-32C from `crc` over `data` (Go's `crc32.Update` with
/// the Castagnoli table): chaining two calls equals one over both parts.
pub(crate) fn crc32c_update(crc: u32, data: &[u8]) -> u32 {
    crc32c::crc32c_append(crc, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_value_and_chains() {
        assert_eq!(crc32c_update(0, b"123456789"), 0xe306_9283);
        let chained = crc32c_update(crc32c_update(0, b"1234"), b"56789");
        assert_eq!(chained, 0xe306_9283);
    }

    #[test]
    fn reads_fields_and_rejects_truncation() {
        // field 1 varint 300, field 3 bytes "ab", field 2 fixed32
        let buf = [0x08, 0xac, 0x02, 0x1a, 0x02, b'a', b'b', 0x15, 1, 0, 0, 0];
        let f = fields(&buf).unwrap();
        assert_eq!(
            f,
            vec![
                (1, Value::Varint(300)),
                (3, Value::Bytes(b"ab")),
                (2, Value::Fixed32(1))
            ]
        );
        assert_eq!(varint_field(&buf, 1).unwrap(), 300);
        assert_eq!(varint_field(&buf, 9).unwrap(), 0);
        assert!(fields(&buf[..5]).is_err());
        assert!(fields(&[0x0b]).is_err()); // a group
    }
}
