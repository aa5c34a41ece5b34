//! The keys of `tcp`, `tls` and `dns` checks.

use std::net::{IpAddr, SocketAddr};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::diagnostic::Report;
use super::reader::{Table, array_string};
use super::values::{self, Ctx};
use super::{DEFAULT_TLS_WARN_DAYS, DnsRecord, DnsTarget, TcpTarget, TlsTarget};

pub(super) fn tcp(t: &mut Table<'_, '_>, rep: &mut Report) -> Option<TcpTarget> {
    let address = t.required_string(
        rep,
        "address",
        "host:port to connect to, such as \"db.example.com:5432\"",
    )?;
    match values::host_port(address.get_ref(), None) {
        Ok((host, port)) => Some(TcpTarget { host, port }),
        Err(e) => {
            t.error(rep, address.span(), "address", &e);
            None
        }
    }
}

pub(super) fn tls(t: &mut Table<'_, '_>, rep: &mut Report, ctx: &Ctx<'_>) -> Option<TlsTarget> {
    let address = t.required_string(
        rep,
        "address",
        "host or host:port to check, such as \"www.example.com:443\"",
    );
    let host_port = address.and_then(|a| {
        values::host_port(a.get_ref(), Some(443))
            .map_err(|e| t.error(rep, a.span(), "address", &e))
            .ok()
    });
    let server_name = t.string(rep, "server_name");
    let name_span = server_name.as_ref().map_or(t.span(), |s| s.span());
    let server_name = server_name.map(|s| s.into_inner());
    let warn_days = t
        .integer(rep, "warn_days", 1..=365)
        .map(|n| n.into_inner() as u32)
        .unwrap_or(DEFAULT_TLS_WARN_DAYS);
    let verify = t.boolean(rep, "verify").unwrap_or(true);
    let mut ca_file = None;
    let mut extra_roots = Vec::new();
    if let Some(f) = t.string(rep, "ca_file") {
        let path = ctx.base_dir.join(f.get_ref());
        match std::fs::read(&path) {
            Err(e) => t.error(
                rep,
                f.span(),
                "ca_file",
                &format!("cannot read \"{}\": {e}", f.get_ref()),
            ),
            Ok(bytes) => {
                let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&bytes).collect();
                match certs {
                    Ok(c) if !c.is_empty() => extra_roots = c,
                    _ => t.error(
                        rep,
                        f.span(),
                        "ca_file",
                        &format!("\"{}\" holds no PEM certificates", f.get_ref()),
                    ),
                }
            }
        }
        ca_file = Some(path);
    }
    let (host, port) = host_port?;
    let server_name = server_name.unwrap_or_else(|| host.clone());
    if rustls::pki_types::ServerName::try_from(server_name.clone()).is_err() {
        t.error(
            rep,
            name_span,
            "server_name",
            &format!("\"{server_name}\" is not a valid server name"),
        );
        return None;
    }
    Some(TlsTarget {
        host,
        port,
        server_name,
        warn_days,
        verify,
        ca_file,
        extra_roots,
    })
}

pub(super) fn dns(t: &mut Table<'_, '_>, rep: &mut Report) -> Option<DnsTarget> {
    let name = t.required_string(
        rep,
        "name",
        "the domain name to resolve, such as \"www.example.com\"",
    );
    let name = name.and_then(|n| {
        let valid = n.get_ref().len() <= 253
            && n.get_ref().trim_end_matches('.').split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
        if valid {
            Some(n.into_inner())
        } else {
            t.error(
                rep,
                n.span(),
                "name",
                &format!("\"{}\" is not a domain name", n.get_ref()),
            );
            None
        }
    });
    let record = match t.string(rep, "record") {
        None => Some(DnsRecord::A),
        Some(r) => match r.get_ref().to_ascii_uppercase().as_str() {
            "A" => Some(DnsRecord::A),
            "AAAA" => Some(DnsRecord::Aaaa),
            _ => {
                t.error(
                    rep,
                    r.span(),
                    "record",
                    &format!(
                        "\"{}\" is not supported (use \"A\" or \"AAAA\")",
                        r.get_ref()
                    ),
                );
                None
            }
        },
    };
    let mut expect = Vec::new();
    let mut ok = true;
    for item in t.array(rep, "expect").unwrap_or(&[]) {
        let Some(s) = array_string(t, rep, "expect", item) else {
            ok = false;
            continue;
        };
        match s.get_ref().parse::<IpAddr>() {
            Ok(ip) => {
                let family_ok = match record {
                    Some(DnsRecord::A) => ip.is_ipv4(),
                    Some(DnsRecord::Aaaa) => ip.is_ipv6(),
                    None => true,
                };
                if family_ok {
                    expect.push(ip);
                } else {
                    ok = false;
                    t.error(
                        rep,
                        s.span(),
                        "expect",
                        &format!(
                            "{ip} cannot be the answer to a {} query",
                            if ip.is_ipv4() { "AAAA" } else { "A" }
                        ),
                    );
                }
            }
            Err(_) => {
                ok = false;
                t.error(
                    rep,
                    s.span(),
                    "expect",
                    &format!("\"{}\" is not an IP address", s.get_ref()),
                );
            }
        }
    }
    let server = match t.string(rep, "server") {
        None => None,
        Some(s) => {
            let parsed = s.get_ref().parse::<SocketAddr>().ok().or_else(|| {
                s.get_ref()
                    .parse::<IpAddr>()
                    .ok()
                    .map(|ip| SocketAddr::new(ip, 53))
            });
            if parsed.is_none() {
                ok = false;
                t.error(rep, s.span(), "server", &format!("\"{}\" is not an IP address with an optional port, such as \"192.0.2.53\" or \"192.0.2.53:5353\"", s.get_ref()));
            }
            parsed
        }
    };
    if !ok {
        return None;
    }
    Some(DnsTarget {
        name: name?,
        record: record?,
        expect,
        server,
    })
}
