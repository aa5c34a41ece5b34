//! A [`Notice`]: what subscribers are told about one incident update or maintenance
//! step, composed once and rendered per channel. Pure.
//!
//! Every notice says what is affected, what is being done, when a fix is expected, and
//! how to reach a person quoting the incident's reference.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::config::{Config, Contact};
use crate::journal::{IncidentUpdate, MaintenanceWindow};
use crate::status::{ComponentStatus, Incident, IncidentStatus};

/// An affected component as customers read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Affected {
    pub name: String,
    pub status: ComponentStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// `[Partial outage] Card payments failing (INC-2026-1123-cards)`
    pub subject: String,
    pub title: String,
    /// "Investigating", "Resolved", "Scheduled maintenance"...
    pub headline: String,
    /// What we know, in the operator's words (Markdown).
    pub message: String,
    pub affected: Vec<Affected>,
    /// "We expect a fix by 12:00 CET on 23 November."
    pub eta: Option<String>,
    pub apology: Option<String>,
    pub credit: Option<String>,
    /// The reference to quote, such as `INC-2026-1123-cards` (maintenance: its id).
    pub reference: String,
    /// The page that follows the story, and how to introduce it.
    pub permalink: String,
    pub permalink_label: String,
    /// "Still affected? Contact us quoting INC-...: email ..., phone ..."
    pub contact: String,
    /// When the update was posted, in the reader's time zone.
    pub posted: Option<String>,
    /// "It lasted 1 hour 12 minutes." on resolution.
    pub lasted: Option<String>,
    /// The trouble is over (resolved, or maintenance completed).
    pub over: bool,
}

/// "12:00 CET on 23 November"
pub fn local_time(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .format("%H:%M %Z on %-d %B")
        .to_string()
}

fn affected(
    config: &Config,
    components: impl IntoIterator<Item = (String, ComponentStatus)>,
) -> Vec<Affected> {
    components
        .into_iter()
        .map(|(id, status)| Affected {
            name: config.component(&id).map_or(id, |c| c.name.clone()),
            status,
        })
        .collect()
}

/// "Contact us quoting INC-...: email a@b, phone +1..., chat https://... (Mon–Fri 9–5)."
pub fn contact_line(contact: &Contact, reference: &str, lead: &str) -> String {
    let mut ways = Vec::new();
    if let Some(e) = &contact.email {
        ways.push(format!("email {e}"));
    }
    if let Some(p) = &contact.phone {
        ways.push(format!("phone {p}"));
    }
    if let Some(c) = &contact.chat_url {
        ways.push(format!("chat {c}"));
    }
    let hours = contact
        .hours
        .as_ref()
        .map(|h| format!(" ({h})"))
        .unwrap_or_default();
    format!("{lead} quoting {reference}: {}{hours}.", ways.join(", "))
}

impl Notice {
    /// The notice for one update of an incident, with times in the site's time zone.
    pub fn incident(config: &Config, incident: &Incident, update: &IncidentUpdate) -> Notice {
        Notice::incident_in(config, incident, update, config.site.timezone)
    }

    /// The notice for one update of an incident, with times in `tz`.
    pub fn incident_in(
        config: &Config,
        incident: &Incident,
        update: &IncidentUpdate,
        tz: Tz,
    ) -> Notice {
        let affected = affected(config, incident.components.clone());
        let worst = affected
            .iter()
            .map(|a| a.status)
            .max_by_key(|s| s.severity())
            .unwrap_or(ComponentStatus::DegradedPerformance);
        let tag = if update.status == IncidentStatus::Resolved {
            "Resolved".to_owned()
        } else {
            worst.label().to_owned()
        };
        let eta = (update.status != IncidentStatus::Resolved)
            .then(|| update.eta.or_else(|| incident.eta()))
            .flatten()
            .filter(|at| *at > update.at)
            .map(|at| format!("We expect a fix by {}.", local_time(at, tz)));
        let lead = if update.status == IncidentStatus::Resolved {
            "Still affected? Contact us"
        } else {
            "Need help now? Contact us"
        };
        Notice {
            subject: format!("[{tag}] {} ({})", incident.title, incident.reference),
            title: incident.title.clone(),
            headline: update.status.label().to_owned(),
            message: update.message.clone(),
            affected,
            eta,
            apology: update.apology.clone(),
            credit: update.credit.clone(),
            reference: incident.reference.clone(),
            permalink: incident_url(config, &incident.reference),
            permalink_label: if update.status == IncidentStatus::Resolved {
                "The full story".into()
            } else {
                "Follow the repair".into()
            },
            contact: contact_line(&config.site.contact, &incident.reference, lead),
            posted: Some(local_time(update.at, tz)),
            lasted: (update.status == IncidentStatus::Resolved)
                .then(|| lasted(update.at - incident.opened_at)),
            over: update.status == IncidentStatus::Resolved,
        }
    }

    /// The notice for a maintenance step: "scheduled", "reminder", "started", "completed",
    /// with times in the site's time zone.
    pub fn maintenance(config: &Config, window: &MaintenanceWindow, step: &str) -> Notice {
        Notice::maintenance_in(config, window, step, config.site.timezone)
    }

    /// The notice for a maintenance step, with times in `tz`.
    pub fn maintenance_in(
        config: &Config,
        window: &MaintenanceWindow,
        step: &str,
        tz: Tz,
    ) -> Notice {
        let headline = match step {
            "scheduled" => "Planned maintenance",
            "reminder" => "Reminder: planned maintenance",
            "started" => "Maintenance in progress",
            "completed" => "Maintenance completed",
            "cancelled" => "Maintenance cancelled",
            "rescheduled" => "Planned maintenance moved",
            other => other,
        };
        let when = format!(
            "From {} to {}.",
            local_time(window.starts_at, tz),
            local_time(window.ends_at, tz)
        );
        Notice {
            subject: format!("[{headline}] {}", window.title),
            title: window.title.clone(),
            headline: headline.to_owned(),
            message: format!("{}\n\n{when}", window.message),
            affected: affected(
                config,
                window
                    .components
                    .iter()
                    .map(|c| (c.clone(), ComponentStatus::UnderMaintenance)),
            ),
            eta: None,
            apology: None,
            credit: None,
            reference: window.title.clone(),
            permalink: format!("{}/", config.site.base_url.as_str().trim_end_matches('/')),
            permalink_label: "Status page".into(),
            contact: contact_line(
                &config.site.contact,
                &format!("\"{}\"", window.title),
                "Questions? Contact us",
            ),
            posted: None,
            lasted: None,
            over: matches!(step, "completed" | "cancelled"),
        }
    }

    /// Plain text, as in the text part of an email.
    pub fn to_text(&self) -> String {
        let posted = self
            .posted
            .as_ref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default();
        let mut out = format!(
            "{}\n\n{}{posted}\n{}\n",
            self.title,
            self.headline,
            self.message.trim()
        );
        if let Some(l) = &self.lasted {
            out.push_str(&format!("\n{l}\n"));
        }
        if let Some(eta) = &self.eta {
            out.push_str(&format!("\n{eta}\n"));
        }
        if let Some(a) = &self.apology {
            out.push_str(&format!("\n{}\n", a.trim()));
        }
        if let Some(c) = &self.credit {
            out.push_str(&format!("\n{}\n", c.trim()));
        }
        if !self.affected.is_empty() {
            let list: Vec<String> = self
                .affected
                .iter()
                .map(|a| {
                    if self.over {
                        a.name.clone()
                    } else {
                        format!("{} ({})", a.name, a.status.label().to_lowercase())
                    }
                })
                .collect();
            let lead = if self.over {
                "Was affected"
            } else {
                "Affected"
            };
            out.push_str(&format!("\n{lead}: {}\n", list.join(", ")));
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

/// The permanent page of an incident.
pub fn incident_url(config: &Config, reference: &str) -> String {
    format!(
        "{}/incidents/{reference}.html",
        config.site.base_url.as_str().trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests;
