//! The page templates: handlebars files from `templates/`, compiled into the binary; a
//! folder named by `[site] templates` replaces any of them by name.

use std::path::Path;

use anyhow::Context;
use handlebars::Handlebars;

/// Built-in templates by name, with the file each comes from.
pub const BUILTIN: &[(&str, &str, &str)] = &[
    (
        "layout",
        "layout.hbs",
        include_str!("../../templates/layout.hbs"),
    ),
    (
        "style",
        "style.css",
        include_str!("../../templates/style.css"),
    ),
    (
        "contact",
        "contact.hbs",
        include_str!("../../templates/contact.hbs"),
    ),
    (
        "incident-summary",
        "incident-summary.hbs",
        include_str!("../../templates/incident-summary.hbs"),
    ),
    (
        "maintenance-summary",
        "maintenance-summary.hbs",
        include_str!("../../templates/maintenance-summary.hbs"),
    ),
    ("bar", "bar.hbs", include_str!("../../templates/bar.hbs")),
    (
        "component-row",
        "component-row.hbs",
        include_str!("../../templates/component-row.hbs"),
    ),
    (
        "index",
        "index.hbs",
        include_str!("../../templates/index.hbs"),
    ),
    (
        "incident",
        "incident.hbs",
        include_str!("../../templates/incident.hbs"),
    ),
    (
        "history",
        "history.hbs",
        include_str!("../../templates/history.hbs"),
    ),
    (
        "month",
        "month.hbs",
        include_str!("../../templates/month.hbs"),
    ),
    (
        "component",
        "component.hbs",
        include_str!("../../templates/component.hbs"),
    ),
];

/// The registry, with the operator's templates where there are some. Values are
/// HTML-escaped unless a template uses `{{{triple braces}}}` (only for Markdown that was
/// sanitised first).
pub fn registry(overrides: Option<&Path>) -> anyhow::Result<Handlebars<'static>> {
    let mut hb = Handlebars::new();
    hb.set_prevent_indent(true);
    for (name, file, builtin) in BUILTIN {
        let custom = overrides.map(|d| d.join(file)).filter(|p| p.is_file());
        let text = match &custom {
            Some(p) => std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?,
            None => (*builtin).to_owned(),
        };
        hb.register_template_string(name, text)
            .with_context(|| match &custom {
                Some(p) => format!("{} is not a valid template", p.display()),
                None => format!("the built-in template {file} is not valid"),
            })?;
    }
    Ok(hb)
}
