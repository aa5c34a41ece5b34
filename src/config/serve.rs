//! The `[serve]` table: forewarn's own HTTP front (the status site, one-click
//! unsubscribe, health checks).

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::Url;

use super::diagnostic::Report;
use super::reader::Table;
use super::values;

const SERVE_KEYS: &[&str] = &[
    "listen",
    "public_url",
    "trusted_proxies",
    "admin_token_env",
    "max_connections",
    "max_connections_per_client",
    "header_timeout",
    "idle_timeout",
];

/// How many connections the front holds and for how long: a flood of idle or slow
/// clients costs the front its oldest idle connections, never the monitor's sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrontLimits {
    /// Connections held at once; a new one beyond it closes the oldest idle one.
    pub max_connections: usize,
    /// Connections one client address holds at once (trusted proxies excepted); a new
    /// one beyond it closes that client's oldest idle one.
    pub per_client: usize,
    /// Time a client has to send a request's headers, and to start the next request
    /// on a kept-alive connection.
    pub header_timeout: Duration,
    /// A connection on which nothing moves for this long is closed.
    pub idle_timeout: Duration,
}

impl Default for FrontLimits {
    fn default() -> Self {
        FrontLimits {
            max_connections: 1024,
            per_client: 128,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ServeSettings {
    /// Where the HTTP front listens (`forewarn run --listen` overrides it).
    pub listen: Option<SocketAddr>,
    /// The public address of the HTTP front, for links in emails; `[site] base_url`
    /// when not given.
    pub public_url: Option<Url>,
    /// Reverse proxies whose `X-Forwarded-For` names the real client (for the
    /// per-client sign-up limit).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The bearer token `POST /webhooks` requires (from `admin_token_env`); without it
    /// the endpoint does not exist.
    pub admin_token: Option<super::email::Secret>,
    pub limits: FrontLimits,
}

pub(super) fn serve(
    mut t: Table<'_, '_>,
    rep: &mut Report,
    ctx: &values::Ctx<'_>,
) -> Option<ServeSettings> {
    let mut ok = true;
    let listen = t.string(rep, "listen").and_then(|s| match s.get_ref().trim().parse() {
        Ok(a) => Some(a),
        Err(_) => {
            t.error(
                rep,
                s.span(),
                "listen",
                &format!(
                    "\"{}\" is not an address to listen on (write ip:port, such as \"127.0.0.1:8080\" or \"[::]:8080\")",
                    s.get_ref()
                ),
            );
            ok = false;
            None
        }
    });
    let public_url = t.string(rep, "public_url").and_then(|s| {
        values::http_url(s.get_ref())
            .map_err(|e| {
                t.error(rep, s.span(), "public_url", &e);
                ok = false;
            })
            .ok()
    });
    let mut trusted_proxies = Vec::new();
    if let Some(items) = t.array(rep, "trusted_proxies") {
        for v in items {
            let Some(s) = super::reader::array_string(&t, rep, "trusted_proxies", v) else {
                ok = false;
                continue;
            };
            match s.get_ref().trim().parse() {
                Ok(ip) => trusted_proxies.push(ip),
                Err(_) => {
                    t.error(
                        rep,
                        s.span(),
                        "trusted_proxies",
                        &format!("\"{}\" is not an IP address", s.get_ref()),
                    );
                    ok = false;
                }
            }
        }
    }
    let admin_token = t.string(rep, "admin_token_env").and_then(|var| {
        match values::secret_value(ctx, var.get_ref()) {
            Ok(None) => None,
            Ok(Some(v)) if v.len() >= 16 => Some(super::email::Secret(v)),
            Ok(Some(_)) => {
                t.error(
                    rep,
                    var.span(),
                    "admin_token_env",
                    &format!(
                        "environment variable {} is too short to guard the API (use at least 16 random characters)",
                        var.get_ref()
                    ),
                );
                ok = false;
                None
            }
            Err(e) => {
                t.error(rep, var.span(), "admin_token_env", &e);
                ok = false;
                None
            }
        }
    });
    let limits = limits(&mut t, rep, &mut ok);
    t.finish(rep, SERVE_KEYS, &|_| None);
    ok.then_some(ServeSettings {
        listen,
        public_url,
        trusted_proxies,
        admin_token,
        limits,
    })
}

/// The connection keys of `[serve]`; each out-of-range value is an error at its value.
fn limits(t: &mut Table<'_, '_>, rep: &mut Report, ok: &mut bool) -> FrontLimits {
    let mut limits = FrontLimits::default();
    let mut count = |key: &str, range: std::ops::RangeInclusive<i64>, slot: &mut usize| {
        if t.has(key) {
            match t.integer(rep, key, range) {
                Some(n) => *slot = n.into_inner() as usize,
                None => *ok = false,
            }
        }
    };
    count(
        "max_connections",
        1..=1_000_000,
        &mut limits.max_connections,
    );
    count(
        "max_connections_per_client",
        1..=1_000_000,
        &mut limits.per_client,
    );
    for (key, slot) in [
        ("header_timeout", &mut limits.header_timeout),
        ("idle_timeout", &mut limits.idle_timeout),
    ] {
        if !t.has(key) {
            continue;
        }
        match values::duration_key(t, rep, key) {
            Some(d)
                if (Duration::from_secs(1)..=Duration::from_secs(3600)).contains(d.get_ref()) =>
            {
                *slot = d.into_inner()
            }
            Some(d) => {
                t.error(rep, d.span(), key, "must be between 1s and 1h");
                *ok = false;
            }
            None => *ok = false,
        }
    }
    limits
}
