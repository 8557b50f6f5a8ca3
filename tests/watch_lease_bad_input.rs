//! Bad input to watch and lease, and `etcdctl watch ... -- <command>`,
//! checked on our server and on the real etcd 3.4 side by side: the same
//! output, exit codes and gRPC answers, and nothing else changes.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{EtcdOpts, EtcdProcess};
use etcd_proto::etcdserverpb::watch_client::WatchClient;
use etcd_proto::etcdserverpb::{watch_request::RequestUnion, WatchCreateRequest, WatchRequest, WatchResponse};

const WAIT: Duration = Duration::from_secs(10);

/// Our server and the real etcd, both fresh.
fn both() -> Vec<EtcdProcess> {
    let ours = EtcdProcess::start(EtcdOpts::default());
    let real = EtcdProcess::start(EtcdOpts { binary: Some(PathBuf::from("/usr/bin/etcd")), ..EtcdOpts::default() });
    vec![ours, real]
}

/// The first response to one watch create on a fresh stream.
fn first_watch_response(p: &EtcdProcess, create: WatchCreateRequest) -> WatchResponse {
    let rt = common::runtime();
    rt.block_on(async {
        let url = format!("http://{}", p.endpoint());
        let channel = tonic::transport::Endpoint::from_shared(url).unwrap().connect().await.unwrap();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tx.send(WatchRequest { request_union: Some(RequestUnion::CreateRequest(create)) }).await.unwrap();
        let mut client = WatchClient::new(channel);
        let mut stream = client
            .watch(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .unwrap()
            .into_inner();
        let resp = tokio::time::timeout(WAIT, stream.message()).await.expect("a response in time");
        drop(tx);
        resp.unwrap().expect("one response")
    })
}

#[test]
fn watch_with_an_inverted_range_is_refused_like_etcd() {
    let servers = both();
    let answers: Vec<(i64, bool, bool, String)> = servers
        .iter()
        .map(|p| {
            let r = first_watch_response(
                p,
                WatchCreateRequest { key: b"b".to_vec(), range_end: b"a".to_vec(), ..Default::default() },
            );
            (r.watch_id, r.created, r.canceled, r.cancel_reason)
        })
        .collect();
    assert_eq!(answers[0], answers[1], "ours vs etcd");
    assert!(answers[0].2, "an inverted range is canceled: {:?}", answers[0]);
    for p in &servers {
        // Nothing was written.
        assert_eq!(p.etcdctl(&["get", "", "--prefix", "--keys-only"]).ok().stdout, "");
    }
}

#[test]
fn keep_alive_and_revoke_of_unknown_leases_match_etcd() {
    let servers = both();
    let mut outs = Vec::new();
    for p in &servers {
        let ka = p.etcdctl(&["lease", "keep-alive", "--once", "1234abcd"]);
        let rv1 = p.etcdctl(&["lease", "revoke", "1234abcd"]);
        let ttl = p.etcdctl(&["lease", "timetolive", "1234abcd"]);
        outs.push((
            (ka.code, ka.stdout.clone(), ka.last_err_line().to_string()),
            (rv1.code, rv1.last_err_line().to_string()),
            (ttl.code, ttl.stdout.clone()),
        ));
        assert_eq!(p.etcdctl(&["lease", "list"]).ok().stdout, "found 0 leases\n");
    }
    assert_eq!(outs[0], outs[1], "ours vs etcd");
    assert_eq!(outs[0].1 .1, "Error: failed to revoke lease (etcdserver: requested lease not found)");
}

#[test]
fn watch_runs_a_command_per_event_like_etcd() {
    for p in both() {
        let w = p.etcdctl_spawn(&["watch", "cmdkey", "--", "sh", "-c", "echo ran for $ETCD_WATCH_KEY=$ETCD_WATCH_VALUE"]);
        // The watch may register after the put; poll by writing until the
        // command has run (bounded).
        let ran = (0..50).any(|_| {
            p.etcdctl(&["put", "cmdkey", "v1"]).ok();
            // etcdctl hands the key and value to the command quoted.
            w.wait_stdout(Duration::from_millis(200), |s| s.contains("ran for \"cmdkey\"=\"v1\""))
        });
        let out = w.stop();
        assert!(ran, "the command never ran: {:?}", out.stdout.lines().take(8).collect::<Vec<_>>());
        assert!(out.stdout.contains("PUT\ncmdkey\nv1\n"), "{out:?}");
    }
}
