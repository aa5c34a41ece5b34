//! The heads-up subscribers get when a vendor we depend on reports trouble while our
//! own checks pass (`notify_customers = true` on its `[[upstream]]`), and the word that
//! it is fixed: worded as possible impact, never as our outage. Pure.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Composed, What, hidden};
use crate::config::Config;
use crate::journal::{Event, Record};
use crate::present::api;
use crate::status::StatusView;

/// The notice an `upstream.changed` record makes, if subscribers are owed one.
pub fn compose(config: &Config, view: &StatusView, record: &Record) -> Option<Composed> {
    let Event::UpstreamChanged { upstream, .. } = &record.event else {
        return None;
    };
    let u = view.upstream(upstream)?;
    let (fixed, heads_up) = u.heads_up_at(record.at)?;
    let hidden = hidden(view, heads_up.components.iter());
    let data = json!({
        "upstream": api::upstream_seen(config, u, false),
        "fixed": fixed,
        "page_url": config.site_url(""),
    });
    Some(Composed {
        page_status: None,
        seq: record.seq,
        at: record.at,
        kind: "upstream.changed",
        thread: thread(upstream, heads_up.since),
        components: heads_up.components.clone(),
        hidden,
        data,
        operator_data: None,
        what: What::Vendor {
            upstream: upstream.clone(),
            name: u.name.clone(),
            page: u.page.clone(),
            reading: u.reading.clone(),
            fixed,
        },
    })
}

/// Both notices about one trouble of a vendor make one conversation.
fn thread(upstream: &str, since: DateTime<Utc>) -> String {
    format!("upstream:{upstream}:{}", since.timestamp())
}
