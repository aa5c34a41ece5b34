//! The built status site, file by file: the right content type, a short cache
//! lifetime with an ETag (pages change within a minute of an event), and 304 when the
//! reader already has the file.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::Front;

/// How long readers and caches may keep a file without asking again.
pub const MAX_AGE: &str = "public, max-age=60";
/// The shared stylesheet is named by its content: a new one gets a new name.
const FOREVER: &str = "public, max-age=31536000, immutable";

/// How long `rel` may be kept.
fn cache_control(rel: &str) -> &'static str {
    let named_by_content = rel.starts_with("style-") && rel.ends_with(".css") && !rel.contains('/');
    if named_by_content { FOREVER } else { MAX_AGE }
}

/// Data other sites may read from a browser: the API, feeds, the calendar and badges.
/// They are public, static and sent without credentials; pages and forms are not shared.
fn cross_origin(rel: &str) -> bool {
    rel.starts_with("api/v2/")
        || rel.starts_with("badges/")
        || rel.starts_with("badge.")
        || [".atom", ".rss", ".ics"]
            .iter()
            .any(|ext| rel.ends_with(ext))
}

/// The answer to a browser's preflight for one of the shared files: 204 with the
/// methods it may use.
fn preflight(headers: &HeaderMap) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    // The headers it asked to send, when they are plain header names.
    if let Some(asked) = headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            v.split(',')
                .all(|n| header::HeaderName::from_bytes(n.trim().as_bytes()).is_ok())
        })
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked);
    }
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    h.insert(
        header::ALLOW,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    resp
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("atom") => "application/atom+xml",
        Some("rss") => "application/rss+xml",
        Some("ics") => "text/calendar; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("txt") => "text/plain; charset=utf-8",
        Some("xml") => "application/xml",
        _ => "application/octet-stream",
    }
}

/// The file under the site folder a request path names, or None for anything that
/// tries to leave it or reach a hidden file.
fn relative(path: &str) -> Option<String> {
    let mut parts = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" => {}
            "." | ".." => return None,
            s if s.starts_with('.') || s.contains('\\') || s.contains('%') => return None,
            s => parts.push(s),
        }
    }
    let mut rel = parts.join("/");
    if rel.is_empty() || path.ends_with('/') {
        if !rel.is_empty() {
            rel.push('/');
        }
        rel.push_str("index.html");
    }
    Some(rel)
}

pub(super) async fn serve(
    State(front): State<Front>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let Some(mut rel) = relative(uri.path()) else {
        return not_found();
    };
    if method == Method::OPTIONS && cross_origin(&rel) {
        return preflight(&headers);
    }
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
        )
            .into_response();
    }
    let mut path = front.site.join(&rel);
    let is_file = |p: &std::path::Path| {
        let p = p.to_owned();
        async move { tokio::fs::metadata(&p).await.is_ok_and(|m| m.is_file()) }
    };
    if !is_file(&path).await
        && !uri.path().ends_with('/')
        && !rel.rsplit('/').next().unwrap_or_default().contains('.')
    {
        // `/incidents/INC-1` is `incidents/INC-1.html`: the same folder, so the page's
        // relative links resolve as they do from the `.html` address.
        let html = front.site.join(format!("{rel}.html"));
        if is_file(&html).await {
            rel.push_str(".html");
            path = html;
        }
    }
    if tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_dir()) {
        // `/history` → `/history/`, so the page's relative links resolve. Relative, so it
        // holds behind a proxy that serves the site under a path of its own.
        if !uri.path().ends_with('/') {
            let last = uri.path().rsplit('/').next().unwrap_or_default();
            let to = format!("{last}/");
            return (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, to)]).into_response();
        }
        rel.push_str("/index.html");
        path = front.site.join(&rel);
    }
    let Ok(bytes) = tokio::fs::read(&path).await else {
        return not_found();
    };
    let etag = format!(
        "\"{}\"",
        Sha256::digest(&bytes)[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == etag)
        });
    // For HEAD the server sends the headers of this answer and drops its body.
    let mut resp = if cached {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, bytes).into_response()
    };
    let h = resp.headers_mut();
    if !cached {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(&rel)),
        );
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control(&rel)),
    );
    if cross_origin(&rel) {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("ETag"),
        );
    }
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    resp
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Not found. The status page is at /\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_site() {
        assert_eq!(relative("/"), Some("index.html".into()));
        assert_eq!(
            relative("/incidents/INC-1.html"),
            Some("incidents/INC-1.html".into())
        );
        assert_eq!(relative("/history/"), Some("history/index.html".into()));
        assert_eq!(relative("/../secret"), None);
        assert_eq!(relative("/a/../../b"), None);
        assert_eq!(relative("/.forewarn-site"), None);
        assert_eq!(relative("/%2e%2e/x"), None);
    }

    #[test]
    fn feeds_and_badges_have_their_types() {
        assert_eq!(content_type("feed.atom"), "application/atom+xml");
        assert_eq!(
            content_type("maintenance.ics"),
            "text/calendar; charset=utf-8"
        );
        assert_eq!(content_type("api/v2/summary.json"), "application/json");
        assert_eq!(content_type("badge.svg"), "image/svg+xml");
        assert_eq!(
            content_type("style-0a1b2c3d4e.css"),
            "text/css; charset=utf-8"
        );
        assert_eq!(cache_control("style-0a1b2c3d4e.css"), FOREVER);
        assert_eq!(cache_control("index.html"), MAX_AGE);
    }

    #[test]
    fn only_data_is_shared_with_other_sites() {
        for shared in [
            "api/v2/summary.json",
            "api/v2/incidents/unresolved.json",
            "feed.atom",
            "history.rss",
            "components/api.atom",
            "maintenance.ics",
            "badge.svg",
            "badges/api.json",
        ] {
            assert!(cross_origin(shared), "{shared}");
        }
        for own in ["index.html", "incidents/INC-1.html", "style-0a1b2.css"] {
            assert!(!cross_origin(own), "{own}");
        }
    }
}
