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

use super::diagnostic::{Report, SourceMap};
use super::email::Secret;
use super::reader::{Table, array_string};
use super::values::{self, Ctx};
use super::{Config, Diagnostics};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// Standard Webhooks: signed JSON events.
    Standard,
    Slack,
    Discord,
    Teams,
}

impl WebhookFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Standard => "standard",
            WebhookFormat::Slack => "slack",
            WebhookFormat::Discord => "discord",
            WebhookFormat::Teams => "teams",
        }
    }
}

impl std::str::FromStr for WebhookFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "standard" => Ok(WebhookFormat::Standard),
            "slack" => Ok(WebhookFormat::Slack),
            "discord" => Ok(WebhookFormat::Discord),
            "teams" => Ok(WebhookFormat::Teams),
            other => Err(format!(
                "\"{other}\" is not a webhook format (use \"standard\", \"slack\", \"discord\" or \"teams\")"
            )),
        }
    }
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
        let src = match std::fs::read_to_string(&path) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Subscribers::default());
            }
            Err(e) => {
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
        let ctx = Ctx { env, base_dir };
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
                    "email" => email(&mut t, &mut rep, config, false),
                    "webhook" => webhook(&mut t, &mut rep, config, &ctx, false),
                    _ => operator(&mut t, &mut rep, config, &ctx),
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

fn components(
    t: &mut Table<'_, '_>,
    rep: &mut Report,
    config: &Config,
    operator: bool,
) -> Option<Vec<String>> {
    let Some(items) = t.array(rep, "components") else {
        return Some(Vec::new());
    };
    let mut out = Vec::new();
    let mut ok = true;
    for v in items {
        let Some(s) = array_string(t, rep, "components", v) else {
            ok = false;
            continue;
        };
        if config.component(s.get_ref()).is_none() {
            let known: Vec<&str> = config.components.iter().map(|c| c.id.as_str()).collect();
            let hint = super::diagnostic::did_you_mean(s.get_ref(), &known)
                .map(|m| format!(" (did you mean \"{m}\"?)"))
                .unwrap_or_default();
            t.error(
                rep,
                s.span(),
                "components",
                &format!("\"{}\" is not a configured component{hint}", s.get_ref()),
            );
            ok = false;
        } else if !operator && !config.is_public(s.get_ref()) {
            t.error(
                rep,
                s.span(),
                "components",
                &format!(
                    "\"{}\" is kept from customers (public = false); only [[operator]] entries hear of it",
                    s.get_ref()
                ),
            );
            ok = false;
        } else if !out.contains(s.get_ref()) {
            out.push(s.into_inner());
        }
    }
    ok.then_some(out)
}

fn email(
    t: &mut Table<'_, '_>,
    rep: &mut Report,
    config: &Config,
    operator: bool,
) -> Option<Subscriber> {
    let address = t
        .required_string(rep, "address", "where to send the notices")
        .and_then(|s| match email_address(s.get_ref()) {
            Ok(a) => Some(a),
            Err(e) => {
                t.error(rep, s.span(), "address", &e);
                None
            }
        });
    let components = components(t, rep, config, operator);
    let timezone = match t.string(rep, "timezone") {
        None => Some(None),
        Some(s) => match s.get_ref().parse::<Tz>() {
            Ok(tz) => Some(Some(tz)),
            Err(_) => {
                t.error(
                    rep,
                    s.span(),
                    "timezone",
                    &format!(
                        "\"{}\" is not a time zone (use an IANA name such as \"Europe/Paris\")",
                        s.get_ref()
                    ),
                );
                None
            }
        },
    };
    let address = address?;
    Some(Subscriber {
        key: email_key(&address),
        operator: false,
        target: Target::Email { address },
        components: components?,
        timezone: timezone?,
    })
}

fn webhook(
    t: &mut Table<'_, '_>,
    rep: &mut Report,
    config: &Config,
    ctx: &Ctx<'_>,
    operator: bool,
) -> Option<Subscriber> {
    let url = t.string(rep, "url");
    let url_env = t.string(rep, "url_env");
    let (url, url_is_secret) = match (url, url_env) {
        (Some(_), Some(e)) => {
            t.error(rep, e.span(), "url_env", "give url or url_env, not both");
            (None, false)
        }
        (Some(u), None) => (
            values::http_url(u.get_ref())
                .and_then(|url| {
                    if url.password().is_some() || !url.username().is_empty() {
                        Err("holds credentials (user:password@); keep secrets out of this file: read the whole address from the environment with url_env".to_owned())
                    } else {
                        Ok(url)
                    }
                })
                .map_err(|e| t.error(rep, u.span(), "url", &e))
                .ok(),
            false,
        ),
        (None, Some(e)) => (
            values::env_value(ctx, e.get_ref())
                .and_then(|v| {
                    values::http_url(&v).map_err(|_| {
                        format!(
                            "environment variable {} does not hold an http(s) address",
                            e.get_ref()
                        )
                    })
                })
                .map_err(|msg| t.error(rep, e.span(), "url_env", &msg))
                .ok(),
            true,
        ),
        (None, None) => {
            t.missing(
                rep,
                "url",
                "where to send the notices; or url_env to read it from the environment",
            );
            (None, false)
        }
    };
    let format = match t.string(rep, "format") {
        None => Some(WebhookFormat::Standard),
        Some(s) => s
            .get_ref()
            .parse::<WebhookFormat>()
            .map_err(|e| t.error(rep, s.span(), "format", &e))
            .ok(),
    };
    let secret_env = t.string(rep, "secret_env");
    let key = match (format, &secret_env) {
        (Some(WebhookFormat::Standard), None) => {
            t.missing(
                rep,
                "secret_env",
                "the environment variable holding the whsec_ signing secret",
            );
            None
        }
        (Some(WebhookFormat::Standard), Some(var)) => {
            match values::env_value(ctx, var.get_ref()).and_then(|v| {
                decode_secret(&v)
                    .map(|_| Secret(v))
                    .map_err(|e| format!("environment variable {} {e}", var.get_ref()))
            }) {
                Ok(k) => Some(Some(k)),
                Err(e) => {
                    t.error(rep, var.span(), "secret_env", &e);
                    None
                }
            }
        }
        (Some(f), Some(var)) => {
            t.error(
                rep,
                var.span(),
                "secret_env",
                &format!(
                    "is only used with format = \"standard\"; {} webhooks are not signed (their address is the secret: use url_env)",
                    f.as_str()
                ),
            );
            None
        }
        (None, _) | (_, None) => Some(None),
    };
    let components = components(t, rep, config, operator);
    let url = url?;
    Some(Subscriber {
        key: webhook_key(&url),
        operator: false,
        target: Target::Webhook(Webhook {
            url,
            url_is_secret,
            format: format?,
            key: key?,
        }),
        components: components?,
        timezone: None,
    })
}

/// An `[[operator]]` entry: an email address (`address`, `timezone`) or a webhook
/// (`url` or `url_env`, `secret_env`, `format`), with the keys of `[[email]]` and
/// `[[webhook]]`.
fn operator(
    t: &mut Table<'_, '_>,
    rep: &mut Report,
    config: &Config,
    ctx: &Ctx<'_>,
) -> Option<Subscriber> {
    let by_mail = t.has("address");
    let by_hook = t.has("url") || t.has("url_env");
    if by_mail && by_hook {
        t.error(
            rep,
            t.span(),
            "address",
            "give an address (email) or a url (webhook), not both",
        );
        return None;
    }
    // Keys of the other kind mean nothing here: say so where they stand.
    let (foreign, why): (&[&str], &str) = if by_hook {
        (
            &["timezone"],
            "is for email operators; chat messages use the site's time zone",
        )
    } else {
        (
            &["secret_env", "format"],
            "is for webhook operators (with url or url_env)",
        )
    };
    let mut ok = true;
    for key in foreign {
        if let Some(v) = t.raw(key) {
            let span = v.span();
            t.error(rep, span, key, why);
            ok = false;
        }
    }
    let mut s = if by_hook {
        webhook(t, rep, config, ctx, true)?
    } else {
        email(t, rep, config, true)?
    };
    s.operator = true;
    s.key = format!("operator:{}", s.key);
    ok.then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(src: &str) -> Result<Subscribers, Diagnostics> {
        let mut config = crate::config::tests::minimal();
        let mut private = config.components[0].clone();
        private.id = "queue".into();
        private.public = false;
        config.components.push(private);
        Subscribers::parse(Path::new("subscribers.toml"), src, &config, &|name| {
            (name == "HOOK").then(|| "https://hooks.example.com/x".to_owned())
        })
    }

    fn problems(src: &str) -> Vec<String> {
        match check(src) {
            Ok(_) => Vec::new(),
            Err(d) => d.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn operators_are_email_or_webhook_and_keys_of_the_other_kind_are_refused() {
        let ok =
            check("[[operator]]\naddress = \"OnCall@Example.com\"\ncomponents = [\"queue\"]\n")
                .expect("valid");
        assert!(ok.list[0].operator);
        assert_eq!(ok.list[0].key, "operator:email:oncall@example.com");
        let p = problems("[[operator]]\naddress = \"oncall@example.com\"\nformat = \"slack\"\n");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with(
                "subscribers.toml:3:10: operator #1 (line 1): format: is for webhook operators"
            ),
            "{p:?}"
        );
        let p =
            problems("[[operator]]\nurl_env = \"HOOK\"\nformat = \"slack\"\ntimezone = \"UTC\"\n");
        assert!(
            p.iter().any(|l| l.starts_with(
                "subscribers.toml:4:12: operator #1 (line 1): timezone: is for email operators"
            )),
            "{p:?}"
        );
    }

    #[test]
    fn customers_cannot_choose_a_component_kept_from_them() {
        let p = problems("[[email]]\naddress = \"a@example.com\"\ncomponents = [\"queue\"]\n");
        assert!(
            p.iter().any(
                |l| l.contains("components: \"queue\" is kept from customers (public = false)")
            ),
            "{p:?}"
        );
    }
}
