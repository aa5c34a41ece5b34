//! What forewarn writes to customers on its own: short handlebars templates, site-wide in
//! `[wording]` and per component in `[component.wording]`, and the promises its updates
//! make (`[wording] update_every`, `keep_promises`, `still_working`).
//!
//! Component templates may use `{{component}}` (its name), `{{update_within}}` ("30
//! minutes", empty when no update is promised), `{{status}}` and `{{was}}` (the new and
//! the previous status, in words, on escalation and improvement) and `{{expired_at}}`
//! (when a certificate expired).

use std::time::Duration;

use handlebars::{Handlebars, no_escape};
use serde::Serialize;

use super::diagnostic::Report;
use super::reader::Table;

pub const DEFAULT_OPENED: &str = "We are seeing errors on {{component}}{{#if seen_from}} from {{seen_from}}{{/if}} and are investigating.{{#if update_within}} We will post an update within {{update_within}}.{{/if}}";
pub const DEFAULT_DEGRADED: &str = "{{component}} is responding more slowly than usual{{#if seen_from}} from {{seen_from}}{{/if}}. We are investigating.{{#if update_within}} We will post an update within {{update_within}}.{{/if}}";
pub const DEFAULT_RESOLVED: &str =
    "{{component}} is working normally again. We are sorry for the trouble this caused.";
pub const DEFAULT_ESCALATED: &str = "The problem with {{component}} has become worse: it is now a {{status}} (it was {{was}}). We are working on it.{{#if update_within}} We will post an update within {{update_within}}.{{/if}}";
pub const DEFAULT_IMPROVED: &str = "{{component}} is partly working again: it is now at {{status}} (it was a {{was}}). We are still working on it.{{#if update_within}} We will post an update within {{update_within}}.{{/if}}";
pub const DEFAULT_CERTIFICATE_EXPIRED: &str = "Secure connections to {{component}} fail: its certificate expired at {{expired_at}}. We are renewing it.{{#if update_within}} We will post an update within {{update_within}}.{{/if}}";
pub const DEFAULT_CERTIFICATE_REJECTED: &str = "Secure connections to {{component}} fail: browsers do not accept its certificate. We are working on it.{{#if update_within}} We will post an update within {{update_within}}.{{/if}}";
pub const DEFAULT_STILL_WORKING: &str = "{{#if recovered}}Things are working normally again, and we are making sure they stay that way.{{else}}{{#if late}}This is taking longer than we expected. {{/if}}We are still working on it.{{/if}}{{#if next_update}} Our next update will be by {{next_update}}.{{/if}}";
/// How soon automatic updates promise the next one unless `update_every` says otherwise.
pub const DEFAULT_UPDATE_EVERY: Duration = Duration::from_secs(30 * 60);
/// How long before a promised update operators are reminded.
pub const PROMISE_REMINDER: Duration = Duration::from_secs(5 * 60);

const COMPONENT_KEYS: &[&str] = &[
    "opened",
    "degraded",
    "resolved",
    "escalated",
    "improved",
    "certificate_expired",
    "certificate_rejected",
];
const SITE_KEYS: &[&str] = &["update_every", "keep_promises", "still_working"];

/// The messages of an automatic incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wording {
    /// First update when a component goes down.
    pub opened: String,
    /// First update when a component becomes slow.
    pub degraded: String,
    /// Update when it recovers.
    pub resolved: String,
    /// Update when a slowdown becomes an outage, or an outage gets worse.
    pub escalated: String,
    /// Update when an outage eases without ending.
    pub improved: String,
    /// First update when a TLS check's certificate has expired.
    pub certificate_expired: String,
    /// First update when a TLS check's certificate is refused (untrusted, wrong name).
    pub certificate_rejected: String,
}

impl Default for Wording {
    fn default() -> Self {
        Wording {
            opened: DEFAULT_OPENED.into(),
            degraded: DEFAULT_DEGRADED.into(),
            resolved: DEFAULT_RESOLVED.into(),
            escalated: DEFAULT_ESCALATED.into(),
            improved: DEFAULT_IMPROVED.into(),
            certificate_expired: DEFAULT_CERTIFICATE_EXPIRED.into(),
            certificate_rejected: DEFAULT_CERTIFICATE_REJECTED.into(),
        }
    }
}

/// The promises forewarn's updates make, and how it keeps them (`[wording]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promises {
    /// Automatic updates promise the next one this long after; None: no promise.
    pub update_every: Option<Duration>,
    /// Remind operators before a promised update, and say "still on it" when it falls
    /// due with nobody having written.
    pub keep: bool,
    /// That "still on it" update; may use `{{next_update}}`, `{{late}}` (an ETA has
    /// passed) and `{{recovered}}` (the components work again).
    pub still_working: String,
}

impl Default for Promises {
    fn default() -> Self {
        Promises {
            update_every: Some(DEFAULT_UPDATE_EVERY),
            keep: true,
            still_working: DEFAULT_STILL_WORKING.into(),
        }
    }
}

/// What a template may use. Every name is always present, so a template that tests
/// one with `{{#if}}` is valid everywhere.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Vars {
    pub component: String,
    pub update_within: String,
    pub status: String,
    pub was: String,
    pub expired_at: String,
    /// Where a cluster's locations see it ("2 of 3 locations (Frankfurt and
    /// Virginia)"); empty for a single node.
    pub seen_from: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct StillVars {
    pub next_update: String,
    pub late: bool,
    pub recovered: bool,
}

/// What component templates may use, for error messages.
const COMPONENT_NAMES: &str =
    "{{component}}, {{update_within}}, {{status}}, {{was}}, {{expired_at}} and {{seen_from}}";
/// What `still_working` may use.
const STILL_NAMES: &str = "{{next_update}}, {{late}} and {{recovered}}";

/// Fill a template. Operator text is not escaped here: each channel escapes for itself.
/// The error is handlebars' reason, for [`invalid`] to word.
pub fn render(template: &str, vars: &impl Serialize) -> Result<String, String> {
    let mut hb = Handlebars::new();
    hb.register_escape_fn(no_escape);
    hb.set_strict_mode(true);
    hb.render_template(template, vars)
        .map(|s| s.trim().to_owned())
        .map_err(|e| e.reason().to_string())
}

/// The message for a template that does not render.
fn invalid(reason: &str, names: &str) -> String {
    format!("is not a valid template: {reason} (it may use {names})")
}

/// "30 minutes", "1 hour", "90 seconds".
pub fn within(d: Duration) -> String {
    let secs = d.as_secs();
    let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if secs >= 3600 && secs.is_multiple_of(3600) {
        plural(secs / 3600, "hour")
    } else if secs >= 60 && secs.is_multiple_of(60) {
        plural(secs / 60, "minute")
    } else {
        plural(secs.max(1), "second")
    }
}

fn example() -> Vars {
    Vars {
        component: "Example".into(),
        update_within: "30 minutes".into(),
        status: "major outage".into(),
        was: "degraded performance".into(),
        expired_at: "10:00 UTC on 27 November".into(),
        seen_from: "2 of 3 locations (Frankfurt and Virginia)".into(),
    }
}

/// Read a `[component.wording]` table over `base`.
pub(super) fn wording(t: Table<'_, '_>, rep: &mut Report, base: &Wording) -> Wording {
    let mut t = t;
    let w = templates(&mut t, rep, base);
    t.finish(rep, COMPONENT_KEYS, &|key| {
        SITE_KEYS
            .contains(&key)
            .then(|| format!("\"{key}\" is set for the whole site, in [wording]"))
    });
    w
}

/// Read the site's `[wording]` table: the templates and the promises.
pub(super) fn site_wording(mut t: Table<'_, '_>, rep: &mut Report) -> (Wording, Promises) {
    let w = templates(&mut t, rep, &Wording::default());
    let mut p = Promises::default();
    if let Some(s) = t.string(rep, "update_every") {
        match s.get_ref().trim() {
            "off" | "never" => p.update_every = None,
            text => match super::values::duration(text) {
                Ok(d) if d < Duration::from_secs(1) => {
                    t.error(rep, s.span(), "update_every", "is shorter than a second");
                }
                Ok(d) => p.update_every = Some(d),
                Err(e) => t.error(rep, s.span(), "update_every", &format!("{e}, or \"off\"")),
            },
        }
    }
    if let Some(b) = t.boolean(rep, "keep_promises") {
        p.keep = b;
    }
    if let Some(s) = t.string(rep, "still_working") {
        let vars = StillVars {
            next_update: "15:30 UTC on 27 November".into(),
            late: true,
            recovered: false,
        };
        if s.get_ref().trim().is_empty() {
            t.error(rep, s.span(), "still_working", "must not be empty");
        } else if let Err(e) = render(s.get_ref(), &vars) {
            t.error(rep, s.span(), "still_working", &invalid(&e, STILL_NAMES));
        } else {
            p.still_working = s.into_inner();
        }
    }
    let mut known = COMPONENT_KEYS.to_vec();
    known.extend(SITE_KEYS);
    t.finish(rep, &known, &|_| None);
    (w, p)
}

fn templates(t: &mut Table<'_, '_>, rep: &mut Report, base: &Wording) -> Wording {
    let mut w = base.clone();
    for (key, slot) in [
        ("opened", &mut w.opened),
        ("degraded", &mut w.degraded),
        ("resolved", &mut w.resolved),
        ("escalated", &mut w.escalated),
        ("improved", &mut w.improved),
        ("certificate_expired", &mut w.certificate_expired),
        ("certificate_rejected", &mut w.certificate_rejected),
    ] {
        let Some(s) = t.string(rep, key) else {
            continue;
        };
        if s.get_ref().trim().is_empty() {
            t.error(rep, s.span(), key, "must not be empty");
        } else if let Err(e) = render(s.get_ref(), &example()) {
            t.error(rep, s.span(), key, &invalid(&e, COMPONENT_NAMES));
        } else {
            *slot = s.into_inner();
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(component: &str, within: &str) -> Vars {
        Vars {
            component: component.into(),
            update_within: within.into(),
            ..Vars::default()
        }
    }

    #[test]
    fn templates_fill_in_the_component_and_leave_markup_alone() {
        assert_eq!(
            render(DEFAULT_OPENED, &vars("Checkout", "30 minutes")).unwrap(),
            "We are seeing errors on Checkout and are investigating. We will post an update within 30 minutes."
        );
        assert_eq!(
            render(DEFAULT_OPENED, &vars("Checkout", "")).unwrap(),
            "We are seeing errors on Checkout and are investigating.",
            "no promise when none is made"
        );
        assert_eq!(
            render("{{component}} down", &vars("<b>&", "")).unwrap(),
            "<b>& down"
        );
    }

    #[test]
    fn broken_or_unknown_placeholders_are_refused() {
        assert!(render("{{#if}}", &example()).is_err());
        assert!(
            render("{{service}} is down", &example()).is_err(),
            "unknown names are errors, not blanks"
        );
    }

    #[test]
    fn every_default_renders() {
        let w = Wording::default();
        for t in [
            &w.opened,
            &w.degraded,
            &w.resolved,
            &w.escalated,
            &w.improved,
            &w.certificate_expired,
            &w.certificate_rejected,
        ] {
            assert!(render(t, &example()).is_ok(), "{t}");
        }
        assert!(render(DEFAULT_STILL_WORKING, &StillVars::default()).is_ok());
    }

    #[test]
    fn durations_read_as_words() {
        assert_eq!(within(Duration::from_secs(1800)), "30 minutes");
        assert_eq!(within(Duration::from_secs(3600)), "1 hour");
        assert_eq!(within(Duration::from_secs(90)), "90 seconds");
    }
}
