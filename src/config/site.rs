//! The `[site]` and `[monitor]` tables.

use super::diagnostic::Report;
use super::reader::Table;
use super::values;
use super::{Contact, MonitorSettings, Site};

const SITE_KEYS: &[&str] = &[
    "title",
    "base_url",
    "timezone",
    "contact",
    "out_dir",
    "templates",
];
const CONTACT_KEYS: &[&str] = &["email", "phone", "chat_url", "hours"];
const MONITOR_KEYS: &[&str] = &["max_concurrency"];

pub(super) fn site(
    mut t: Table<'_, '_>,
    rep: &mut Report,
    base_dir: &std::path::Path,
) -> Option<Site> {
    let title = t.required_string(rep, "title", "the name shown at the top of the status page");
    let base_url = t
        .required_string(rep, "base_url", "the public address of the status page")
        .and_then(|s| match values::http_url(s.get_ref()) {
            Ok(u) => Some(u),
            Err(e) => {
                t.error(rep, s.span(), "base_url", &e);
                None
            }
        });
    let timezone = match t.string(rep, "timezone") {
        None => Some(chrono_tz::UTC),
        Some(s) => match s.get_ref().parse::<chrono_tz::Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                t.error(
                    rep,
                    s.span(),
                    "timezone",
                    &format!(
                        "\"{}\" is not a time zone (use an IANA name such as \"Europe/Paris\" or \"UTC\")",
                        s.get_ref()
                    ),
                );
                None
            }
        },
    };
    let contact = match t.table(rep, "contact") {
        Some(c) => contact(c, rep),
        None => {
            if !t.has("contact") {
                t.missing(
                    rep,
                    "contact",
                    "a [site.contact] table so customers can reach a person: email, phone or chat_url",
                );
            }
            None
        }
    };
    let out_dir = t.string(rep, "out_dir").map(|s| base_dir.join(s.get_ref()));
    let templates = t.string(rep, "templates").and_then(|s| {
        let dir = base_dir.join(s.get_ref());
        if dir.is_dir() {
            Some(dir)
        } else {
            t.error(
                rep,
                s.span(),
                "templates",
                &format!("\"{}\" is not a folder", s.get_ref()),
            );
            None
        }
    });
    t.finish(rep, SITE_KEYS, &|_| None);
    Some(Site {
        title: title?.into_inner(),
        base_url: base_url?,
        timezone: timezone?,
        contact: contact?,
        out_dir,
        templates,
    })
}

fn contact(mut t: Table<'_, '_>, rep: &mut Report) -> Option<Contact> {
    let span = t.span();
    let email = t.string(rep, "email");
    if let Some(e) = &email
        && !looks_like_email(e.get_ref())
    {
        t.error(
            rep,
            e.span(),
            "email",
            &format!("\"{}\" is not an email address", e.get_ref()),
        );
    }
    let phone = t.string(rep, "phone");
    let chat_url = t.string(rep, "chat_url").and_then(|s| {
        values::http_url(s.get_ref())
            .map_err(|e| t.error(rep, s.span(), "chat_url", &e))
            .ok()
    });
    let hours = t.string(rep, "hours");
    let any = [&email, &phone]
        .iter()
        .any(|v| v.as_ref().is_some_and(|s| !s.get_ref().trim().is_empty()))
        || chat_url.is_some();
    if !any {
        t.error(
            rep,
            span,
            "",
            "give at least one way to reach a person: email, phone or chat_url",
        );
    }
    t.finish(rep, CONTACT_KEYS, &|_| None);
    Some(Contact {
        email: email.map(|s| s.into_inner().trim().to_owned()),
        phone: phone.map(|s| s.into_inner().trim().to_owned()),
        chat_url,
        hours: hours.map(|s| s.into_inner()),
    })
}

/// A deliberately loose check: one `@` with text on both sides and a dot in the domain.
pub(super) fn looks_like_email(s: &str) -> bool {
    let s = s.trim();
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

pub(super) fn monitor(mut t: Table<'_, '_>, rep: &mut Report) -> Option<MonitorSettings> {
    let mut m = MonitorSettings::default();
    if let Some(n) = t.integer(rep, "max_concurrency", 1..=100_000) {
        m.max_concurrency = n.into_inner() as usize;
    }
    t.finish(rep, MONITOR_KEYS, &|_| None);
    Some(m)
}
