//! `[[component]]` tables and their `[component.check]`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use toml::de::DeValue;

use super::diagnostic::Report;
use super::reader::{Table, array_string, type_name};
use super::values::{self, Ctx, show_duration};
use super::*;

const COMPONENT_KEYS: &[&str] = &["id", "name", "group", "description", "check"];
const COMMON_KEYS: &[&str] = &[
    "kind",
    "every",
    "schedule",
    "timeout",
    "fail_after",
    "recover_after",
    "severity",
];
const HTTP_KEYS: &[&str] = &[
    "url",
    "method",
    "headers",
    "headers_env",
    "expect_status",
    "body_contains",
    "json",
    "latency_threshold",
    "follow_redirects",
    "max_body_bytes",
];
const TCP_KEYS: &[&str] = &["address"];
const TLS_KEYS: &[&str] = &["address", "server_name", "warn_days", "verify", "ca_file"];
const DNS_KEYS: &[&str] = &["name", "record", "expect", "server"];
const KINDS: &[(&str, &[&str])] = &[
    ("http", HTTP_KEYS),
    ("tcp", TCP_KEYS),
    ("tls", TLS_KEYS),
    ("dns", DNS_KEYS),
];

/// A component, with the span of its id (for duplicate-id errors).
pub(super) fn component(
    mut t: Table<'_, '_>,
    rep: &mut Report,
    ctx: &Ctx<'_>,
) -> Option<(Component, std::ops::Range<usize>)> {
    let id = t.required_string(rep, "id", "a short name used in links, such as \"api\"");
    let id_span = id.as_ref().map_or(t.span(), |s| s.span());
    let id = id.and_then(|s| match values::slug(s.get_ref()) {
        Ok(()) => Some(s.into_inner()),
        Err(e) => {
            t.error(rep, s.span(), "id", &e);
            None
        }
    });
    if let Some(id) = &id {
        t.set_context(&format!("component \"{id}\""));
    }
    let name = t.required_string(
        rep,
        "name",
        "the name customers see, such as \"Public API\"",
    );
    let group = t.string(rep, "group").map(|s| s.into_inner());
    let description = t.string(rep, "description").map(|s| s.into_inner());
    let check = match t.table(rep, "check") {
        Some(c) => check(c, rep, ctx),
        None => {
            if !t.has("check") {
                t.missing(
                    rep,
                    "check",
                    "a [component.check] table saying how to probe it",
                );
            }
            None
        }
    };
    t.finish(rep, COMPONENT_KEYS, &|key| {
        let belongs_to_check =
            COMMON_KEYS.contains(&key) || KINDS.iter().any(|(_, keys)| keys.contains(&key));
        belongs_to_check.then(|| format!("\"{key}\" belongs in the [component.check] table"))
    });
    Some((
        Component {
            id: id?,
            name: name?.into_inner(),
            group,
            description,
            check: check?,
        },
        id_span,
    ))
}

fn check(mut t: Table<'_, '_>, rep: &mut Report, ctx: &Ctx<'_>) -> Option<Check> {
    let kind = match t.string(rep, "kind") {
        None => Some("http".to_owned()),
        Some(k) if KINDS.iter().any(|(name, _)| *name == k.get_ref()) => Some(k.into_inner()),
        Some(k) => {
            let names: Vec<&str> = KINDS.iter().map(|(n, _)| *n).collect();
            t.error(
                rep,
                k.span(),
                "kind",
                &format!(
                    "\"{}\" is not a check kind (use {})",
                    k.get_ref(),
                    names.join(", ")
                ),
            );
            None
        }
    };
    let when = when(&mut t, rep);
    let interval = when.as_ref().and_then(|w| match w {
        When::Every(d) => Some(*d),
        When::Cron { schedule, .. } => values::shortest_gap(schedule, chrono_tz::UTC),
    });
    let timeout = duration_key(&mut t, rep, "timeout");
    if let (Some(timeout), Some(interval)) = (&timeout, interval)
        && *timeout.get_ref() > interval
    {
        t.error(
            rep,
            timeout.span(),
            "timeout",
            &format!(
                "{} is longer than the interval ({}); a probe must finish before the next one is due",
                show_duration(*timeout.get_ref()),
                show_duration(interval)
            ),
        );
    }
    let timeout = timeout
        .map(|t| t.into_inner())
        .unwrap_or_else(|| DEFAULT_TIMEOUT.min(interval.unwrap_or(DEFAULT_TIMEOUT)));
    let fail_after = t
        .integer(rep, "fail_after", 1..=100)
        .map(|n| n.into_inner() as u32);
    let recover_after = t
        .integer(rep, "recover_after", 1..=100)
        .map(|n| n.into_inner() as u32);
    let severity = match t.string(rep, "severity") {
        None => Some(ComponentStatus::MajorOutage),
        Some(s) => match s.get_ref().as_str() {
            "partial_outage" => Some(ComponentStatus::PartialOutage),
            "major_outage" => Some(ComponentStatus::MajorOutage),
            other => {
                t.error(
                    rep,
                    s.span(),
                    "severity",
                    &format!("\"{other}\" is not an outage severity (use \"partial_outage\" or \"major_outage\")"),
                );
                None
            }
        },
    };
    let target = match kind.as_deref() {
        Some("http") => http(&mut t, rep, ctx, timeout).map(|h| Target::Http(Box::new(h))),
        Some("tcp") => tcp(&mut t, rep).map(Target::Tcp),
        Some("tls") => tls(&mut t, rep, ctx).map(Target::Tls),
        Some("dns") => dns(&mut t, rep).map(Target::Dns),
        _ => None,
    };
    let own_keys: Vec<&str> = COMMON_KEYS
        .iter()
        .chain(
            KINDS
                .iter()
                .find(|(k, _)| Some(*k) == kind.as_deref())
                .map(|(_, keys)| *keys)
                .unwrap_or(&[]),
        )
        .copied()
        .collect();
    let kind_name = kind.clone().unwrap_or_default();
    t.finish(rep, &own_keys, &|key| {
        KINDS
            .iter()
            .find(|(_, keys)| keys.contains(&key))
            .map(|(k, _)| {
                format!("\"{key}\" is used by {k} checks, but this is a {kind_name} check")
            })
    });
    Some(Check {
        target: target?,
        when: when?,
        timeout,
        fail_after: fail_after.unwrap_or(DEFAULT_FAIL_AFTER),
        recover_after: recover_after.unwrap_or(DEFAULT_RECOVER_AFTER),
        severity: severity?,
    })
}

fn duration_key(
    t: &mut Table<'_, '_>,
    rep: &mut Report,
    key: &str,
) -> Option<toml::Spanned<Duration>> {
    let s = t.string(rep, key)?;
    match values::duration(s.get_ref()) {
        Ok(d) => Some(toml::Spanned::new(s.span(), d)),
        Err(e) => {
            t.error(rep, s.span(), key, &e);
            None
        }
    }
}

fn when(t: &mut Table<'_, '_>, rep: &mut Report) -> Option<When> {
    let every = duration_key(t, rep, "every");
    let schedule = t.string(rep, "schedule");
    match (every, schedule) {
        (Some(_), Some(s)) => {
            t.error(
                rep,
                s.span(),
                "schedule",
                "give either every or schedule, not both",
            );
            None
        }
        (Some(every), None) => {
            if *every.get_ref() < MIN_INTERVAL {
                t.error(
                    rep,
                    every.span(),
                    "every",
                    &format!(
                        "{} is too often (the minimum is {})",
                        show_duration(*every.get_ref()),
                        show_duration(MIN_INTERVAL)
                    ),
                );
                return None;
            }
            Some(When::Every(every.into_inner()))
        }
        (None, Some(s)) => match values::cron(s.get_ref(), chrono_tz::UTC) {
            Ok(schedule) => Some(When::Cron {
                schedule: Box::new(schedule),
                expression: s.into_inner(),
            }),
            Err(e) => {
                t.error(rep, s.span(), "schedule", &e);
                None
            }
        },
        (None, None) if t.has("every") || t.has("schedule") => None,
        (None, None) => Some(When::Every(DEFAULT_EVERY)),
    }
}

fn http(
    t: &mut Table<'_, '_>,
    rep: &mut Report,
    ctx: &Ctx<'_>,
    timeout: Duration,
) -> Option<HttpTarget> {
    let url = t
        .required_string(
            rep,
            "url",
            "the address to request, such as \"https://api.example.com/health\"",
        )
        .and_then(|s| {
            let url = values::http_url(s.get_ref())
                .map_err(|e| t.error(rep, s.span(), "url", &e))
                .ok()?;
            if url.password().is_some() {
                // Never echo it: the point is that it is a secret.
                t.error(
                    rep,
                    s.span(),
                    "url",
                    "holds a password; keep secrets out of this file and send credentials with headers_env",
                );
                return None;
            }
            Some(url)
        });
    let method = match t.string(rep, "method") {
        None => Some(reqwest::Method::GET),
        Some(m) => {
            let upper = m.get_ref().trim().to_ascii_uppercase();
            match reqwest::Method::from_bytes(upper.as_bytes()) {
                Ok(method) if upper.chars().all(|c| c.is_ascii_uppercase()) => Some(method),
                _ => {
                    t.error(
                        rep,
                        m.span(),
                        "method",
                        &format!("\"{}\" is not an HTTP method", m.get_ref()),
                    );
                    None
                }
            }
        }
    };
    let mut headers = HeaderMap::new();
    let mut headers_ok = true;
    if let Some(mut h) = t.table(rep, "headers") {
        for (name, value) in h.entries() {
            let label = format!("headers.{}", name.get_ref());
            match value.get_ref() {
                DeValue::String(v) => {
                    headers_ok &= insert_header(t, rep, &mut headers, &name, &label, v, false)
                }
                other => {
                    t.error(
                        rep,
                        value.span(),
                        &label,
                        &format!("expected a string, found {}", type_name(other)),
                    );
                    headers_ok = false;
                }
            }
        }
    }
    if let Some(mut h) = t.table(rep, "headers_env") {
        for (name, value) in h.entries() {
            let label = format!("headers_env.{}", name.get_ref());
            let DeValue::String(var) = value.get_ref() else {
                t.error(
                    rep,
                    value.span(),
                    &label,
                    "expected the name of an environment variable",
                );
                headers_ok = false;
                continue;
            };
            match values::env_value(ctx, var) {
                Ok(secret) => {
                    headers_ok &= insert_header(t, rep, &mut headers, &name, &label, &secret, true)
                }
                Err(e) => {
                    t.error(rep, value.span(), &label, &e);
                    headers_ok = false;
                }
            }
        }
    }
    let expect_status = expect_status(t, rep);
    let body_contains = t.string(rep, "body_contains");
    if let Some(b) = &body_contains
        && b.get_ref().is_empty()
    {
        t.error(rep, b.span(), "body_contains", "must not be empty");
    }
    let json = json_conditions(t, rep);
    let latency_threshold = duration_key(t, rep, "latency_threshold");
    if let Some(l) = &latency_threshold
        && *l.get_ref() >= timeout
    {
        t.error(
            rep,
            l.span(),
            "latency_threshold",
            &format!(
                "{} is not shorter than the timeout ({}), so it could never apply",
                show_duration(*l.get_ref()),
                show_duration(timeout)
            ),
        );
    }
    let follow_redirects = t.boolean(rep, "follow_redirects").unwrap_or(true);
    let max_body_bytes = t
        .integer(rep, "max_body_bytes", 1..=64 * 1024 * 1024)
        .map(|n| n.into_inner() as usize)
        .unwrap_or(DEFAULT_MAX_BODY_BYTES);
    if !headers_ok {
        return None;
    }
    Some(HttpTarget {
        method: method?,
        url: url?,
        headers,
        expect_status: expect_status?,
        body_contains: body_contains
            .map(|b| b.into_inner())
            .filter(|b| !b.is_empty()),
        json: json?,
        latency_threshold: latency_threshold.map(|l| l.into_inner()),
        follow_redirects,
        max_body_bytes,
    })
}

fn insert_header(
    t: &Table<'_, '_>,
    rep: &mut Report,
    headers: &mut HeaderMap,
    name: &toml::Spanned<String>,
    label: &str,
    value: &str,
    secret: bool,
) -> bool {
    let Ok(header) = HeaderName::from_bytes(name.get_ref().as_bytes()) else {
        t.error(rep, name.span(), label, "is not a valid header name");
        return false;
    };
    match HeaderValue::from_str(value) {
        Ok(mut v) => {
            v.set_sensitive(secret);
            headers.append(header, v);
            true
        }
        Err(_) => {
            // Never echo the value: it may be a secret.
            t.error(
                rep,
                name.span(),
                label,
                "the value holds characters a header cannot carry",
            );
            false
        }
    }
}

fn expect_status(t: &mut Table<'_, '_>, rep: &mut Report) -> Option<Vec<StatusMatch>> {
    let Some(v) = t.raw("expect_status") else {
        return Some(Vec::new());
    };
    let items: Vec<&reader::Value<'_>> = match v.get_ref() {
        DeValue::Array(a) => a.iter().collect(),
        _ => vec![v],
    };
    let mut out = Vec::new();
    let mut ok = true;
    for item in items {
        let parsed = match item.get_ref() {
            DeValue::Integer(i) => i
                .as_str()
                .parse::<u16>()
                .ok()
                .filter(|c| (100..=599).contains(c))
                .map(StatusMatch::Code),
            DeValue::String(s) => {
                let s = s.to_ascii_lowercase();
                match s.as_bytes() {
                    [d @ b'1'..=b'5', b'x', b'x'] => Some(StatusMatch::Class(u16::from(d - b'0'))),
                    _ => None,
                }
            }
            _ => None,
        };
        match parsed {
            Some(p) => out.push(p),
            None => {
                ok = false;
                t.error(
                    rep,
                    item.span(),
                    "expect_status",
                    "use status codes from 100 to 599, or classes such as \"2xx\"",
                );
            }
        }
    }
    if out.is_empty() && ok {
        t.error(
            rep,
            v.span(),
            "expect_status",
            "must list at least one status",
        );
        return None;
    }
    ok.then_some(out)
}

fn json_conditions(
    t: &mut Table<'_, '_>,
    rep: &mut Report,
) -> Option<Vec<(String, serde_json::Value)>> {
    let Some(mut table) = t.table(rep, "json") else {
        return Some(Vec::new());
    };
    let mut out = Vec::new();
    let mut ok = true;
    for (pointer, value) in table.entries() {
        let label = format!("json.\"{}\"", pointer.get_ref());
        if !pointer.get_ref().starts_with('/') {
            t.error(
                rep,
                pointer.span(),
                &label,
                "is not a JSON pointer (start with '/', such as \"/status\" or \"/checks/0/ok\")",
            );
            ok = false;
            continue;
        }
        let expected = match value.get_ref() {
            DeValue::String(s) => Some(serde_json::Value::String(s.to_string())),
            DeValue::Boolean(b) => Some(serde_json::Value::Bool(*b)),
            DeValue::Integer(i) => i
                .as_str()
                .replace('_', "")
                .parse::<i64>()
                .ok()
                .map(serde_json::Value::from),
            DeValue::Float(f) => f
                .as_str()
                .replace('_', "")
                .parse::<f64>()
                .ok()
                .map(serde_json::Value::from),
            _ => None,
        };
        match expected {
            Some(e) => out.push((pointer.into_inner(), e)),
            None => {
                t.error(
                    rep,
                    value.span(),
                    &label,
                    "expected a string, number or true/false to compare with",
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

fn tcp(t: &mut Table<'_, '_>, rep: &mut Report) -> Option<TcpTarget> {
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

fn tls(t: &mut Table<'_, '_>, rep: &mut Report, ctx: &Ctx<'_>) -> Option<TlsTarget> {
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
    let server_name = t.string(rep, "server_name").map(|s| s.into_inner());
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
            t.span(),
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

fn dns(t: &mut Table<'_, '_>, rep: &mut Report) -> Option<DnsTarget> {
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
