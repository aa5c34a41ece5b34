//! DNS checks: does a name resolve, and to the expected addresses?

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};

use super::Outcome;
use super::reason::truncate;
use crate::config::{DnsRecord, DnsTarget};

pub struct DnsProber {
    system: OnceLock<Result<TokioResolver, String>>,
}

/// Answers are never cached: every probe asks again, so a broken zone shows at once.
fn options(timeout: Duration, hosts: ResolveHosts) -> ResolverOpts {
    let mut o = ResolverOpts::default();
    o.timeout = timeout;
    o.attempts = 1;
    o.cache_size = 0;
    o.use_hosts_file = hosts;
    o
}

impl DnsProber {
    pub fn new() -> DnsProber {
        DnsProber {
            system: OnceLock::new(),
        }
    }

    fn resolver(&self, d: &DnsTarget, timeout: Duration) -> Result<TokioResolver, String> {
        match d.server {
            Some(server) => {
                let mut udp = ConnectionConfig::udp();
                udp.port = server.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = server.port();
                let ns = NameServerConfig::new(server.ip(), true, vec![udp, tcp]);
                TokioResolver::builder_with_config(
                    ResolverConfig::from_parts(None, Vec::new(), vec![ns]),
                    TokioRuntimeProvider::default(),
                )
                .with_options(options(timeout, ResolveHosts::Never))
                .build()
                .map_err(|e| truncate(&format!("cannot set up DNS: {e}")))
            }
            None => self
                .system
                .get_or_init(|| {
                    // Shared by every check: each probe's own timeout bounds it from outside.
                    TokioResolver::builder_tokio()
                        .map(|b| {
                            b.with_options(options(
                                crate::config::DEFAULT_TIMEOUT,
                                ResolveHosts::Auto,
                            ))
                        })
                        .and_then(|b| b.build())
                        .map_err(|e| truncate(&format!("cannot read the system DNS settings: {e}")))
                })
                .clone(),
        }
    }

    pub async fn probe(&self, d: &DnsTarget, timeout: Duration) -> Outcome {
        let resolver = match self.resolver(d, timeout) {
            Ok(r) => r,
            // No usable resolver settings on this machine: nothing is known of the name.
            Err(e) if d.server.is_none() => {
                return Outcome::Unknown(format!("could not check: {e}"));
            }
            Err(e) => return Outcome::Down(e),
        };
        let kind = match d.record {
            DnsRecord::A => RecordType::A,
            DnsRecord::Aaaa => RecordType::AAAA,
        };
        // A fully qualified name: never append search domains.
        let fqdn = if d.name.ends_with('.') {
            d.name.clone()
        } else {
            format!("{}.", d.name)
        };
        let lookup = match resolver.lookup(fqdn.as_str(), kind).await {
            Ok(l) => l,
            Err(e) => return lookup_error(&e, &d.name, kind),
        };
        let answers: BTreeSet<IpAddr> = lookup
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                _ => None,
            })
            .collect();
        if answers.is_empty() {
            return Outcome::Down(format!("no {kind} records for {}", d.name));
        }
        let missing: Vec<String> = d
            .expect
            .iter()
            .filter(|ip| !answers.contains(ip))
            .map(ToString::to_string)
            .collect();
        if !missing.is_empty() {
            let got: Vec<String> = answers.iter().map(ToString::to_string).collect();
            return Outcome::Down(truncate(&format!(
                "{} resolved to {}, expected {}",
                d.name,
                got.join(", "),
                missing.join(", ")
            )));
        }
        Outcome::Up
    }
}

fn lookup_error(e: &NetError, name: &str, kind: RecordType) -> Outcome {
    // This machine's trouble (no descriptors for a socket, no memory) is not the name's.
    if let NetError::Io(io) = e
        && let Some(why) = super::reason::local_cause(io)
    {
        return Outcome::Unknown(format!("could not check: {why}"));
    }
    Outcome::Down(lookup_reason(e, name, kind))
}

fn lookup_reason(e: &NetError, name: &str, kind: RecordType) -> String {
    if e.is_nx_domain() {
        format!("no such domain: {name}")
    } else if e.is_no_records_found() {
        format!("no {kind} records for {name}")
    } else if matches!(e, NetError::Timeout) {
        "the DNS server did not answer".into()
    } else {
        truncate(&format!("DNS lookup failed: {e}"))
    }
}
