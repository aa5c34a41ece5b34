//! One maintenance file: `config/maintenance/<id>.toml`.

use std::path::PathBuf;
use std::time::Duration;

use super::super::diagnostic::{Report, did_you_mean};
use super::super::reader::{Table, array_string};
use super::super::values;
use super::Ctx;
use super::incident::moment;
use crate::vocab::MaintenanceWindow;

const KEYS: &[&str] = &[
    "id",
    "title",
    "components",
    "starts_at",
    "ends_at",
    "message",
    "remind_before",
    "cancelled",
];

/// Reminders sent before a window unless `remind_before` says otherwise.
pub const DEFAULT_REMIND_BEFORE: [Duration; 2] =
    [Duration::from_secs(24 * 3600), Duration::from_secs(3600)];

/// Planned maintenance as an operator declared it.
#[derive(Debug, Clone, PartialEq)]
pub struct MaintenanceFile {
    pub path: PathBuf,
    pub id: String,
    pub window: MaintenanceWindow,
    /// How long before the start to remind subscribers, longest first.
    pub remind_before: Vec<Duration>,
    pub cancelled: bool,
}

pub(super) fn parse(
    mut t: Table<'_, '_>,
    rep: &mut Report,
    ctx: &Ctx<'_>,
    path: PathBuf,
) -> Option<MaintenanceFile> {
    let (id, id_span) =
        super::file_id(&mut t, rep, ctx, &path, "maintenance", "db-upgrade").unzip();
    let title = t.required_string(
        rep,
        "title",
        "what customers read, such as \"Database upgrade\"",
    );
    let components = components(&mut t, rep, ctx);
    let starts_at = moment(&mut t, rep, ctx, "starts_at", true);
    let ends_at = moment(&mut t, rep, ctx, "ends_at", true);
    if let (Some(s), Some(e)) = (&starts_at, &ends_at)
        && e.get_ref() <= s.get_ref()
    {
        t.error(
            rep,
            e.span(),
            "ends_at",
            &format!(
                "{} is not after starts_at ({})",
                super::incident::local(*e.get_ref(), ctx),
                super::incident::local(*s.get_ref(), ctx)
            ),
        );
    }
    let message = t.required_string(
        rep,
        "message",
        "what customers should expect during the work",
    );
    let remind_before = remind_before(&mut t, rep);
    let cancelled = t.boolean(rep, "cancelled").unwrap_or(false);
    if let (Some(id), Some(span), Some(s), Some(e)) = (&id, &id_span, &starts_at, &ends_at) {
        match ctx.published.maintenance(id) {
            Some(old) if old.over && old.starts_at != *s.get_ref() => t.error(
                rep,
                span.clone(),
                "id",
                &format!(
                    "\"{id}\" belongs to a window that is over ({}); give the new window a new id",
                    super::incident::local(old.starts_at, ctx)
                ),
            ),
            None if *e.get_ref() <= ctx.now && ctx.journal => t.error(
                rep,
                e.span(),
                "ends_at",
                "is in the past: maintenance is announced before it happens",
            ),
            None if *e.get_ref() <= ctx.now => ctx.not_checked(
                rep,
                e.span(),
                format!(
                    "{}: ended at {}; whether it was announced in time is in the journal",
                    t.label("ends_at"),
                    super::incident::local(*e.get_ref(), ctx)
                ),
            ),
            _ => {}
        }
    }
    t.finish(rep, KEYS, &|_| None);
    let (starts_at, ends_at) = (starts_at?.into_inner(), ends_at?.into_inner());
    if ends_at <= starts_at {
        return None;
    }
    Some(MaintenanceFile {
        path,
        id: id?,
        window: MaintenanceWindow {
            title: title?.into_inner(),
            components: components?,
            starts_at,
            ends_at,
            message: message?.into_inner(),
        },
        remind_before: remind_before?,
        cancelled,
    })
}

fn components(t: &mut Table<'_, '_>, rep: &mut Report, ctx: &Ctx<'_>) -> Option<Vec<String>> {
    if !t.has("components") {
        t.missing(
            rep,
            "components",
            "the components affected, such as [\"api\", \"database\"]",
        );
        return None;
    }
    let items = t.array(rep, "components")?;
    let mut out = Vec::new();
    let mut ok = true;
    for item in items {
        let Some(s) = array_string(t, rep, "components", item) else {
            ok = false;
            continue;
        };
        if ctx.components.contains(&s.get_ref().as_str()) {
            if !out.contains(s.get_ref()) {
                out.push(s.into_inner());
            }
        } else {
            ok = false;
            let hint = did_you_mean(s.get_ref(), ctx.components)
                .map(|c| format!("; did you mean \"{c}\"?"))
                .unwrap_or_default();
            t.error(
                rep,
                s.span(),
                "components",
                &format!(
                    "no component \"{}\" in the configuration{hint}",
                    s.get_ref()
                ),
            );
        }
    }
    if ok && out.is_empty() {
        t.error(rep, t.span(), "components", "name at least one component");
        return None;
    }
    ok.then_some(out)
}

fn remind_before(t: &mut Table<'_, '_>, rep: &mut Report) -> Option<Vec<Duration>> {
    let Some(items) = t.array(rep, "remind_before") else {
        return if t.has("remind_before") {
            None
        } else {
            Some(DEFAULT_REMIND_BEFORE.to_vec())
        };
    };
    let mut out = Vec::new();
    let mut ok = true;
    for item in items {
        let Some(s) = array_string(t, rep, "remind_before", item) else {
            ok = false;
            continue;
        };
        match values::duration(s.get_ref()) {
            Ok(d) => out.push(d),
            Err(e) => {
                ok = false;
                t.error(rep, s.span(), "remind_before", &e);
            }
        }
    }
    out.sort_by(|a, b| b.cmp(a));
    out.dedup();
    ok.then_some(out)
}
