//! What automatic incidents say to customers: short handlebars templates, site-wide in
//! `[wording]` and per component in `[component.wording]`. They may use
//! `{{component}}`, the component's name.

use handlebars::{Handlebars, no_escape};
use serde::Serialize;

use super::diagnostic::Report;
use super::reader::Table;

pub const DEFAULT_OPENED: &str = "We are seeing errors on {{component}} and are investigating. We will post an update within 30 minutes.";
pub const DEFAULT_DEGRADED: &str = "{{component}} is responding more slowly than usual. We are investigating and will post an update within 30 minutes.";
pub const DEFAULT_RESOLVED: &str =
    "{{component}} is working normally again. We are sorry for the trouble this caused.";

const KEYS: &[&str] = &["opened", "degraded", "resolved"];

/// The three messages of an automatic incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wording {
    /// First update when a component goes down.
    pub opened: String,
    /// First update when a component becomes slow.
    pub degraded: String,
    /// Update when it recovers.
    pub resolved: String,
}

impl Default for Wording {
    fn default() -> Self {
        Wording {
            opened: DEFAULT_OPENED.into(),
            degraded: DEFAULT_DEGRADED.into(),
            resolved: DEFAULT_RESOLVED.into(),
        }
    }
}

#[derive(Serialize)]
struct Vars<'a> {
    component: &'a str,
}

/// Fill a template. Operator text is not escaped here: each channel escapes for itself.
pub fn render(template: &str, component: &str) -> Result<String, String> {
    let mut hb = Handlebars::new();
    hb.register_escape_fn(no_escape);
    hb.set_strict_mode(true);
    hb.render_template(template, &Vars { component })
        .map(|s| s.trim().to_owned())
        .map_err(|e| {
            let reason = e.reason().to_string();
            format!("is not a valid template: {reason} (templates may use {{{{component}}}})")
        })
}

/// Read a `[wording]` table over `base`.
pub(super) fn wording(mut t: Table<'_, '_>, rep: &mut Report, base: &Wording) -> Wording {
    let mut w = base.clone();
    for (key, slot) in [
        ("opened", &mut w.opened),
        ("degraded", &mut w.degraded),
        ("resolved", &mut w.resolved),
    ] {
        let Some(s) = t.string(rep, key) else {
            continue;
        };
        if s.get_ref().trim().is_empty() {
            t.error(rep, s.span(), key, "must not be empty");
        } else if let Err(e) = render(s.get_ref(), "Example") {
            t.error(rep, s.span(), key, &e);
        } else {
            *slot = s.into_inner();
        }
    }
    t.finish(rep, KEYS, &|_| None);
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_in_the_component_and_leave_markup_alone() {
        assert_eq!(
            render(DEFAULT_OPENED, "Checkout").unwrap(),
            "We are seeing errors on Checkout and are investigating. We will post an update within 30 minutes."
        );
        assert_eq!(render("{{component}} down", "<b>&").unwrap(), "<b>& down");
    }

    #[test]
    fn broken_or_unknown_placeholders_are_refused() {
        assert!(render("{{#if}}", "x").is_err());
        assert!(
            render("{{service}} is down", "x").is_err(),
            "unknown names are errors, not blanks"
        );
    }
}
