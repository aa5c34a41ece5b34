//! `[[component]]` tables and their `[component.check]`.

use super::diagnostic::Report;
use super::http::http;
use super::net::{dns, tcp, tls};
use super::reader::Table;
use super::values::{self, Ctx, duration_key, show_duration};
use super::*;

const COMPONENT_KEYS: &[&str] = &[
    "id",
    "name",
    "group",
    "description",
    "public_detail",
    "public",
    "wording",
    "check",
    "depends_on",
];
const COMMON_KEYS: &[&str] = &[
    "kind",
    "every",
    "schedule",
    "timeout",
    "fail_after",
    "recover_after",
    "severity",
];
pub(super) const HTTP_KEYS: &[&str] = &[
    "url",
    "url_env",
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
const HEARTBEAT_KEYS: &[&str] = &["expect_every", "grace"];
const KINDS: &[(&str, &[&str])] = &[
    ("http", HTTP_KEYS),
    ("tcp", TCP_KEYS),
    ("tls", TLS_KEYS),
    ("dns", DNS_KEYS),
    ("heartbeat", HEARTBEAT_KEYS),
];
/// A heartbeat's grace unless `grace` says otherwise.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(60);
/// The longest period a heartbeat may promise: a monthly job.
const MAX_EXPECT_EVERY: Duration = Duration::from_secs(32 * 24 * 3600);
const MAX_EXPECT_EVERY_TEXT: &str = "32 days";

/// A component, with the span of its id (for duplicate-id errors).
pub(super) fn component(
    mut t: Table<'_, '_>,
    rep: &mut Report,
    ctx: &Ctx<'_>,
    site_wording: &Arc<Wording>,
) -> Option<(Component, std::ops::Range<usize>)> {
    let (id, id_span) = values::id_key(
        &mut t,
        rep,
        "component",
        "a short name used in links, such as \"api\"",
    );
    let name = t.required_string(
        rep,
        "name",
        "the name customers see, such as \"Public API\"",
    );
    let group = t.string(rep, "group").map(|s| s.into_inner());
    let description = t.string(rep, "description").map(|s| s.into_inner());
    let public_detail = t.boolean(rep, "public_detail").unwrap_or(false);
    let public = t.boolean(rep, "public").unwrap_or(true);
    let depends_on = depends_on(&mut t, rep, ctx);
    let wording = match t.table(rep, "wording") {
        Some(w) => Arc::new(super::wording::wording(w, rep, site_wording)),
        None => Arc::clone(site_wording),
    };
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
            wording,
            public_detail,
            public,
            depends_on: depends_on?,
        },
        id_span,
    ))
}

/// `depends_on`: ids of `[[upstream]]` tables.
fn depends_on(t: &mut Table<'_, '_>, rep: &mut Report, ctx: &Ctx<'_>) -> Option<Vec<String>> {
    let Some(items) = t.array(rep, "depends_on") else {
        return Some(Vec::new());
    };
    let mut ok = true;
    let mut out: Vec<String> = Vec::new();
    for v in items {
        let Some(s) = super::reader::array_string(t, rep, "depends_on", v) else {
            ok = false;
            continue;
        };
        if ctx.upstreams.contains(s.get_ref()) {
            if !out.contains(s.get_ref()) {
                out.push(s.into_inner());
            }
        } else if !ctx.upstreams_broken {
            let known: Vec<&str> = ctx.upstreams.iter().map(String::as_str).collect();
            let hint = match super::diagnostic::did_you_mean(s.get_ref(), &known) {
                Some(near) => format!("; did you mean \"{near}\"?"),
                None if ctx.upstreams.is_empty() => {
                    "; declare the vendor's page in an [[upstream]] table first".to_owned()
                }
                None => format!(" (the upstreams are: {})", ctx.upstreams.join(", ")),
            };
            t.error(
                rep,
                s.span(),
                "depends_on",
                &format!("\"{}\" is not an [[upstream]] id{hint}", s.get_ref()),
            );
            ok = false;
        } else {
            ok = false;
        }
    }
    ok.then_some(out)
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
    if kind.as_deref() == Some("heartbeat") {
        return heartbeat(t, rep);
    }
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
    let severity = severity(&mut t, rep);
    let target = match kind.as_deref() {
        Some("http") => http(&mut t, rep, ctx, timeout).map(|h| Target::Http(Box::new(h))),
        Some("tcp") => tcp(&mut t, rep).map(Target::Tcp),
        Some("tls") => tls(&mut t, rep, ctx).map(Target::Tls),
        Some("dns") => dns(&mut t, rep).map(Target::Dns),
        _ => None,
    };
    // With a kind that is not known, no key of any kind is blamed: the kind is the
    // problem, and it is reported.
    let own_keys: Vec<&str> = COMMON_KEYS
        .iter()
        .chain(
            KINDS
                .iter()
                .filter(|(k, _)| kind.is_none() || Some(*k) == kind.as_deref())
                .flat_map(|(_, keys)| keys.iter()),
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

/// `kind = "heartbeat"`: nothing is probed; a job reports to forewarn at least every
/// `expect_every`, with `grace` to spare. `fail_after` counts missed periods (default 1),
/// and one report recovers (`recover_after`, default 1).
fn heartbeat(mut t: Table<'_, '_>, rep: &mut Report) -> Option<Check> {
    for key in ["every", "schedule", "timeout"] {
        if let Some(span) = t.raw(key).map(|v| v.span()) {
            t.error(
                rep,
                span,
                key,
                "a heartbeat check is not probed: its job reports to forewarn; say how often with expect_every",
            );
        }
    }
    let every = match duration_key(&mut t, rep, "expect_every") {
        Some(e) if *e.get_ref() < MIN_INTERVAL => {
            t.error(
                rep,
                e.span(),
                "expect_every",
                &format!(
                    "{} is too often (the minimum is {})",
                    show_duration(*e.get_ref()),
                    show_duration(MIN_INTERVAL)
                ),
            );
            None
        }
        Some(e) if *e.get_ref() > MAX_EXPECT_EVERY => {
            t.error(
                rep,
                e.span(),
                "expect_every",
                &format!(
                    "{} is too rare (the maximum is {})",
                    show_duration(*e.get_ref()),
                    MAX_EXPECT_EVERY_TEXT
                ),
            );
            None
        }
        Some(e) => Some(e.into_inner()),
        None => {
            if !t.has("expect_every") {
                t.missing(
                    rep,
                    "expect_every",
                    "how often the job reports, such as \"5m\" or \"1d\"",
                );
            }
            None
        }
    };
    let grace = if t.has("grace") {
        match duration_key(&mut t, rep, "grace") {
            Some(g) if *g.get_ref() > MAX_EXPECT_EVERY => {
                t.error(
                    rep,
                    g.span(),
                    "grace",
                    &format!(
                        "{} is too long (the most is {})",
                        show_duration(*g.get_ref()),
                        MAX_EXPECT_EVERY_TEXT
                    ),
                );
                None
            }
            g => g.map(|g| g.into_inner()),
        }
    } else {
        Some(DEFAULT_GRACE)
    };
    let fail_after = t
        .integer(rep, "fail_after", 1..=100)
        .map_or(1, |n| n.into_inner() as u32);
    let recover_after = t
        .integer(rep, "recover_after", 1..=100)
        .map_or(1, |n| n.into_inner() as u32);
    let severity = severity(&mut t, rep);
    let own: Vec<&str> = ["kind", "fail_after", "recover_after", "severity"]
        .into_iter()
        .chain(HEARTBEAT_KEYS.iter().copied())
        .collect();
    t.finish(rep, &own, &|key| {
        KINDS
            .iter()
            .find(|(_, keys)| keys.contains(&key))
            .map(|(k, _)| format!("\"{key}\" is used by {k} checks, but this is a heartbeat check"))
    });
    let (every, grace) = (every?, grace?);
    Some(Check {
        target: Target::Heartbeat(HeartbeatTarget {
            expect_every: every,
            grace,
        }),
        when: When::Every(every),
        timeout: DEFAULT_TIMEOUT.min(every),
        fail_after,
        recover_after,
        severity: severity?,
    })
}

/// `severity`: what a confirmed failure means.
fn severity(t: &mut Table<'_, '_>, rep: &mut Report) -> Option<ComponentStatus> {
    match t.string(rep, "severity") {
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
            if *every.get_ref() > MAX_INTERVAL {
                t.error(
                    rep,
                    every.span(),
                    "every",
                    &format!(
                        "{} is too rare (the maximum is {}; use a cron schedule for rarer checks)",
                        show_duration(*every.get_ref()),
                        show_duration(MAX_INTERVAL)
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
