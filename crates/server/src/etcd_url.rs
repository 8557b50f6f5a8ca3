//! URLs as etcd's flags accept them (`listen-client-urls`, `initial-cluster`, ...).
//!
//! Contract, matching etcd 3.4's `types.NewURLs` on top of Go's `net/url`:
//! - each item is trimmed of surrounding whitespace, then parsed;
//! - the scheme (case-insensitive, stored lower-case) must be `http`, `https`, `unix` or
//!   `unixs`;
//! - the authority must have the form `host:port` (IPv6 hosts in brackets);
//! - there must be no path (not even `/`);
//! - a list is returned sorted by its string form (etcd sorts, so the order of a
//!   comma-separated value never matters).
//!
//! Error texts are etcd's, because scripts and tests compare them.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// One validated etcd URL such as `http://127.0.0.1:2379`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EtcdUrl {
    /// Normalised text form (lower-case scheme); what etcd prints and compares.
    text: String,
    /// `http`, `https`, `unix` or `unixs`.
    scheme: String,
    /// Host without brackets (`127.0.0.1`, `::1`, `localhost`, `example.com`).
    hostname: String,
    /// Port text as given (digits only, may be empty).
    port: String,
}

impl EtcdUrl {
    /// Parses one URL with etcd's rules (see the module docs).
    pub fn parse(input: &str) -> Result<EtcdUrl, String> {
        let trimmed = input.trim();
        let parts = go_url_parse(trimmed)?;
        if !matches!(parts.scheme.as_str(), "http" | "https" | "unix" | "unixs") {
            return Err(format!(
                "URL scheme must be http, https, unix, or unixs: {trimmed}"
            ));
        }
        let Some((hostname, port)) = split_host_port(&parts.host) else {
            return Err(format!(
                "URL address does not have the form \"host:port\": {trimmed}"
            ));
        };
        if !parts.path.is_empty() {
            return Err(format!("URL must not contain a path: {trimmed}"));
        }
        let mut text = format!("{}://{}{}", parts.scheme, parts.userinfo, parts.host);
        text.push_str(&parts.tail);
        Ok(EtcdUrl {
            text,
            scheme: parts.scheme,
            hostname,
            port,
        })
    }

    /// Parses a comma-separated list, sorted like etcd (duplicates are kept, as etcd does).
    pub fn parse_list(input: &str) -> Result<Vec<EtcdUrl>, String> {
        let mut urls = input
            .split(',')
            .map(EtcdUrl::parse)
            .collect::<Result<Vec<_>, _>>()?;
        urls.sort_by(|a, b| a.text.cmp(&b.text));
        Ok(urls)
    }

    /// The URL as text, e.g. `http://localhost:2379`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `http`, `https`, `unix` or `unixs`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// Host part without brackets.
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// Port, when it is a valid TCP port number.
    pub fn port(&self) -> Option<u16> {
        self.port.parse().ok()
    }

    /// `host:port` exactly as in the URL (IPv6 in brackets); what etcd calls `url.Host`.
    pub fn host_port(&self) -> String {
        if self.hostname.contains(':') {
            format!("[{}]:{}", self.hostname, self.port)
        } else {
            format!("{}:{}", self.hostname, self.port)
        }
    }

    /// True for `https` and `unixs`.
    pub fn is_tls(&self) -> bool {
        matches!(self.scheme.as_str(), "https" | "unixs")
    }

    /// True for `unix` and `unixs` (a socket file named by `host:port`).
    pub fn is_unix(&self) -> bool {
        matches!(self.scheme.as_str(), "unix" | "unixs")
    }

    /// The address to bind for a listen URL: an IP literal, or `localhost` as 127.0.0.1.
    /// `None` for unix sockets, host names and invalid ports (validation rejects those
    /// for listen URLs, so a validated listen URL of scheme http(s) always has one).
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        if self.is_unix() {
            return None;
        }
        let port = self.port()?;
        let ip = if self.hostname == "localhost" {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            self.hostname.parse::<IpAddr>().ok()?
        };
        Some(SocketAddr::new(ip, port))
    }
}

impl fmt::Display for EtcdUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Joins URLs with commas, as etcd prints a URL list.
pub fn join_urls(urls: &[EtcdUrl]) -> String {
    urls.iter()
        .map(EtcdUrl::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses `name1=url1,name1=url2,name2=url3` (etcd's `types.NewURLsMap`): repeated names
/// collect several URLs, each name's URLs are validated and sorted, empty items skipped.
pub fn parse_urls_map(input: &str) -> Result<BTreeMap<String, Vec<EtcdUrl>>, String> {
    let mut raw: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in input.split(',').filter(|s| !s.is_empty()) {
        let (name, url) = item.split_once('=').unwrap_or((item, ""));
        raw.entry(name.to_string())
            .or_default()
            .push(url.to_string());
    }
    let mut out = BTreeMap::new();
    for (name, urls) in raw {
        let mut parsed = urls
            .iter()
            .map(|u| EtcdUrl::parse(u))
            .collect::<Result<Vec<_>, _>>()?;
        parsed.sort_by(|a, b| a.text.cmp(&b.text));
        out.insert(name, parsed);
    }
    Ok(out)
}

/// The pieces of Go's `url.Parse` that etcd's checks look at.
struct GoUrlParts {
    scheme: String,
    userinfo: String,
    host: String,
    path: String,
    /// `?query#fragment`, kept verbatim for the text form.
    tail: String,
}

/// A subset of Go's `url.Parse` with its error texts (`parse "<url>": <reason>`).
fn go_url_parse(raw: &str) -> Result<GoUrlParts, String> {
    let fail = |reason: &str| format!("parse {raw:?}: {reason}");
    if raw.chars().any(|c| (c as u32) < 0x20 || c as u32 == 0x7f) {
        return Err(fail("net/url: invalid control character in URL"));
    }
    let (without_frag, frag) = match raw.find('#') {
        Some(i) => (&raw[..i], &raw[i..]),
        None => (raw, ""),
    };
    let (scheme, rest) = split_scheme(without_frag).map_err(&fail)?;
    let (rest, query) = match rest.find('?') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let tail = format!("{query}{frag}");
    let Some(after_slashes) = rest.strip_prefix("//") else {
        // No authority (Go's opaque or path-only form): the host is empty, which the
        // `host:port` check rejects before the path is ever looked at.
        return Ok(GoUrlParts {
            scheme,
            userinfo: String::new(),
            host: String::new(),
            path: rest.to_string(),
            tail,
        });
    };
    let (authority, path) = match after_slashes.find('/') {
        Some(i) => (&after_slashes[..i], &after_slashes[i..]),
        None => (after_slashes, ""),
    };
    let (userinfo, host) = match authority.rfind('@') {
        Some(i) => (&authority[..=i], &authority[i + 1..]),
        None => ("", authority),
    };
    check_go_host(host).map_err(|e| fail(&e))?;
    Ok(GoUrlParts {
        scheme,
        userinfo: userinfo.to_string(),
        host: host.to_string(),
        path: path.to_string(),
        tail,
    })
}

/// Go's `getScheme`: returns (lower-case scheme, rest); no scheme when a non-scheme
/// character comes before the first `:`.
fn split_scheme(raw: &str) -> Result<(String, &str), &'static str> {
    for (i, c) in raw.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i == 0 => return Err("missing protocol scheme"),
            ':' => return Ok((raw[..i].to_ascii_lowercase(), &raw[i + 1..])),
            _ => return Ok((String::new(), raw)),
        }
    }
    Ok((String::new(), raw))
}

/// Go's host checks in `url.Parse`: brackets balanced and a numeric port.
fn check_go_host(host: &str) -> Result<(), String> {
    let port_part = if host.starts_with('[') {
        let Some(close) = host.find(']') else {
            return Err("missing ']' in host".to_string());
        };
        let after = &host[close + 1..];
        if !after.is_empty() && !after.starts_with(':') {
            return Err(format!("invalid port {after:?} after host"));
        }
        after
    } else {
        match host.rfind(':') {
            Some(i) => &host[i..],
            None => "",
        }
    };
    if let Some(digits) = port_part.strip_prefix(':') {
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("invalid port {port_part:?} after host"));
        }
    }
    Ok(())
}

/// Go's `net.SplitHostPort`: `None` where Go returns an error.
fn split_host_port(host_port: &str) -> Option<(String, String)> {
    if let Some(rest) = host_port.strip_prefix('[') {
        let close = rest.find(']')?;
        let host = &rest[..close];
        let port = rest[close + 1..].strip_prefix(':')?;
        if port.contains([':', '[', ']']) {
            return None;
        }
        return Some((host.to_string(), port.to_string()));
    }
    let i = host_port.rfind(':')?;
    let (host, port) = (&host_port[..i], &host_port[i + 1..]);
    if host.contains([':', '[', ']']) || port.contains(['[', ']']) {
        return None;
    }
    Some((host.to_string(), port.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        let u = EtcdUrl::parse(" HTTP://127.0.0.1:2379 ").unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:2379");
        assert_eq!(u.socket_addr(), Some("127.0.0.1:2379".parse().unwrap()));
        let v6 = EtcdUrl::parse("https://[::1]:2380").unwrap();
        assert_eq!(v6.hostname(), "::1");
        assert_eq!(v6.host_port(), "[::1]:2380");
        assert!(v6.is_tls());
        let local = EtcdUrl::parse("http://localhost:2379").unwrap();
        assert_eq!(local.socket_addr(), Some("127.0.0.1:2379".parse().unwrap()));
        assert_eq!(
            EtcdUrl::parse("http://example.com:1")
                .unwrap()
                .socket_addr(),
            None
        );
    }

    #[test]
    fn etcd_error_texts() {
        assert_eq!(
            EtcdUrl::parse("foo").unwrap_err(),
            "URL scheme must be http, https, unix, or unixs: foo"
        );
        assert_eq!(
            EtcdUrl::parse("http://127.0.0.1").unwrap_err(),
            "URL address does not have the form \"host:port\": http://127.0.0.1"
        );
        assert_eq!(
            EtcdUrl::parse("http://127.0.0.1:2379/").unwrap_err(),
            "URL must not contain a path: http://127.0.0.1:2379/"
        );
        assert_eq!(
            EtcdUrl::parse("http://a:b").unwrap_err(),
            "parse \"http://a:b\": invalid port \":b\" after host"
        );
        assert_eq!(
            EtcdUrl::parse("http://[::1:2").unwrap_err(),
            "parse \"http://[::1:2\": missing ']' in host"
        );
        assert_eq!(
            EtcdUrl::parse("://x").unwrap_err(),
            "parse \"://x\": missing protocol scheme"
        );
    }

    #[test]
    fn lists_are_sorted_and_maps_group_by_name() {
        let l = EtcdUrl::parse_list("http://b:1,http://a:1").unwrap();
        assert_eq!(join_urls(&l), "http://a:1,http://b:1");
        let m = parse_urls_map("x=http://b:2,y=http://c:3,x=http://a:1").unwrap();
        assert_eq!(join_urls(&m["x"]), "http://a:1,http://b:2");
        assert_eq!(m.len(), 2);
        assert!(parse_urls_map("x=foo").is_err());
        assert!(parse_urls_map("").unwrap().is_empty());
    }
}
