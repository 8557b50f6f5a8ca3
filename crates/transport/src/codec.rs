//! Framing of Raft messages on a peer stream: each message is an 8-byte
//! little-endian length followed by the protobuf-encoded `raft::eraftpb::Message`.
//! A frame larger than [`MAX_FRAME_BYTES`] is a protocol error that closes the stream.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use protobuf::Message as _;
use raft::eraftpb::Message;

/// Largest accepted frame (a Raft append carries at most ~1 MiB of entries
/// per message plus one request of at most `--max-request-bytes`).
pub const MAX_FRAME_BYTES: u64 = 64 * 1024 * 1024;

/// Encodes one message as a frame.
pub fn encode(m: &Message) -> Bytes {
    let body = m.write_to_bytes().expect("raft message encodes");
    let mut b = BytesMut::with_capacity(8 + body.len());
    b.put_u64_le(body.len() as u64);
    b.put_slice(&body);
    b.freeze()
}

/// A link heartbeat: an empty `MsgHeartbeat` from and to member 0, written
/// on idle streams so the receiver can tell a silent peer from an idle one
/// (etcd's `linkHeartbeatMessage`). Receivers drop it.
pub fn link_heartbeat() -> Bytes {
    let mut m = Message::default();
    m.set_msg_type(raft::eraftpb::MessageType::MsgHeartbeat);
    encode(&m)
}

/// Whether `m` is a link heartbeat rather than a Raft message.
pub fn is_link_heartbeat(m: &Message) -> bool {
    m.get_msg_type() == raft::eraftpb::MessageType::MsgHeartbeat && m.from == 0 && m.to == 0
}

/// Why a stream was closed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The frame length is beyond [`MAX_FRAME_BYTES`].
    #[error("rafthttp: frame of {0} bytes exceeds the limit")]
    TooLarge(u64),
    /// The frame does not decode as a Raft message.
    #[error("rafthttp: bad message: {0}")]
    Decode(String),
}

/// Incremental decoder: feed bytes as they arrive, take whole messages out.
#[derive(Default)]
pub struct Decoder {
    buf: BytesMut,
}

impl Decoder {
    /// Adds received bytes.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes received after the last whole message.
    pub fn take_rest(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf).to_vec()
    }

    /// The next whole message, if one has arrived.
    pub fn next(&mut self) -> Result<Option<Message>, CodecError> {
        if self.buf.len() < 8 {
            return Ok(None);
        }
        let len = u64::from_le_bytes(self.buf[..8].try_into().expect("8 bytes"));
        if len > MAX_FRAME_BYTES {
            return Err(CodecError::TooLarge(len));
        }
        if (self.buf.len() as u64) < 8 + len {
            return Ok(None);
        }
        self.buf.advance(8);
        let body = self.buf.split_to(len as usize);
        Message::parse_from_bytes(&body).map(Some).map_err(|e| CodecError::Decode(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_across_arbitrary_splits() {
        let mut msgs = Vec::new();
        for i in 0..20u64 {
            let mut m = Message::default();
            m.from = i;
            m.to = i + 1;
            m.term = i * 3;
            m.context = vec![i as u8; i as usize * 7].into();
            msgs.push(m);
        }
        let wire: Vec<u8> = msgs.iter().flat_map(|m| encode(m).to_vec()).collect();
        for chunk in [1usize, 3, 7, 64, wire.len()] {
            let mut d = Decoder::default();
            let mut out = Vec::new();
            for part in wire.chunks(chunk) {
                d.feed(part);
                while let Some(m) = d.next().unwrap() {
                    out.push(m);
                }
            }
            assert_eq!(out, msgs, "chunk size {chunk}");
        }
    }

    #[test]
    fn oversized_frame_is_refused() {
        let mut d = Decoder::default();
        d.feed(&(MAX_FRAME_BYTES + 1).to_le_bytes());
        assert!(matches!(d.next(), Err(CodecError::TooLarge(_))));
    }
}
