//! Feeds customers subscribe to: Atom (RFC 4287) for all incidents and per component
//! (with the maintenance windows that touch it), RSS 2.0 for the history, and an
//! iCalendar file of maintenance windows. None of them reads the build's clock, so a
//! build with nothing new writes the same bytes.

use anyhow::Context;
use atom_syndication as atom;
use chrono::{DateTime, FixedOffset, Utc};
use handlebars::Handlebars;
use icalendar::{Component as _, EventLike as _};
use serde_json::json;

use super::model::Input;
use crate::present::links::incident_url;
use crate::present::text::{markdown, when};
use crate::status::{Incident, Maintenance, MaintenanceState};

/// Entries in a feed.
pub const FEED_LIMIT: usize = 50;

fn fixed(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    at.fixed_offset()
}

fn host(input: &Input<'_>) -> String {
    input
        .config
        .site
        .base_url
        .host_str()
        .unwrap_or("status.invalid")
        .to_owned()
}

fn root_url(input: &Input<'_>) -> String {
    input.config.site_root().to_owned()
}

/// A permanent id: `tag:status.acme.example,2026-11-22:INC-2026-1122-api`.
pub fn incident_tag(input: &Input<'_>, i: &Incident) -> String {
    format!(
        "tag:{},{}:{}",
        host(input),
        i.opened_at.format("%Y-%m-%d"),
        i.reference
    )
}

fn link(href: String, rel: &str, mime: Option<&str>) -> atom::Link {
    let mut l = atom::Link::default();
    l.set_href(href);
    l.set_rel(rel.to_owned());
    l.set_mime_type(mime.map(str::to_owned));
    l
}

/// The body of an entry (`feed-entry.hbs`): status, impact, apology and credit, each
/// update newest first. Markdown is rendered and sanitised before it reaches the template.
fn entry_html(hb: &Handlebars<'static>, input: &Input<'_>, i: &Incident) -> anyhow::Result<String> {
    let tz = input.config.site.timezone;
    let updates: Vec<serde_json::Value> = i
        .updates
        .iter()
        .rev()
        .map(|u| json!({ "label": u.status.label(), "when": when(u.at, tz), "html": markdown(&u.message) }))
        .collect();
    let data = json!({
        "status": i.status().label(),
        "impact": i.impact.label(),
        "reference": i.reference,
        "apology": i.apology().map(markdown),
        "credit": i.credit().map(markdown),
        "updates": updates,
        "causes": input.causes(i),
    });
    hb.render("feed-entry", &data)
        .context("cannot render the feed-entry template")
}

/// When an incident last changed: its latest update.
fn incident_updated(i: &Incident) -> DateTime<Utc> {
    i.updates.last().map_or(i.opened_at, |u| u.at)
}

fn entry(hb: &Handlebars<'static>, input: &Input<'_>, i: &Incident) -> anyhow::Result<atom::Entry> {
    let mut e = atom::Entry::default();
    e.set_id(incident_tag(input, i));
    e.set_title(format!("{} ({})", i.title, i.status().label()));
    e.set_updated(fixed(incident_updated(i)));
    e.set_published(Some(fixed(i.opened_at)));
    e.set_links(vec![link(
        incident_url(input.config, &i.reference),
        "alternate",
        Some("text/html"),
    )]);
    let mut content = atom::Content::default();
    content.set_content_type(Some("html".to_owned()));
    content.set_value(Some(entry_html(hb, input, i)?));
    e.set_content(Some(content));
    Ok(e)
}

/// What a maintenance window's entry says (`feed-maintenance.hbs`): its state, when,
/// what it touches and the operator's words.
fn maintenance_html(
    hb: &Handlebars<'static>,
    input: &Input<'_>,
    m: &Maintenance,
) -> anyhow::Result<String> {
    let tz = input.config.site.timezone;
    let state = match m.state {
        MaintenanceState::Scheduled => "Scheduled",
        MaintenanceState::InProgress => "In progress",
        MaintenanceState::Completed => "Completed",
        MaintenanceState::Cancelled => "Cancelled",
    };
    let data = json!({
        "state": state,
        "starts": when(m.window.starts_at, tz),
        "ends": when(m.window.ends_at, tz),
        "affected": names(input, &m.window.components).join(", "),
        "html": markdown(&m.window.message),
    });
    hb.render("feed-maintenance", &data)
        .context("cannot render the feed-maintenance template")
}

/// When a window's entry last changed: announced, moved, started, finished.
fn maintenance_updated(m: &Maintenance) -> DateTime<Utc> {
    [Some(m.last_revised()), m.started_at, m.completed_at]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(m.scheduled_at)
}

fn maintenance_entry(
    hb: &Handlebars<'static>,
    input: &Input<'_>,
    m: &Maintenance,
) -> anyhow::Result<atom::Entry> {
    let mut e = atom::Entry::default();
    e.set_id(format!(
        "tag:{},{}:maintenance/{}",
        host(input),
        m.first_announced().format("%Y-%m-%d"),
        m.id
    ));
    let state = match m.state {
        MaintenanceState::Scheduled => "scheduled",
        MaintenanceState::InProgress => "in progress",
        MaintenanceState::Completed => "completed",
        MaintenanceState::Cancelled => "cancelled",
    };
    e.set_title(format!("Maintenance: {} ({state})", m.window.title));
    e.set_updated(fixed(maintenance_updated(m)));
    e.set_published(Some(fixed(m.first_announced())));
    e.set_links(vec![link(
        format!("{}/", root_url(input)),
        "alternate",
        Some("text/html"),
    )]);
    let mut content = atom::Content::default();
    content.set_content_type(Some("html".to_owned()));
    content.set_value(Some(maintenance_html(hb, input, m)?));
    e.set_content(Some(content));
    Ok(e)
}

fn names(input: &Input<'_>, ids: &[String]) -> Vec<String> {
    ids.iter()
        .map(|c| {
            input
                .config
                .component(c)
                .map_or_else(|| c.clone(), |x| x.name.clone())
        })
        .collect()
}

/// The incidents vendors report now, for the vendors whose trouble customers hear of
/// (`notify_customers = true`): their title and link, attributed to them.
fn vendor_entries(input: &Input<'_>) -> Vec<(DateTime<Utc>, atom::Entry)> {
    let tz = input.config.site.timezone;
    let mut out = Vec::new();
    for u in input.config.upstreams.iter().filter(|u| u.notify_customers) {
        let Some(seen) = input.view.upstream(&u.id) else {
            continue;
        };
        for i in &seen.reading.incidents {
            // Stable across records: their start, else when their trouble began.
            let started = i.started_at.or(seen.trouble_since).unwrap_or(seen.since);
            let updated = i.updated_at.unwrap_or(started).max(started);
            let mut e = atom::Entry::default();
            e.set_id(format!(
                "tag:{},{}:upstream/{}/{}",
                host(input),
                started.format("%Y-%m-%d"),
                u.id,
                i.id
            ));
            e.set_title(format!("{} reports: {}", u.name, i.title));
            e.set_updated(fixed(updated));
            e.set_published(Some(fixed(started)));
            e.set_links(vec![link(i.url.clone(), "alternate", Some("text/html"))]);
            let mut content = atom::Content::default();
            content.set_content_type(Some("text".to_owned()));
            content.set_value(Some(format!(
                "Reported by {} at {}, on their own status page. It may affect us; our own status is on {}/",
                u.name,
                when(updated, tz),
                root_url(input)
            )));
            e.set_content(Some(content));
            out.push((updated, e));
        }
    }
    out
}

/// An Atom feed of the most recent incidents among `incidents` (newest first) and of
/// the maintenance `windows`, the most recently changed first; with `vendors`, also
/// the incidents vendors report (see [`vendor_entries`]).
pub fn atom_feed(
    hb: &Handlebars<'static>,
    input: &Input<'_>,
    incidents: &[&Incident],
    windows: &[&Maintenance],
    vendors: bool,
    self_path: &str,
    title: &str,
) -> anyhow::Result<String> {
    let vendor_entries = if vendors {
        vendor_entries(input)
    } else {
        Vec::new()
    };
    let mut feed = atom::Feed::default();
    feed.set_id(format!("tag:{},2026:{}", host(input), self_path));
    feed.set_title(title.to_owned());
    let updated = incidents
        .iter()
        .map(|i| incident_updated(i))
        .chain(windows.iter().map(|m| maintenance_updated(m)))
        .chain(vendor_entries.iter().map(|(at, _)| *at))
        .max()
        .or(input.view.started_at)
        .unwrap_or(input.now);
    feed.set_updated(fixed(updated));
    let mut author = atom::Person::default();
    author.set_name(input.config.site.title.clone());
    author.set_uri(Some(root_url(input) + "/"));
    feed.set_authors(vec![author]);
    feed.set_links(vec![
        link(
            format!("{}/{self_path}", root_url(input)),
            "self",
            Some("application/atom+xml"),
        ),
        link(
            format!("{}/", root_url(input)),
            "alternate",
            Some("text/html"),
        ),
    ]);
    // Newest first, incidents, windows and vendors' reports together.
    enum Item<'a> {
        Incident(&'a Incident),
        Window(&'a Maintenance),
        Vendor(Box<atom::Entry>),
    }
    let mut order: Vec<(DateTime<Utc>, Item<'_>)> = incidents
        .iter()
        .take(FEED_LIMIT)
        .map(|i| (incident_updated(i), Item::Incident(i)))
        .chain(
            windows
                .iter()
                .map(|m| (maintenance_updated(m), Item::Window(m))),
        )
        .chain(
            vendor_entries
                .into_iter()
                .map(|(at, e)| (at, Item::Vendor(Box::new(e)))),
        )
        .collect();
    order.sort_by_key(|x| std::cmp::Reverse(x.0));
    feed.set_entries(
        order
            .into_iter()
            .take(FEED_LIMIT)
            .map(|(_, x)| match x {
                Item::Incident(i) => entry(hb, input, i),
                Item::Window(m) => maintenance_entry(hb, input, m),
                Item::Vendor(e) => Ok(*e),
            })
            .collect::<anyhow::Result<Vec<_>>>()?,
    );
    Ok(feed.to_string())
}

/// RSS 2.0 of the most recent incidents.
pub fn rss_feed(
    hb: &Handlebars<'static>,
    input: &Input<'_>,
    incidents: &[&Incident],
) -> anyhow::Result<String> {
    let items: Vec<rss::Item> = incidents
        .iter()
        .take(FEED_LIMIT)
        .map(|i| {
            let mut item = rss::Item::default();
            item.set_title(format!("{} ({})", i.title, i.status().label()));
            item.set_link(incident_url(input.config, &i.reference));
            item.set_description(entry_html(hb, input, i)?);
            item.set_pub_date(i.opened_at.to_rfc2822());
            let mut guid = rss::Guid::default();
            guid.set_value(incident_tag(input, i));
            guid.set_permalink(false);
            item.set_guid(guid);
            Ok(item)
        })
        .collect::<anyhow::Result<_>>()?;
    let mut channel = rss::Channel::default();
    // Where the feed itself lives, as validators and feed readers ask.
    let mut atom_ext = rss::extension::atom::AtomExtension::default();
    atom_ext.set_links(vec![link(
        format!("{}/history.rss", root_url(input)),
        "self",
        Some("application/rss+xml"),
    )]);
    channel.set_atom_ext(Some(atom_ext));
    channel.set_title(format!("{}: incident history", input.config.site.title));
    channel.set_link(format!("{}/history.html", root_url(input)));
    channel.set_description(format!(
        "Incidents and their updates, from {}",
        input.config.site.title
    ));
    // The last change the feed shows, not the build's clock.
    let changed = incidents
        .iter()
        .map(|i| incident_updated(i))
        .max()
        .or(input.view.started_at)
        .unwrap_or(input.now);
    channel.set_last_build_date(changed.to_rfc2822());
    channel.set_items(items);
    Ok(titles_as_references(&channel.to_string()))
}

/// RSS readers differ on whether a title is text or HTML; the RSS Best Practices
/// Profile, and the W3C validator with it, ask for `&` and `<` in titles as the
/// character references `&#x26;` and `&#x3C;`, which read the same either way.
fn titles_as_references(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len() + 64);
    let mut rest = xml;
    while let Some(i) = rest.find("<title>") {
        let (head, tail) = rest.split_at(i + "<title>".len());
        out.push_str(head);
        let Some(end) = tail.find("</title>") else {
            rest = tail;
            break;
        };
        out.push_str(
            &tail[..end]
                .replace("&amp;", "&#x26;")
                .replace("&lt;", "&#x3C;"),
        );
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The calendar's `PRODID`: who made it (RFC 5545, 3.7.3).
fn prodid() -> String {
    format!("-//forewarn//forewarn {}//EN", env!("CARGO_PKG_VERSION"))
}

/// One VEVENT per maintenance window. `SEQUENCE` counts the announcement's changes and
/// `DTSTAMP` is the last of them, so a calendar that imported a window takes a moved or
/// cancelled one in place of the old.
pub fn ical(input: &Input<'_>) -> String {
    let mut cal = icalendar::Calendar::empty();
    cal.append_property(("VERSION", "2.0"));
    cal.append_property(("PRODID", prodid().as_str()));
    cal.append_property(("CALSCALE", "GREGORIAN"));
    cal.name(&format!("{}: planned maintenance", input.config.site.title));
    let mut windows: Vec<_> = input.view.maintenance.values().collect();
    windows.sort_by_key(|m| m.window.starts_at);
    for m in windows {
        let names = names(input, &m.window.components);
        let mut e = icalendar::Event::new();
        e.uid(&format!("{}@{}", m.id, host(input)))
            .summary(&format!("Maintenance: {}", m.window.title))
            .description(&format!(
                "{}\n\nAffected: {}",
                m.window.message,
                names.join(", ")
            ))
            .starts(m.window.starts_at)
            .ends(m.window.ends_at)
            .timestamp(m.last_revised())
            .last_modified(m.last_revised())
            .sequence(m.revision)
            .url(&format!("{}/", root_url(input)));
        if m.state == MaintenanceState::Cancelled {
            e.status(icalendar::EventStatus::Cancelled);
        } else {
            e.status(icalendar::EventStatus::Confirmed);
        }
        cal.push(e.done());
    }
    cal.done().to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn rss_titles_carry_ampersands_and_angle_brackets_as_references() {
        let xml = "<item><title>A &amp; B &lt;beta&gt; &amp;lt;</title><description><![CDATA[<p>x &amp; y</p>]]></description></item>";
        assert_eq!(
            super::titles_as_references(xml),
            "<item><title>A &#x26; B &#x3C;beta&gt; &#x26;lt;</title><description><![CDATA[<p>x &amp; y</p>]]></description></item>"
        );
    }
}
