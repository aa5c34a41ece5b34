//! The page templates: handlebars files from `templates/`, compiled into the binary; a
//! folder named by `[site] templates` replaces any of them by name.

use std::path::Path;

use handlebars::Handlebars;

macro_rules! builtin {
    ($name:literal, $file:literal) => {
        (
            $name,
            $file,
            include_str!(concat!("../../templates/", $file)),
        )
    };
}

/// Built-in templates by name, with the file each comes from.
pub const BUILTIN: &[(&str, &str, &str)] = &[
    builtin!("layout", "layout.hbs"),
    builtin!("style", "style.css"),
    builtin!("contact", "contact.hbs"),
    builtin!("subscribe", "subscribe.hbs"),
    builtin!("cause", "cause.hbs"),
    builtin!("incident-summary", "incident-summary.hbs"),
    builtin!("incident-row", "incident-row.hbs"),
    builtin!("maintenance-summary", "maintenance-summary.hbs"),
    builtin!("bar", "bar.hbs"),
    builtin!("component-row", "component-row.hbs"),
    builtin!("index", "index.hbs"),
    builtin!("incident", "incident.hbs"),
    builtin!("history", "history.hbs"),
    builtin!("month", "month.hbs"),
    builtin!("component", "component.hbs"),
    builtin!("feed-entry", "feed-entry.hbs"),
    builtin!("feed-maintenance", "feed-maintenance.hbs"),
];

/// The registry, with the operator's templates where there are some. Values are
/// HTML-escaped unless a template uses `{{{triple braces}}}` (only for Markdown that was
/// sanitised first).
pub fn registry(overrides: Option<&Path>) -> anyhow::Result<Handlebars<'static>> {
    let mut hb = Handlebars::new();
    hb.set_prevent_indent(true);
    for (name, file, builtin) in BUILTIN {
        crate::present::templates::register(&mut hb, name, (file, builtin), overrides)?;
    }
    Ok(hb)
}
