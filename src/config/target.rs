//! What a component's check probes and when: the typed result of `[component.check]`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::HeaderMap;
use rustls::pki_types::CertificateDer;

use super::values;
use crate::vocab::ComponentStatus;

#[derive(Debug, Clone)]
pub struct Check {
    pub target: Target,
    pub when: When,
    pub timeout: Duration,
    pub fail_after: u32,
    pub recover_after: u32,
    /// The status a confirmed failure gives the component.
    pub severity: ComponentStatus,
}

impl Check {
    /// How often it runs: its `every`, or the shortest gap of its schedule (none for a
    /// heartbeat check, whose job reports).
    pub fn interval(&self) -> Option<Duration> {
        match &self.when {
            When::Every(d) => Some(*d),
            When::Cron { schedule, .. } => values::shortest_gap(schedule, chrono_tz::UTC),
        }
    }
}

/// When a check runs.
#[derive(Debug, Clone)]
pub enum When {
    Every(Duration),
    Cron {
        schedule: Box<cron::Schedule>,
        expression: String,
    },
}

/// What a check probes, by kind.
#[derive(Debug, Clone)]
pub enum Target {
    Http(Box<HttpTarget>),
    Tcp(TcpTarget),
    Tls(TlsTarget),
    Dns(DnsTarget),
    /// Nothing is probed: a job reports (`/heartbeat/<token>`).
    Heartbeat(HeartbeatTarget),
}

/// A job that reports to forewarn at least every `expect_every`, with `grace` to spare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeartbeatTarget {
    pub expect_every: Duration,
    pub grace: Duration,
}

impl Target {
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Http(_) => "http",
            Target::Tcp(_) => "tcp",
            Target::Tls(_) => "tls",
            Target::Dns(_) => "dns",
            Target::Heartbeat(_) => "heartbeat",
        }
    }

    /// A short description for operators (never shown to customers).
    pub fn describe(&self) -> String {
        match self {
            Target::Http(h) if h.url_is_secret => format!(
                "{} {}://{}/… (address from the environment)",
                h.method,
                h.url.scheme(),
                h.url.host_str().unwrap_or_default()
            ),
            Target::Http(h) => format!("{} {}", h.method, h.url),
            Target::Tcp(t) => format!("tcp {}:{}", t.host, t.port),
            Target::Tls(t) => format!("tls {}:{}", t.host, t.port),
            Target::Dns(d) => format!("dns {}", d.name),
            Target::Heartbeat(h) => format!(
                "heartbeat every {} (grace {})",
                values::show_duration(h.expect_every),
                values::show_duration(h.grace)
            ),
        }
    }
}

#[derive(Debug, Clone)]
pub struct HttpTarget {
    pub method: reqwest::Method,
    pub url: Url,
    /// The URL came from `url_env` and holds a secret: never show more than its host.
    pub url_is_secret: bool,
    /// Plain headers and headers whose values come from the environment (marked sensitive).
    pub headers: HeaderMap,
    /// Accepted status codes; empty means any 2xx.
    pub expect_status: Vec<StatusMatch>,
    pub body_contains: Option<String>,
    /// JSON pointer → expected value.
    pub json: Vec<(String, serde_json::Value)>,
    pub latency_threshold: Option<Duration>,
    pub follow_redirects: bool,
    pub max_body_bytes: usize,
}

impl HttpTarget {
    /// Does the check send headers whose values come from the environment?
    pub fn has_secret_headers(&self) -> bool {
        self.headers.values().any(|v| v.is_sensitive())
    }
}

/// One accepted HTTP status: an exact code, or a class such as `2xx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMatch {
    Code(u16),
    Class(u16),
}

impl StatusMatch {
    pub fn matches(self, code: u16) -> bool {
        match self {
            StatusMatch::Code(c) => c == code,
            StatusMatch::Class(c) => code / 100 == c,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TcpTarget {
    pub host: String,
    pub port: u16,
}

#[derive(Clone)]
pub struct TlsTarget {
    pub host: String,
    pub port: u16,
    pub server_name: String,
    pub warn_days: u32,
    pub verify: bool,
    /// Extra trusted roots from `ca_file`.
    pub ca_file: Option<PathBuf>,
    pub extra_roots: Vec<CertificateDer<'static>>,
}

impl fmt::Debug for TlsTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("server_name", &self.server_name)
            .field("warn_days", &self.warn_days)
            .field("verify", &self.verify)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct DnsTarget {
    pub name: String,
    pub record: DnsRecord,
    /// Addresses that must all be among the answers.
    pub expect: Vec<std::net::IpAddr>,
    /// Ask this server instead of the system resolver.
    pub server: Option<std::net::SocketAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsRecord {
    A,
    Aaaa,
}
