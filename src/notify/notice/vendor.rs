//! What subscribers read about a vendor we depend on: a heads-up worded as possible
//! impact while our own checks pass, then word that they report it fixed; and the line
//! an incident's notices carry when a vendor's trouble is its likely cause. Their words
//! (an incident's title) go only into plain-text lines (`Notice::vendors`), never into
//! the Markdown message.

use chrono::{DateTime, Utc};

use super::{Notice, Reader, contact_line, contact_ways, local_time, name_of, visible};
use crate::config::Config;
use crate::present::text::{vendor_report, vendor_trouble};
use crate::status::{Cause, Incident};
use crate::vocab::{IncidentUpdate, VendorReading};

/// A vendor's trouble, as it stood when subscribers were told.
#[derive(Debug, Clone)]
pub struct VendorMoment<'a> {
    pub name: &'a str,
    pub page: &'a str,
    pub reading: &'a VendorReading,
    pub fixed: bool,
    pub at: DateTime<Utc>,
    /// Our components that depend on it, whose subscribers are told.
    pub components: &'a [String],
    pub hidden: &'a [String],
}

impl Notice {
    pub fn vendor(config: &Config, m: &VendorMoment<'_>, reader: Reader) -> Notice {
        let ours: Vec<String> = m
            .components
            .iter()
            .filter(|c| visible(config, m.hidden, reader, c))
            .map(|c| name_of(config, c))
            .collect();
        let ours = ours.join(", ");
        let what = m.reading.worst().map_or("a problem", vendor_trouble);
        let report = vendor_report(m.reading.worst(), &m.reading.troubled_parts(), "a problem");
        let theirs = match m.reading.incidents.first() {
            Some(i) if !m.fixed => format!("Their report: “{}” ({})", i.title, i.url),
            _ => format!("Their status page: {}", m.page),
        };
        let name = m.name;
        let (state, title, message) = if m.fixed {
            (
                "Fixed by the provider".to_owned(),
                format!("{} reports the problem fixed", m.name),
                format!(
                    "{name} reports that the problem on their side is fixed. If {ours} still gives you trouble, please contact us."
                ),
            )
        } else {
            (
                "Possible impact".to_owned(),
                format!("{} reports {what}", m.name),
                format!(
                    "{name}, a service we depend on for {ours}, reports {report}.\n\nOur own checks of {ours} pass at the moment, so you may not notice anything. If {ours} gives you trouble, this is the likely cause; we will post an incident on our status page if it affects our service."
                ),
            )
        };
        let quote = format!("\"{}\"", m.name);
        let lead = "Questions? Contact us";
        let contact = &config.site.contact;
        Notice {
            subject: format!("{}: possible impact on {ours}", m.name),
            title,
            state: state.clone(),
            headline: format!("Reported by {}", m.name),
            message,
            affected: Vec::new(),
            eta: None,
            next_update: None,
            apology: None,
            credit: None,
            vendors: vec![theirs],
            reference: m.name.to_owned(),
            permalink: config.site_url(""),
            permalink_label: "Our status page".into(),
            contact: contact_line(contact, &quote, lead),
            contact_lead: format!("{lead} quoting {quote}"),
            contact_ways: contact_ways(contact, m.name),
            contact_hours: contact.hours.clone(),
            posted: Some(local_time(m.at, reader.tz)),
            lasted: None,
            over: m.fixed,
            upcoming: false,
            literal: false,
        }
    }
}

/// What an incident's notice says of the vendors named as its likely cause, as it
/// stood when `update` was posted: "Likely cause: Payment provider, a service we depend
/// on, reports a partial outage affecting Card payments: “Card payments fail”
/// (https://…).", or once they reported it fixed, "Payment provider reported their
/// problem fixed at 10:31 UTC on 28 November." What the update's own words already say
/// of the vendor is not said again: then only their report is quoted.
pub fn cause_lines(
    config: &Config,
    incident: &Incident,
    update: &IncidentUpdate,
    reader: Reader,
) -> Vec<String> {
    incident
        .causes
        .iter()
        .filter(|c| c.reported_at <= update.at)
        .filter(|c| reader.operator || (c.public && config.upstream_is_public(&c.upstream)))
        .filter_map(|c| cause_line(c, update, reader))
        .collect()
}

fn cause_line(c: &Cause, update: &IncidentUpdate, reader: Reader) -> Option<String> {
    let told = update.message.contains(&c.name);
    let theirs = match &c.title {
        Some(t) => format!("“{t}” ({})", c.url),
        None => format!("their status page, {}", c.url),
    };
    match c.fixed_at {
        Some(_) if told => None,
        Some(fixed) if fixed <= update.at => Some(format!(
            "{} reported their problem fixed at {}.",
            c.name,
            local_time(fixed, reader.tz)
        )),
        _ if told => Some(format!("Their report: {theirs}.")),
        _ => Some(format!(
            "Likely cause: {}, a service we depend on, reports {}: {theirs}.",
            c.name,
            vendor_report(Some(c.status), &c.parts, "a problem")
        )),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::status::ComponentStatus;
    use crate::vocab::IncidentStatus;

    #[test]
    fn a_cause_named_while_kept_from_customers_stays_theirs_alone() {
        let text = "[site]\ntitle = \"Shop\"\nbase_url = \"https://status.shop.example\"\ntimezone = \"UTC\"\n[site.contact]\nemail = \"help@shop.example\"\n\n[[component]]\nid = \"checkout\"\nname = \"Checkout\"\ndepends_on = [\"payments\"]\n[component.check]\nurl = \"https://shop.example/\"\n\n[[upstream]]\nid = \"payments\"\nname = \"Payment provider\"\npage = \"https://status.payments.example\"\n";
        let config =
            Config::parse(std::path::Path::new("forewarn.toml"), text, &|_| None).expect("config");
        let at: DateTime<Utc> = "2026-11-28T10:00:00Z".parse().unwrap();
        let cause = |public| Cause {
            upstream: "payments".into(),
            name: "Payment provider".into(),
            status: ComponentStatus::MajorOutage,
            title: Some("Cards fail".into()),
            url: "https://status.payments.example/incidents/1".into(),
            parts: Vec::new(),
            reported_at: at,
            fixed_at: None,
            public,
        };
        let update =
            IncidentUpdate::automatic(at, IncidentStatus::Investigating, "Looking.".into(), None);
        let mut incident = crate::notify::compose::sample(&config, at);
        let crate::notify::compose::What::Incident {
            incident: ref mut i,
            ..
        } = incident.what
        else {
            panic!("an incident");
        };
        let customer = Reader::customer(chrono_tz::UTC);
        let operator = Reader {
            tz: chrono_tz::UTC,
            operator: true,
        };
        i.causes = vec![cause(true)];
        assert_eq!(
            cause_lines(&config, i, &update, customer),
            [
                "Likely cause: Payment provider, a service we depend on, reports a major outage: “Cards fail” (https://status.payments.example/incidents/1)."
            ]
        );
        // Named while only a component kept from customers depended on it: the
        // configuration has changed since, but what was private then stays so.
        i.causes = vec![cause(false)];
        assert!(cause_lines(&config, i, &update, customer).is_empty());
        assert_eq!(cause_lines(&config, i, &update, operator).len(), 1);
    }
}
