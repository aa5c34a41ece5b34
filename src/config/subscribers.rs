//! `subscribers.toml`, next to the main configuration: who hears about outages, and how.
//!
//! ```toml
//! [[email]]
//! address = "ops@customer.example"
//! components = ["api"]          # empty or absent: everything
//! timezone = "Europe/Paris"     # times in their messages; the site's otherwise
//!
//! [[webhook]]
//! url = "https://hooks.customer.example/forewarn"
//! secret_env = "CUSTOMER_WEBHOOK_SECRET"   # whsec_… (Standard Webhooks)
//! format = "standard"           # standard | slack | discord | teams
//!
//! [[operator]]                    # the team: the same keys as [[email]] or [[webhook]]
//! address = "oncall@example.com"  # hears operator alerts and non-public components too
//! ```

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use chrono_tz::Tz;
use reqwest::Url;
use sha2::{Digest, Sha256};
use toml::de::DeTable;

use super::diagnostic::{ReadError, Report, SourceMap, read_text};
use super::email::Secret;
use super::reader::Table;
use super::values::Ctx;
use super::{Config, Diagnostics};
pub use crate::vocab::WebhookFormat;

/// The subscribers file's name, in the main configuration's folder.
pub const SUBSCRIBERS_FILE: &str = "subscribers.toml";

const EMAIL_KEYS: &[&str] = &["address", "components", "timezone"];
const WEBHOOK_KEYS: &[&str] = &["url", "url_env", "secret_env", "format", "components"];
const OPERATOR_KEYS: &[&str] = &[
    "address",
    "url",
    "url_env",
    "secret_env",
    "format",
    "components",
    "timezone",
];

/// The subscribers an operator listed.
#[derive(Debug, Clone, Default)]
pub struct Subscribers {
    pub list: Vec<Subscriber>,
    /// Key → position in `list`.
    index: HashMap<String, usize>,
}

#[derive(Debug, Clone)]
pub struct Subscriber {
    /// Stable identity: `email:<address>` or `webhook:<hash of the URL>`, after
    /// `operator:` for the team's own entries.
    pub key: String,
    /// An `[[operator]]` entry: hears operator alerts and non-public components too.
    pub operator: bool,
    pub target: Target,
    /// Components they care about; empty means all.
    pub components: Vec<String>,
    /// The time zone of the times in their messages.
    pub timezone: Option<Tz>,
}

#[derive(Debug, Clone)]
pub enum Target {
    Email {
        /// Lower-cased.
        address: String,
    },
    Webhook(Webhook),
}

#[derive(Clone)]
pub struct Webhook {
    pub url: Url,
    /// The URL came from the environment: show only its host.
    pub url_is_secret: bool,
    pub format: WebhookFormat,
    /// The decoded `whsec_` key (standard format only).
    pub key: Option<Secret>,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.label())
            .field("format", &self.format)
            .finish()
    }
}

impl Webhook {
    /// What operators see: the whole URL, or only its host when it holds a secret.
    pub fn label(&self) -> String {
        label(&self.url, self.url_is_secret)
    }
}

/// What operators see of a webhook's address: scheme, host, port and path, with any
/// query (which may hold a token) elided; only the host when the whole address is a
/// secret (`url_env`).
pub fn label(url: &Url, secret: bool) -> String {
    let host = url.host_str().unwrap_or_default();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    if secret {
        return format!("{}://{host}{port}/…", url.scheme());
    }
    let query = if url.query().is_some() { "?…" } else { "" };
    format!("{}://{host}{port}{}{query}", url.scheme(), url.path())
}

/// `email:ops@example.com`
pub fn email_key(address: &str) -> String {
    format!("email:{}", address.trim().to_lowercase())
}

/// `webhook:3f2a…`: the URL itself may be a secret, so only its hash is kept.
pub fn webhook_key(url: &Url) -> String {
    let digest = Sha256::digest(url.as_str().as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("webhook:{hex}")
}

/// Decode a Standard Webhooks secret (`whsec_` then base64).
pub fn decode_secret(text: &str) -> Result<Vec<u8>, String> {
    let b64 = text.trim().strip_prefix("whsec_").ok_or_else(|| {
        "is not a Standard Webhooks secret (it starts with \"whsec_\", then base64)".to_owned()
    })?;
    match base64::engine::general_purpose::STANDARD.decode(b64) {
        Ok(k) if k.len() >= 16 => Ok(k),
        Ok(_) => Err("is too short (use at least 16 random bytes, base64-encoded)".into()),
        Err(_) => Err("is not valid base64 after \"whsec_\"".into()),
    }
}

/// A valid email address, lower-cased.
pub fn email_address(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.chars().any(|c| c.is_control() || c.is_whitespace())
        || t.parse::<lettre::Address>().is_err()
    {
        return Err(format!(
            "\"{}\" is not an email address",
            text.escape_debug()
        ));
    }
    Ok(t.to_lowercase())
}

impl Subscribers {
    /// The subscribers file next to `config`'s file; none when it does not exist.
    pub fn path(config: &Config) -> PathBuf {
        config
            .file
            .parent()
            .unwrap_or(Path::new("."))
            .join(SUBSCRIBERS_FILE)
    }

    /// Read and check the subscribers file (no file: no subscribers).
    pub fn load(config: &Config) -> Result<Subscribers, Diagnostics> {
        let path = Subscribers::path(config);
        let src = match read_text(&path) {
            Ok(s) => s,
            Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Subscribers::default());
            }
            Err(ReadError::NotText(d)) => return Err(Diagnostics(vec![d])),
            Err(ReadError::Io(e)) => {
                let mut rep = Report::new(SourceMap::new(path.display().to_string(), ""));
                rep.error(0..0, format!("cannot read the file: {e}"));
                return Err(Diagnostics(rep.into_diagnostics()));
            }
        };
        let env = |name: &str| std::env::var(name).ok();
        Subscribers::parse(&path, &src, config, &env)
    }

    pub fn parse(
        path: &Path,
        src: &str,
        config: &Config,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Subscribers, Diagnostics> {
        let mut rep = Report::new(SourceMap::new(path.display().to_string(), src));
        let (doc, syntax) = DeTable::parse_recoverable(src);
        for e in &syntax {
            rep.error(
                e.span().unwrap_or(0..0),
                format!("invalid TOML: {}", e.message().trim()),
            );
        }
        if !syntax.is_empty() {
            return Err(Diagnostics(rep.into_diagnostics()));
        }
        let base_dir = path.parent().unwrap_or(Path::new("."));
        let ctx = Ctx {
            env,
            base_dir,
            secrets_needed: true,
            upstreams: &[],
            upstreams_broken: false,
        };
        let mut root = Table::new(doc.get_ref(), doc.span(), "", "");
        let mut list = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (kind, keys) in [
            ("email", EMAIL_KEYS),
            ("webhook", WEBHOOK_KEYS),
            ("operator", OPERATOR_KEYS),
        ] {
            for (index, (table, span)) in root.tables(&mut rep, kind).into_iter().enumerate() {
                let line = rep.map().locate(span.start).0;
                let mut t = Table::new(
                    table,
                    span.clone(),
                    &format!("{kind} #{} (line {line})", index + 1),
                    "",
                );
                let sub = match kind {
                    "email" => entries::email(&mut t, &mut rep, config, false),
                    "webhook" => entries::webhook(&mut t, &mut rep, config, &ctx, false),
                    _ => entries::operator(&mut t, &mut rep, config, &ctx),
                };
                t.finish(&mut rep, keys, &|_| None);
                if let Some(s) = sub {
                    if let Some(first) = seen.get(&s.key) {
                        rep.error(
                            span.start..span.start,
                            format!(
                                "{kind} #{}: the same subscriber is already listed on line {first}",
                                index + 1
                            ),
                        );
                    } else {
                        seen.insert(s.key.clone(), line);
                        list.push(s);
                    }
                }
            }
        }
        root.finish(&mut rep, &["email", "webhook", "operator"], &|key| {
            matches!(key, "emails" | "webhooks" | "subscriber" | "operators").then(|| {
                "subscribers are listed as [[email]], [[webhook]] and [[operator]] tables"
                    .to_owned()
            })
        });
        if rep.has_errors() {
            Err(Diagnostics(rep.into_diagnostics()))
        } else {
            let index = list
                .iter()
                .enumerate()
                .map(|(i, s)| (s.key.clone(), i))
                .collect();
            Ok(Subscribers { list, index })
        }
    }

    pub fn get(&self, key: &str) -> Option<&Subscriber> {
        self.index.get(key).and_then(|&i| self.list.get(i))
    }
}

mod entries;
#[cfg(test)]
mod tests;
