//! Operator alerts in words: what only the team hears (a certificate nearing expiry,
//! forewarn's own trouble, a promised update falling due), for email and chat. Pure.

use super::compose::{Composed, What};
use super::notice::Notice;
use crate::config::Config;

/// A short title for an alert's kind.
pub fn title(kind: &str) -> &'static str {
    match kind {
        "certificate_expiring" => "A certificate expires soon",
        "probes_not_run" => "Checks could not run on the monitoring machine",
        "journal_unwritable" => "The journal could not be written",
        "deliveries_dead" => "Notices could not be delivered",
        "update_due" => "A promised update is due",
        "upstream_trouble" => "A service we depend on reports trouble",
        "upstream_unreadable" => "A vendor's status page cannot be read",
        "upstream_component_missing" => "A followed component is not on a vendor's status page",
        "upstream_component_ambiguous" => "A followed name is ambiguous on a vendor's status page",
        _ => "Operator alert",
    }
}

/// An alert as a notice, for the chat formats (and the email's words).
pub fn notice(config: &Config, composed: &Composed) -> Option<Notice> {
    let What::Alert {
        kind,
        component,
        message,
        ..
    } = &composed.what
    else {
        return None;
    };
    let headline = title(kind).to_owned();
    let site = &config.site.title;
    let about = component
        .as_deref()
        .map(|c| {
            let name = config.component(c).map_or(c, |x| x.name.as_str());
            format!(" ({name})")
        })
        .unwrap_or_default();
    Some(Notice {
        subject: format!("[Operator alert] {site}: {headline}{about}"),
        title: format!("{headline}{about}"),
        state: "Operator alert".into(),
        headline: headline.clone(),
        message: message.clone(),
        vendors: Vec::new(),
        // An alert names what it is about in its words; no status list.
        affected: Vec::new(),
        eta: None,
        next_update: None,
        apology: None,
        credit: None,
        reference: headline,
        permalink: config.site_url(""),
        permalink_label: "Status page".into(),
        contact: format!("Sent to the operators of {site} only; customers were not told."),
        contact_lead: String::new(),
        contact_ways: Vec::new(),
        contact_hours: None,
        posted: Some(super::notice::local_time(composed.at, config.site.timezone)),
        lasted: None,
        over: false,
        upcoming: false,
        literal: true,
    })
}
