//! Go's `net/url.QueryEscape`, the form encoding of one query or
//! `application/x-www-form-urlencoded` value.
//!
//! Only the RFC 3986 unreserved bytes (`A–Z a–z 0–9 - _ . ~`) stay as they
//! are; a space becomes `+`; every other byte (UTF-8 ones included) becomes
//! `%XX` with upper-case hex.

/// Go's `url.QueryEscape`.
///
/// ```
/// assert_eq!(etcd_gotext::query_escape("a b&c=é"), "a+b%26c%3D%C3%A9");
/// ```
pub fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::query_escape;

    #[test]
    fn escapes_like_go() {
        assert_eq!(query_escape(""), "");
        assert_eq!(query_escape("abc-_.~XYZ09"), "abc-_.~XYZ09");
        assert_eq!(
            query_escape("m1=http://127.0.0.1:2380,m1=x y"),
            "m1%3Dhttp%3A%2F%2F127.0.0.1%3A2380%2Cm1%3Dx+y"
        );
        assert_eq!(query_escape("/a+b?"), "%2Fa%2Bb%3F");
    }
}
