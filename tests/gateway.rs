//! The JSON gateway (grpc-gateway in etcd 3.4) over plain HTTP/1.1, compared
//! byte for byte with etcd's bodies: base64 bytes, int64 as strings,
//! snake_case names, default values omitted; errors as
//! `{"error":..,"message":..,"code":<grpc code>}` with HTTP 400 for
//! InvalidArgument and OutOfRange.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{testing_external_server, EtcdOpts, EtcdProcess, Ids};

/// One HTTP response.
#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request on a fresh connection (`Connection: close`) and reads the
/// whole response; handles both Content-Length and chunked bodies.
fn http(p: &EtcdProcess, method: &str, path: &str, content_type: Option<&str>, body: &str) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", p.client_port())).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    s.set_write_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(ct) = content_type {
        req.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    if method != "GET" || !body.is_empty() {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Resp {
    let text = String::from_utf8_lossy(raw);
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no header end: {text}"));
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked { dechunk(rest) } else { rest.to_string() };
    Resp { status, headers, body }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = s.split_once("\r\n").expect("chunk size line");
        let size = usize::from_str_radix(size.split(';').next().expect("size").trim(), 16).expect("hex size");
        if size == 0 {
            return out;
        }
        out.push_str(&rest[..size]);
        s = rest[size..].strip_prefix("\r\n").expect("chunk end");
    }
}

fn post(p: &EtcdProcess, path: &str, body: &str) -> Resp {
    http(p, "POST", path, Some("application/json"), body)
}

/// The header as the gateway prints it, ids normalised.
fn hdr(rev: u64) -> String {
    format!(
        "{{\"cluster_id\":\"<CLUSTER_ID>\",\"member_id\":\"<MEMBER_ID>\",\"revision\":\"{rev}\",\"raft_term\":\"<TERM>\"}}"
    )
}

fn ok_body(ids: &Ids, r: &Resp) -> String {
    assert_eq!(r.status, 200, "{r:#?}");
    assert_eq!(r.header("content-type"), Some("application/json"), "{r:#?}");
    ids.normalise(&r.body)
}

fn err_body(msg: &str, code: u32) -> String {
    format!("{{\"error\":\"{msg}\",\"message\":\"{msg}\",\"code\":{code}}}")
}

#[test]
fn kv_put_range_delete() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let ids = p.ids();
    // key "foo" = Zm9v, value "bar" = YmFy.
    let r = post(&p, "/v3/kv/put", r#"{"key":"Zm9v","value":"YmFy"}"#);
    assert_eq!(ok_body(&ids, &r), format!("{{\"header\":{}}}", hdr(2)));
    // Without any Content-Type, and with a form Content-Type (curl -d default).
    let r = http(&p, "POST", "/v3/kv/put", None, r#"{"key":"Zm9vMQ==","value":"YmFyMQ=="}"#);
    assert_eq!(ok_body(&ids, &r), format!("{{\"header\":{}}}", hdr(3)));
    let r = http(
        &p,
        "POST",
        "/v3/kv/put",
        Some("application/x-www-form-urlencoded"),
        r#"{"key":"Zm9v","value":"YmFyX25ldw==","prev_kv":true}"#,
    );
    assert_eq!(
        ok_body(&ids, &r),
        format!(
            "{{\"header\":{},\"prev_kv\":{{\"key\":\"Zm9v\",\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\",\"value\":\"YmFy\"}}}}",
            hdr(4)
        )
    );

    let kv_foo = r#"{"key":"Zm9v","create_revision":"2","mod_revision":"4","version":"2","value":"YmFyX25ldw=="}"#;
    let kv_foo1 = r#"{"key":"Zm9vMQ==","create_revision":"3","mod_revision":"3","version":"1","value":"YmFyMQ=="}"#;
    let r = post(&p, "/v3/kv/range", r#"{"key":"Zm9v"}"#);
    assert_eq!(ok_body(&ids, &r), format!("{{\"header\":{},\"kvs\":[{kv_foo}],\"count\":\"1\"}}", hdr(4)));
    let r = http(&p, "POST", "/v3/kv/range", None, r#"{"key":"Zm9v"}"#);
    assert_eq!(ok_body(&ids, &r), format!("{{\"header\":{},\"kvs\":[{kv_foo}],\"count\":\"1\"}}", hdr(4)));
    // Prefix "foo": range_end "fop" = Zm9w.
    let r = post(&p, "/v3/kv/range", r#"{"key":"Zm9v","range_end":"Zm9w"}"#);
    assert_eq!(
        ok_body(&ids, &r),
        format!("{{\"header\":{},\"kvs\":[{kv_foo},{kv_foo1}],\"count\":\"2\"}}", hdr(4))
    );
    // limit as a JSON string (int64), serializable, more.
    let r = post(&p, "/v3/kv/range", r#"{"key":"Zm9v","range_end":"Zm9w","limit":"1","serializable":true}"#);
    assert_eq!(
        ok_body(&ids, &r),
        format!("{{\"header\":{},\"kvs\":[{kv_foo}],\"more\":true,\"count\":\"2\"}}", hdr(4))
    );
    // An old revision (int64 accepted as a JSON number too).
    let r = post(&p, "/v3/kv/range", r#"{"key":"Zm9v","revision":2}"#);
    assert_eq!(
        ok_body(&ids, &r),
        format!(
            "{{\"header\":{},\"kvs\":[{{\"key\":\"Zm9v\",\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\",\"value\":\"YmFy\"}}],\"count\":\"1\"}}",
            hdr(4)
        )
    );
    // keys_only and count_only; the whole key space is key "\0", range_end "\0".
    let r = post(&p, "/v3/kv/range", r#"{"key":"AA==","range_end":"AA==","keys_only":true}"#);
    assert_eq!(
        ok_body(&ids, &r),
        format!(
            "{{\"header\":{},\"kvs\":[{{\"key\":\"Zm9v\",\"create_revision\":\"2\",\"mod_revision\":\"4\",\"version\":\"2\"}},\
             {{\"key\":\"Zm9vMQ==\",\"create_revision\":\"3\",\"mod_revision\":\"3\",\"version\":\"1\"}}],\"count\":\"2\"}}",
            hdr(4)
        )
    );
    let r = post(&p, "/v3/kv/range", r#"{"key":"AA==","range_end":"AA==","count_only":true}"#);
    assert_eq!(ok_body(&ids, &r), format!("{{\"header\":{},\"count\":\"2\"}}", hdr(4)));
    // A missing key: no kvs, no count. Unknown fields are ignored.
    let r = post(&p, "/v3/kv/range", r#"{"key":"bm9uZQ==","bogus":1}"#);
    assert_eq!(ok_body(&ids, &r), format!("{{\"header\":{}}}", hdr(4)));

    // deleterange with prev_kv, then deleting nothing.
    let r = post(&p, "/v3/kv/deleterange", r#"{"key":"Zm9vMQ==","prev_kv":true}"#);
    assert_eq!(
        ok_body(&ids, &r),
        format!("{{\"header\":{},\"deleted\":\"1\",\"prev_kvs\":[{kv_foo1}]}}", hdr(5))
    );
    let r = post(&p, "/v3/kv/deleterange", r#"{"key":"Zm9vMQ=="}"#);
    assert_eq!(ok_body(&ids, &r), format!("{{\"header\":{}}}", hdr(5)));
    let r = post(&p, "/v3/kv/deleterange", r#"{"key":"Zm9v","range_end":"Zm9w"}"#);
    assert_eq!(ok_body(&ids, &r), format!("{{\"header\":{},\"deleted\":\"1\"}}", hdr(6)));
}

#[test]
fn kv_txn_and_compaction() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let ids = p.ids();
    // a=1 (rev 2), a=2 (rev 3)
    post(&p, "/v3/kv/put", r#"{"key":"YQ==","value":"MQ=="}"#);
    post(&p, "/v3/kv/put", r#"{"key":"YQ==","value":"Mg=="}"#);

    let txn = r#"{"compare":[{"key":"YQ==","target":"VALUE","result":"EQUAL","value":"Mg=="}],
        "success":[{"request_put":{"key":"Yg==","value":"Mw=="}},{"request_range":{"key":"YQ=="}}],
        "failure":[{"request_delete_range":{"key":"YQ=="}}]}"#;
    let r = post(&p, "/v3/kv/txn", txn);
    assert_eq!(
        ok_body(&ids, &r),
        format!(
            "{{\"header\":{},\"succeeded\":true,\"responses\":[{{\"response_put\":{{\"header\":{{\"revision\":\"4\"}}}}}},\
             {{\"response_range\":{{\"header\":{{\"revision\":\"4\"}},\"kvs\":[{{\"key\":\"YQ==\",\"create_revision\":\"2\",\
             \"mod_revision\":\"3\",\"version\":\"2\",\"value\":\"Mg==\"}}],\"count\":\"1\"}}}}]}}",
            hdr(4)
        )
    );
    // Failure branch: "succeeded" false is omitted.
    let txn = r#"{"compare":[{"key":"YQ==","target":"VERSION","result":"GREATER","version":"5"}],
        "failure":[{"request_delete_range":{"key":"YQ==","prev_kv":true}}]}"#;
    let r = http(&p, "POST", "/v3/kv/txn", None, txn);
    assert_eq!(
        ok_body(&ids, &r),
        format!(
            "{{\"header\":{},\"responses\":[{{\"response_delete_range\":{{\"header\":{{\"revision\":\"5\"}},\"deleted\":\"1\",\
             \"prev_kvs\":[{{\"key\":\"YQ==\",\"create_revision\":\"2\",\"mod_revision\":\"3\",\"version\":\"2\",\"value\":\"Mg==\"}}]}}}}]}}",
            hdr(5)
        )
    );
    // Compare on create/mod revision of a missing key: both 0.
    let txn = r#"{"compare":[{"key":"YQ==","target":"CREATE","result":"EQUAL","create_revision":"0"},
        {"key":"YQ==","target":"MOD","result":"LESS","mod_revision":"1"}],"success":[]}"#;
    let r = post(&p, "/v3/kv/txn", txn);
    assert_eq!(ok_body(&ids, &r), format!("{{\"header\":{},\"succeeded\":true}}", hdr(5)));

    // Compaction does not create a revision; repeating it is an error.
    let r = post(&p, "/v3/kv/compaction", r#"{"revision":"3"}"#);
    assert_eq!(ok_body(&ids, &r), format!("{{\"header\":{}}}", hdr(5)));
    let r = post(&p, "/v3/kv/compaction", r#"{"revision":"3"}"#);
    assert_eq!(r.status, 400, "{r:#?}");
    assert_eq!(r.body, err_body("etcdserver: mvcc: required revision has been compacted", 11));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let r = http(&p, "POST", "/v3/kv/compaction", None, r#"{"revision":4,"physical":true}"#);
    assert_eq!(ok_body(&ids, &r), format!("{{\"header\":{}}}", hdr(5)));
    let r = post(&p, "/v3/kv/compaction", r#"{"revision":"500"}"#);
    assert_eq!(r.status, 400, "{r:#?}");
    assert_eq!(r.body, err_body("etcdserver: mvcc: required revision is a future revision", 11));
    let r = post(&p, "/v3/kv/range", r#"{"key":"Yg==","revision":"3"}"#);
    assert_eq!(r.status, 400, "{r:#?}");
    assert_eq!(r.body, err_body("etcdserver: mvcc: required revision has been compacted", 11));
    let r = post(&p, "/v3/kv/range", r#"{"key":"Yg==","revision":"6"}"#);
    assert_eq!(r.status, 400, "{r:#?}");
    assert_eq!(r.body, err_body("etcdserver: mvcc: required revision is a future revision", 11));
    // Still revision 5.
    let r = post(&p, "/v3/kv/range", r#"{"key":"Yg=="}"#);
    assert_eq!(
        ok_body(&ids, &r),
        format!(
            "{{\"header\":{},\"kvs\":[{{\"key\":\"Yg==\",\"create_revision\":\"4\",\"mod_revision\":\"4\",\"version\":\"1\",\"value\":\"Mw==\"}}],\"count\":\"1\"}}",
            hdr(5)
        )
    );
}

#[test]
fn malformed_requests() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let ids = p.ids();
    let cases: &[(&str, &str, u16, String)] = &[
        ("/v3/kv/range", "{", 400, err_body("unexpected EOF", 3)),
        ("/v3/kv/put", "{", 400, err_body("unexpected EOF", 3)),
        ("/v3/kv/range", "x", 400, err_body("invalid character 'x' looking for beginning of value", 3)),
        ("/v3/kv/range", r#"{"key":}"#, 400, err_body("invalid character '}' looking for beginning of value", 3)),
        (
            "/v3/kv/range",
            r#"{"key":"Zm9v","revision":"abc"}"#,
            400,
            err_body("invalid character 'a' looking for beginning of value", 3),
        ),
        ("/v3/kv/range", r#"{"key":"!!"}"#, 400, err_body("illegal base64 data at input byte 0", 3)),
        // An empty body is an empty request: no key.
        ("/v3/kv/range", "", 400, err_body("etcdserver: key is not provided", 3)),
        ("/v3/kv/put", r#"{"value":"YmFy"}"#, 400, err_body("etcdserver: key is not provided", 3)),
        ("/v3/kv/deleterange", "{}", 400, err_body("etcdserver: key is not provided", 3)),
    ];
    for (path, body, status, expected) in cases {
        let r = post(&p, path, body);
        assert_eq!((r.status, &r.body), (*status, expected), "POST {path} {body:?}: {r:#?}");
        assert_eq!(r.header("content-type"), Some("application/json"), "{r:#?}");
    }
    // Nothing was written.
    let r = post(&p, "/v3/kv/range", r#"{"key":"AA==","range_end":"AA==","count_only":true}"#);
    assert_eq!(ok_body(&ids, &r), format!("{{\"header\":{}}}", hdr(1)));
    // Unknown path and wrong method.
    let r = post(&p, "/v3/kv/nosuch", "{}");
    assert_eq!((r.status, r.body.as_str()), (404, "Not Found\n"), "{r:#?}");
    let r = http(&p, "GET", "/v3/kv/range", None, "");
    assert_eq!((r.status, r.body.as_str()), (405, "Method Not Allowed\n"), "{r:#?}");
}

#[test]
fn version_and_health() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let r = http(&p, "GET", "/version", None, "");
    assert_eq!(r.status, 200, "{r:#?}");
    // etcd's two fields, in etcd's order; etcd-rs adds its own release last.
    let expected = if testing_external_server() {
        r#"{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}"#.to_string()
    } else {
        format!(r#"{{"etcdserver":"3.4.23","etcdcluster":"3.4.0","etcd-rs":"{}"}}"#, env!("CARGO_PKG_VERSION"))
    };
    assert_eq!(r.body, expected);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let r = http(&p, "GET", "/health", None, "");
    assert_eq!(r.status, 200, "{r:#?}");
    assert_eq!(r.body, r#"{"health":"true"}"#);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
}

/// Maintenance and Cluster calls through the gateway, as etcd 3.4 answers
/// them (alarm and defragment carry no header; errors with their HTTP status).
#[test]
fn maintenance_and_cluster_admin_calls() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let ids = p.ids();
    for (path, body, want) in [
        ("/v3/maintenance/alarm", r#"{"action":"GET"}"#, "{}".to_string()),
        ("/v3/maintenance/alarm", r#"{"action":"DEACTIVATE","memberID":"5","alarm":"NOSPACE"}"#, "{}".to_string()),
        ("/v3/maintenance/defragment", "{}", "{}".to_string()),
    ] {
        assert_eq!(ok_body(&ids, &post(&p, path, body)), want, "{path} {body}");
    }
    let hash = ok_body(&ids, &post(&p, "/v3/maintenance/hash", "{}"));
    let prefix = format!("{{\"header\":{},\"hash\":", hdr(1));
    assert!(hash.starts_with(&prefix), "{hash}");
    assert!(hash[prefix.len()..].trim_end_matches('}').parse::<u32>().is_ok(), "{hash}");
    let not_found = err_body("etcdserver: member not found", 5);
    for (path, body, status, want) in [
        ("/v3/maintenance/transfer-leadership", r#"{"targetID":"12345"}"#, 412, err_body("etcdserver: bad leader transferee", 9)),
        ("/v3/cluster/member/remove", r#"{"ID":"12345"}"#, 404, not_found.clone()),
        ("/v3/cluster/member/promote", r#"{"ID":"12345"}"#, 404, not_found.clone()),
        ("/v3/cluster/member/update", r#"{"ID":"12345","peerURLs":["http://127.0.0.1:1"]}"#, 404, not_found.clone()),
        ("/v3/maintenance/alarm", r#"{"action":"#, 400, err_body("unexpected EOF", 3)),
    ] {
        let r = post(&p, path, body);
        assert_eq!((r.status, r.body.as_str()), (status, want.as_str()), "{path} {body}");
    }
}
