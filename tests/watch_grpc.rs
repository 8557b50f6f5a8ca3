//! The Watch service over gRPC and the JSON gateway: two streams, one of
//! which stops reading during 5,000 writes (its queue must stay bounded, so
//! it falls behind and catches up from history), then receives every event
//! exactly once, in order; and `/v3/watch`'s streamed JSON lines.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{EtcdOpts, EtcdProcess};
use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::watch_client::WatchClient;
use etcd_proto::etcdserverpb::{
    watch_request::RequestUnion, PutRequest, WatchCreateRequest, WatchRequest, WatchResponse,
};
use tokio::sync::mpsc;
use tonic::codegen::tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;

const WRITES: usize = 5000;
const VALUE_BYTES: usize = 2048;
const TIMEOUT: Duration = Duration::from_secs(60);

/// Opens a watch stream on its own connection with one create request;
/// returns the request sender (kept open) and the response stream.
async fn open_watch(
    url: &str,
    create: WatchCreateRequest,
) -> (mpsc::Sender<WatchRequest>, Streaming<WatchResponse>) {
    let mut client = WatchClient::connect(url.to_string())
        .await
        .expect("connect watch");
    let (tx, rx) = mpsc::channel(4);
    tx.send(WatchRequest {
        request_union: Some(RequestUnion::CreateRequest(create)),
    })
    .await
    .unwrap();
    let stream = client
        .watch(ReceiverStream::new(rx))
        .await
        .expect("watch")
        .into_inner();
    (tx, stream)
}

async fn next(s: &mut Streaming<WatchResponse>) -> WatchResponse {
    tokio::time::timeout(TIMEOUT, s.message())
        .await
        .expect("watch response in time")
        .expect("stream ok")
        .expect("stream open")
}

/// Reads until an event at `last_rev` arrives; returns every event revision
/// and how many responses carried more than one revision (catch-up batches).
async fn read_until(s: &mut Streaming<WatchResponse>, last_rev: i64) -> (Vec<i64>, usize) {
    let mut revs = Vec::new();
    let mut batches = 0;
    while revs.last() != Some(&last_rev) {
        let r = next(s).await;
        assert!(!r.canceled && !r.created, "{r:?}");
        let rs: Vec<i64> = r
            .events
            .iter()
            .map(|e| e.kv.as_ref().unwrap().mod_revision)
            .collect();
        if rs.first() != rs.last() {
            batches += 1;
        }
        assert_eq!(
            r.header.as_ref().unwrap().revision >= *rs.last().unwrap(),
            true
        );
        revs.extend(rs);
    }
    (revs, batches)
}

#[test]
fn slow_reader_gets_every_event_once_in_order_with_bounded_queues() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let url = p.client_url();
    common::runtime().block_on(async {
        let create = WatchCreateRequest {
            key: b"k".to_vec(),
            range_end: b"l".to_vec(),
            ..Default::default()
        };
        let (_slow_tx, mut slow) = open_watch(&url, create.clone()).await;
        let (_fast_tx, mut fast) = open_watch(&url, create).await;
        let created = next(&mut slow).await;
        assert!(created.created);
        assert!(next(&mut fast).await.created);
        let first_rev = created.header.unwrap().revision + 1;
        let last_rev = first_rev + WRITES as i64 - 1;

        // The fast reader drains concurrently.
        let fast_reader = tokio::spawn(async move { read_until(&mut fast, last_rev).await });

        // 5,000 writes, 32 in flight; the slow stream is not read meanwhile.
        let kv = KvClient::connect(url.clone()).await.expect("connect kv");
        let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
        for w in 0..32 {
            let mut kv = kv.clone();
            let done = done_tx.clone();
            tokio::spawn(async move {
                for i in (w..WRITES).step_by(32) {
                    let req = PutRequest {
                        key: format!("k{:03}", i % 100).into_bytes(),
                        value: vec![b'a' + (i % 26) as u8; VALUE_BYTES],
                        ..Default::default()
                    };
                    kv.put(req).await.expect("put");
                }
                drop(done);
            });
        }
        drop(done_tx);
        assert!(
            tokio::time::timeout(TIMEOUT, done_rx.recv()).await.is_ok(),
            "writes finish in time"
        );

        let (fast_revs, _) = fast_reader.await.unwrap();
        assert_eq!(fast_revs, (first_rev..=last_rev).collect::<Vec<_>>());

        let (slow_revs, batches) = read_until(&mut slow, last_rev).await;
        assert_eq!(slow_revs.len(), WRITES, "exactly once");
        assert_eq!(
            slow_revs,
            (first_rev..=last_rev).collect::<Vec<_>>(),
            "in order, no gap"
        );
        // Live events come one revision per response; multi-revision
        // responses show the slow watcher overflowed its bounded queue and
        // caught up from history instead of being buffered without limit.
        if !common::testing_external_server() {
            assert!(batches > 0, "the slow stream never fell behind");
        }
    });
}

/// A raw HTTP/1.1 POST whose chunked answer is read line by line.
fn gateway_watch_lines(p: &EtcdProcess, body: &str, n: usize) -> Vec<String> {
    let mut s = TcpStream::connect(("127.0.0.1", p.client_port())).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST /v3/watch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut r = BufReader::new(s);
    let mut head = String::new();
    loop {
        let mut l = String::new();
        r.read_line(&mut l).expect("header line");
        if l == "\r\n" {
            break;
        }
        head.push_str(&l);
    }
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let mut lines = Vec::new();
    while lines.len() < n {
        let mut l = String::new();
        r.read_line(&mut l).expect("body line");
        // Chunk sizes and chunk ends are not JSON lines.
        let t = l.trim();
        if t.starts_with('{') {
            lines.push(t.to_string());
        }
    }
    lines
}

#[test]
fn gateway_watch_streams_json_lines() {
    let p = EtcdProcess::start(EtcdOpts::default());
    assert_eq!(p.etcdctl(&["put", "foo", "bar"]).ok().stdout, "OK\n"); // 2
    assert_eq!(p.etcdctl(&["put", "foo1", "bar1"]).ok().stdout, "OK\n"); // 3
    assert_eq!(p.etcdctl(&["del", "foo1"]).ok().stdout, "1\n"); // 4
    let ids = p.ids();
    let body = concat!(
        r#"{"create_request":{"key":"Zm9v","range_end":"Zm9w","start_revision":2,"prev_kv":true}}"#,
        r#"{"create_request":{"key":"Zm9v","watch_id":0}}"#,
        r#"{"progress_request":{}}"#,
    );
    let lines: Vec<String> = gateway_watch_lines(&p, body, 4)
        .iter()
        .map(|l| ids.normalise(l))
        .collect();
    let hdr = r#"{"cluster_id":"<CLUSTER_ID>","member_id":"<MEMBER_ID>","revision":"4","raft_term":"<TERM>"}"#;
    assert_eq!(
        lines[0],
        format!(r#"{{"result":{{"header":{hdr},"created":true}}}}"#)
    );
    // The history of watcher 0 is read in the background, so it may come
    // before or after the answers to the two later requests.
    let history = format!(
        concat!(
            r#"{{"result":{{"header":{hdr},"events":["#,
            r#"{{"kv":{{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}}}},"#,
            r#"{{"kv":{{"key":"Zm9vMQ==","create_revision":"3","mod_revision":"3","version":"1","value":"YmFyMQ=="}}}},"#,
            r#"{{"type":"DELETE","kv":{{"key":"Zm9vMQ==","mod_revision":"4"}},"#,
            r#""prev_kv":{{"key":"Zm9vMQ==","create_revision":"3","mod_revision":"3","version":"1","value":"YmFyMQ=="}}}}]}}}}"#,
        ),
        hdr = hdr
    );
    let created1 = format!(r#"{{"result":{{"header":{hdr},"watch_id":"1","created":true}}}}"#);
    let progress = format!(r#"{{"result":{{"header":{hdr},"watch_id":"-1"}}}}"#);
    let mut rest = lines[1..].to_vec();
    rest.sort();
    let mut expected = vec![history, created1.clone(), progress.clone()];
    expected.sort();
    assert_eq!(rest, expected);
    let c = lines.iter().position(|l| *l == created1).unwrap();
    let pr = lines.iter().position(|l| *l == progress).unwrap();
    assert!(c < pr, "answers to one stream's requests keep their order");
}
