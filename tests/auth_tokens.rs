//! Auth tokens over gRPC, ours and the real etcd 3.4.23 held to the same
//! expectations:
//! - `simple` tokens live `--auth-token-ttl` seconds after their last use:
//!   used every second they outlive the ttl, left idle they expire with
//!   `etcdserver: invalid auth token` (etcdctl re-authenticates per command,
//!   so these tests hold a token in a gRPC client);
//! - `jwt` tokens (RS256, private key only, the public key derived from it
//!   as etcd 3.4 does) issued by one member work on every member and after
//!   every member restarted; tokens signed with another key or with altered
//!   claims, and expired ones, are refused with etcd's error.
//!
//! Expiry is about wall-clock time, so these tests wait for it: the waits
//! are the subject under test, not synchronisation.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::cluster::{Cluster, ClusterOpts};
use common::{EtcdOpts, EtcdProcess};
use etcd_proto::etcdserverpb::auth_client::AuthClient;
use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::{AuthenticateRequest, PutRequest, RangeRequest};
use tonic::transport::Channel;

const REAL_ETCD: &str = "/usr/bin/etcd";
const INVALID_TOKEN: &str = "etcdserver: invalid auth token";

fn testdata(name: &str) -> String {
    format!("{}/crates/auth/testdata/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// `--auth-token` for RS256 with only a private key.
fn jwt_flag(key: &str, ttl: &str) -> String {
    format!(
        "--auth-token=jwt,priv-key={},sign-method=RS256,ttl={ttl}",
        testdata(key)
    )
}

/// Creates `root` (password `rootpw`, role `root`) and `alice` (password
/// `apw`, read on `foo`), then enables auth, through etcdctl.
fn setup(ctl: impl Fn(&[&str]) -> common::CtlOutput) {
    for args in [
        &["user", "add", "root:rootpw"][..],
        &["role", "add", "root"],
        &["user", "grant-role", "root", "root"],
        &["user", "add", "alice:apw"],
        &["role", "add", "reader"],
        &["role", "grant-permission", "reader", "read", "foo"],
        &["user", "grant-role", "alice", "reader"],
        &["auth", "enable"],
    ] {
        let out = ctl(args);
        assert_eq!(out.code, 0, "etcdctl {args:?}: {}", out.stderr);
    }
}

fn rt() -> tokio::runtime::Runtime {
    common::runtime()
}

async fn connect(url: String) -> Channel {
    Channel::from_shared(url)
        .expect("url")
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .expect("connect")
}

async fn authenticate(ch: &Channel, name: &str, password: &str) -> String {
    AuthClient::new(ch.clone())
        .authenticate(AuthenticateRequest {
            name: name.into(),
            password: password.into(),
        })
        .await
        .expect("authenticate")
        .into_inner()
        .token
}

fn with_token<T>(msg: T, token: &str) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    req.metadata_mut()
        .insert("token", token.parse().expect("ascii token"));
    req
}

/// A range of `foo` with `token`: Ok, or the status code and message.
async fn get(ch: &Channel, token: &str) -> Result<(), (tonic::Code, String)> {
    let req = RangeRequest {
        key: b"foo".to_vec(),
        ..Default::default()
    };
    KvClient::new(ch.clone())
        .range(with_token(req, token))
        .await
        .map(|_| ())
        .map_err(|s| (s.code(), s.message().to_string()))
}

async fn put(ch: &Channel, token: &str, value: &str) -> Result<(), (tonic::Code, String)> {
    let req = PutRequest {
        key: b"foo".to_vec(),
        value: value.into(),
        ..Default::default()
    };
    KvClient::new(ch.clone())
        .put(with_token(req, token))
        .await
        .map(|_| ())
        .map_err(|s| (s.code(), s.message().to_string()))
}

fn invalid_token() -> Result<(), (tonic::Code, String)> {
    Err((tonic::Code::Unauthenticated, INVALID_TOKEN.to_string()))
}

fn simple_token_scenario(binary: Option<PathBuf>) {
    let p = EtcdProcess::start(EtcdOpts {
        binary,
        args: vec!["--auth-token-ttl=2".into()],
        ..EtcdOpts::default()
    });
    setup(|a| {
        p.etcdctl(
            &["--user=root:rootpw"]
                .iter()
                .chain(a)
                .copied()
                .collect::<Vec<_>>(),
        )
    });
    rt().block_on(async {
        let ch = connect(p.client_url()).await;
        let token = authenticate(&ch, "alice", "apw").await;
        assert!(token.contains('.'), "simple token {token:?}");
        // Used every second for four seconds: twice the ttl, still alive.
        for second in 0..4 {
            assert_eq!(get(&ch, &token).await, Ok(()), "use at {second}s");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        // Idle for twice the ttl: gone.
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(get(&ch, &token).await, invalid_token(), "\n{}", p.log());
        assert_eq!(put(&ch, &token, "x").await, invalid_token());
        // A fresh login works again.
        let again = authenticate(&ch, "alice", "apw").await;
        assert_eq!(get(&ch, &again).await, Ok(()));
        assert_eq!(get(&ch, "garbage.1").await, invalid_token());
    });
}

#[test]
fn simple_token_expires_when_idle_and_use_refreshes_it() {
    simple_token_scenario(None);
}

#[test]
fn simple_token_expiry_real_etcd_agrees() {
    simple_token_scenario(Some(PathBuf::from(REAL_ETCD)));
}

/// `token` with its claims replaced by `claims` (JSON), signature kept.
fn with_claims(token: &str, claims: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT: {token}");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let old = String::from_utf8(b64.decode(parts[1]).expect("claims b64")).expect("utf8");
    assert!(old.contains("\"username\":\"alice\""), "claims {old}");
    format!("{}.{}.{}", parts[0], b64.encode(claims), parts[2])
}

fn jwt_cluster_scenario(opts: ClusterOpts) {
    let mut c = Cluster::start(
        3,
        ClusterOpts {
            args: vec![jwt_flag("rsa-a.pem", "10m")],
            ..opts.clone()
        },
    );
    setup(|a| {
        c.etcdctl(
            0,
            &["--user=root:rootpw"]
                .iter()
                .chain(a)
                .copied()
                .collect::<Vec<_>>(),
        )
    });
    let chans: Vec<Channel> = (0..3).map(|i| c.channel(i)).collect();
    let (root, alice) = c.block_on(async {
        (
            authenticate(&chans[0], "root", "rootpw").await,
            authenticate(&chans[0], "alice", "apw").await,
        )
    });
    assert_eq!(root.split('.').count(), 3, "a JWT: {root}");
    c.block_on(async {
        for ch in &chans {
            assert_eq!(put(ch, &root, "v").await, Ok(()));
            assert_eq!(get(ch, &alice).await, Ok(()));
            let denied = put(ch, &alice, "no").await.unwrap_err();
            assert_eq!(denied.1, "etcdserver: permission denied");
        }
    });
    // Every member forgets everything in memory; the tokens still verify.
    for i in 0..3 {
        c.restart(i);
    }
    c.wait_leader(Duration::from_secs(30));
    let chans: Vec<Channel> = (0..3).map(|i| c.channel(i)).collect();
    c.block_on(async {
        for ch in &chans {
            assert_eq!(get(ch, &alice).await, Ok(()));
            assert_eq!(put(ch, &root, "after restart").await, Ok(()));
        }
        // alice's signature over claims naming root.
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 600;
        let forged = with_claims(
            &alice,
            &format!(r#"{{"exp":{exp},"revision":1,"username":"root"}}"#),
        );
        assert_eq!(put(&chans[1], &forged, "forged").await, invalid_token());
        assert_eq!(get(&chans[2], &forged).await, invalid_token());
    });
    // A token signed with another key, by a server of the same users.
    let other = EtcdProcess::start(EtcdOpts {
        binary: opts.binary.clone(),
        args: vec![jwt_flag("rsa-b.pkcs8.pem", "10m")],
        ..EtcdOpts::default()
    });
    setup(|a| {
        other.etcdctl(
            &["--user=root:rootpw"]
                .iter()
                .chain(a)
                .copied()
                .collect::<Vec<_>>(),
        )
    });
    let foreign = rt().block_on(async {
        authenticate(&connect(other.client_url()).await, "root", "rootpw").await
    });
    c.block_on(async {
        assert_eq!(put(&chans[0], &foreign, "foreign").await, invalid_token());
        assert_eq!(get(&chans[1], &foreign).await, invalid_token());
    });
}

#[test]
fn jwt_from_one_member_works_on_all_and_after_restarts() {
    jwt_cluster_scenario(ClusterOpts::default());
}

#[test]
fn jwt_cluster_real_etcd_agrees() {
    jwt_cluster_scenario(ClusterOpts::real_etcd());
}

fn jwt_expiry_scenario(binary: Option<PathBuf>) {
    let p = EtcdProcess::start(EtcdOpts {
        binary,
        args: vec![jwt_flag("rsa-a.pem", "2s")],
        ..EtcdOpts::default()
    });
    setup(|a| {
        p.etcdctl(
            &["--user=root:rootpw"]
                .iter()
                .chain(a)
                .copied()
                .collect::<Vec<_>>(),
        )
    });
    rt().block_on(async {
        let ch = connect(p.client_url()).await;
        let issued = Instant::now();
        let token = authenticate(&ch, "alice", "apw").await;
        assert_eq!(get(&ch, &token).await, Ok(()));
        // `exp` is whole seconds: refused from at most 3 s after issue.
        let deadline = issued + Duration::from_secs(6);
        loop {
            match get(&ch, &token).await {
                Ok(()) => assert!(
                    Instant::now() < deadline,
                    "JWT still accepted after its ttl"
                ),
                other => {
                    assert_eq!(other, invalid_token());
                    assert!(issued.elapsed() >= Duration::from_secs(1), "expired early");
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
}

#[test]
fn jwt_expires_after_its_ttl() {
    jwt_expiry_scenario(None);
}

#[test]
fn jwt_expiry_real_etcd_agrees() {
    jwt_expiry_scenario(Some(PathBuf::from(REAL_ETCD)));
}
