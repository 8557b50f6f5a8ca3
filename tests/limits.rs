//! Client limits: `--max-concurrent-streams` caps HTTP/2 streams per
//! connection, the keepalive flags are honoured (accepted, server serves),
//! and non-default `--max-request-bytes` / `--max-txn-ops` give etcd's errors.

mod common;

use std::time::Duration;

use common::{EtcdOpts, EtcdProcess};
use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::watch_client::WatchClient;
use etcd_proto::etcdserverpb::watch_request::RequestUnion;
use etcd_proto::etcdserverpb::{
    request_op, PutRequest, RangeRequest, RequestOp, TxnRequest, WatchCreateRequest, WatchRequest,
};
use tonic::transport::Endpoint;
use tonic::Code;

fn start(args: &[&str]) -> EtcdProcess {
    EtcdProcess::start(EtcdOpts {
        args: args.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    })
}

fn put(key: &str, value_bytes: usize) -> PutRequest {
    PutRequest {
        key: key.as_bytes().to_vec(),
        value: vec![b'x'; value_bytes],
        ..Default::default()
    }
}

#[test]
fn max_concurrent_streams_caps_one_connection() {
    let p = start(&["--max-concurrent-streams", "2"]);
    common::runtime().block_on(async {
        let channel = Endpoint::from_shared(p.client_url())
            .unwrap()
            .connect()
            .await
            .expect("connect");
        let mut watches = Vec::new();
        for i in 0..2 {
            let (tx, rx) = tokio::sync::mpsc::channel(1);
            let create = WatchCreateRequest {
                key: format!("w{i}").into_bytes(),
                ..Default::default()
            };
            tx.send(WatchRequest {
                request_union: Some(RequestUnion::CreateRequest(create)),
            })
            .await
            .unwrap();
            let mut stream = WatchClient::new(channel.clone())
                .watch(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await
                .expect("watch")
                .into_inner();
            stream.message().await.expect("created").expect("created");
            watches.push((tx, stream));
        }
        // Both streams are open: a third call on this connection must wait.
        let mut kv = KvClient::new(channel.clone());
        let blocked = tokio::time::timeout(
            Duration::from_millis(1500),
            kv.range(RangeRequest {
                key: b"a".to_vec(),
                ..Default::default()
            }),
        )
        .await;
        assert!(blocked.is_err(), "a third stream was admitted: {blocked:?}");
        // Closing one watch frees a stream.
        drop(watches.pop());
        let freed = tokio::time::timeout(
            Duration::from_secs(10),
            kv.range(RangeRequest {
                key: b"a".to_vec(),
                ..Default::default()
            }),
        )
        .await;
        assert!(matches!(freed, Ok(Ok(_))), "{freed:?}");
    });
}

#[test]
fn keepalive_flags_are_honoured() {
    let p = start(&[
        "--grpc-keepalive-min-time",
        "1s",
        "--grpc-keepalive-interval",
        "1s",
        "--grpc-keepalive-timeout",
        "2s",
    ]);
    p.etcdctl(&["put", "k", "v"]).ok();
    common::runtime().block_on(async {
        let mut kv = KvClient::connect(p.client_url()).await.expect("connect");
        // Idle past several keepalive intervals: the client answers the
        // server's pings, so the connection stays usable.
        tokio::time::sleep(Duration::from_secs(3)).await;
        kv.range(RangeRequest {
            key: b"k".to_vec(),
            ..Default::default()
        })
        .await
        .expect("range after idle");
    });
}

#[test]
fn custom_request_and_txn_limits_give_etcd_errors() {
    let p = start(&["--max-request-bytes", "1024", "--max-txn-ops", "2"]);
    common::runtime().block_on(async {
        let mut kv = KvClient::connect(p.client_url()).await.expect("connect");
        kv.put(put("small", 100)).await.expect("small put");
        let big = kv.put(put("big", 2000)).await.expect_err("too large");
        assert_eq!(
            (big.code(), big.message()),
            (Code::InvalidArgument, "etcdserver: request is too large")
        );
        let op = |k: &str| RequestOp {
            request: Some(request_op::Request::RequestPut(put(k, 1))),
        };
        kv.txn(TxnRequest {
            success: vec![op("a"), op("b")],
            ..Default::default()
        })
        .await
        .expect("2 ops");
        let many = kv
            .txn(TxnRequest {
                success: vec![op("a"), op("b"), op("c")],
                ..Default::default()
            })
            .await
            .expect_err("too many ops");
        assert_eq!(
            (many.code(), many.message()),
            (
                Code::InvalidArgument,
                "etcdserver: too many operations in txn request"
            )
        );
    });
}
