//! Signing up on the status page: `POST /subscribe` (a form or JSON: an email address
//! and optional components), then the link in the one confirmation email
//! (`GET /confirm/<token>` shows a button, `POST` confirms). Double opt-in: nothing but
//! that email goes to an address until its owner confirms.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::{Ask, Front, SignUp, pages};

/// Sign-ups one client address may make per hour.
pub const SIGNUPS_PER_IP_PER_HOUR: usize = 10;
/// Client addresses remembered at most.
const MAX_CLIENTS: usize = 100_000;

/// The client: the connection's address, or, when that is a trusted proxy, the
/// nearest address in `X-Forwarded-For` that is not one.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

/// Recent sign-ups per client address, in memory (a restart forgets them).
#[derive(Default)]
pub struct Limiter {
    seen: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl Limiter {
    /// Count one more sign-up from `ip`; `Err(wait)` when over the limit. IPv6
    /// clients count per /64, the block one customer usually holds.
    fn admit(&self, ip: IpAddr) -> Result<(), Duration> {
        let ip = match ip {
            IpAddr::V6(v6) => {
                let mut o = v6.octets();
                o[8..].fill(0);
                IpAddr::V6(o.into())
            }
            v4 => v4,
        };
        let hour = Duration::from_secs(3600);
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > MAX_CLIENTS {
            seen.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < hour));
            if seen.len() > MAX_CLIENTS {
                seen.clear(); // a flood from everywhere: start counting afresh
            }
        }
        let q = seen.entry(ip).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= hour) {
            q.pop_front();
        }
        if q.len() >= SIGNUPS_PER_IP_PER_HOUR {
            let oldest = q.front().copied().unwrap_or(now);
            return Err(hour.saturating_sub(now.duration_since(oldest)));
        }
        q.push_back(now);
        Ok(())
    }
}

/// The address and components from a form (`email=…&components=api&components=…`) or
/// JSON (`{"email": "…", "components": ["api"]}`).
fn read_request(headers: &HeaderMap, body: &[u8]) -> Result<(String, Vec<String>), String> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if json {
        #[derive(serde::Deserialize)]
        struct Req {
            email: String,
            #[serde(default)]
            components: Vec<String>,
        }
        let r: Req = serde_json::from_slice(body).map_err(|_| {
            "Send JSON such as {\"email\": \"you@example.com\", \"components\": [\"api\"]}."
                .to_owned()
        })?;
        return Ok((r.email, r.components));
    }
    let mut email = None;
    let mut components = Vec::new();
    for (k, v) in form_urlencoded::parse(body) {
        match k.as_ref() {
            "email" => email = Some(v.into_owned()),
            "components" | "component" => components.push(v.into_owned()),
            _ => {}
        }
    }
    email
        .filter(|e| !e.trim().is_empty())
        .map(|e| (e, components))
        .ok_or_else(|| "Enter your email address.".to_owned())
}

fn too_many(front: &Front, wait: Duration) -> Response {
    let mut resp = pages::too_many(&front.title);
    if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

pub(super) async fn subscribe(
    State(front): State<Front>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (address, components) = match read_request(&headers, &body) {
        Ok(r) => r,
        Err(why) => return pages::bad_request(&front.title, &why),
    };
    let client = client_ip(peer.ip(), &headers, &front.trusted_proxies);
    if let Err(wait) = front.limiter.admit(client) {
        return too_many(&front, wait);
    }
    let asked = front
        .ask(|reply| Ask::Subscribe {
            address,
            components,
            reply,
        })
        .await;
    match asked {
        Some(SignUp::Accepted) => pages::check_inbox(&front.title),
        Some(SignUp::Invalid(why)) => pages::bad_request(&front.title, &why),
        Some(SignUp::TooMany { retry_after_secs }) => {
            too_many(&front, Duration::from_secs(retry_after_secs))
        }
        None => pages::unavailable(&front.title),
    }
}

/// GET shows a button and confirms nothing: mail scanners follow links.
pub(super) async fn confirm_page(
    State(front): State<Front>,
    Path(token): Path<String>,
) -> Response {
    let asked = front
        .ask(|reply| Ask::Confirm {
            token,
            commit: false,
            reply,
        })
        .await;
    match asked {
        Some(Some(address)) => pages::confirm_subscription(&front.title, &address),
        Some(None) => pages::expired_link(&front.title),
        None => pages::unavailable(&front.title),
    }
}

pub(super) async fn confirm(State(front): State<Front>, Path(token): Path<String>) -> Response {
    let asked = front
        .ask(|reply| Ask::Confirm {
            token,
            commit: true,
            reply,
        })
        .await;
    match asked {
        Some(Some(address)) => pages::subscribed(&front.title, &address),
        Some(None) => pages::expired_link(&front.title),
        None => pages::unavailable(&front.title),
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_json_are_read() {
        let form = HeaderMap::new();
        assert_eq!(
            read_request(&form, b"email=a%40b.test&components=api&components=search"),
            Ok(("a@b.test".into(), vec!["api".into(), "search".into()]))
        );
        assert!(read_request(&form, b"components=api").is_err());
        let mut json = HeaderMap::new();
        json.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert_eq!(
            read_request(&json, br#"{"email":"a@b.test"}"#),
            Ok(("a@b.test".into(), vec![]))
        );
        assert!(read_request(&json, b"{").is_err());
    }

    #[test]
    fn ten_sign_ups_an_hour_per_client() {
        let l = Limiter::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..SIGNUPS_PER_IP_PER_HOUR {
            assert!(l.admit(ip).is_ok());
        }
        let wait = l.admit(ip).unwrap_err();
        assert!(wait > Duration::from_secs(3500));
        assert!(
            l.admit("192.0.2.2".parse().unwrap()).is_ok(),
            "others are not affected"
        );
        for n in 0..SIGNUPS_PER_IP_PER_HOUR {
            assert!(l.admit(format!("2001:db8::{n}").parse().unwrap()).is_ok());
        }
        assert!(
            l.admit("2001:db8::ffff".parse().unwrap()).is_err(),
            "one /64 is one client"
        );
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 198.51.100.7"),
        );
        assert_eq!(
            client_ip(proxy, &h, &[]),
            proxy,
            "untrusted: the header is ignored"
        );
        assert_eq!(
            client_ip(proxy, &h, &[proxy]),
            "198.51.100.7".parse::<IpAddr>().unwrap(),
            "the address the proxy saw, not what the client claimed"
        );
    }
}
