//! Tests of the :authority shim: crafted frame sequences in, decoded header
//! blocks out.

use std::collections::VecDeque;

use httlib_hpack::Encoder;
use tokio::io::AsyncReadExt;

use super::*;

/// Huffman for name and value, incremental indexing, table lookups.
const GO_LIKE: u8 = Encoder::HUFFMAN_NAME
    | Encoder::HUFFMAN_VALUE
    | Encoder::WITH_INDEXING
    | Encoder::BEST_FORMAT;

type Headers = Vec<(Vec<u8>, Vec<u8>)>;

fn headers(pairs: &[(&str, &str)]) -> Headers {
    pairs
        .iter()
        .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

fn request(authority: &str, path: &str) -> Headers {
    headers(&[
        (":method", "POST"),
        (":scheme", "http"),
        (":path", path),
        (":authority", authority),
        ("content-type", "application/grpc"),
        ("user-agent", "grpc-go/1.26.0"),
        ("te", "trailers"),
    ])
}

fn encode(enc: &mut Encoder<'_>, h: &Headers) -> Vec<u8> {
    let mut dst = Vec::new();
    for (n, v) in h {
        enc.encode((n.clone(), v.clone(), GO_LIKE), &mut dst)
            .expect("encode");
    }
    dst
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_be_bytes();
    let mut f = vec![len[1], len[2], len[3], kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn settings() -> Vec<u8> {
    frame(0x4, 0, 0, &[0, 2, 0, 0, 0, 0, 0, 4, 0, 0x40, 0, 0])
}

fn data(stream: u32, end: bool, payload: &[u8]) -> Vec<u8> {
    frame(0x0, u8::from(end), stream, payload)
}

#[derive(Debug, PartialEq)]
struct Frame {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

fn parse(mut b: &[u8]) -> Vec<Frame> {
    let mut frames = Vec::new();
    while !b.is_empty() {
        let len = u32::from_be_bytes([0, b[0], b[1], b[2]]) as usize;
        frames.push(Frame {
            kind: b[3],
            flags: b[4],
            stream: u32::from_be_bytes([b[5], b[6], b[7], b[8]]),
            payload: b[9..9 + len].to_vec(),
        });
        b = &b[9 + len..];
    }
    frames
}

/// The output's frames, the preface checked and cut off.
fn out_frames(out: &[u8]) -> Vec<Frame> {
    assert_eq!(&out[..PREFACE.len()], PREFACE);
    parse(&out[PREFACE.len()..])
}

/// Header blocks of the output, each decoded with a fresh decoder (so the
/// rewrite must be stateless), with the HEADERS frame's flags.
fn blocks(frames: &[Frame]) -> Vec<(u8, u32, Headers)> {
    let mut result = Vec::new();
    let mut i = 0;
    while i < frames.len() {
        if frames[i].kind != TYPE_HEADERS {
            i += 1;
            continue;
        }
        let (flags, stream) = (frames[i].flags, frames[i].stream);
        assert_eq!(flags & (FLAG_PADDED | FLAG_PRIORITY), 0);
        let mut block = frames[i].payload.clone();
        let mut last = flags;
        while last & FLAG_END_HEADERS == 0 {
            i += 1;
            assert_eq!(frames[i].kind, TYPE_CONTINUATION);
            assert_eq!(frames[i].stream, stream);
            assert!(frames[i - 1].payload.len() <= MAX_FRAME_PAYLOAD_BYTES);
            block.extend_from_slice(&frames[i].payload);
            last = frames[i].flags;
        }
        let decoded = fluke_hpack::Decoder::new()
            .decode(&block)
            .expect("stateless block");
        result.push((flags, stream, decoded));
        i += 1;
    }
    result
}

fn fix_all(input: &[u8]) -> io::Result<Vec<u8>> {
    let mut fixer = Fixer::new();
    let mut out = Vec::new();
    fixer.push(input, &mut out)?;
    fixer.finish(&mut out);
    Ok(out)
}

/// Runs `input` through a fixer in one piece, byte by byte and in odd
/// chunks; all must agree.
fn fix(input: &[u8]) -> Vec<u8> {
    let whole = fix_all(input).expect("fix");
    for chunk in [1, 7, 100] {
        let mut fixer = Fixer::new();
        let mut out = Vec::new();
        for c in input.chunks(chunk) {
            fixer.push(c, &mut out).expect("fix in chunks");
        }
        fixer.finish(&mut out);
        assert!(out == whole, "chunks of {chunk} differ");
    }
    whole
}

fn non_header_frames(frames: Vec<Frame>) -> Vec<Frame> {
    frames
        .into_iter()
        .filter(|f| f.kind != TYPE_HEADERS && f.kind != TYPE_CONTINUATION)
        .collect()
}

fn with_authority(mut h: Headers, authority: &str) -> Headers {
    for (n, v) in h.iter_mut() {
        if n == b":authority" {
            *v = authority.as_bytes().to_vec();
        }
    }
    h
}

#[test]
fn second_block_referencing_the_firsts_dynamic_entries_is_rewritten() {
    let mut enc = Encoder::default();
    let first = request("http://127.0.0.1:2379", "/etcdserverpb.KV/Put");
    let second = request("http://127.0.0.1:2379", "/etcdserverpb.KV/Range");
    let b1 = encode(&mut enc, &first);
    let b2 = encode(&mut enc, &second);
    assert!(
        b2.len() < 40,
        "second block should be mostly indexed: {b2:?}"
    );
    let mut input = PREFACE.to_vec();
    input.extend(settings());
    input.extend(frame(0x8, 0, 0, &[0, 0x0f, 0, 1]));
    input.extend(frame(TYPE_HEADERS, FLAG_END_HEADERS, 1, &b1));
    input.extend(data(1, true, b"\0\0\0\0\x05hello"));
    input.extend(frame(TYPE_HEADERS, FLAG_END_HEADERS, 3, &b2));
    input.extend(data(3, true, &[7; 300]));
    let out = fix(&input);
    let frames = out_frames(&out);
    let got = blocks(&frames);
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0],
        (FLAG_END_HEADERS, 1, with_authority(first, "127.0.0.1:2379"))
    );
    assert_eq!(
        got[1],
        (
            FLAG_END_HEADERS,
            3,
            with_authority(second, "127.0.0.1:2379")
        )
    );
    assert_eq!(
        non_header_frames(frames),
        non_header_frames(parse(&input[PREFACE.len()..]))
    );
}

#[test]
fn continuation_frames_become_one_headers_frame() {
    let mut enc = Encoder::default();
    let h = request("https://10.0.0.1:2379/", "/etcdserverpb.Maintenance/Status");
    let b = encode(&mut enc, &h);
    let (a, rest) = b.split_at(5);
    let (c, d) = rest.split_at(rest.len() / 2);
    let mut input = PREFACE.to_vec();
    input.extend(settings());
    input.extend(frame(TYPE_HEADERS, FLAG_END_STREAM, 1, a));
    input.extend(frame(TYPE_CONTINUATION, 0, 1, c));
    input.extend(frame(TYPE_CONTINUATION, FLAG_END_HEADERS, 1, d));
    input.extend(frame(0x6, 0, 0, &[1; 8]));
    let out = fix(&input);
    let frames = out_frames(&out);
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[1].kind, TYPE_HEADERS);
    let got = blocks(&frames);
    assert_eq!(
        got,
        vec![(
            FLAG_END_HEADERS | FLAG_END_STREAM,
            1,
            with_authority(h, "10.0.0.1:2379")
        )]
    );
    assert_eq!(
        non_header_frames(frames),
        non_header_frames(parse(&input[PREFACE.len()..]))
    );
}

#[test]
fn padding_and_priority_are_dropped() {
    let mut enc = Encoder::default();
    let h = request("http://localhost:2379", "/x");
    let b = encode(&mut enc, &h);
    let mut payload = vec![4u8];
    payload.extend([0x80, 0, 0, 3, 200]);
    payload.extend(&b);
    payload.extend([0; 4]);
    let mut input = PREFACE.to_vec();
    input.extend(frame(
        TYPE_HEADERS,
        FLAG_PADDED | FLAG_PRIORITY | FLAG_END_HEADERS | FLAG_END_STREAM,
        5,
        &payload,
    ));
    let got = blocks(&out_frames(&fix(&input)));
    assert_eq!(
        got,
        vec![(
            FLAG_END_HEADERS | FLAG_END_STREAM,
            5,
            with_authority(h, "localhost:2379")
        )]
    );
}

#[test]
fn table_size_updates_inside_blocks_are_followed() {
    let mut enc = Encoder::default();
    let first = request("http://127.0.0.1:2379", "/a");
    let b1 = encode(&mut enc, &first);
    // Evict everything, then grow again and index new entries.
    let mut b2 = Vec::new();
    enc.update_max_dynamic_size(0, &mut b2)
        .expect("size update");
    enc.update_max_dynamic_size(4096, &mut b2)
        .expect("size update");
    let second = headers(&[
        (":method", "POST"),
        (":path", "/b"),
        (":authority", "http://127.0.0.1:2379"),
        ("x-k", "v2"),
    ]);
    b2.extend(encode(&mut enc, &second));
    let b3 = encode(&mut enc, &second);
    let mut input = PREFACE.to_vec();
    for (stream, b) in [(1, &b1), (3, &b2), (5, &b3)] {
        input.extend(frame(TYPE_HEADERS, FLAG_END_HEADERS, stream, b));
    }
    let got = blocks(&out_frames(&fix(&input)));
    let second = with_authority(second, "127.0.0.1:2379");
    assert_eq!(
        got.iter().map(|g| g.2.clone()).collect::<Vec<_>>(),
        vec![
            with_authority(first, "127.0.0.1:2379"),
            second.clone(),
            second
        ]
    );
}

#[test]
fn a_size_update_above_the_settings_limit_is_refused() {
    let mut b = Vec::new();
    write_int(8192, 5, 0x20, &mut b);
    encode_literal(b":authority", b"http://h:1", &mut b);
    let mut input = PREFACE.to_vec();
    input.extend(frame(TYPE_HEADERS, FLAG_END_HEADERS, 1, &b));
    // Undecodable first block: passed on untouched for hyper to refuse.
    assert_eq!(fix(&input), input);
}

#[test]
fn large_rewritten_blocks_are_split_into_continuations() {
    let mut enc = Encoder::default();
    let mut h = request("http://127.0.0.1:2379", "/big");
    h.push((b"x-big".to_vec(), vec![b'a'; 40_000]));
    let b = encode(&mut enc, &h);
    let mut input = PREFACE.to_vec();
    for chunk in b.chunks(MAX_FRAME_PAYLOAD_BYTES).enumerate() {
        let (kind, last) = (
            if chunk.0 == 0 {
                TYPE_HEADERS
            } else {
                TYPE_CONTINUATION
            },
            (chunk.0 + 1) * MAX_FRAME_PAYLOAD_BYTES >= b.len(),
        );
        input.extend(frame(
            kind,
            if last { FLAG_END_HEADERS } else { 0 },
            1,
            chunk.1,
        ));
    }
    let frames = out_frames(&fix(&input));
    assert_eq!(frames.len(), 3, "40 KB block in three frames");
    assert!(frames
        .iter()
        .all(|f| f.payload.len() <= MAX_FRAME_PAYLOAD_BYTES));
    assert_eq!(
        frames.iter().map(|f| f.flags).collect::<Vec<_>>(),
        vec![0, 0, FLAG_END_HEADERS]
    );
    assert_eq!(
        blocks(&frames),
        vec![(0, 1, with_authority(h, "127.0.0.1:2379"))]
    );
}

#[test]
fn connections_without_a_scheme_pass_through_untouched() {
    let mut enc = Encoder::default();
    let b1 = encode(&mut enc, &request("127.0.0.1:2379", "/a"));
    let b2 = encode(&mut enc, &request("127.0.0.1:2379", "/b"));
    let mut input = PREFACE.to_vec();
    input.extend(settings());
    input.extend(frame(TYPE_HEADERS, FLAG_END_HEADERS, 1, &b1));
    input.extend(data(1, true, b"abc"));
    input.extend(frame(TYPE_HEADERS, FLAG_END_HEADERS, 3, &b2));
    let mut fixer = Fixer::new();
    let mut out = Vec::new();
    let head = PREFACE.len() + settings().len() + 9 + b1.len();
    fixer.push(&input[..head], &mut out).expect("push");
    assert!(fixer.is_passthrough(), "decided at the first block");
    fixer.push(&input[head..], &mut out).expect("push");
    assert_eq!(out, input);
    assert_eq!(fix(&input), input);
}

#[test]
fn http1_passes_through_untouched() {
    for input in [
        &b"GET /version HTTP/1.1\r\nHost: 127.0.0.1:2379\r\n\r\n"[..],
        b"PRI * HTTP/1.1\r\n\r\n",
        b"P",
        b"",
    ] {
        assert_eq!(fix(input), input);
    }
}

#[test]
fn oversized_header_blocks_fail_the_read() {
    let mut input = PREFACE.to_vec();
    input.extend(frame(TYPE_HEADERS, 0, 1, &[0x82]));
    for _ in 0..70 {
        input.extend(frame(
            TYPE_CONTINUATION,
            0,
            1,
            &[0x82; MAX_FRAME_PAYLOAD_BYTES],
        ));
    }
    let e = fix_all(&input).expect_err("over the cap");
    assert_eq!(e.kind(), io::ErrorKind::InvalidData);
}

#[test]
fn malformed_blocks_pass_before_the_decision_and_fail_after_it() {
    let huffman_eos = [0x00, 0x81, 0xff, 0x81, 0xff];
    let bad_blocks: [&[u8]; 7] = [
        &[0x3f],
        &[0x3f, 0xff, 0xff, 0xff, 0xff, 0xff],
        &[0x00, 0x05, b'a'],
        &[0xff, 0x80],
        &[0x40],
        &[0x41],
        &huffman_eos,
    ];
    for bad in bad_blocks {
        let mut input = PREFACE.to_vec();
        input.extend(frame(TYPE_HEADERS, FLAG_END_HEADERS, 1, bad));
        input.extend(data(1, true, b"x"));
        assert_eq!(fix(&input), input, "first block {bad:?}");

        let mut enc = Encoder::default();
        let mut input = PREFACE.to_vec();
        input.extend(frame(
            TYPE_HEADERS,
            FLAG_END_HEADERS,
            1,
            &encode(&mut enc, &request("http://h:1", "/")),
        ));
        input.extend(frame(TYPE_HEADERS, FLAG_END_HEADERS, 3, bad));
        assert_eq!(
            fix_all(&input).expect_err("rewrite mode").kind(),
            io::ErrorKind::InvalidData
        );
    }
    // A frame other than the block's CONTINUATION in the middle of it.
    let mut enc = Encoder::default();
    let b = encode(&mut enc, &request("http://h:1", "/"));
    let mut input = PREFACE.to_vec();
    input.extend(frame(TYPE_HEADERS, 0, 1, &b));
    input.extend(data(1, true, b"x"));
    assert_eq!(fix(&input), input);
}

/// Yields its chunks one read at a time.
struct Chunks(VecDeque<Vec<u8>>);

impl AsyncRead for Chunks {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(mut c) = this.0.pop_front() {
            let n = c.len().min(buf.remaining());
            buf.put_slice(&c[..n]);
            if n < c.len() {
                this.0.push_front(c.split_off(n));
            }
        }
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn the_adapter_rewrites_reads_and_passes_http1() {
    let mut enc = Encoder::default();
    let h = request("http://127.0.0.1:2379", "/p");
    let mut input = PREFACE.to_vec();
    input.extend(settings());
    input.extend(frame(
        TYPE_HEADERS,
        FLAG_END_HEADERS,
        1,
        &encode(&mut enc, &h),
    ));
    input.extend(data(1, true, &[9; 40_000]));
    let mut fixed = AuthorityFix::new(Chunks(input.chunks(1000).map(<[u8]>::to_vec).collect()));
    let mut out = Vec::new();
    fixed.read_to_end(&mut out).await.expect("read");
    assert_eq!(out, fix(&input));
    assert_eq!(
        blocks(&out_frames(&out))[0].2,
        with_authority(h, "127.0.0.1:2379")
    );

    let http1 =
        b"POST /v3/kv/range HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}".to_vec();
    let mut fixed = AuthorityFix::new(Chunks(VecDeque::from([
        http1[..3].to_vec(),
        http1[3..].to_vec(),
    ])));
    let mut out = Vec::new();
    fixed.read_to_end(&mut out).await.expect("read");
    assert_eq!(out, http1);
}

#[test]
fn random_header_blocks_never_panic() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut enc = Encoder::default();
    let first = encode(&mut enc, &request("http://h:1", "/"));
    for _ in 0..3000 {
        let len = (next() % 48) as usize;
        let block: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let mut input = PREFACE.to_vec();
        input.extend(frame(TYPE_HEADERS, FLAG_END_HEADERS, 1, &block));
        let _ = fix_all(&input);
        let mut input = PREFACE.to_vec();
        input.extend(frame(TYPE_HEADERS, FLAG_END_HEADERS, 1, &first));
        input.extend(frame(
            TYPE_HEADERS,
            (next() as u8) | FLAG_END_HEADERS,
            3,
            &block,
        ));
        let _ = fix_all(&input);
    }
}
