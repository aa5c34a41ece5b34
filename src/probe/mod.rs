//! Probes: one look at a component through its check. A failed check is data (an
//! [`Outcome`]), never an error, and every probe is bounded in time and memory.

mod dns;
mod http;
mod reason;
mod tcp;
mod tls;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{Check, Target};
pub use reason::short_duration;

/// Sent as `User-Agent` by HTTP checks unless the check sets its own.
pub const DEFAULT_USER_AGENT: &str = concat!("forewarn/", env!("CARGO_PKG_VERSION"));
/// The most redirects an HTTP check follows.
pub const MAX_REDIRECTS: usize = 10;

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "snake_case")]
pub enum Outcome {
    Up,
    /// Works for customers, but operators should act (a certificate nearing expiry).
    Warning(String),
    Degraded(String),
    Down(String),
    /// The probe could not run for a reason of this machine's (no file descriptors, no
    /// memory, no local resolver): nothing is known about the service. Never an outage.
    Unknown(String),
}

impl Outcome {
    pub fn is_down(&self) -> bool {
        matches!(self, Outcome::Down(_))
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Outcome::Unknown(_))
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Up => None,
            Outcome::Warning(r) | Outcome::Degraded(r) | Outcome::Down(r) | Outcome::Unknown(r) => {
                Some(r)
            }
        }
    }

    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Up => "up",
            Outcome::Warning(_) => "warning",
            Outcome::Degraded(_) => "degraded",
            Outcome::Down(_) => "down",
            Outcome::Unknown(_) => "unknown",
        }
    }
}

/// What a TLS check saw of the certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateSeen {
    pub expires_at: DateTime<Utc>,
    /// Would a client accept it (trusted, right name, not expired)?
    pub accepted: bool,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason() {
            None => f.write_str(self.word()),
            Some(r) => write!(f, "{}: {r}", self.word()),
        }
    }
}

/// One probe result, as JSON `{"outcome":"down","reason":"HTTP 503","latency_ms":12,"at":...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    #[serde(flatten)]
    pub outcome: Outcome,
    /// How long the probe took (for a timeout, the timeout).
    #[serde(rename = "latency_ms", with = "millis")]
    pub latency: Duration,
    /// When the probe started.
    pub at: DateTime<Utc>,
    /// The server's certificate, for TLS checks that got one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateSeen>,
}

/// Runs probes. Holds what is worth sharing between probes (HTTP clients, TLS settings,
/// the system DNS resolver); cheap to clone.
#[derive(Clone)]
pub struct Prober {
    http: Arc<http::Clients>,
    tls: Arc<tls::TlsProber>,
    dns: Arc<dns::DnsProber>,
    /// The source address of TCP, TLS and HTTP probes (`[cluster] probe_from`).
    source: Option<std::net::IpAddr>,
}

impl Prober {
    pub fn new() -> anyhow::Result<Prober> {
        Prober::from_source(None)
    }

    /// Probes whose connections leave from `source` (one of this machine's addresses),
    /// so each location of a cluster sees the service from its own network.
    pub fn from_source(source: Option<std::net::IpAddr>) -> anyhow::Result<Prober> {
        Ok(Prober {
            http: Arc::new(http::Clients::new(source)?),
            tls: Arc::new(tls::TlsProber::new(source)?),
            dns: Arc::new(dns::DnsProber::new()),
            source,
        })
    }

    /// Probe once. Never takes longer than the check's timeout (plus scheduling noise).
    pub async fn probe(&self, check: &Check) -> Sample {
        let at = Utc::now();
        let started = Instant::now();
        let run = async {
            match &check.target {
                Target::Http(h) => (self.http.probe(h, check.timeout).await, None),
                Target::Tcp(t) => (tcp::probe(t, self.source).await, None),
                Target::Tls(t) => self.tls.probe(t).await,
                Target::Dns(d) => (self.dns.probe(d, check.timeout).await, None),
                // Its job reports to the daemon; there is nothing to look at from here.
                Target::Heartbeat(_) => (
                    Outcome::Unknown("a heartbeat check waits for its job to report".into()),
                    None,
                ),
            }
        };
        let (outcome, certificate) = match tokio::time::timeout(check.timeout, run).await {
            Ok(found) => found,
            Err(_) => (
                Outcome::Down(format!("timed out after {}", short_duration(check.timeout))),
                None,
            ),
        };
        let latency = started.elapsed().min(check.timeout);
        Sample {
            outcome,
            latency,
            at,
            certificate,
        }
    }
}

/// Durations as whole milliseconds in JSON.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_flat_json() {
        let s = Sample {
            outcome: Outcome::Down("HTTP 503".into()),
            latency: Duration::from_millis(12),
            at: "2026-11-22T10:00:00Z".parse().unwrap(),
            certificate: None,
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"outcome":"down","reason":"HTTP 503","latency_ms":12,"at":"2026-11-22T10:00:00Z"}"#
        );
        assert_eq!(serde_json::from_str::<Sample>(&json).unwrap(), s);
        let up = Sample {
            outcome: Outcome::Up,
            ..s
        };
        assert!(
            serde_json::to_string(&up)
                .unwrap()
                .starts_with(r#"{"outcome":"up","latency_ms""#)
        );
    }
}
