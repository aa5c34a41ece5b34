//! A [`Notice`]: what subscribers are told about one incident update or maintenance
//! step, composed once and rendered per channel. Pure.
//!
//! Every notice is a snapshot of its moment: the affected components with the status
//! they had then (a recovered one says so), an ETA only while it is ahead (a passed one
//! is called late), the reference to quote and how to reach a person. Every notice of
//! one incident or window has the same subject, so mail clients keep one conversation;
//! where things stand goes in the first line.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::config::{Config, Contact};
use crate::status::{ComponentStatus, Incident, IncidentStatus};
use crate::vocab::{IncidentUpdate, MaintenanceWindow};

/// An affected component as customers read it, with its status at the notice's moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Affected {
    pub name: String,
    pub status: ComponentStatus,
}

impl Affected {
    /// "major outage", or "working normally again" once it recovered.
    pub fn words(&self) -> String {
        if self.status.is_operational() {
            "working normally again".into()
        } else {
            self.status.label().to_lowercase()
        }
    }
}

/// One way to reach a person, as a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactWay {
    /// "email help@acme.test"
    pub label: String,
    /// `mailto:…`, `tel:…` or the chat address.
    pub href: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// The same for every notice of one incident or window:
    /// `Card payments failing (INC-2026-1123-cards)`.
    pub subject: String,
    /// The incident's title as it stands.
    pub title: String,
    /// Where things stand, first line and preheader: "Major outage · Identified",
    /// "Resolved", "Maintenance in progress".
    pub state: String,
    /// "Investigating", "Resolved", "Planned maintenance"...
    pub headline: String,
    /// What we know, in the operator's words (Markdown).
    pub message: String,
    /// What vendors we depend on report, as it stood at this moment: their trouble as
    /// an incident's likely cause, or that they reported it fixed (plain text, their
    /// words quoted; never Markdown).
    pub vendors: Vec<String>,
    pub affected: Vec<Affected>,
    /// "We expect a fix by 12:00 CET on 23 November.", or, once that has passed without
    /// a fix, "This is taking longer than we expected."
    pub eta: Option<String>,
    /// "Our next update will be by 15:30 CET on 23 November."
    pub next_update: Option<String>,
    pub apology: Option<String>,
    pub credit: Option<String>,
    /// The reference to quote, such as `INC-2026-1123-cards` (maintenance: its title).
    pub reference: String,
    /// The page that follows the story, and how to introduce it.
    pub permalink: String,
    pub permalink_label: String,
    /// "Still affected? Contact us quoting INC-...: email ..., phone ... (Mon–Fri 9–5)."
    pub contact: String,
    /// "Still affected? Contact us quoting INC-..."
    pub contact_lead: String,
    pub contact_ways: Vec<ContactWay>,
    pub contact_hours: Option<String>,
    /// When the update was posted, in the reader's time zone.
    pub posted: Option<String>,
    /// "It lasted 1 hour 12 minutes." on resolution.
    pub lasted: Option<String>,
    /// The trouble is over (resolved, or maintenance completed or cancelled).
    pub over: bool,
    /// It has not started yet (planned maintenance announced, reminded or moved).
    pub upcoming: bool,
    /// The message is plain text, not Markdown (operator alerts, which may quote a
    /// vendor's words): channels that read Markdown show it literally.
    pub literal: bool,
}

/// Who reads a notice: customers see public components only; operators see all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reader {
    pub tz: Tz,
    pub operator: bool,
}

impl Reader {
    pub fn customer(tz: Tz) -> Reader {
        Reader {
            tz,
            operator: false,
        }
    }
}

/// An incident at the moment of one of its updates.
#[derive(Debug, Clone)]
pub struct IncidentMoment<'a> {
    /// The incident as it stood right after the update.
    pub incident: &'a Incident,
    pub update: &'a IncidentUpdate,
    /// Each affected component's status at that moment.
    pub statuses: &'a BTreeMap<String, ComponentStatus>,
    /// Where the story is followed.
    pub page: &'a str,
    /// Components kept from customers when it was recorded.
    pub hidden: &'a [String],
}

/// May this reader see this component? Operators see all; customers neither what the
/// journal kept from them then, nor what the configuration keeps from them now.
fn visible(config: &Config, hidden: &[String], reader: Reader, id: &str) -> bool {
    reader.operator || (!hidden.iter().any(|h| h == id) && config.is_public(id))
}

/// "12:00 CET on 23 November"
pub fn local_time(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .format("%H:%M %Z on %-d %B")
        .to_string()
}

fn name_of(config: &Config, id: &str) -> String {
    config
        .component(id)
        .map_or_else(|| id.to_owned(), |c| c.name.clone())
}

/// The ways to reach a person, as links; the email's subject quotes `reference`.
pub fn contact_ways(contact: &Contact, reference: &str) -> Vec<ContactWay> {
    let mut ways = Vec::new();
    if let Some(e) = &contact.email {
        ways.push(ContactWay {
            label: format!("email {e}"),
            href: crate::present::text::mailto(
                e,
                &format!("{reference}: a question from a customer"),
            ),
        });
    }
    if let Some(p) = &contact.phone {
        ways.push(ContactWay {
            label: format!("phone {p}"),
            href: crate::present::links::tel(p),
        });
    }
    if let Some(c) = &contact.chat_url {
        ways.push(ContactWay {
            label: format!("chat {c}"),
            href: c.to_string(),
        });
    }
    ways
}

/// "Contact us quoting INC-...: email a@b, phone +1..., chat https://... (Mon–Fri 9–5)."
pub fn contact_line(contact: &Contact, reference: &str, lead: &str) -> String {
    let ways: Vec<String> = contact_ways(contact, reference)
        .into_iter()
        .map(|w| w.label)
        .collect();
    let hours = contact
        .hours
        .as_ref()
        .map(|h| format!(" ({h})"))
        .unwrap_or_default();
    format!("{lead} quoting {reference}: {}{hours}.", ways.join(", "))
}

/// The subject of every email about an incident: what it was opened as, and its
/// reference. An automatic incident's title follows its status, so its subject names
/// the components instead.
pub fn incident_subject(
    config: &Config,
    incident: &Incident,
    hidden: &[String],
    reader: Reader,
) -> String {
    let what = if incident.automatic {
        let names: Vec<String> = incident
            .components
            .keys()
            .filter(|c| visible(config, hidden, reader, c))
            .map(|c| name_of(config, c))
            .collect();
        format!("Problem with {}", names.join(", "))
    } else {
        incident.opened_title.clone()
    };
    format!("{what} ({})", incident.reference)
}

impl Notice {
    /// The notice for one update of an incident.
    pub fn incident(config: &Config, moment: &IncidentMoment<'_>, reader: Reader) -> Notice {
        let IncidentMoment {
            incident,
            update,
            statuses,
            page,
            hidden,
        } = moment;
        let tz = reader.tz;
        let over = update.status == IncidentStatus::Resolved;
        let affected: Vec<Affected> = statuses
            .iter()
            .filter(|(c, _)| visible(config, hidden, reader, c))
            .map(|(c, s)| Affected {
                name: name_of(config, c),
                status: *s,
            })
            .collect();
        let worst = ComponentStatus::worst(affected.iter().map(|a| a.status))
            .unwrap_or(ComponentStatus::Operational);
        let recovered = !affected.is_empty() && worst.is_operational();
        let state = if over {
            "Resolved".to_owned()
        } else if recovered {
            format!("Recovered · {}", update.status.label())
        } else if affected.is_empty() {
            update.status.label().to_owned()
        } else {
            format!("{} · {}", worst.label(), update.status.label())
        };
        // A fix is expected, and can be late, only while the repair is under way.
        let repairing = matches!(
            update.status,
            IncidentStatus::Investigating | IncidentStatus::Identified
        );
        let eta = if over || !repairing {
            None
        } else {
            match incident.eta_given(update.at) {
                Some(at) if at > update.at => {
                    Some(format!("We expect a fix by {}.", local_time(at, tz)))
                }
                // Its own words say so when forewarn wrote the update.
                Some(_) if !recovered && !update.automatic => {
                    Some("This is taking longer than we expected.".to_owned())
                }
                _ => None,
            }
        };
        let next_update = update
            .next_update
            .filter(|at| *at > update.at && !over && !update.automatic)
            .map(|at| format!("Our next update will be by {}.", local_time(at, tz)));
        let lead = if over {
            "Still affected? Contact us"
        } else {
            "Need help now? Contact us"
        };
        let contact = &config.site.contact;
        Notice {
            subject: incident_subject(config, incident, hidden, reader),
            title: incident.title.clone(),
            state,
            headline: update.status.label().to_owned(),
            message: update.message.clone(),
            vendors: vendor::cause_lines(config, incident, update, reader),
            affected,
            eta,
            next_update,
            apology: update.apology.clone(),
            credit: update.credit.clone(),
            reference: incident.reference.clone(),
            permalink: (*page).to_owned(),
            permalink_label: if over {
                "The full story".into()
            } else {
                "Follow the repair".into()
            },
            contact: contact_line(contact, &incident.reference, lead),
            contact_lead: format!("{lead} quoting {}", incident.reference),
            contact_ways: contact_ways(contact, &incident.reference),
            contact_hours: contact.hours.clone(),
            posted: Some(local_time(update.at, tz)),
            lasted: over.then(|| lasted(update.at - incident.opened_at)),
            over,
            upcoming: false,
            literal: false,
        }
    }

    /// The notice for a maintenance step: "scheduled", "reminder", "rescheduled",
    /// "started", "completed" or "cancelled"; each says its own thing.
    pub fn maintenance(
        config: &Config,
        window: &MaintenanceWindow,
        step: &str,
        hidden: &[String],
        reader: Reader,
    ) -> Notice {
        let tz = reader.tz;
        let (from, to) = (
            local_time(window.starts_at, tz),
            local_time(window.ends_at, tz),
        );
        let names: Vec<String> = window
            .components
            .iter()
            .filter(|c| visible(config, hidden, reader, c))
            .map(|c| name_of(config, c))
            .collect();
        let body = window.message.trim();
        let (headline, message) = match step {
            "scheduled" => (
                "Planned maintenance",
                format!("{body}\n\nFrom {from} to {to}."),
            ),
            "reminder" => (
                "Reminder: planned maintenance",
                format!("{body}\n\nFrom {from} to {to}."),
            ),
            "rescheduled" => (
                "Planned maintenance moved",
                format!("New time: from {from} to {to}.\n\n{body}"),
            ),
            "started" => (
                "Maintenance in progress",
                format!("The maintenance has started and should end by {to}.\n\n{body}"),
            ),
            "completed" => (
                "Maintenance completed",
                format!("The maintenance of {} is complete.", names.join(", ")),
            ),
            "cancelled" => (
                "Maintenance cancelled",
                format!(
                    "The maintenance planned from {from} to {to} will not take place; nothing changes for you."
                ),
            ),
            other => (other, body.to_owned()),
        };
        let over = matches!(step, "completed" | "cancelled");
        let affected = window
            .components
            .iter()
            .filter(|c| visible(config, hidden, reader, c))
            .map(|c| Affected {
                name: name_of(config, c),
                status: ComponentStatus::UnderMaintenance,
            })
            .collect();
        let quote = format!("\"{}\"", window.title);
        let lead = "Questions? Contact us";
        let contact = &config.site.contact;
        Notice {
            subject: format!("Planned maintenance: {}", window.title),
            title: window.title.clone(),
            state: headline.to_owned(),
            headline: headline.to_owned(),
            message,
            vendors: Vec::new(),
            affected,
            eta: None,
            next_update: None,
            apology: None,
            credit: None,
            reference: window.title.clone(),
            permalink: config.site_url(""),
            permalink_label: "Status page".into(),
            contact: contact_line(contact, &quote, lead),
            contact_lead: format!("{lead} quoting {quote}"),
            contact_ways: contact_ways(contact, &window.title),
            contact_hours: contact.hours.clone(),
            posted: None,
            lasted: None,
            over,
            upcoming: matches!(step, "scheduled" | "reminder" | "rescheduled"),
            literal: false,
        }
    }

    /// The affected components in words: "Checkout (major outage), Search (working
    /// normally again)"; just the names once it is over.
    pub fn affected_line(&self) -> Option<String> {
        if self.affected.is_empty() {
            return None;
        }
        let list: Vec<String> = self
            .affected
            .iter()
            .map(|a| {
                if self.over || self.upcoming {
                    a.name.clone()
                } else {
                    format!("{} ({})", a.name, a.words())
                }
            })
            .collect();
        let lead = if self.over {
            "Was affected"
        } else if self.upcoming {
            "Will be affected"
        } else {
            "Affected"
        };
        Some(format!("{lead}: {}", list.join(", ")))
    }

    /// Plain text, as in the text part of an email.
    pub fn to_text(&self) -> String {
        let posted = self
            .posted
            .as_ref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default();
        let mut out = format!(
            "{}\n\n{}\n\n{}{posted}\n{}\n",
            self.state,
            self.title,
            self.headline,
            self.message.trim()
        );
        for line in &self.vendors {
            out.push_str(&format!("\n{line}\n"));
        }
        for line in [
            &self.lasted,
            &self.eta,
            &self.next_update,
            &self.apology,
            &self.credit,
        ]
        .into_iter()
        .flatten()
        {
            out.push_str(&format!("\n{}\n", line.trim()));
        }
        if let Some(a) = self.affected_line() {
            out.push_str(&format!("\n{a}\n"));
        }
        out.push_str(&format!(
            "{}: {}\n{}\n",
            self.permalink_label, self.permalink, self.contact
        ));
        out
    }
}

/// "It lasted 1 hour 12 minutes." (under a minute: "less than a minute").
pub fn lasted(d: chrono::TimeDelta) -> String {
    let mins = d.num_minutes().max(0);
    let (h, m) = (mins / 60, mins % 60);
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let text = match (h, m) {
        (0, 0) => "less than a minute".to_owned(),
        (0, m) => plural(m, "minute"),
        (h, 0) => plural(h, "hour"),
        (h, m) => format!("{} {}", plural(h, "hour"), plural(m, "minute")),
    };
    format!("It lasted {text}.")
}

#[cfg(test)]
mod tests;
mod vendor;
pub use vendor::VendorMoment;
