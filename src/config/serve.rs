//! The `[serve]` table: forewarn's own HTTP front (the status site, one-click
//! unsubscribe, health checks).

use std::net::SocketAddr;

use reqwest::Url;

use super::diagnostic::Report;
use super::reader::Table;
use super::values;

const SERVE_KEYS: &[&str] = &["listen", "public_url", "trusted_proxies", "admin_token_env"];

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
        match values::env_value(ctx, var.get_ref()) {
            Ok(v) if v.len() >= 16 => Some(super::email::Secret(v)),
            Ok(_) => {
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
    t.finish(rep, SERVE_KEYS, &|_| None);
    ok.then_some(ServeSettings {
        listen,
        public_url,
        trusted_proxies,
        admin_token,
    })
}
