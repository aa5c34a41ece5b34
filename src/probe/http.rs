//! HTTP checks: status, body and JSON conditions, latency, with bounded reads.

use std::time::{Duration, Instant};

use reqwest::redirect::Policy;

use super::reason::{Failure, chain_failure, short_duration, truncate};
use super::{DEFAULT_USER_AGENT, MAX_REDIRECTS, Outcome};
use crate::config::{HttpTarget, MAX_JSON_BYTES};

/// Three clients: one follows redirects, one does not, and one follows them only on
/// the same host (for checks sending secret headers, which must never reach another
/// host). Connections are not kept between probes, so each probe sees what a new visitor
/// sees and idle sockets never pile up.
pub struct Clients {
    follow: reqwest::Client,
    no_follow: reqwest::Client,
    same_host: reqwest::Client,
}

/// Follow a redirect only to the same host and port, or from http to https on it.
fn same_host_policy() -> Policy {
    Policy::custom(|attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        let Some(first) = attempt.previous().first() else {
            return attempt.follow();
        };
        let next = attempt.url();
        let same_host = next.host_str() == first.host_str();
        let same_scheme = next.scheme() == first.scheme()
            && next.port_or_known_default() == first.port_or_known_default();
        let upgrade = first.scheme() == "http" && next.scheme() == "https";
        if same_host && (same_scheme || upgrade) {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

impl Clients {
    pub fn new() -> anyhow::Result<Clients> {
        let build = |policy: Policy| {
            reqwest::Client::builder()
                .user_agent(DEFAULT_USER_AGENT)
                .redirect(policy)
                .pool_max_idle_per_host(0)
                .no_proxy()
                .build()
        };
        Ok(Clients {
            follow: build(Policy::limited(MAX_REDIRECTS))?,
            no_follow: build(Policy::none())?,
            same_host: build(same_host_policy())?,
        })
    }

    pub async fn probe(&self, h: &HttpTarget, timeout: Duration) -> Outcome {
        // A check's headers go only to the host they were written for: one with secret
        // headers never leaves it; one with plain headers goes on without them.
        let client = match (h.follow_redirects, h.headers.is_empty()) {
            (false, _) => &self.no_follow,
            (true, true) => &self.follow,
            (true, false) => &self.same_host,
        };
        let started = Instant::now();
        let request = client
            .request(h.method.clone(), h.url.clone())
            .headers(h.headers.clone())
            .timeout(timeout);
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => return request_error(&e, timeout).outcome(),
        };
        if h.follow_redirects
            && !h.has_secret_headers()
            && response.status().is_redirection()
            && let Some(next) = elsewhere(&response)
        {
            let method = if response.status() == reqwest::StatusCode::SEE_OTHER {
                reqwest::Method::GET
            } else {
                h.method.clone()
            };
            let left = timeout.saturating_sub(started.elapsed());
            response = match self.follow.request(method, next).timeout(left).send().await {
                Ok(r) => r,
                Err(e) => return request_error(&e, timeout).outcome(),
            };
        }
        let status = response.status().as_u16();

        // Read at most max_body_bytes; a larger body is cut off and the connection dropped.
        let mut body = Vec::new();
        let mut too_large = false;
        loop {
            match response.chunk().await {
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
                Err(e) if e.is_timeout() => {
                    return Outcome::Down(format!(
                        "timed out after {} while reading the response body",
                        short_duration(timeout)
                    ));
                }
                Err(_) => {
                    return Outcome::Down(
                        "connection closed while reading the response body".into(),
                    );
                }
            }
        }
        drop(response);
        let latency = started.elapsed();
        evaluate(h, status, &body, too_large, latency)
    }
}

/// Where a redirect the same-host client stopped at points: another host.
fn elsewhere(response: &reqwest::Response) -> Option<reqwest::Url> {
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)?
        .to_str()
        .ok()?;
    let next = response.url().join(location).ok()?;
    matches!(next.scheme(), "http" | "https").then_some(next)
}

fn request_error(e: &reqwest::Error, timeout: Duration) -> Failure {
    if e.is_timeout() {
        Failure::Remote(format!("timed out after {}", short_duration(timeout)))
    } else if e.is_redirect() {
        Failure::Remote(format!("too many redirects (more than {MAX_REDIRECTS})"))
    } else {
        chain_failure(e)
    }
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
