//! The built-in web UI: static files from `web/` embedded in the binary and
//! served under `/ui/` on every client URL (`--enable-ui`, on by default).
//!
//! Contract:
//! - The page is plain HTML/CSS/JS (ES modules), no build step; every file
//!   is compiled in with `include_bytes!`, so the binary needs nothing else.
//! - The page talks only to the JSON gateway and the v2 keys API of the
//!   member that served it, so TLS, auth and limits apply to it as to any
//!   client; this module serves bytes and never touches the store.
//! - `/ui` redirects to `/ui/`; unknown files under `/ui/` are 404. With the
//!   UI disabled no route exists, so `/ui/` answers the client router's 404.
//! - Responses carry a Content-Security-Policy that allows scripts and
//!   styles from the page's own origin only (no inline script, no CDN);
//!   `connect-src` also allows other members' client URLs, which the
//!   cluster page asks for their status.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// One embedded file: path under `/ui/`, content type, bytes.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $ty:expr) => {
        Asset {
            path: $path,
            content_type: $ty,
            body: include_bytes!(concat!("../../../web/", $path)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the UI. A test checks that each file the page refers to is here.
static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("js/app.js", JS),
    asset!("js/api.js", JS),
    asset!("js/auth.js", JS),
    asset!("js/bytes.js", JS),
    asset!("js/cluster.js", JS),
    asset!("js/diff.js", JS),
    asset!("js/format.js", JS),
    asset!("js/keyview.js", JS),
    asset!("js/kv.js", JS),
    asset!("js/leases.js", JS),
    asset!("js/live.js", JS),
    asset!("js/paging.js", JS),
    asset!("js/tree.js", JS),
    asset!("js/v2.js", JS),
];

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self' http: https:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The UI routes, for any router state; an empty router when `enabled` is false.
pub fn routes<S: Clone + Send + Sync + 'static>(enabled: bool) -> Router<S> {
    if !enabled {
        return Router::new();
    }
    Router::new()
        .route("/ui", get(|| async { redirect("/ui/") }))
        .route("/ui/", get(|| async { serve("index.html") }))
        .route(
            "/ui/{*path}",
            get(|Path(path): Path<String>| async move { serve(&path) }),
        )
}

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

fn serve(path: &str) -> Response {
    let Some(asset) = find(path) else {
        return crate::plain_error(StatusCode::NOT_FOUND, "Not Found\n");
    };
    let mut r = (StatusCode::OK, asset.body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    // Revalidate every time: a member upgraded in place must not serve a stale mix of files.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    r
}

fn redirect(to: &'static str) -> Response {
    let mut r = StatusCode::MOVED_PERMANENTLY.into_response();
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(to));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Targets of `src="…"`/`href="…"` in HTML and of `from './x.js'` in modules.
    fn references(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for pat in ["src=\"", "href=\"", "from './", "import('./"] {
            for (i, _) in text.match_indices(pat) {
                let rest = &text[i + pat.len()..];
                let end = rest.find(['"', '\'']).unwrap_or(rest.len());
                out.push(rest[..end].to_string());
            }
        }
        out
    }

    #[test]
    fn every_file_the_page_refers_to_is_embedded() {
        for asset in ASSETS {
            let text = std::str::from_utf8(asset.body).expect("utf-8 asset");
            let dir = asset.path.rsplit_once('/').map_or("", |(d, _)| d);
            for r in references(text) {
                if r.starts_with('#') || r.starts_with("http") {
                    continue;
                }
                let full = if dir.is_empty() {
                    r.clone()
                } else {
                    format!("{dir}/{r}")
                };
                assert!(
                    find(&full).is_some(),
                    "{} refers to {full}, which is not embedded",
                    asset.path
                );
            }
        }
    }

    #[test]
    fn no_external_resources() {
        for asset in ASSETS {
            let text = std::str::from_utf8(asset.body).unwrap();
            for bad in ["https://", "//fonts.", "@import", "cdn"] {
                assert!(!text.contains(bad), "{} mentions {bad:?}", asset.path);
            }
        }
    }

    #[test]
    fn unknown_files_are_404_and_known_ones_typed() {
        assert_eq!(serve("nope.js").status(), StatusCode::NOT_FOUND);
        assert_eq!(serve("../Cargo.toml").status(), StatusCode::NOT_FOUND);
        let r = serve("js/app.js");
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CONTENT_TYPE], JS);
        assert!(r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'"));
    }
}
