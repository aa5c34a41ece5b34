//! The `[serve]` table: forewarn's own HTTP front (the status site, one-click
//! unsubscribe, health checks).

use std::net::SocketAddr;

use reqwest::Url;

use super::diagnostic::Report;
use super::reader::Table;
use super::values;

const SERVE_KEYS: &[&str] = &["listen", "public_url", "trusted_proxies"];

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
}

pub(super) fn serve(mut t: Table<'_, '_>, rep: &mut Report) -> Option<ServeSettings> {
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
    t.finish(rep, SERVE_KEYS, &|_| None);
    ok.then_some(ServeSettings {
        listen,
        public_url,
        trusted_proxies,
    })
}
