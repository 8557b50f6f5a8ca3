//! Go's `path.Clean` for rooted paths, as etcd applies it to keys and URLs.
//!
//! The result always starts with `/`; empty and `.` segments are dropped;
//! `..` removes the segment before it and stops at the root (`/..` is `/`).
//! [`clean_rooted_path`] is `path.Clean(path.Join("/", p))`, which drops a
//! trailing slash; [`canonical_url_path`] is etcd's `CanonicalURLPath` (what
//! Go's `ServeMux` redirects to), which keeps one.

/// `path.Clean(path.Join("/", p))`.
///
/// ```
/// assert_eq!(etcd_gotext::clean_rooted_path("a//b/../c/"), "/a/c");
/// ```
pub fn clean_rooted_path(p: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for segment in p.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            s => kept.push(s),
        }
    }
    format!("/{}", kept.join("/"))
}

/// etcd's `CanonicalURLPath`: [`clean_rooted_path`], keeping a trailing
/// slash unless the result is the root.
///
/// ```
/// assert_eq!(etcd_gotext::canonical_url_path("/v2/keys/a/../b/"), "/v2/keys/b/");
/// ```
pub fn canonical_url_path(p: &str) -> String {
    let mut out = clean_rooted_path(p);
    if p.ends_with('/') && out != "/" {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_like_go() {
        // path.Clean's documented cases, made rooted.
        let cases = [
            ("", "/"),
            ("/", "/"),
            ("a/c", "/a/c"),
            ("a//c", "/a/c"),
            ("a/c/.", "/a/c"),
            ("a/c/b/..", "/a/c"),
            ("/../a/c", "/a/c"),
            ("/../a/b/../././/c", "/a/c"),
            ("abc/", "/abc"),
            ("../../..", "/"),
            ("/foo/_hidden", "/foo/_hidden"),
        ];
        for (input, want) in cases {
            assert_eq!(clean_rooted_path(input), want, "{input:?}");
        }
    }

    #[test]
    fn canonical_keeps_a_trailing_slash() {
        assert_eq!(canonical_url_path("/v2/keys/a/../b/"), "/v2/keys/b/");
        assert_eq!(canonical_url_path("/v2/keys//x"), "/v2/keys/x");
        assert_eq!(canonical_url_path("/a/../"), "/");
        assert_eq!(canonical_url_path(""), "/");
        assert_eq!(canonical_url_path("v2/members/"), "/v2/members/");
    }
}
