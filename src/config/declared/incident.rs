//! One incident file: `config/incidents/<id>.toml`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use toml::Spanned;
use toml::de::DeValue;

use super::super::diagnostic::{Report, did_you_mean};
use super::super::reader::Table;
use super::super::values;
use super::{Ctx, MAX_FUTURE};
use crate::vocab::IncidentUpdate;
use crate::vocab::{ComponentStatus, Impact, IncidentStatus};

const KEYS: &[&str] = &[
    "id",
    "follows",
    "title",
    "impact",
    "components",
    "postmortem_url",
    "update",
];
const UPDATE_KEYS: &[&str] = &[
    "at",
    "status",
    "message",
    "eta",
    "next_update",
    "notify",
    "apology",
    "credit",
];

/// An incident as an operator declared it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentFile {
    pub path: PathBuf,
    pub id: String,
    /// The reference of an automatic incident these updates belong to.
    pub follows: Option<String>,
    pub title: Option<String>,
    pub impact: Option<Impact>,
    pub components: BTreeMap<String, ComponentStatus>,
    pub postmortem_url: Option<String>,
    /// The timeline, oldest first.
    pub updates: Vec<IncidentUpdate>,
}

impl IncidentFile {
    /// The journal key of the incident: the followed reference, or the file's id.
    pub fn incident_id(&self) -> &str {
        self.follows.as_deref().unwrap_or(&self.id)
    }
}

pub(super) fn parse(
    mut t: Table<'_, '_>,
    rep: &mut Report,
    ctx: &Ctx<'_>,
    path: PathBuf,
) -> Option<IncidentFile> {
    let (id, id_span) =
        super::file_id(&mut t, rep, ctx, &path, "incident", "checkout-errors").unzip();
    let follows = t.string(rep, "follows");
    if let Some(f) = &follows {
        let found = ctx.published.incident_by_reference(f.get_ref());
        match found {
            Some(inc) if !inc.automatic => t.error(
                rep,
                f.span(),
                "follows",
                &format!("{} was declared in a file, not opened by the monitor; add updates to that file instead", f.get_ref()),
            ),
            None if ctx.journal => t.error(
                rep,
                f.span(),
                "follows",
                &format!("no incident {} in the journal (follows names an incident the monitor opened)", f.get_ref()),
            ),
            _ => {
                let note = rep.map().diagnostic(f.span(), format!("{}: {} is followed twice", t.label("follows"), f.get_ref()));
                if let Some(first) = ctx.claim(&format!("follows {}", f.get_ref()), &path, note) {
                    t.error(rep, f.span(), "follows", &format!("{} is already followed in {first}", f.get_ref()));
                }
                if found.is_none() {
                    ctx.not_checked(rep, f.span(), format!("{}: whether the monitor opened {} is in the journal", t.label("follows"), f.get_ref()));
                }
            }
        }
    }
    let follows_span = follows.as_ref().map(|f| f.span());
    let follows = follows.map(Spanned::into_inner);
    let header_required = follows.is_none();
    let title = if header_required {
        t.required_string(
            rep,
            "title",
            "what customers read, such as \"Card payments failing\"",
        )
    } else {
        t.string(rep, "title")
    }
    .map(|s| s.into_inner());
    let impact = impact(&mut t, rep, header_required);
    let components = components(&mut t, rep, ctx, header_required);
    let postmortem_url = t.string(rep, "postmortem_url").and_then(|s| {
        values::http_url(s.get_ref())
            .map(|u| u.to_string())
            .map_err(|e| t.error(rep, s.span(), "postmortem_url", &e))
            .ok()
    });
    let updates = updates(&mut t, rep, ctx);
    if let (Some(id), Some(span), None, Some(first)) = (
        &id,
        &id_span,
        &follows,
        updates.as_ref().and_then(|u| u.first()),
    ) && let Some(old) = ctx.published.incident(id)
        && (old.automatic || old.opened_at != first.at)
    {
        let message = if old.automatic {
            format!(
                "\"{id}\" belongs to an incident the monitor opened ({}); choose a new id",
                old.reference
            )
        } else {
            format!(
                "the first update of {} was published at {}, but this file now starts at {}; published updates are known by their time: restore it, or choose a new id for a new incident",
                old.reference,
                local(old.opened_at, ctx),
                local(first.at, ctx)
            )
        };
        t.error(rep, span.clone(), "id", &message);
    }
    if let (Some(f), Some(span), Some(updates)) = (&follows, &follows_span, &updates)
        && let Some(resolved_at) = ctx
            .published
            .incident_by_reference(f)
            .and_then(|i| i.resolved_at)
        && updates
            .iter()
            .any(|u| u.at > resolved_at && u.status != IncidentStatus::Resolved)
    {
        t.error(
            rep,
            span.clone(),
            "follows",
            &format!(
                "{f} was resolved at {}; after that only a resolved update (with an apology or a credit) may follow; declare a new incident for a new problem",
                local(resolved_at, ctx)
            ),
        );
    }
    t.finish(rep, KEYS, &|_| None);
    Some(IncidentFile {
        path,
        id: id?,
        follows,
        title,
        impact: if header_required {
            Some(impact??)
        } else {
            impact?
        },
        components: components?,
        postmortem_url,
        updates: updates?,
    })
}

/// `Some(None)`: absent and allowed; `None`: invalid or missing.
fn impact(t: &mut Table<'_, '_>, rep: &mut Report, required: bool) -> Option<Option<Impact>> {
    let Some(s) = t.string(rep, "impact") else {
        if required && !t.has("impact") {
            t.missing(rep, "impact", "none, minor, major or critical");
            return None;
        }
        return if t.has("impact") { None } else { Some(None) };
    };
    match s.get_ref().parse::<Impact>() {
        Ok(i) => Some(Some(i)),
        Err(()) => {
            t.error(
                rep,
                s.span(),
                "impact",
                &format!(
                    "\"{}\" is not an impact (use none, minor, major or critical)",
                    s.get_ref()
                ),
            );
            None
        }
    }
}

fn components(
    t: &mut Table<'_, '_>,
    rep: &mut Report,
    ctx: &Ctx<'_>,
    required: bool,
) -> Option<BTreeMap<String, ComponentStatus>> {
    let Some(mut table) = t.table(rep, "components") else {
        if required && !t.has("components") {
            t.missing(rep, "components", "the affected components and their status, such as { checkout = \"partial_outage\" }");
            return None;
        }
        return (!t.has("components")).then(BTreeMap::new);
    };
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (name, value) in table.entries() {
        let label = format!("components.{}", name.get_ref());
        if !ctx.components.contains(&name.get_ref().as_str()) {
            let hint = did_you_mean(name.get_ref(), ctx.components)
                .map(|s| format!("; did you mean \"{s}\"?"))
                .unwrap_or_default();
            t.error(
                rep,
                name.span(),
                &label,
                &format!(
                    "no component \"{}\" in the configuration{hint}",
                    name.get_ref()
                ),
            );
            ok = false;
            continue;
        }
        let status = match value.get_ref() {
            DeValue::String(s) => s
                .parse::<ComponentStatus>()
                .ok()
                .filter(|s| !s.is_operational()),
            _ => None,
        };
        match status {
            Some(s) => {
                out.insert(name.into_inner(), s);
            }
            None => {
                ok = false;
                t.error(
                    rep,
                    value.span(),
                    &label,
                    "use degraded_performance, partial_outage, major_outage or under_maintenance",
                );
            }
        }
    }
    if ok && out.is_empty() && required {
        t.error(
            rep,
            t.span(),
            "components",
            "name at least one affected component",
        );
        return None;
    }
    ok.then_some(out)
}

fn updates(t: &mut Table<'_, '_>, rep: &mut Report, ctx: &Ctx<'_>) -> Option<Vec<IncidentUpdate>> {
    if !t.has("update") {
        t.missing(
            rep,
            "update",
            "at least one [[update]] with at, status and message",
        );
        return None;
    }
    let tables = t.tables(rep, "update");
    let mut out: Vec<(IncidentUpdate, std::ops::Range<usize>)> = Vec::new();
    let mut ok = true;
    for (i, (table, span)) in tables.into_iter().enumerate() {
        let mut u = Table::new(
            table,
            span.clone(),
            t.context(),
            &format!("update[{}]", i + 1),
        );
        match update(&mut u, rep, ctx) {
            Some((update, at_span)) => {
                if let Some((prev, _)) = out.last() {
                    if prev.status == IncidentStatus::Resolved {
                        u.error(
                            rep,
                            span.clone(),
                            "",
                            "comes after the resolving update; nothing may follow it",
                        );
                        ok = false;
                    } else if update.at <= prev.at {
                        u.error(
                            rep,
                            at_span,
                            "at",
                            &format!("{} is not after the previous update ({}); keep updates in time order", local(update.at, ctx), local(prev.at, ctx)),
                        );
                        ok = false;
                    }
                }
                out.push((update, span));
            }
            None => ok = false,
        }
        u.finish(rep, UPDATE_KEYS, &|_| None);
    }
    ok.then(|| out.into_iter().map(|(u, _)| u).collect())
}

fn update(
    u: &mut Table<'_, '_>,
    rep: &mut Report,
    ctx: &Ctx<'_>,
) -> Option<(IncidentUpdate, std::ops::Range<usize>)> {
    let at = moment(u, rep, ctx, "at", true);
    let status = match u.string(rep, "status") {
        None => {
            if !u.has("status") {
                u.missing(rep, "status", "investigating, identified, monitoring or resolved");
            }
            None
        }
        Some(s) => s.get_ref().parse::<IncidentStatus>().map_err(|()| {
            u.error(
                rep,
                s.span(),
                "status",
                &format!("\"{}\" is not an update status (use investigating, identified, monitoring or resolved)", s.get_ref()),
            );
        }).ok(),
    };
    let message = u.required_string(rep, "message", "what customers read, in plain words");
    let eta = moment(u, rep, ctx, "eta", false);
    let notify = u.boolean(rep, "notify").unwrap_or(true);
    let apology = u.string(rep, "apology");
    let credit = u.string(rep, "credit");
    for (key, v) in [("apology", &apology), ("credit", &credit)] {
        if let Some(v) = v
            && status.is_some_and(|s| s != IncidentStatus::Resolved)
        {
            u.error(
                rep,
                v.span(),
                key,
                "belongs on the resolving update (status = \"resolved\")",
            );
        }
    }
    let at = at?;
    let next_update = next_update(u, rep, ctx, *at.get_ref(), status);
    if let Some(eta) = &eta
        && *eta.get_ref() < *at.get_ref()
    {
        u.error(
            rep,
            eta.span(),
            "eta",
            "is before its update; an ETA says when a fix is expected",
        );
        return None;
    }
    if *at.get_ref() > ctx.now + MAX_FUTURE {
        u.error(
            rep,
            at.span(),
            "at",
            "is more than 5 minutes in the future; write the time the update is posted (this file is not used until it is valid)",
        );
        return None;
    }
    let at_span = at.span();
    Some((
        IncidentUpdate {
            at: at.into_inner(),
            status: status?,
            message: message?.into_inner(),
            eta: eta.map(Spanned::into_inner),
            notify,
            apology: apology.map(Spanned::into_inner),
            credit: credit.map(Spanned::into_inner),
            automatic: false,
            next_update: next_update?,
        },
        at_span,
    ))
}

/// `next_update`: when the next update is promised, as a time or as a duration after
/// the update (`"30m"`). `Some(None)`: none promised; `None`: invalid.
fn next_update(
    u: &mut Table<'_, '_>,
    rep: &mut Report,
    ctx: &Ctx<'_>,
    at: DateTime<Utc>,
    status: Option<IncidentStatus>,
) -> Option<Option<DateTime<Utc>>> {
    let Some(v) = u.raw("next_update") else {
        return Some(None);
    };
    let span = v.span();
    let when = match v.get_ref() {
        DeValue::String(s) if values::duration(s).is_ok() => values::duration(s)
            .map(|d| at + chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)),
        other => super::time::instant(other, ctx.tz)
            .map_err(|e| format!("{e}; or write how long after this update, such as \"30m\"")),
    };
    match when {
        Err(e) => {
            u.error(rep, span, "next_update", &e);
            None
        }
        Ok(_) if status == Some(IncidentStatus::Resolved) => {
            u.error(
                rep,
                span,
                "next_update",
                "a resolved incident promises no further update",
            );
            None
        }
        Ok(t) if t <= at => {
            u.error(
                rep,
                span,
                "next_update",
                "is not after its update; it says when the next update will come",
            );
            None
        }
        Ok(t) => Some(Some(t)),
    }
}

pub(super) fn moment(
    t: &mut Table<'_, '_>,
    rep: &mut Report,
    ctx: &Ctx<'_>,
    key: &str,
    required: bool,
) -> Option<Spanned<DateTime<Utc>>> {
    let Some(v) = t.raw(key) else {
        if required {
            t.missing(
                rep,
                key,
                "a date and time, such as 2026-11-22T10:04:00+01:00",
            );
        }
        return None;
    };
    match super::time::instant(v.get_ref(), ctx.tz) {
        Ok(at) => Some(Spanned::new(v.span(), at)),
        Err(e) => {
            t.error(rep, v.span(), key, &e);
            None
        }
    }
}

pub(super) fn local(at: DateTime<Utc>, ctx: &Ctx<'_>) -> String {
    at.with_timezone(&ctx.tz)
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}
