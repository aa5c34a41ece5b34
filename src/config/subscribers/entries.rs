//! One entry of `subscribers.toml`: `[[email]]`, `[[webhook]]` or `[[operator]]`, each
//! checked with its file, line and key.

use super::{
    Subscriber, Target, Webhook, WebhookFormat, decode_secret, email_address, email_key,
    webhook_key,
};
use crate::config::Config;
use crate::config::diagnostic::Report;
use crate::config::email::Secret;
use crate::config::reader::{Table, array_string};
use crate::config::values::{self, Ctx};
use chrono_tz::Tz;

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
            let hint = crate::config::diagnostic::did_you_mean(s.get_ref(), &known)
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

pub(super) fn email(
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

pub(super) fn webhook(
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
        (Some(WebhookFormat::Standard | WebhookFormat::Statuspage), Some(var)) => {
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
                    "is only used with format = \"standard\" or \"statuspage\"; {} webhooks are not signed (their address is the secret: use url_env)",
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
pub(super) fn operator(
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
