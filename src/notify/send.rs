//! The network (and disk) edge of notifying: handing a message to the mail server or
//! the `.eml` folder, and posting a webhook. Each returns an [`Attempted`], never panics.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use crate::files::{Durability, write_atomic};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use reqwest::StatusCode;

use super::outbox::Attempted;
use crate::config::Config;
use crate::config::email::{SmtpTls, Transport};

/// The folder of `.eml` files in the state directory.
pub const MAIL_DIR: &str = "mail";
/// How long an SMTP command may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

pub enum Mailer {
    /// `<state>/mail/<delivery id>.eml`
    Files(PathBuf),
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
}

/// Connections kept for all deliveries: one SMTP pool and one HTTP client.
pub struct Senders {
    pub mailer: Mailer,
    http: reqwest::Client,
}

impl Senders {
    pub fn new(config: &Config, state_dir: &Path) -> anyhow::Result<Senders> {
        let mailer = match &config.email.transport {
            Transport::File => Mailer::Files(state_dir.join(MAIL_DIR)),
            Transport::Smtp(s) => {
                let builder = match (&s.ca_pem, s.tls) {
                    (Some(pem), SmtpTls::StartTls | SmtpTls::Implicit) => {
                        let params = TlsParameters::builder(s.host.clone())
                            .add_root_certificate(
                                Certificate::from_pem(pem)
                                    .context("the [email] ca_file holds no usable certificate")?,
                            )
                            .build_rustls()
                            .context("cannot set up TLS for the mail server")?;
                        let tls = if s.tls == SmtpTls::Implicit {
                            Tls::Wrapper(params)
                        } else {
                            Tls::Required(params)
                        };
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host).tls(tls)
                    }
                    _ => match s.tls {
                        SmtpTls::StartTls => {
                            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)
                                .with_context(|| {
                                    format!("cannot use {} as a mail server", s.host)
                                })?
                        }
                        SmtpTls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)
                            .with_context(|| {
                            format!("cannot use {} as a mail server", s.host)
                        })?,
                        SmtpTls::None => {
                            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
                        }
                    },
                };
                let mut builder = builder
                    .port(s.port)
                    .timeout(Some(SMTP_TIMEOUT))
                    .pool_config(
                        PoolConfig::new()
                            .max_size(config.notify.concurrency.clamp(1, 64) as u32)
                            .idle_timeout(Duration::from_secs(60)),
                    );
                if let (Some(user), Some(pass)) = (&s.username, &s.password) {
                    builder = builder.credentials(Credentials::new(user.clone(), pass.0.clone()));
                }
                Mailer::Smtp(Box::new(builder.build()))
            }
        };
        let http = reqwest::Client::builder()
            .timeout(config.notify.webhook_timeout)
            .connect_timeout(config.notify.webhook_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("forewarn/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(64)
            .build()
            .context("cannot set up the webhook client")?;
        Ok(Senders { mailer, http })
    }

    /// Hand one message over. `id` names the `.eml` file, so a repeat overwrites it.
    pub async fn mail(&self, id: &str, message: Message) -> Attempted {
        match &self.mailer {
            Mailer::Files(dir) => {
                let (dir, id) = (dir.clone(), id.to_owned());
                let bytes = message.formatted();
                match tokio::task::spawn_blocking(move || write_eml(&dir, &id, &bytes)).await {
                    Ok(Ok(())) => Attempted::Delivered,
                    Ok(Err(e)) => failed(format!("{e:#}"), None),
                    Err(e) => failed(format!("the mail writer stopped: {e}"), None),
                }
            }
            Mailer::Smtp(t) => match t.send(message).await {
                Ok(_) => Attempted::Delivered,
                Err(e) if refuses_recipient(&e) => Attempted::Rejected {
                    error: format!("the mail server refused the message: {e}"),
                },
                Err(e) => failed(
                    format!("the mail server did not take the message: {e}"),
                    None,
                ),
            },
        }
    }

    /// POST a webhook. 2xx: delivered; 410: gone; 429 and 5xx: retry, honouring
    /// Retry-After; anything else: failed.
    pub async fn post(
        &self,
        url: &reqwest::Url,
        body: Vec<u8>,
        headers: &[(&str, String)],
    ) -> Attempted {
        let mut req = self
            .http
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return failed("the receiver did not answer in time".into(), None);
            }
            Err(e) if e.is_connect() => {
                return failed("cannot connect to the receiver".into(), None);
            }
            Err(_) => return failed("the request to the receiver failed".into(), None),
        };
        let status = resp.status();
        let retry_after = retry_after(resp.headers().get(reqwest::header::RETRY_AFTER));
        if status.is_success() {
            Attempted::Delivered
        } else if status == StatusCode::GONE {
            Attempted::Gone {
                error: "the receiver answered 410 Gone: the endpoint is disabled".into(),
            }
        } else if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            failed(format!("the receiver answered {status}"), retry_after)
        } else {
            failed(format!("the receiver answered {status}"), None)
        }
    }
}

/// A refusal that retrying cannot change: no such mailbox (550, 551, 553). Other
/// refusals (authentication, policy, a full mailbox) may pass later, or once the
/// operator fixes the settings, so they are retried.
fn refuses_recipient(e: &lettre::transport::smtp::Error) -> bool {
    e.is_permanent()
        && e.status().is_some_and(|code| {
            let n = code.to_string();
            matches!(n.as_str(), "550" | "551" | "553")
        })
}

fn failed(error: String, retry_after: Option<Duration>) -> Attempted {
    Attempted::Failed { error, retry_after }
}

/// `Retry-After: 120` or `Retry-After: Wed, 21 Oct 2026 07:28:00 GMT`.
pub fn retry_after(v: Option<&reqwest::header::HeaderValue>) -> Option<Duration> {
    let text = v?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .ok()
}

/// Write atomically: a reader of the folder never sees half a message.
fn write_eml(dir: &Path, id: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let path = dir.join(format!("{id}.eml"));
    write_atomic(&path, bytes, Durability::Durable)
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let h = |s: &str| reqwest::header::HeaderValue::from_str(s).unwrap();
        assert_eq!(retry_after(Some(&h("7"))), Some(Duration::from_secs(7)));
        let later = (chrono::Utc::now() + chrono::TimeDelta::seconds(90)).to_rfc2822();
        let d = retry_after(Some(&h(&later))).unwrap();
        assert!(
            d > Duration::from_secs(80) && d <= Duration::from_secs(90),
            "{d:?}"
        );
        assert_eq!(retry_after(Some(&h("soon"))), None);
        assert_eq!(retry_after(None), None);
    }
}
