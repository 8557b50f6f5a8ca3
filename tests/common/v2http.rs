//! A minimal HTTP/1.1 client for the v2 API tests: one request per
//! connection (`Connection: close`), bounded by timeouts, chunked bodies
//! decoded; and a normaliser for v2 JSON (times, TTLs, unsorted listings).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Upper bound on one request (long polls pass their own).
pub const V2_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// One HTTP response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("bad JSON ({e}): {self:#?}"))
    }
}

/// Sends `method path` with an urlencoded `form` body (when not empty).
pub fn request(port: u16, method: &str, path: &str, form: &str, timeout: Duration) -> Resp {
    let ctype = (!form.is_empty()).then_some("application/x-www-form-urlencoded");
    send(port, method, path, ctype, &[], form, timeout)
}

/// Sends a body with the given content type (or none).
pub fn request_with_type(
    port: u16,
    method: &str,
    path: &str,
    ctype: Option<&str>,
    body: &str,
) -> Resp {
    send(port, method, path, ctype, &[], body, V2_REQUEST_TIMEOUT)
}

/// Sends a body with the given content type (or none) and extra headers.
pub fn request_with_headers(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    ctype: Option<&str>,
    body: &str,
) -> Resp {
    send(port, method, path, ctype, headers, body, V2_REQUEST_TIMEOUT)
}

fn send(
    port: u16,
    method: &str,
    path: &str,
    ctype: Option<&str>,
    headers: &[(&str, &str)],
    form: &str,
    timeout: Duration,
) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(timeout)).expect("timeout");
    s.set_write_timeout(Some(timeout)).expect("timeout");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(ct) = ctype {
        req.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if method != "GET" || !form.is_empty() {
        req.push_str(&format!("Content-Length: {}\r\n", form.len()));
    }
    req.push_str("\r\n");
    req.push_str(form);
    s.write_all(req.as_bytes()).expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("read response to {method} {path}: {e}"));
    parse(&raw)
}

/// `request` with [`V2_REQUEST_TIMEOUT`].
pub fn v2(port: u16, method: &str, path: &str, form: &str) -> Resp {
    request(port, method, path, form, V2_REQUEST_TIMEOUT)
}

fn parse(raw: &[u8]) -> Resp {
    let text = String::from_utf8_lossy(raw);
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end: {text}"));
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    loop {
        let Some((size, rest)) = s.split_once("\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("0").trim(), 16)
            .expect("hex size");
        if size == 0 {
            return out;
        }
        out.push_str(&rest[..size]);
        s = rest[size..].strip_prefix("\r\n").unwrap_or("");
    }
}

/// v2 JSON with `expiration` → `"<TIME>"`, `ttl` → `"<TTL>"` and every
/// `nodes` list sorted by key (etcd lists unsorted directories in map order).
pub fn normalise(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            if m.contains_key("expiration") {
                m.insert("expiration".into(), "<TIME>".into());
            }
            if m.contains_key("ttl") {
                m.insert("ttl".into(), "<TTL>".into());
            }
            if let Some(serde_json::Value::Array(nodes)) = m.get_mut("nodes") {
                nodes.sort_by(|a, b| a["key"].as_str().cmp(&b["key"].as_str()));
            }
            for (_, x) in m.iter_mut() {
                normalise(x);
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(normalise),
        _ => {}
    }
}
