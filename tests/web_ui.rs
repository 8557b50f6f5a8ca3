//! The built-in web UI (`/ui/`), end to end: headless Chromium driven over
//! WebDriver (Debian `chromium` + `chromium-driver`) against a real etcd-rs,
//! with the real `etcdctl` on the other side.
//!
//! Contract of this file:
//! - Nothing is skipped: without `/usr/bin/chromium` and `/usr/bin/chromedriver`
//!   every browser test fails with a message saying what to install.
//! - Every wait is a bounded poll of a condition in the page (or of etcdctl);
//!   every socket has a timeout. chromedriver is killed by its own PID on drop.
//! - The server is always our own binary (the UI is etcd-rs's; the real etcd
//!   has none), also when `ETCD_RS_TEST_ETCD` points elsewhere.
//! - Screenshots of the main pages are written to `docs/ui/*.png` (linked from
//!   `docs/ui.md`) when `ETCD_RS_UI_SCREENSHOTS=1`; otherwise only checked.
//! - The WebDriver client is a few lines of HTTP/1.1 over `TcpStream`, enough
//!   for chromedriver on loopback; no extra dependency.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::cluster::{Cluster, ClusterOpts};
use common::{free_port, EtcdOpts, EtcdProcess};
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Upper bound for one WebDriver or gateway HTTP exchange.
const HTTP_TIMEOUT: Duration = Duration::from_secs(90);
/// Upper bound for a condition in the page to become true.
const PAGE_TIMEOUT: Duration = Duration::from_secs(20);

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

// ---------------------------------------------------------------- HTTP ---

/// One HTTP/1.1 exchange (`Connection: close`): status and body.
fn http(addr: &str, method: &str, path: &str, body: Option<&[u8]>) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(HTTP_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(HTTP_TIMEOUT)).unwrap();
    let body = body.unwrap_or(b"");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    // chromedriver keeps connections open whatever the request says: read by length.
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let split = loop {
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = s
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        assert!(
            n > 0,
            "{method} {path}: connection closed before the headers"
        );
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let mut body = raw[split + 4..].to_vec();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse::<usize>().expect("content-length"));
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let complete = match length {
            Some(len) => body.len() >= len,
            None if chunked => body.windows(5).any(|w| w == b"0\r\n\r\n"),
            None => false,
        };
        if complete {
            break;
        }
        let n = s
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    if chunked {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(nl) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..nl]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + size]);
        b = &b[nl + 2 + size + 2..];
    }
}

/// POST a JSON gateway method on the member; the parsed answer.
fn gateway(etcd: &EtcdProcess, path: &str, body: &Value) -> Value {
    let addr = format!("127.0.0.1:{}", etcd.client_port());
    let (status, out) = http(&addr, "POST", path, Some(body.to_string().as_bytes()));
    let v: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&out));
    v
}

// ----------------------------------------------------------- WebDriver ---

/// A headless Chromium session through chromedriver.
struct Browser {
    driver: Child,
    /// TMPDIR and profile of chromedriver and Chromium, removed on drop.
    _tmp: tempfile::TempDir,
    addr: String,
    session: String,
}

impl Browser {
    fn start() -> Browser {
        for (path, pkg) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                std::path::Path::new(path).exists(),
                "{path} is missing: the web UI tests need Debian's `{pkg}` \
                 (apt-get install -y chromium chromium-driver; scripts/test.sh installs them)"
            );
        }
        let port = free_port();
        let tmp = tempfile::Builder::new()
            .prefix("etcd-rs-web-ui")
            .tempdir()
            .expect("tempdir");
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .env("TMPDIR", tmp.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let addr = format!("127.0.0.1:{port}");
        let profile = tmp.path().join("profile");
        let mut b = Browser {
            driver,
            _tmp: tmp,
            addr,
            session: String::new(),
        };
        let ready = common::wait_until(PAGE_TIMEOUT, || {
            TcpStream::connect(&b.addr).is_ok() && {
                let (s, body) = http(&b.addr, "GET", "/status", None);
                s == 200 && String::from_utf8_lossy(&body).contains("\"ready\":true")
            }
        });
        assert!(ready, "chromedriver did not become ready on {}", b.addr);
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1360,860", "--lang=en-US",
                         format!("--user-data-dir={}", profile.display())]
            },
            "timeouts": {"script": 30000, "pageLoad": 30000, "implicit": 0}
        }}});
        let v = b.raw("POST", "/session", &caps);
        b.session = v["sessionId"].as_str().expect("session id").to_string();
        b
    }

    fn raw(&self, method: &str, path: &str, body: &Value) -> Value {
        let payload = body.to_string();
        let (status, out) = http(
            &self.addr,
            method,
            path,
            (method != "GET").then_some(payload.as_bytes()),
        );
        let v: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
        assert_eq!(
            status,
            200,
            "WebDriver {method} {path}: {}",
            String::from_utf8_lossy(&out)
        );
        v["value"].clone()
    }

    fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        self.raw(method, &format!("/session/{}{path}", self.session), &body)
    }

    fn goto(&self, url: &str) {
        self.cmd("POST", "/url", json!({ "url": url }));
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page.
    fn js(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": args }),
        )
    }

    /// Runs an async `script` that calls `arguments[arguments.length - 1]` with its result.
    fn js_async(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/async",
            json!({ "script": script, "args": [] }),
        )
    }

    /// Polls `script` until it returns something truthy; returns that value.
    fn wait_for(&self, what: &str, script: &str, args: Value) -> Value {
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            let v = self.js(script, args.clone());
            let truthy =
                !matches!(&v, Value::Null | Value::Bool(false)) && v != json!("") && v != json!(0);
            if truthy {
                return v;
            }
            if Instant::now() >= deadline {
                let msg = self.js(
                    "return document.getElementById('msg').textContent",
                    json!([]),
                );
                panic!("timed out waiting for {what}; page message: {msg}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The WebDriver id of the first element matching `css` (waits for it).
    fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            let payload = json!({"using": "css selector", "value": css}).to_string();
            let path = format!("/session/{}/element", self.session);
            let (status, out) = http(&self.addr, "POST", &path, Some(payload.as_bytes()));
            if status == 200 {
                let v: Value = serde_json::from_slice(&out).unwrap();
                let obj = v["value"].as_object().expect("element").clone();
                return obj.values().next().unwrap().as_str().unwrap().to_string();
            }
            assert!(Instant::now() < deadline, "no element matches {css}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn click(&self, css: &str) {
        let id = self.find(css);
        self.cmd("POST", &format!("/element/{id}/click"), json!({}));
    }

    /// Clears a field and types `text` into it, key by key.
    fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.cmd("POST", &format!("/element/{id}/clear"), json!({}));
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        );
    }

    /// Sets a field's value at once (for long values) and fires `input`.
    fn set_value(&self, css: &str, text: &str) {
        self.find(css);
        self.js(
            "const e = document.querySelector(arguments[0]); e.value = arguments[1]; e.dispatchEvent(new Event('input'));",
            json!([css, text]),
        );
    }

    fn select(&self, css: &str, value: &str) {
        self.find(css);
        self.js(
            "const e = document.querySelector(arguments[0]); e.value = arguments[1]; e.dispatchEvent(new Event('change'));",
            json!([css, value]),
        );
    }

    fn text(&self, css: &str) -> String {
        self.find(css);
        self.js(
            "return document.querySelector(arguments[0]).textContent",
            json!([css]),
        )
        .as_str()
        .unwrap_or("")
        .to_string()
    }

    fn value(&self, css: &str) -> String {
        self.find(css);
        self.js(
            "return document.querySelector(arguments[0]).value",
            json!([css]),
        )
        .as_str()
        .unwrap_or("")
        .to_string()
    }

    /// Waits until the page message contains `needle`; returns the message.
    fn wait_msg(&self, needle: &str) -> String {
        let v = self.wait_for(
            &format!("a message containing {needle:?}"),
            "const m = document.getElementById('msg'); return !m.hidden && m.textContent.includes(arguments[0]) ? m.textContent : null;",
            json!([needle]),
        );
        v.as_str().unwrap().to_string()
    }

    /// Saves a PNG of the page as <name>.png (docs/ui with ETCD_RS_UI_SCREENSHOTS=1).
    fn screenshot(&self, name: &str) {
        let png = self.cmd("GET", "/screenshot", json!({}));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("screenshot"))
            .expect("screenshot base64");
        // The docs' copies change only when asked for (ETCD_RS_UI_SCREENSHOTS=1),
        // so a test run leaves the checkout clean.
        assert!(bytes.starts_with(b"\x89PNG"), "screenshot {name} is not a PNG");
        if std::env::var_os("ETCD_RS_UI_SCREENSHOTS").is_none() {
            return;
        }
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/ui");
        std::fs::create_dir_all(&dir).expect("docs/ui");
        std::fs::write(dir.join(format!("{name}.png")), bytes).expect("write screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let path = format!("/session/{}", self.session);
            let _ = std::panic::catch_unwind(|| http(&self.addr, "DELETE", &path, None));
        }
        // Only our own chromedriver, by its PID.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Our etcd always, even under `ETCD_RS_TEST_ETCD`: the UI is etcd-rs's own.
fn our_etcd() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_etcd"))
}

fn start_etcd(args: &[&str]) -> EtcdProcess {
    EtcdProcess::start(EtcdOpts {
        args: args.iter().map(|s| s.to_string()).collect(),
        binary: Some(our_etcd()),
        ..Default::default()
    })
}

fn ui_url(etcd: &EtcdProcess) -> String {
    format!("http://127.0.0.1:{}/ui/", etcd.client_port())
}

/// Opens the UI and waits until the key tree's first level is shown.
fn open_ui(b: &Browser, etcd: &EtcdProcess) {
    b.goto(&ui_url(etcd));
    b.wait_for(
        "the key tree",
        "return document.querySelector('#tree > li') !== null",
        json!([]),
    );
}

fn node_css(key: &str) -> String {
    format!("#tree button.node[data-key=\"{}\"]", b64(key.as_bytes()))
}

fn ctl_get(etcd: &EtcdProcess, key: &str) -> String {
    etcd.etcdctl(&["get", key, "--print-value-only"])
        .ok()
        .stdout
}

// --------------------------------------------------------------- tests ---

#[test]
fn ui_is_served_and_can_be_turned_off() {
    let on = start_etcd(&[]);
    let addr = format!("127.0.0.1:{}", on.client_port());
    let (status, body) = http(&addr, "GET", "/ui/", None);
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("<title>etcd-rs</title>"));
    let (status, _) = http(&addr, "GET", "/ui", None);
    assert_eq!(status, 301);
    let (status, _) = http(&addr, "GET", "/ui/js/app.js", None);
    assert_eq!(status, 200);
    let (status, _) = http(&addr, "GET", "/ui/nope.js", None);
    assert_eq!(status, 404);

    let off = start_etcd(&["--enable-ui=false"]);
    let addr = format!("127.0.0.1:{}", off.client_port());
    for path in ["/ui/", "/ui", "/ui/js/app.js"] {
        let (status, body) = http(&addr, "GET", path, None);
        assert_eq!(
            (status, String::from_utf8_lossy(&body).to_string()),
            (404, "Not Found\n".to_string()),
            "{path}"
        );
    }
}

/// Create through the page → etcdctl sees it; etcdctl changes → the page
/// updates live; invalid JSON is refused; a TTL key counts down and vanishes;
/// history with a diff.
#[test]
fn keys_create_live_validate_lease_history() {
    let etcd = start_etcd(&[]);
    etcd.etcdctl(&["put", "/app/seed", "x"]).ok();
    let b = Browser::start();
    open_ui(&b, &etcd);
    b.js("window.__noReload = 1", json!([]));

    // Create a key through the page.
    b.click("#new-key");
    b.type_into("#kv-key", "/app/config");
    b.select("#kv-format", "json");
    b.type_into("#kv-value", r#"{"name": "web", "replicas": 1}"#);
    b.click("#kv-save");
    b.wait_msg("Saved \"/app/config\"");
    assert_eq!(
        ctl_get(&etcd, "/app/config").trim(),
        r#"{"name": "web", "replicas": 1}"#
    );
    b.wait_for(
        "pretty JSON in the editor",
        "return document.getElementById('kv-value').value.includes('\\n  \"replicas\": 1')",
        json!([]),
    );
    b.screenshot("key-json");

    // Expand "/" and "/app/" in the tree, then change things with etcdctl.
    b.click(&node_css("/"));
    b.click(&node_css("/app/"));
    b.find(&node_css("/app/seed"));
    etcd.etcdctl(&["put", "/app/config", r#"{"name": "web", "replicas": 3}"#])
        .ok();
    etcd.etcdctl(&["put", "/app/added-by-etcdctl", "hello"])
        .ok();
    b.wait_for(
        "the open key to update live",
        "return document.getElementById('kv-value').value.includes('\"replicas\": 3') && !document.getElementById('kv-live').hidden",
        json!([]),
    );
    b.wait_for(
        "the new key to appear in the tree, marked",
        "const n = document.querySelector(arguments[0]); return n && n.closest('li').classList.contains('changed');",
        json!([node_css("/app/added-by-etcdctl")]),
    );
    assert_eq!(
        b.js("return window.__noReload", json!([])),
        json!(1),
        "the page reloaded"
    );
    b.screenshot("live-update");

    // A JSON syntax error is refused, and nothing is written.
    b.type_into("#kv-value", r#"{"name": "web", "replicas": 4,}"#);
    b.wait_for(
        "the validation error",
        "return document.getElementById('kv-valid').classList.contains('bad')",
        json!([]),
    );
    assert!(
        b.text("#kv-valid").contains("Invalid JSON"),
        "{}",
        b.text("#kv-valid")
    );
    b.click("#kv-save");
    let msg = b.wait_msg("Not saved");
    assert!(msg.contains("Invalid JSON"), "{msg}");
    assert!(ctl_get(&etcd, "/app/config").contains("\"replicas\": 3"));
    b.screenshot("json-invalid");

    // History and a diff between two revisions.
    b.click("#kv-reload");
    b.wait_for(
        "the reloaded value",
        "return document.getElementById('kv-valid').classList.contains('good')",
        json!([]),
    );
    b.click("#kv-history-btn");
    b.wait_for(
        "two versions",
        "return document.querySelectorAll('#kv-history-table tbody tr').length === 2",
        json!([]),
    );
    b.click("#kv-diff-btn");
    let diff = b.text("#kv-diff");
    assert!(
        diff.contains("-   \"replicas\": 1") && diff.contains("+   \"replicas\": 3"),
        "{diff}"
    );
    b.screenshot("history-diff");

    // A key with a TTL: countdown, then it disappears at expiry.
    b.click("#new-key");
    b.type_into("#kv-key", "/app/ephemeral");
    b.select("#kv-format", "text");
    b.type_into("#kv-value", "short-lived");
    b.type_into("#kv-ttl", "4");
    b.click("#kv-save");
    b.wait_msg("Saved \"/app/ephemeral\"");
    assert_eq!(ctl_get(&etcd, "/app/ephemeral").trim(), "short-lived");
    b.wait_for(
        "a countdown",
        "return document.getElementById('kv-countdown').textContent.includes('expires in')",
        json!([]),
    );
    b.screenshot("lease-countdown");
    b.wait_for(
        "the key to disappear at expiry",
        "return document.getElementById('kv-meta').textContent.includes('does not exist')",
        json!([]),
    );
    assert_eq!(ctl_get(&etcd, "/app/ephemeral"), "");
    b.wait_for(
        "the expired key struck out in the tree",
        "const n = document.querySelector(arguments[0]); return n && n.closest('li').classList.contains('deleted');",
        json!([node_css("/app/ephemeral")]),
    );

    // Delete a prefix: the confirmation names the count.
    b.click("#kv-delete-prefix");
    b.wait_for(
        "the prefix dialog",
        "return document.getElementById('prefix-dialog').open",
        json!([]),
    );
    assert_eq!(b.value("#prefix-input"), "/app/");
    b.click("#prefix-next");
    b.wait_for(
        "the confirmation",
        "return document.getElementById('confirm').open",
        json!([]),
    );
    let text = b.text("#confirm-text");
    assert!(
        text.contains("Delete 3 keys starting with \"/app/\""),
        "{text}"
    );
    b.screenshot("delete-prefix");
    b.click("#confirm-ok");
    b.wait_msg("Deleted 3 keys");
    assert_eq!(etcd.etcdctl(&["get", "--prefix", "/app/"]).ok().stdout, "");
}

/// 100,000 keys under one prefix: the level opens and pages with a few small
/// requests (counted with the browser's Resource Timing).
#[test]
fn tree_pages_100k_keys_without_loading_them() {
    const KEYS: usize = 100_000;
    const BATCH: usize = 10_000;
    let etcd = start_etcd(&["--max-txn-ops", "10000"]);
    for start in (0..KEYS).step_by(BATCH) {
        let puts: Vec<Value> = (start..start + BATCH)
            .map(|i| json!({"request_put": {"key": b64(format!("/big/k{i:06}").as_bytes()), "value": b64(b"v")}}))
            .collect();
        let r = gateway(&etcd, "/v3/kv/txn", &json!({ "success": puts }));
        assert_eq!(r["succeeded"], json!(true));
    }
    etcd.etcdctl(&["put", "other", "no leading slash"]).ok();
    let b = Browser::start();
    open_ui(&b, &etcd);
    b.find(&node_css("other"));
    b.js(
        "performance.setResourceTimingBufferSize(100000); performance.clearResourceTimings();",
        json!([]),
    );
    b.click(&node_css("/"));
    b.click(&node_css("/big/"));
    let leaves =
        "return document.querySelectorAll('#tree button.node.leaf[data-key^=\"L2JpZy9r\"]').length";
    b.wait_for("the first page", &format!("{leaves} === 100"), json!([]));
    b.find("#tree button.more");
    let stats = "const e = performance.getEntriesByType('resource').filter(r => r.name.includes('/v3/kv/range')); \
                 return [e.length, e.reduce((n, r) => n + r.encodedBodySize, 0)];";
    let first = b.js(stats, json!([]));
    let (requests, bytes) = (first[0].as_u64().unwrap(), first[1].as_u64().unwrap());
    eprintln!("opening two levels over {KEYS} keys: {requests} range requests, {bytes} bytes");
    // All keys would be ~100,000 × ~90 bytes of JSON; a page is ~100 keys.
    assert!(
        requests <= 6,
        "{requests} range requests to open two levels"
    );
    assert!(
        bytes < 40_000,
        "{bytes} bytes of range answers to open two levels"
    );
    b.screenshot("tree-100k");
    b.click("#tree button.more");
    b.wait_for("the second page", &format!("{leaves} === 200"), json!([]));
    let second = b.js(stats, json!([]));
    assert!(
        second[1].as_u64().unwrap() - bytes < 25_000,
        "second page: {second}"
    );
    assert!(b.text("#tree").contains("k000199"));
    // Prefix search pages too.
    b.type_into("#search", "/big/k0999");
    b.click("#search-form button[type=submit]");
    b.wait_for(
        "search results",
        "return document.querySelectorAll('#search-list li').length === 100",
        json!([]),
    );
    // Substring search scans in bounded steps and asks before going on.
    b.select("#search-mode", "substring");
    b.type_into("#search", "55555");
    b.click("#search-form button[type=submit]");
    b.wait_for(
        "the first scan step",
        "return document.getElementById('search-summary').textContent.includes('20000 keys scanned so far')",
        json!([]),
    );
    for _ in 0..5 {
        if b.text("#search-list").contains("/big/k055555") {
            break;
        }
        let before = b.text("#search-summary");
        b.click("#search-more");
        b.wait_for(
            "the next scan step",
            "return document.getElementById('search-summary').textContent !== arguments[0]",
            json!([before]),
        );
    }
    b.wait_for(
        "the substring match",
        "return document.getElementById('search-list').textContent.includes('/big/k055555')",
        json!([]),
    );
}

/// With auth on: a login dialog, and a key the role cannot read is refused.
#[test]
fn auth_login_and_permission_denied() {
    let etcd = start_etcd(&[]);
    etcd.etcdctl(&["put", "/pub/x", "public"]).ok();
    etcd.etcdctl(&["put", "/secret/y", "hidden"]).ok();
    for args in [
        &["user", "add", "root:rootpw"][..],
        &["role", "add", "reader"],
        &[
            "role",
            "grant-permission",
            "reader",
            "read",
            "/pub/",
            "--prefix",
        ],
        &["user", "add", "alice:alicepw"],
        &["user", "grant-role", "alice", "reader"],
        &["auth", "enable"],
    ] {
        etcd.etcdctl(args).ok();
    }
    let b = Browser::start();
    b.goto(&ui_url(&etcd));
    b.wait_for(
        "the login dialog",
        "return document.getElementById('login').open",
        json!([]),
    );
    b.type_into("#login-user", "alice");
    b.type_into("#login-pw", "wrong");
    b.click("#login-submit");
    b.wait_for(
        "the login error",
        "return document.getElementById('login-error').textContent.includes('authentication failed')",
        json!([]),
    );
    b.screenshot("login");
    b.type_into("#login-pw", "alicepw");
    b.click("#login-submit");
    b.wait_for(
        "the dialog to close",
        "return !document.getElementById('login').open",
        json!([]),
    );
    assert!(b.text("#who").contains("alice"));

    b.goto(&format!("{}#/key/{}", ui_url(&etcd), b64url(b"/pub/x")));
    b.wait_for(
        "the readable key",
        "return document.getElementById('kv-value').value === 'public'",
        json!([]),
    );
    b.goto(&format!("{}#/key/{}", ui_url(&etcd), b64url(b"/secret/y")));
    b.wait_msg("etcdserver: permission denied");
    assert_eq!(b.value("#kv-value"), "");
    assert_eq!(b.value("#kv-key"), "/secret/y");
    assert!(b.text("#kv-meta").contains("cannot be read"));
    b.screenshot("auth-denied");

    // Root sees and edits users and roles.
    b.click("#logout");
    b.wait_for(
        "the login dialog",
        "return document.getElementById('login').open",
        json!([]),
    );
    b.type_into("#login-user", "root");
    b.type_into("#login-pw", "rootpw");
    b.click("#login-submit");
    b.wait_for(
        "the dialog to close",
        "return !document.getElementById('login').open",
        json!([]),
    );
    b.click("#tab-auth");
    b.wait_for(
        "the role list",
        "return document.querySelector('#roles li[data-role=reader] .perm') !== null",
        json!([]),
    );
    assert!(
        b.text("#roles").contains("READ /pub/* (prefix)"),
        "{}",
        b.text("#roles")
    );
    b.type_into("#role-add-name", "writer");
    b.click("#role-add button[type=submit]");
    b.wait_for(
        "the new role",
        "return document.querySelector('#roles li[data-role=writer]') !== null",
        json!([]),
    );
    assert!(etcd
        .etcdctl(&["--user", "root:rootpw", "role", "list"])
        .ok()
        .stdout
        .contains("writer"));
    b.screenshot("auth-admin");
}

/// Bad input: a value over --max-request-bytes, invalid lease ids, and the
/// member going away while editing: a clear message, nothing half-written.
#[test]
fn bad_input_is_refused_with_a_clear_message() {
    let mut etcd = start_etcd(&["--max-request-bytes", "4096"]);
    etcd.etcdctl(&["put", "/cfg", "v1"]).ok();
    let b = Browser::start();
    b.goto(&format!("{}#/key/{}", ui_url(&etcd), b64url(b"/cfg")));
    b.wait_for(
        "the key",
        "return document.getElementById('kv-value').value === 'v1'",
        json!([]),
    );

    b.set_value("#kv-value", &"x".repeat(10_000));
    b.click("#kv-save");
    let msg = b.wait_msg("Not saved");
    assert!(msg.contains("etcdserver: request is too large"), "{msg}");
    assert_eq!(ctl_get(&etcd, "/cfg").trim(), "v1");

    b.set_value("#kv-value", "v2");
    b.type_into("#kv-lease", "not-a-lease");
    b.click("#kv-save");
    let msg = b.wait_msg("invalid lease id");
    assert!(msg.contains("not-a-lease"), "{msg}");
    b.type_into("#kv-lease", "123abc");
    b.click("#kv-save");
    b.wait_msg("etcdserver: requested lease not found");
    b.type_into("#kv-ttl", "-5");
    b.click("#kv-save");
    b.wait_msg("invalid TTL");
    assert_eq!(ctl_get(&etcd, "/cfg").trim(), "v1");

    // The member goes away mid-edit.
    b.type_into("#kv-ttl", "");
    b.type_into("#kv-lease", "");
    b.set_value("#kv-value", "edited while offline");
    etcd.kill9();
    b.click("#kv-save");
    let msg = b.wait_msg("Cannot reach the member");
    assert!(msg.contains("Not saved"), "{msg}");
    assert_eq!(
        b.value("#kv-value"),
        "edited while offline",
        "the edit must survive"
    );
    b.screenshot("network-drop");
    etcd.start_again();
    assert_eq!(ctl_get(&etcd, "/cfg").trim(), "v1");
    // Saving again once the member is back works (the stale-view guard still holds).
    b.click("#kv-save");
    b.wait_msg("Saved \"/cfg\"");
    assert_eq!(ctl_get(&etcd, "/cfg").trim(), "edited while offline");
}

/// Cluster, leases and v2 pages; value formats (binary as hex, YAML).
#[test]
fn cluster_leases_v2_and_value_formats() {
    let etcd = start_etcd(&["--enable-v2"]);
    let binary: Vec<u8> = vec![0, 1, 2, 0xff, b'e', b't', b'c', b'd'];
    gateway(
        &etcd,
        "/v3/kv/put",
        &json!({"key": b64(b"/bin"), "value": b64(&binary)}),
    );
    etcd.etcdctl(&[
        "put",
        "/conf.yaml",
        "server:\n  port: 8080\n  hosts: [a, b]\n",
    ])
    .ok();
    let lease = etcd.etcdctl(&["lease", "grant", "600"]).ok().stdout;
    let id = lease
        .split_whitespace()
        .nth(1)
        .expect("lease id")
        .to_string();
    etcd.etcdctl(&["put", "--lease", &id, "/svc/a", "10.0.0.1"])
        .ok();
    let b = Browser::start();
    b.goto(&format!("{}#/cluster", ui_url(&etcd)));
    b.wait_for(
        "the member row",
        "const r = document.querySelector('#members tbody tr'); return r && r.textContent.includes('leader') && r.textContent.includes('healthy')",
        json!([]),
    );
    assert!(b
        .text("#members")
        .contains(&format!("127.0.0.1:{}", etcd.client_port())));
    b.wait_for(
        "alarms",
        "return document.getElementById('alarms').textContent !== ''",
        json!([]),
    );
    b.screenshot("cluster");

    b.click("#tab-leases");
    b.wait_for(
        "the lease row",
        "return document.querySelector(`#leases tr[data-lease='${arguments[0]}']`) !== null",
        json!([id]),
    );
    assert!(b.text("#leases").contains("/svc/a"));
    b.screenshot("leases");

    b.click("#tab-v2");
    b.wait_for(
        "the v2 page",
        "return document.getElementById('v2-state').textContent.includes('v2 keys')",
        json!([]),
    );
    b.type_into("#v2-key", "/v2dir/hello");
    b.type_into("#v2-value", "world");
    b.type_into("#v2-ttl", "300");
    b.click("#v2-save");
    b.wait_msg("set /v2dir/hello");
    let out = common::run_with_timeout(
        {
            let mut c = Command::new(common::ETCDCTL_PATH);
            c.env("ETCDCTL_API", "2").args([
                "--endpoints",
                &etcd.client_url(),
                "get",
                "/v2dir/hello",
            ]);
            c
        },
        None,
        common::ETCDCTL_TIMEOUT,
    );
    assert_eq!(out.stdout.trim(), "world", "{out:?}");
    b.click("#v2-tree button.node.dir");
    b.wait_for(
        "the v2 child",
        "return document.querySelector('#v2-tree button[data-v2key=\"/v2dir/hello\"]') !== null",
        json!([]),
    );
    b.screenshot("v2");

    // A binary value opens as hex with a dump; YAML is detected and validated.
    b.goto(&format!("{}#/key/{}", ui_url(&etcd), b64url(b"/bin")));
    b.wait_for("the hex view", "return document.getElementById('kv-detected').textContent.includes('hex') && !document.getElementById('kv-hexdump').hidden", json!([]));
    assert_eq!(b.value("#kv-value"), "00 01 02 ff 65 74 63 64");
    assert!(
        b.text("#kv-hexdump")
            .contains("00000000  00 01 02 ff 65 74 63 64"),
        "{}",
        b.text("#kv-hexdump")
    );
    b.screenshot("hex");
    b.goto(&format!("{}#/key/{}", ui_url(&etcd), b64url(b"/conf.yaml")));
    b.wait_for(
        "YAML detection",
        "return document.getElementById('kv-detected').textContent.includes('yaml')",
        json!([]),
    );
    assert_eq!(b.text("#kv-valid"), "valid YAML");
    b.set_value("#kv-value", "server:\n  port: 8080\n   hosts: [a, b\n");
    assert!(
        b.text("#kv-valid").starts_with("Invalid YAML at line 3"),
        "{}",
        b.text("#kv-valid")
    );
    b.click("#kv-save");
    b.wait_msg("Not saved: Invalid YAML");
    assert!(ctl_get(&etcd, "/conf.yaml").contains("hosts: [a, b]"));
}

/// Three members: every row filled from its own member, one leader, and a
/// member that is down shown as unreachable.
#[test]
fn cluster_page_shows_every_member_and_a_dead_one() {
    let mut c = Cluster::start(
        3,
        ClusterOpts {
            binary: Some(our_etcd()),
            ..Default::default()
        },
    );
    let leader = c.wait_leader(Duration::from_secs(20));
    let down = (leader + 1) % 3;
    let viewer = (leader + 2) % 3;
    c.kill9(down);
    let b = Browser::start();
    b.goto(&format!("{}/ui/#/cluster", c.client_url(viewer)));
    b.wait_for(
        "three filled rows",
        "const rows = [...document.querySelectorAll('#members tbody tr')]; \
         return rows.length === 3 && rows.every(r => !r.cells[11].textContent.includes('…'));",
        json!([]),
    );
    let roles: Vec<String> = (0..3)
        .map(|i| {
            let id = format!("{:x}", c.member_id(i));
            b.js(
                "const r = [...document.querySelectorAll('#members tbody tr')].find(r => r.cells[1].textContent === arguments[0]); \
                 return r ? r.cells[4].textContent + '/' + r.cells[11].textContent : 'missing';",
                json!([id]),
            )
            .as_str()
            .unwrap()
            .to_string()
        })
        .collect();
    assert_eq!(roles[leader], "leader/healthy", "{roles:?}");
    assert_eq!(roles[viewer], "follower/healthy", "{roles:?}");
    assert_eq!(roles[down], "unreachable/unreachable", "{roles:?}");
    b.screenshot("cluster-3");
}

/// The page's tree paging (web/js/paging.js), run in the browser against a
/// brute-force model: for random binary keys, separators of one and two
/// bytes, prefixes (empty, nested, all-0xff) and page sizes down to one,
/// reading every page gives exactly the distinct children in key order.
#[test]
fn tree_paging_matches_a_brute_force_model() {
    let etcd = start_etcd(&[]);
    let b = Browser::start();
    b.goto(&ui_url(&etcd));
    let failures = b.js_async(
        r#"
const done = arguments[arguments.length - 1];
(async () => {
  const { listPage, childOf } = await import('./js/paging.js');
  const { cmp } = await import('./js/bytes.js');
  const bytes = (s) => Uint8Array.from(s, (c) => c.charCodeAt(0));
  let seed = 7;
  const rnd = (n) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 16) % n; };
  const alphabet = [0x2f, 0x61, 0x62, 0x00, 0xff, 0x3a];
  const uniq = new Map();
  for (let i = 0; i < 3000; i++) {
    const k = new Uint8Array(1 + rnd(8));
    for (let j = 0; j < k.length; j++) k[j] = alphabet[rnd(alphabet.length)];
    uniq.set(k.join(','), k);
  }
  const keys = [...uniq.values()].sort(cmp);
  const lower = (k) => { let lo = 0, hi = keys.length; while (lo < hi) { const m = (lo + hi) >> 1; if (cmp(keys[m], k) < 0) lo = m + 1; else hi = m; } return lo; };
  let fetched = 0;
  const range = async (from, end, limit) => {
    const all = end.length === 1 && end[0] === 0;
    let i = lower(from);
    const out = [];
    while (i < keys.length && (all || cmp(keys[i], end) < 0) && out.length < limit) out.push(keys[i++]);
    fetched += out.length;
    return { keys: out, more: i < keys.length && (all || cmp(keys[i], end) < 0) };
  };
  const show = (c) => (c.dir ? 'D' : 'L') + Array.from(c.full).join('.');
  const failures = [];
  for (const sep of ['/', ':', '//']) for (const prefix of ['', '/', '/a/', 'a', '\xff', 'b:']) for (const want of [1, 3, 100]) {
    const s = bytes(sep), p = bytes(prefix);
    const expected = [];
    for (const k of keys) {
      const c = childOf(p, s, k);
      if (c && (!expected.length || expected[expected.length - 1] !== show(c))) expected.push(show(c));
    }
    const got = [];
    let cursor = null, pages = 0;
    do {
      const page = await listPage(range, p, s, cursor, want);
      got.push(...page.children.map(show));
      cursor = page.cursor;
    } while (cursor && ++pages < 10000);
    if (got.join(' ') !== expected.join(' ')) failures.push(`sep ${JSON.stringify(sep)} prefix ${JSON.stringify(prefix)} want ${want}: got ${got.length} children, expected ${expected.length}`);
  }
  done({ failures, keys: keys.length, fetched });
})().catch((e) => done({ failures: ['exception: ' + e.stack] }));
"#,
    );
    assert_eq!(failures["failures"], json!([]), "{failures}");
    assert!(failures["keys"].as_u64().unwrap() > 1000, "{failures}");
}
