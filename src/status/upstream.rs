//! The vendors we depend on, as the journal has them (`upstream.changed`), and what
//! their trouble means for our incidents: an open incident of a component that depends
//! on a vendor in trouble names the vendor as its likely cause, and says when they
//! reported it fixed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ComponentStatus, StatusView};
use crate::vocab::VendorReading;

/// A vendor's page, as last recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpstreamView {
    pub id: String,
    pub name: String,
    pub page: String,
    pub reading: VendorReading,
    /// Our components that depend on it.
    pub affects: Vec<String>,
    pub notify_customers: bool,
    /// Why the page could not be read, while its status is unknown (operators only).
    pub reason: Option<String>,
    /// When its status last changed.
    pub since: DateTime<Utc>,
    /// When anything of it was last recorded.
    pub changed_at: DateTime<Utc>,
    /// When the trouble they report now began (an unreadable page neither begins nor
    /// ends it).
    pub trouble_since: Option<DateTime<Utc>>,
    /// When they last reported their trouble over.
    pub fixed_at: Option<DateTime<Utc>>,
    /// Subscribers of these components were told of the trouble that began at `since`
    /// (`notify_customers`: those of its dependents with no open incident of their
    /// own), and hear when it is fixed.
    #[serde(default)]
    pub heads_up: Option<HeadsUp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadsUp {
    pub since: DateTime<Utc>,
    pub components: Vec<String>,
}

impl UpstreamView {
    pub fn in_trouble(&self) -> bool {
        self.trouble_since.is_some()
    }

    /// Subscribers are owed word of this record: the trouble began and they are told
    /// (`Some(false)`), or the trouble they were told of is fixed (`Some(true)`).
    pub fn heads_up_at(&self, at: DateTime<Utc>) -> Option<(bool, &HeadsUp)> {
        let h = self.heads_up.as_ref()?;
        if h.since == at && self.trouble_since == Some(at) {
            Some((false, h))
        } else if self.fixed_at == Some(at) && self.changed_at == at {
            Some((true, h))
        } else {
            None
        }
    }
}

/// A vendor's trouble, named on one of our incidents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cause {
    pub upstream: String,
    /// The vendor, as customers know it ("Payment provider").
    pub name: String,
    /// The worst they reported while it was linked.
    pub status: ComponentStatus,
    /// Their incident's title and link, when they reported one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub url: String,
    /// The components of theirs we follow that they reported affected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<String>,
    /// When their trouble began, as we saw it.
    pub reported_at: DateTime<Utc>,
    /// When they reported it fixed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_at: Option<DateTime<Utc>>,
    /// Customers may hear of it: none of our components depends on it, or one they
    /// see does (as the journal had it when it was named).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub public: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Cause {
    fn of(u: &UpstreamView, public: bool) -> Cause {
        let first = u.reading.incidents.first();
        Cause {
            upstream: u.id.clone(),
            name: u.name.clone(),
            status: u
                .reading
                .worst()
                .unwrap_or(ComponentStatus::DegradedPerformance),
            title: first.map(|i| i.title.clone()),
            url: first.map_or_else(|| u.page.clone(), |i| i.url.clone()),
            parts: u.reading.troubled_parts(),
            // When they reported it: their incident's start, else when we saw it.
            reported_at: first
                .and_then(|i| i.started_at)
                .into_iter()
                .chain(u.trouble_since)
                .min()
                .unwrap_or(u.changed_at),
            fixed_at: None,
            public,
        }
    }

    /// Take what the vendor says now; the worst status stays.
    fn refresh(&mut self, now: Cause) {
        let worst = ComponentStatus::worst([self.status, now.status]).unwrap_or(now.status);
        let reported_at = self.reported_at.min(now.reported_at);
        let title = now.title.or(self.title.take());
        *self = Cause {
            status: worst,
            reported_at,
            title,
            ..now
        };
    }
}

impl StatusView {
    /// Fold an `upstream.changed` record.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn apply_upstream(
        &mut self,
        at: DateTime<Utc>,
        id: &str,
        name: &str,
        page: &str,
        reading: &VendorReading,
        affects: &[String],
        notify_customers: bool,
        reason: &Option<String>,
    ) {
        let before = self.upstreams.get(id);
        let since = match before {
            Some(b) if b.reading.status == reading.status => b.since,
            _ => at,
        };
        let (trouble_since, fixed_at) = match before {
            _ if reading.status.is_none() => before
                .map(|b| (b.trouble_since, b.fixed_at))
                .unwrap_or((None, None)),
            Some(b) if reading.in_trouble() => (b.trouble_since.or(Some(at)), b.fixed_at),
            None if reading.in_trouble() => (Some(at), None),
            Some(b) if b.trouble_since.is_some() => (None, Some(at)),
            Some(b) => (None, b.fixed_at),
            None => (None, None),
        };
        let begins = trouble_since == Some(at) && !before.is_some_and(|b| b.in_trouble());
        let heads_up = if begins {
            let quiet: Vec<String> = affects
                .iter()
                .filter(|c| {
                    self.status_of(c).is_operational()
                        && !self
                            .open_incidents()
                            .any(|i| i.components.contains_key(c.as_str()))
                })
                .cloned()
                .collect();
            (notify_customers && !quiet.is_empty()).then_some(HeadsUp {
                since: at,
                components: quiet,
            })
        } else {
            before.and_then(|b| b.heads_up.clone())
        };
        let view = UpstreamView {
            id: id.to_owned(),
            name: name.to_owned(),
            page: page.to_owned(),
            reading: reading.clone(),
            affects: affects.to_vec(),
            notify_customers,
            reason: reason.clone(),
            since,
            changed_at: at,
            trouble_since,
            fixed_at,
            heads_up,
        };
        self.upstreams.insert(id.to_owned(), view);
        let open: Vec<String> = self.open_ids.iter().cloned().collect();
        for incident in open {
            self.link_causes(&incident, at);
        }
    }

    /// Name on an open incident each vendor in trouble that one of its components
    /// depends on, and mark fixed each named vendor that reports its trouble over.
    pub(super) fn link_causes(&mut self, incident: &str, at: DateTime<Utc>) {
        let Some(inc) = self.incidents.get(incident).filter(|i| i.is_open()) else {
            return;
        };
        let touched: Vec<&UpstreamView> = self
            .upstreams
            .values()
            .filter(|u| u.affects.iter().any(|c| inc.components.contains_key(c)))
            // A page that cannot be read says nothing new: what it said stays named.
            .filter(|u| u.reading.status.is_some())
            .collect();
        let mut causes = inc.causes.clone();
        for u in touched {
            let public =
                u.affects.is_empty() || u.affects.iter().any(|c| !self.private.contains(c));
            let named = causes.iter_mut().rev().find(|c| c.upstream == u.id);
            match named {
                Some(c) if u.in_trouble() => {
                    if c.fixed_at.is_some() {
                        // In trouble again: a new cause, the old one kept as it was.
                        causes.push(Cause::of(u, public));
                    } else {
                        c.refresh(Cause::of(u, public));
                    }
                }
                None if u.in_trouble() => causes.push(Cause::of(u, public)),
                Some(c) if c.fixed_at.is_none() && u.reading.is_fine() => {
                    c.fixed_at = Some(u.fixed_at.unwrap_or(at));
                }
                _ => {}
            }
        }
        if let Some(inc) = self.incidents.get_mut(incident) {
            inc.causes = causes;
        }
    }

    /// The vendors' pages, in id order.
    pub fn upstream(&self, id: &str) -> Option<&UpstreamView> {
        self.upstreams.get(id)
    }
}
