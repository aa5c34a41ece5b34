//! A page read whole, reduced to what an `[[upstream]]` follows: the named components
//! (by id, name, or "Group / Name"; a group stands for its members too), or the page's
//! overall status when none are named, and the incidents that touch them.

use std::collections::BTreeMap;

use super::{ComponentStatus, Page, VendorReading};
use crate::config::Upstream;

/// What we follow of a page, and the names we could not find on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Followed {
    pub reading: VendorReading,
    /// Names in `components` the page does not have.
    pub missing: Vec<String>,
    /// When some are missing, the names the page does have ("Group / Name" for a
    /// member of a group), at most [`MAX_LISTED`].
    pub available: Vec<String>,
    /// Names in `components` that several of their components share (in different
    /// groups), with the full name of each: the first is followed.
    pub ambiguous: Vec<(String, Vec<String>)>,
}

/// The most names listed when one is missing.
pub const MAX_LISTED: usize = 40;
/// The most of their incidents kept in one reading (the newest).
pub const MAX_INCIDENTS: usize = 20;

fn same(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Reduce `page` to what `upstream` follows.
pub fn follow(upstream: &Upstream, page: &Page) -> Followed {
    if upstream.components.is_empty() {
        let incidents: Vec<_> = page.incidents.iter().map(|(i, _)| i.clone()).collect();
        return Followed {
            reading: VendorReading {
                status: Some(page.overall),
                components: BTreeMap::new(),
                incidents: newest_first(incidents),
            },
            missing: Vec::new(),
            available: Vec::new(),
            ambiguous: Vec::new(),
        };
    }
    let mut components = BTreeMap::new();
    let mut missing = Vec::new();
    let mut ambiguous = Vec::new();
    // Ids and names of every vendor component we follow (a group's members included),
    // for matching incidents.
    let mut touched: Vec<String> = Vec::new();
    for wanted in &upstream.components {
        // An id or a "Group / Name" says which; a plain name may be in several groups.
        let exact = page
            .components
            .iter()
            .find(|c| same(&c.id, wanted) || same(&c.full_name(), wanted));
        let by_name: Vec<_> = page
            .components
            .iter()
            .filter(|c| same(&c.name, wanted))
            .collect();
        if exact.is_none() && by_name.len() > 1 {
            ambiguous.push((
                wanted.clone(),
                by_name.iter().map(|c| c.full_name()).collect(),
            ));
        }
        let Some(c) = exact.or(by_name.first().copied()) else {
            missing.push(wanted.clone());
            continue;
        };
        let members: Vec<_> = page
            .components
            .iter()
            .filter(|m| c.is_group && m.group.as_deref() == Some(c.name.as_str()))
            .collect();
        let status = ComponentStatus::worst(
            std::iter::once(c.status).chain(members.iter().map(|m| m.status)),
        )
        .unwrap_or(c.status);
        // Customers read the vendor's own name for it, not an id an operator wrote.
        let key = if components.contains_key(&c.name) {
            c.full_name()
        } else {
            c.name.clone()
        };
        components.insert(key, status);
        touched.push(c.id.clone());
        touched.push(c.name.clone());
        for m in members {
            touched.push(m.id.clone());
            touched.push(m.name.clone());
        }
    }
    let status = ComponentStatus::worst(components.values().copied());
    let in_trouble = status.is_some_and(|s| !s.is_operational());
    // An incident that names none of its components may be about anything: it is
    // ours to show only while what we follow is in trouble.
    let incidents = page
        .incidents
        .iter()
        .filter(|(_, names)| {
            if names.is_empty() {
                in_trouble
            } else {
                names.iter().any(|n| touched.iter().any(|t| same(t, n)))
            }
        })
        .map(|(i, _)| i.clone())
        .collect();
    let available = if missing.is_empty() {
        Vec::new()
    } else {
        page.components
            .iter()
            .take(MAX_LISTED)
            .map(|c| c.full_name())
            .collect()
    };
    Followed {
        reading: VendorReading {
            status,
            components,
            incidents: newest_first(incidents),
        },
        missing,
        available,
        ambiguous,
    }
}

fn newest_first(
    mut incidents: Vec<crate::vocab::VendorIncident>,
) -> Vec<crate::vocab::VendorIncident> {
    incidents.sort_by(|a, b| {
        b.started_at
            .cmp(&a.started_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    incidents.dedup_by(|a, b| a.id == b.id);
    incidents.truncate(MAX_INCIDENTS);
    for i in &mut incidents {
        i.id = super::text::clean(&i.id, super::text::MAX_NAME);
    }
    incidents
}
