//! The `[email]` table (how mail leaves: `.eml` files or SMTP) and the `[notify]` table
//! (how deliveries are paced).

use std::fmt;
use std::time::Duration;

use lettre::message::Mailbox;

use super::diagnostic::Report;
use super::reader::Table;
use super::values::{self, Ctx};

const EMAIL_KEYS: &[&str] = &[
    "transport",
    "from",
    "smtp_host",
    "smtp_port",
    "tls",
    "username",
    "password_env",
    "ca_file",
];
const NOTIFY_KEYS: &[&str] = &["webhook_timeout", "concurrency"];

/// How long a webhook receiver has to answer.
pub const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(15);
/// Deliveries in progress at the same moment, across all channels.
pub const DEFAULT_NOTIFY_CONCURRENCY: usize = 32;

/// How mail is sent.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    pub from: Mailbox,
    pub transport: Transport,
}

#[derive(Debug, Clone)]
pub enum Transport {
    /// One `.eml` file per message under `<state>/mail/`.
    File,
    Smtp(Smtp),
}

#[derive(Debug, Clone)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// Extra trusted roots (PEM) from `ca_file`, for a relay with a private CA.
    pub ca_pem: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required, never skipped).
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No encryption: only for a server on this machine.
    None,
}

/// A value from the environment that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// How deliveries are paced.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    pub webhook_timeout: Duration,
    pub concurrency: usize,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            webhook_timeout: DEFAULT_WEBHOOK_TIMEOUT,
            concurrency: DEFAULT_NOTIFY_CONCURRENCY,
        }
    }
}

impl EmailSettings {
    /// No `[email]` table: `.eml` files, from `status@<the site's host>`.
    pub fn default_for(title: &str, base_url: &reqwest::Url) -> EmailSettings {
        let host = base_url.host_str().unwrap_or("localhost");
        let address = format!("status@{host}")
            .parse()
            .unwrap_or_else(|_| "status@localhost".parse().expect("a valid address"));
        EmailSettings {
            from: Mailbox::new(Some(clean_name(title)), address),
            transport: Transport::File,
        }
    }
}

/// A display name with no control characters.
fn clean_name(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Is this host this machine?
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

pub(super) fn email(
    mut t: Table<'_, '_>,
    rep: &mut Report,
    ctx: &Ctx<'_>,
    default: EmailSettings,
) -> Option<EmailSettings> {
    let mut ok = true;
    let transport = t.string(rep, "transport");
    let smtp = match transport.as_ref().map(|s| s.get_ref().as_str()) {
        None | Some("file") => false,
        Some("smtp") => true,
        Some(other) => {
            t.error(
                rep,
                transport.as_ref().map_or(t.span(), |s| s.span()),
                "transport",
                &format!("\"{other}\" is not a transport (use \"file\" or \"smtp\")"),
            );
            ok = false;
            false
        }
    };
    let from = match t.string(rep, "from") {
        None => Some(default.from),
        Some(s) => match s.get_ref().trim().parse::<Mailbox>() {
            Ok(m) if !s.get_ref().chars().any(|c| c.is_control()) => Some(m),
            _ => {
                t.error(
                    rep,
                    s.span(),
                    "from",
                    &format!(
                        "\"{}\" is not an email address (write \"status@example.com\" or \"Example Status <status@example.com>\")",
                        s.get_ref().escape_debug()
                    ),
                );
                None
            }
        },
    };
    let host = t.string(rep, "smtp_host");
    let port = t.integer(rep, "smtp_port", 1..=65535);
    let tls = t.string(rep, "tls");
    let username = t.string(rep, "username");
    let password_env = t.string(rep, "password_env");
    let ca_file = t.string(rep, "ca_file");
    let transport = if smtp {
        let ca_pem = match &ca_file {
            None => Some(None),
            Some(f) => {
                let path = ctx.base_dir.join(f.get_ref());
                match std::fs::read(&path) {
                    Ok(pem)
                        if String::from_utf8_lossy(&pem)
                            .contains("-----BEGIN CERTIFICATE-----") =>
                    {
                        Some(Some(pem))
                    }
                    Ok(_) => {
                        t.error(
                            rep,
                            f.span(),
                            "ca_file",
                            &format!("\"{}\" holds no PEM certificate", f.get_ref()),
                        );
                        None
                    }
                    Err(e) => {
                        t.error(
                            rep,
                            f.span(),
                            "ca_file",
                            &format!("cannot read \"{}\": {e}", f.get_ref()),
                        );
                        None
                    }
                }
            }
        };
        let host = match &host {
            Some(h) if !h.get_ref().trim().is_empty() => Some(h.get_ref().trim().to_owned()),
            Some(h) => {
                t.error(rep, h.span(), "smtp_host", "must not be empty");
                None
            }
            None => {
                t.missing(rep, "smtp_host", "the mail server to send through");
                None
            }
        };
        let tls_mode = match tls.as_ref().map(|s| s.get_ref().as_str()) {
            None | Some("starttls") => Some(SmtpTls::StartTls),
            Some("implicit") => Some(SmtpTls::Implicit),
            Some("none") => Some(SmtpTls::None),
            Some(other) => {
                t.error(
                    rep,
                    tls.as_ref().map_or(t.span(), |s| s.span()),
                    "tls",
                    &format!(
                        "\"{other}\" is not a TLS mode (use \"starttls\", \"implicit\" or \"none\")"
                    ),
                );
                None
            }
        };
        if let (Some(SmtpTls::None), Some(h)) = (tls_mode, &host)
            && !is_loopback(h)
        {
            t.error(
                rep,
                tls.as_ref().map_or(t.span(), |s| s.span()),
                "tls",
                &format!(
                    "\"none\" would send mail and the password in clear text to {h}; it is only allowed for a server on this machine (localhost, 127.0.0.1, ::1). Use \"starttls\" or \"implicit\""
                ),
            );
        }
        let password =
            password_env
                .as_ref()
                .and_then(|var| match values::secret_value(ctx, var.get_ref()) {
                    Ok(v) => v.map(Secret),
                    Err(e) => {
                        t.error(rep, var.span(), "password_env", &e);
                        None
                    }
                });
        if password_env.is_some() && username.is_none() {
            t.missing(rep, "username", "password_env is given, so is a user name");
        }
        let port = port
            .map(|p| p.into_inner() as u16)
            .unwrap_or(match tls_mode {
                Some(SmtpTls::Implicit) => 465,
                Some(SmtpTls::None) => 25,
                _ => 587,
            });
        match (host, tls_mode, ca_pem) {
            (Some(host), Some(tls), Some(ca_pem)) => Some(Transport::Smtp(Smtp {
                host,
                port,
                tls,
                username: username.map(|u| u.into_inner()),
                password,
                ca_pem,
            })),
            _ => None,
        }
    } else {
        for (key, span) in [
            ("smtp_host", host.as_ref().map(|s| s.span())),
            ("smtp_port", port.as_ref().map(|s| s.span())),
            ("tls", tls.as_ref().map(|s| s.span())),
            ("username", username.as_ref().map(|s| s.span())),
            ("password_env", password_env.as_ref().map(|s| s.span())),
            ("ca_file", ca_file.as_ref().map(|s| s.span())),
        ] {
            if let Some(span) = span {
                t.error(
                    rep,
                    span,
                    key,
                    "is only used with transport = \"smtp\" (mail is written to files now)",
                );
            }
        }
        Some(Transport::File)
    };
    t.finish(rep, EMAIL_KEYS, &|_| None);
    if !ok {
        return None;
    }
    Some(EmailSettings {
        from: from?,
        transport: transport?,
    })
}

pub(super) fn notify(mut t: Table<'_, '_>, rep: &mut Report) -> Option<NotifySettings> {
    let mut n = NotifySettings::default();
    let mut ok = true;
    if let Some(s) = t.string(rep, "webhook_timeout") {
        match values::duration(s.get_ref()) {
            Ok(d) if d <= Duration::from_secs(60) => n.webhook_timeout = d,
            Ok(_) => {
                t.error(rep, s.span(), "webhook_timeout", "must be at most 60s");
                ok = false;
            }
            Err(e) => {
                t.error(rep, s.span(), "webhook_timeout", &e);
                ok = false;
            }
        }
    }
    if let Some(c) = t.integer(rep, "concurrency", 1..=1000) {
        n.concurrency = c.into_inner() as usize;
    }
    t.finish(rep, NOTIFY_KEYS, &|_| None);
    ok.then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("localhost"));
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("::1"));
        assert!(is_loopback("[::1]"));
        assert!(!is_loopback("smtp.example.com"));
        assert!(!is_loopback("10.0.0.1"));
    }
}
