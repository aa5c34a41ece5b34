//! The keys of an `http` check.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use toml::de::DeValue;

use super::diagnostic::Report;
use super::reader::{self, Table, type_name};
use super::values::duration_key;
use super::values::{self, Ctx, show_duration};
use super::{DEFAULT_MAX_BODY_BYTES, HttpTarget, MAX_BODY_BYTES, StatusMatch};

/// Query parameters whose values are secrets more often than not.
const SECRET_PARAMS: &[&str] = &[
    "token",
    "access_token",
    "api_key",
    "apikey",
    "key",
    "secret",
    "password",
    "auth",
    "signature",
    "sig",
];

/// The URL to request, from `url` or (when it holds a secret) from `url_env`; true when
/// it came from the environment.
fn url(t: &mut Table<'_, '_>, rep: &mut Report, ctx: &Ctx<'_>) -> Option<(reqwest::Url, bool)> {
    let from_env = t.string(rep, "url_env");
    let written = t.string(rep, "url");
    match (written, from_env) {
        (Some(_), Some(var)) => {
            t.error(rep, var.span(), "url_env", "give url or url_env, not both");
            None
        }
        (None, None) => {
            if !t.has("url") && !t.has("url_env") {
                t.missing(
                    rep,
                    "url",
                    "the address to request, such as \"https://api.example.com/health\"",
                );
            }
            None
        }
        (None, Some(var)) => {
            let Some(text) = values::secret_value(ctx, var.get_ref())
                .map_err(|e| t.error(rep, var.span(), "url_env", &e))
                .ok()?
            else {
                // Not needed by this caller (it never probes): a reserved name stands in.
                return reqwest::Url::parse("http://unset.invalid/")
                    .ok()
                    .map(|u| (u, true));
            };
            match values::http_url(&text) {
                Ok(u) => Some((u, true)),
                Err(_) => {
                    // Never echo the value: it holds a secret.
                    t.error(
                        rep,
                        var.span(),
                        "url_env",
                        &format!(
                            "environment variable {} does not hold an http(s) address",
                            var.get_ref()
                        ),
                    );
                    None
                }
            }
        }
        (Some(s), None) => {
            let text = s.get_ref();
            let authority = text
                .split_once("://")
                .map_or(text.as_str(), |(_, rest)| rest);
            let authority = authority.split(['/', '?', '#']).next().unwrap_or_default();
            if authority.contains('@') {
                // Never echo it: the point is that it is a secret.
                t.error(
                    rep,
                    s.span(),
                    "url",
                    "holds credentials (user:password@); keep secrets out of this file: send them with headers_env, or read the whole URL from the environment with url_env",
                );
                return None;
            }
            let u = values::http_url(text)
                .map_err(|e| t.error(rep, s.span(), "url", &e))
                .ok()?;
            if let Some((k, _)) = u
                .query_pairs()
                .find(|(k, _)| SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str()))
            {
                t.error(
                    rep,
                    s.span(),
                    "url",
                    &format!(
                        "the query parameter \"{k}\" looks like a secret; keep secrets out of this file: read the whole URL from the environment with url_env"
                    ),
                );
                return None;
            }
            Some((u, false))
        }
    }
}

pub(super) fn http(
    t: &mut Table<'_, '_>,
    rep: &mut Report,
    ctx: &Ctx<'_>,
    timeout: Duration,
) -> Option<HttpTarget> {
    let (url, url_is_secret) = match url(t, rep, ctx) {
        Some((u, secret)) => (Some(u), secret),
        None => (None, false),
    };
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
                DeValue::String(_) if carries_credentials(name.get_ref()) => {
                    t.error(
                        rep,
                        name.span(),
                        &label,
                        &format!(
                            "carries a credential; keep secrets out of this file: put it in an environment variable and name that in headers_env = {{ \"{}\" = \"VARIABLE\" }}",
                            name.get_ref()
                        ),
                    );
                    headers_ok = false;
                }
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
            match values::secret_value(ctx, var) {
                Ok(Some(secret)) => {
                    headers_ok &= insert_header(t, rep, &mut headers, &name, &label, &secret, true)
                }
                Ok(None) => {}
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
        .integer(rep, "max_body_bytes", 1..=MAX_BODY_BYTES as i64)
        .map(|n| n.into_inner() as usize)
        .unwrap_or(DEFAULT_MAX_BODY_BYTES);
    if !headers_ok {
        return None;
    }
    Some(HttpTarget {
        method: method?,
        url: url?,
        url_is_secret,
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

/// Header names that carry credentials: they are taken only from the environment
/// (`headers_env`), never written in a file that is shared and versioned.
fn carries_credentials(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie"
    ) || ["-key", "-token", "-secret"]
        .iter()
        .any(|s| name.ends_with(s))
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
