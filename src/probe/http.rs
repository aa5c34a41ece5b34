//! HTTP checks: status, body and JSON conditions, latency, with bounded reads.
//!
//! Each hop of a probe opens a fresh connection and asks the server to close it after
//! answering (`Connection: close`), so each probe sees what a new visitor sees and the
//! closed connections wait out TIME_WAIT on the server, not in this machine's port
//! range. Plain `http://` hops go straight through hyper's connection API ([`plain`]);
//! `https://` hops through reqwest with rustls. Redirects are followed here, for both.

mod plain;

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::redirect::Policy;
use reqwest::{Method, StatusCode, Url};
use tokio::time::Instant;

use super::reason::{Failure, chain_failure, short_duration, truncate};
use super::{DEFAULT_USER_AGENT, MAX_REDIRECTS, Outcome};
use crate::config::{HttpTarget, MAX_JSON_BYTES};

/// What HTTP checks share: hyper's connector for plain hops, and a reqwest client
/// (never following redirects itself, never keeping connections) for TLS hops.
pub struct Clients {
    plain: plain::Connector,
    tls: reqwest::Client,
}

/// One request of a probe: where it goes, and which of the check's headers go with it.
struct Hop {
    method: Method,
    url: Url,
    /// The check's own headers (and the URL's credentials) go only to its own host.
    own_host: bool,
}

/// The answer to one hop, its body not read yet.
struct Answer {
    status: StatusCode,
    location: Option<Url>,
    body: Body,
}

enum Body {
    Plain(plain::Body),
    Tls(reqwest::Response),
}

enum ChunkError {
    TimedOut,
    Closed,
}

impl Body {
    async fn chunk(&mut self, deadline: Instant) -> Result<Option<Bytes>, ChunkError> {
        let next = async {
            match self {
                Body::Plain(b) => b.chunk().await.map_err(|_| ChunkError::Closed),
                Body::Tls(r) => r.chunk().await.map_err(|e| {
                    if e.is_timeout() {
                        ChunkError::TimedOut
                    } else {
                        ChunkError::Closed
                    }
                }),
            }
        };
        tokio::time::timeout_at(deadline, next)
            .await
            .unwrap_or(Err(ChunkError::TimedOut))
    }
}

/// The statuses that redirect (300, 304 and 305 do not send the client on).
fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// `Authorization: Basic …` from a URL's user and password (percent-decoded), marked
/// sensitive so it never shows in debug output; `None` for a URL without them.
fn basic_auth(url: &Url) -> Option<HeaderValue> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let user = decode(url.username());
    let password = url.password().map(decode).unwrap_or_default();
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// Is a redirect from `first` to `next` still the same service (same host and port, or
/// the same host moving from http to https)?
fn same_service(first: &Url, next: &Url) -> bool {
    let same_host = next.host_str() == first.host_str();
    let same_scheme = next.scheme() == first.scheme()
        && next.port_or_known_default() == first.port_or_known_default();
    let upgrade = first.scheme() == "http" && next.scheme() == "https";
    same_host && (same_scheme || upgrade)
}

impl Clients {
    pub fn new(source: Option<std::net::IpAddr>) -> anyhow::Result<Clients> {
        let tls = reqwest::Client::builder()
            .local_address(source)
            .user_agent(DEFAULT_USER_AGENT)
            .redirect(Policy::none())
            .pool_max_idle_per_host(0)
            .no_proxy()
            .build()?;
        Ok(Clients {
            plain: plain::Connector::new(source),
            tls,
        })
    }

    pub async fn probe(&self, h: &HttpTarget, timeout: Duration) -> Outcome {
        let started = Instant::now();
        let deadline = started + timeout;
        let mut hop = Hop {
            method: h.method.clone(),
            url: h.url.clone(),
            own_host: true,
        };
        let mut redirects = 0;
        let mut answer = loop {
            let answer = match self.send(h, &hop, deadline).await {
                Ok(a) => a,
                Err(HopError::TimedOut) => {
                    return Outcome::Down(format!("timed out after {}", short_duration(timeout)));
                }
                Err(HopError::Failed(f)) => return f.outcome(),
            };
            let Some(next) = answer
                .location
                .clone()
                .filter(|_| h.follow_redirects && is_redirect(answer.status))
            else {
                break answer;
            };
            let own_host = hop.own_host && same_service(&h.url, &next);
            // A check's secret headers never leave its host: stop at the redirect.
            if !own_host && h.has_secret_headers() {
                break answer;
            }
            redirects += 1;
            if redirects > MAX_REDIRECTS {
                return Outcome::Down(format!("too many redirects (more than {MAX_REDIRECTS})"));
            }
            // As browsers do: 303, and 301/302 after a POST, continue with a GET.
            let method = match answer.status {
                StatusCode::SEE_OTHER if hop.method != Method::HEAD => Method::GET,
                StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND if hop.method == Method::POST => {
                    Method::GET
                }
                _ => hop.method.clone(),
            };
            hop = Hop {
                method,
                url: next,
                own_host,
            };
        };
        let status = answer.status.as_u16();

        // Read at most max_body_bytes; a larger body is cut off and the connection dropped.
        let mut body = Vec::new();
        let mut too_large = false;
        loop {
            match answer.body.chunk(deadline).await {
                Ok(Some(chunk)) => {
                    let room = h.max_body_bytes - body.len();
                    if chunk.len() > room {
                        body.extend_from_slice(&chunk[..room]);
                        too_large = true;
                        break;
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(ChunkError::TimedOut) => {
                    return Outcome::Down(format!(
                        "timed out after {} while reading the response body",
                        short_duration(timeout)
                    ));
                }
                Err(ChunkError::Closed) => {
                    return Outcome::Down(
                        "connection closed while reading the response body".into(),
                    );
                }
            }
        }
        drop(answer);
        let latency = started.elapsed();
        evaluate(h, status, &body, too_large, latency)
    }

    /// Send one hop and read the head of its answer.
    async fn send(&self, h: &HttpTarget, hop: &Hop, deadline: Instant) -> Result<Answer, HopError> {
        let mut headers = if hop.own_host {
            h.headers.clone()
        } else {
            HeaderMap::new()
        };
        if !headers.contains_key(header::CONNECTION) {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        // The check's URL credentials go to every hop on its own host (a redirect's
        // Location rarely repeats them), and never elsewhere.
        if hop.own_host
            && !headers.contains_key(header::AUTHORIZATION)
            && let Some(auth) = basic_auth(&h.url)
        {
            headers.insert(header::AUTHORIZATION, auth);
        }
        let mut url = hop.url.clone();
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let (status, head, body) = match hop.url.scheme() {
            "http" => {
                let sent = self.plain.send(&hop.method, &url, headers);
                match tokio::time::timeout_at(deadline, sent).await {
                    Err(_) => return Err(HopError::TimedOut),
                    Ok(Err(e)) => return Err(HopError::Failed(chain_failure(e.as_ref()))),
                    Ok(Ok(r)) => {
                        let (parts, body) = r.into_parts();
                        (parts.status, parts.headers, Body::Plain(body))
                    }
                }
            }
            _ => {
                let left = deadline.saturating_duration_since(Instant::now());
                let sent = self
                    .tls
                    .request(hop.method.clone(), url)
                    .headers(headers)
                    .timeout(left)
                    .send();
                match sent.await {
                    Ok(r) => (r.status(), r.headers().clone(), Body::Tls(r)),
                    Err(e) if e.is_timeout() => return Err(HopError::TimedOut),
                    Err(e) => return Err(HopError::Failed(chain_failure(&e))),
                }
            }
        };
        let location = head
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| hop.url.join(l).ok())
            .filter(|next| matches!(next.scheme(), "http" | "https"));
        Ok(Answer {
            status,
            location,
            body,
        })
    }
}

/// Why a hop got no answer.
enum HopError {
    /// Not within the probe's time (the probe then says how long it waited).
    TimedOut,
    Failed(Failure),
}

/// Judge a complete (or capped) response against the check's conditions.
pub fn evaluate(
    h: &HttpTarget,
    status: u16,
    body: &[u8],
    too_large: bool,
    latency: Duration,
) -> Outcome {
    let status_ok = if h.expect_status.is_empty() {
        (200..300).contains(&status)
    } else {
        h.expect_status.iter().any(|m| m.matches(status))
    };
    if !status_ok {
        let redirect = (300..400).contains(&status);
        return Outcome::Down(if redirect && !h.follow_redirects {
            format!("HTTP {status} (redirects are not followed for this check)")
        } else if redirect && h.has_secret_headers() {
            format!(
                "HTTP {status}: a redirect to another host was not followed, so the check's secret headers stay private"
            )
        } else {
            format!("HTTP {status}")
        });
    }
    let limit = size(h.max_body_bytes);
    if let Some(needle) = &h.body_contains {
        let text = String::from_utf8_lossy(body);
        if !text.contains(needle.as_str()) {
            let needle = truncate(needle);
            return Outcome::Down(if too_large {
                format!("body missing \"{needle}\" in its first {limit}")
            } else {
                format!("body missing \"{needle}\"")
            });
        }
    }
    if !h.json.is_empty() {
        if too_large || body.len() > MAX_JSON_BYTES {
            let limit = size(h.max_body_bytes.min(MAX_JSON_BYTES));
            return Outcome::Down(format!(
                "response body larger than {limit}, too large to check"
            ));
        }
        let Ok(doc) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Outcome::Down("body is not valid JSON".into());
        };
        for (pointer, expected) in &h.json {
            match doc.pointer(pointer) {
                None => {
                    return Outcome::Down(truncate(&format!(
                        "{pointer} missing from the JSON body"
                    )));
                }
                Some(actual) if !json_equal(actual, expected) => {
                    return Outcome::Down(truncate(&format!(
                        "{pointer} is {actual}, expected {expected}"
                    )));
                }
                Some(_) => {}
            }
        }
    }
    if let Some(threshold) = h.latency_threshold
        && latency > threshold
    {
        return Outcome::Degraded(format!(
            "slow response: {} (threshold {})",
            short_duration(latency),
            short_duration(threshold)
        ));
    }
    Outcome::Up
}

/// Equality where numbers compare by value (1 equals 1.0).
fn json_equal(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if a.is_number() && b.is_number() => x == y,
        _ => a == b,
    }
}

fn size(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StatusMatch;

    fn target() -> HttpTarget {
        HttpTarget {
            method: reqwest::Method::GET,
            url: "http://127.0.0.1/".parse().unwrap(),
            url_is_secret: false,
            headers: Default::default(),
            expect_status: Vec::new(),
            body_contains: None,
            json: Vec::new(),
            latency_threshold: None,
            follow_redirects: true,
            max_body_bytes: 1024,
        }
    }

    const FAST: Duration = Duration::from_millis(5);

    #[test]
    fn any_2xx_passes_by_default() {
        assert_eq!(evaluate(&target(), 204, b"", false, FAST), Outcome::Up);
        assert_eq!(
            evaluate(&target(), 503, b"", false, FAST),
            Outcome::Down("HTTP 503".into())
        );
    }

    #[test]
    fn expected_statuses_and_classes() {
        let mut t = target();
        t.expect_status = vec![StatusMatch::Code(401), StatusMatch::Class(3)];
        assert_eq!(evaluate(&t, 401, b"", false, FAST), Outcome::Up);
        assert_eq!(evaluate(&t, 302, b"", false, FAST), Outcome::Up);
        assert!(evaluate(&t, 200, b"", false, FAST).is_down());
    }

    #[test]
    fn body_and_json_conditions_say_what_was_wrong() {
        let mut t = target();
        t.body_contains = Some("ok".into());
        assert_eq!(
            evaluate(&t, 200, b"fail", false, FAST),
            Outcome::Down("body missing \"ok\"".into())
        );
        let mut t = target();
        t.json = vec![
            ("/status".into(), "ok".into()),
            ("/db/lag".into(), 1.into()),
        ];
        assert_eq!(
            evaluate(&t, 200, br#"{"status":"ok","db":{"lag":1.0}}"#, false, FAST),
            Outcome::Up
        );
        assert_eq!(
            evaluate(&t, 200, br#"{"status":"down","db":{"lag":1}}"#, false, FAST),
            Outcome::Down("/status is \"down\", expected \"ok\"".into())
        );
        assert_eq!(
            evaluate(&t, 200, br#"{"status":"ok"}"#, false, FAST),
            Outcome::Down("/db/lag missing from the JSON body".into())
        );
        assert_eq!(
            evaluate(&t, 200, b"<html>", false, FAST),
            Outcome::Down("body is not valid JSON".into())
        );
    }

    #[test]
    fn slow_answers_are_degraded() {
        let mut t = target();
        t.latency_threshold = Some(Duration::from_millis(800));
        assert_eq!(
            evaluate(&t, 200, b"", false, Duration::from_millis(1200)),
            Outcome::Degraded("slow response: 1.2s (threshold 800ms)".into())
        );
        assert_eq!(
            evaluate(&t, 200, b"", false, Duration::from_millis(200)),
            Outcome::Up
        );
    }
}
