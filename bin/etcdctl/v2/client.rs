//! The v2 cluster client, as etcd's Go `client` package behaves for
//! etcdctl: endpoints normalised and shuffled, one pinned endpoint tried
//! first, failover to the next on a network error or a 5xx (except for
//! one-shot requests — creates with prevExist=false and deletes — which
//! move the pin and fail at once), every failure collected into a cluster
//! error, and `Sync` replacing the endpoints with the members' client URLs.
//! `--debug` prints each request as a cURL command, as etcdctl does.

use std::fmt;

use super::http::{Request, Response, Transport};

/// An error body from the keys API (`{"errorCode":100,...}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdError {
    pub code: i64,
    pub message: String,
    pub cause: String,
    pub index: u64,
}

/// What a v2 call can fail with, rendered as etcd's Go client does.
#[derive(Clone, Debug)]
pub enum Error {
    /// An error from the keys API.
    Etcd(EtcdError),
    /// Every endpoint failed: (message, is a connection error) each.
    Cluster(Vec<(String, bool)>),
    /// The total timeout ran out.
    Deadline,
    /// A single failure, with whether it is a connection error.
    Other(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Etcd(e) => write!(f, "{}: {} ({}) [{}]", e.code, e.message, e.cause, e.index),
            Error::Cluster(errs) => {
                write!(f, "client: etcd cluster is unavailable or misconfigured")?;
                for (i, (e, _)) in errs.iter().enumerate() {
                    write!(f, "; error #{i}: {e}\n")?;
                }
                Ok(())
            }
            Error::Deadline => write!(f, "context deadline exceeded"),
            Error::Other(s) => write!(f, "{s}"),
        }
    }
}

impl Error {
    /// The per-endpoint lines etcdctl prints after a cluster error.
    pub fn detail(&self) -> Option<String> {
        match self {
            Error::Cluster(errs) => Some(
                errs.iter()
                    .enumerate()
                    .map(|(i, (e, _))| format!("error #{i}: {e}\n"))
                    .collect(),
            ),
            _ => None,
        }
    }

    /// Whether etcdctl counts this as "could not connect" (exit 2 in sync).
    pub fn is_connection(&self) -> bool {
        match self {
            Error::Cluster(errs) => errs.iter().all(|(_, c)| *c),
            Error::Deadline => true,
            _ => false,
        }
    }
}

/// A cluster client over a fixed transport.
pub struct Client {
    transport: Transport,
    endpoints: Vec<String>,
    pinned: usize,
    credentials: Option<(String, String)>,
    debug: bool,
}

/// A cheap time-seeded shuffle (the Go client shuffles with a
/// time-seeded source too; order only matters for which is tried first).
fn shuffle(v: &mut [String]) {
    let mut x = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
}

/// Normalises one `--endpoints` entry like Go's `url.Parse` + default
/// `http` scheme; `Err` is the message etcdctl prints.
pub fn normalise_endpoint(ep: &str) -> Result<String, String> {
    if ep.contains("://") {
        return Ok(ep.to_string());
    }
    let first = ep.split('/').next().unwrap_or("");
    if first.contains(':') {
        let scheme_like = ep.starts_with(|c: char| c.is_ascii_alphabetic());
        if !scheme_like {
            return Err(format!(
                "parse {ep:?}: first path segment in URL cannot contain colon"
            ));
        }
        return Ok(ep.to_string());
    }
    Ok(format!("http://{ep}"))
}

impl Client {
    /// A client for `endpoints` (already normalised), shuffled.
    pub fn new(
        transport: Transport,
        mut endpoints: Vec<String>,
        credentials: Option<(String, String)>,
        debug: bool,
    ) -> Client {
        shuffle(&mut endpoints);
        Client {
            transport,
            endpoints,
            pinned: 0,
            credentials,
            debug,
        }
    }

    /// The current endpoints, in trial order from index 0.
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// Sends `req` with failover; `one_shot` requests stop at the first
    /// failing endpoint.
    pub async fn call(&mut self, mut req: Request, one_shot: bool) -> Result<Response, Error> {
        if self.endpoints.is_empty() {
            return Err(Error::Other("client: no endpoints available".into()));
        }
        req.basic_auth = self.credentials.clone();
        let n = self.endpoints.len();
        let mut errs: Vec<(String, bool)> = Vec::new();
        for i in self.pinned..self.pinned + n {
            let k = i % n;
            let ep = self.endpoints[k].clone();
            if self.debug {
                print_curl(&ep, &req);
            }
            let failure = match self.transport.send(&ep, &req).await {
                Err(e) => {
                    let conn = e.starts_with("dial ");
                    errs.push((e.clone(), conn));
                    Some(e)
                }
                Ok(r) if r.status / 100 == 5 => {
                    let msg = if r.status == 500 || r.status == 503 {
                        format!("client: etcd member {ep} has no leader")
                    } else {
                        format!(
                            "client: etcd member {ep} returns server error [{}]",
                            status_text(r.status)
                        )
                    };
                    errs.push((msg, false));
                    Some(errs[0].0.clone())
                }
                Ok(r) => {
                    self.pinned = k;
                    return Ok(r);
                }
            };
            if let (Some(e), true) = (failure, one_shot) {
                self.pinned = (k + 1) % n;
                return Err(Error::Other(e));
            }
        }
        Err(Error::Cluster(errs))
    }

    /// Replaces the endpoints with the members' client URLs.
    pub async fn sync(&mut self) -> Result<(), Error> {
        let members = super::members::list(self).await?;
        let mut eps: Vec<String> = members.into_iter().flat_map(|m| m.client_urls).collect();
        if eps.is_empty() {
            return Err(Error::Other("client: no endpoints available".into()));
        }
        let (mut a, mut b) = (self.endpoints.clone(), eps.clone());
        a.sort();
        b.sort();
        if a == b {
            return Ok(());
        }
        shuffle(&mut eps);
        self.endpoints = eps;
        self.pinned = 0;
        Ok(())
    }
}

fn print_curl(ep: &str, req: &Request) {
    let mut cmd = format!(
        "curl -X {} {}{}",
        req.method,
        ep.trim_end_matches('/'),
        req.path_query
    );
    if let Some((_, body)) = &req.body {
        cmd.push_str(&format!(" -d {}", crate::gofmt::quote(body.as_bytes())));
    }
    eprintln!("cURL Command: {cmd}");
}

fn status_text(code: u16) -> &'static str {
    match code {
        501 => "Not Implemented",
        502 => "Bad Gateway",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Go's path escaping for a URL path.
pub fn path_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'@' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `k=v&...` sorted by key, as Go's `url.Values.Encode`.
pub fn encode_values(pairs: &[(&str, String)]) -> String {
    let mut v: Vec<&(&str, String)> = pairs.iter().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v.iter()
        .map(|(k, val)| {
            let (k, val) = (etcd_gotext::query_escape(k), etcd_gotext::query_escape(val));
            format!("{k}={val}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The message Go's `encoding/json` gives for a body that is not JSON at
/// all (the usual case: a plain-text error page); `None` if it parses.
pub fn go_json_error(body: &[u8]) -> Option<String> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(_) => None,
        Err(_) => Some(match body.iter().find(|b| !b.is_ascii_whitespace()) {
            None => "unexpected end of JSON input".to_string(),
            Some(&b) => format!(
                "invalid character {} looking for beginning of value",
                go_char(b)
            ),
        }),
    }
}

fn go_char(b: u8) -> String {
    match b {
        b'\'' => "'\\''".to_string(),
        b'"' => "'\"'".to_string(),
        b if b.is_ascii_graphic() || b == b' ' => format!("'{}'", b as char),
        b => format!("'\\x{b:02x}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_matches_go() {
        assert_eq!(encode_values(&[("value", "a b&c".into())]), "value=a+b%26c");
        assert_eq!(path_escape("/v2/keys/a b"), "/v2/keys/a%20b");
    }

    #[test]
    fn cluster_error_renders_like_go() {
        let e = Error::Cluster(vec![("dial tcp x: boom".into(), true)]);
        assert_eq!(
            e.to_string(),
            "client: etcd cluster is unavailable or misconfigured; error #0: dial tcp x: boom\n"
        );
        assert_eq!(e.detail().unwrap(), "error #0: dial tcp x: boom\n");
        assert!(e.is_connection());
    }

    #[test]
    fn bare_ip_endpoint_is_a_parse_error() {
        assert!(normalise_endpoint("127.0.0.1:2379").is_err());
        assert_eq!(normalise_endpoint("h:1/").unwrap(), "h:1/");
        assert_eq!(normalise_endpoint("http://a:1").unwrap(), "http://a:1");
    }
}
