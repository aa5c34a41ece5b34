//! Where each delivery goes: the route a subscriber's record and the subscribers file
//! give it, and the deliveries refused before any attempt (and why, in words operators
//! read in `forewarn outbox`).

use std::collections::BTreeMap;

use chrono::{TimeDelta, Utc};

use super::*;
use crate::journal::{Record, SubscriberRecord};
use crate::notify::fold;
use crate::status::StatusView;
use crate::vocab::{ComponentStatus, Impact, Medium, Role};

const CONFIG: &str = r#"
[site]
title = "Acme Status"
base_url = "https://status.acme.test"
timezone = "Europe/Paris"
[site.contact]
email = "help@acme.test"

[[component]]
id = "checkout"
name = "Checkout"
[component.check]
url = "https://shop.acme.test/health"
"#;

struct World {
    config: Config,
    notifier: Notifier,
    view: StatusView,
    seq: u64,
    _state: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let state = tempfile::tempdir().expect("tempdir");
        let config = Config::parse(Path::new("forewarn.toml"), CONFIG, &|_| None)
            .unwrap_or_else(|e| panic!("{e}"));
        let notifier = Notifier::new(
            &config,
            state.path(),
            Audience::default(),
            Outbox::default(),
        )
        .expect("a notifier");
        World {
            config,
            notifier,
            view: StatusView::default(),
            seq: 0,
            _state: state,
        }
    }

    fn record(&mut self, event: Event) -> u64 {
        self.seq += 1;
        let record = Record {
            seq: self.seq,
            at: Utc::now(),
            more: false,
            event,
        };
        fold::step(
            &self.config,
            &mut self.view,
            &mut self.notifier.audience,
            &mut self.notifier.outbox,
            &record,
            None,
        );
        self.seq
    }

    fn route_of(&self, seq: u64, key: &str) -> Result<Route, Attempted> {
        let id = super::super::outbox::delivery_id(seq, key);
        let d = self.notifier.outbox.get(&id).expect("a delivery is owed");
        self.notifier.route(&self.config, d)
    }
}

fn member(key: &str, medium: Medium, edit: impl FnOnce(&mut SubscriberRecord)) -> Event {
    let mut subscriber = SubscriberRecord {
        channel: medium,
        address: key.split_once(':').map_or(key, |(_, a)| a).into(),
        format: None,
        components: Vec::new(),
        timezone: None,
        source: "file".into(),
        url: None,
        audience: None,
    };
    edit(&mut subscriber);
    Event::SubscriberConfirmed {
        key: key.into(),
        subscriber,
    }
}

fn outage() -> Event {
    Event::IncidentOpened {
        id: "INC-1".into(),
        reference: "INC-1".into(),
        title: "Checkout: major outage".into(),
        components: BTreeMap::from([("checkout".to_string(), ComponentStatus::MajorOutage)]),
        impact: Impact::Critical,
        automatic: true,
        update: Some(crate::journal::IncidentUpdate::automatic(
            Utc::now(),
            crate::vocab::IncidentStatus::Investigating,
            "Checkout is not working. We are looking into it.".into(),
            None,
        )),
        postmortem_url: None,
    }
}

#[test]
fn each_subscriber_is_reached_their_own_way() {
    let mut w = World::new();
    w.record(member("email:ana@x.test", Medium::Email, |s| {
        s.timezone = Some("America/New_York".into());
        s.components = vec!["checkout".into()];
    }));
    w.record(member("operator:email:ops@x.test", Medium::Email, |s| {
        s.audience = Some(Role::Operator);
    }));
    w.record(member("webhook:api", Medium::Webhook, |s| {
        s.format = Some(WebhookFormat::Slack);
        s.source = "api".into();
        s.url = Some("https://hooks.slack.test/services/x".into());
    }));
    w.record(member("webhook:file", Medium::Webhook, |s| {
        s.format = Some(WebhookFormat::Standard);
    }));
    let seq = w.record(outage());

    let Ok(Route::Email {
        reader,
        scope,
        unsubscribe_url,
        ..
    }) = w.route_of(seq, "email:ana@x.test")
    else {
        panic!("an email");
    };
    assert_eq!(
        reader.tz,
        chrono_tz::America::New_York,
        "their own time zone"
    );
    assert!(!reader.operator);
    assert_eq!(scope.as_deref(), Some("Checkout"));
    assert!(unsubscribe_url.starts_with("https://status.acme.test/unsubscribe/"));

    let Ok(Route::Email { reader, .. }) = w.route_of(seq, "operator:email:ops@x.test") else {
        panic!("an email");
    };
    assert!(reader.operator, "operators read what customers do not");
    assert_eq!(reader.tz, chrono_tz::Europe::Paris, "the site's time zone");

    let Ok(Route::Webhook {
        channel, secret, ..
    }) = w.route_of(seq, "webhook:api")
    else {
        panic!("a webhook");
    };
    assert_eq!(channel, Channel::Slack);
    assert_eq!(secret, None, "Slack signs nothing");

    let Err(Attempted::Failed { error, .. }) = w.route_of(seq, "webhook:file") else {
        panic!("a webhook the file no longer lists waits for it");
    };
    assert!(
        error.contains("is not in subscribers.toml as it stands"),
        "{error}"
    );
}

#[test]
fn a_disabled_endpoint_or_a_removed_subscriber_is_not_tried() {
    let mut w = World::new();
    w.record(member("email:ana@x.test", Medium::Email, |_| {}));
    w.record(member("webhook:api", Medium::Webhook, |s| {
        s.source = "api".into();
        s.url = Some("https://hooks.example.test/in".into());
    }));
    let seq = w.record(outage());
    w.record(Event::SubscriberDisabled {
        key: "webhook:api".into(),
        reason: "the receiver answered 410 Gone".into(),
    });
    let Err(Attempted::Rejected { error }) = w.route_of(seq, "webhook:api") else {
        panic!("not tried");
    };
    assert!(
        error.contains("410 Gone") && error.contains("subscribers.toml"),
        "{error}"
    );

    w.record(Event::SubscriberRemoved {
        key: "email:ana@x.test".into(),
        by: None,
    });
    // Removing drops what was owed; a delivery that was already taken is refused.
    assert!(
        w.notifier
            .outbox
            .get(&super::super::outbox::delivery_id(seq, "email:ana@x.test"))
            .is_none()
    );
}

#[test]
fn a_confirmation_goes_out_only_while_its_link_works() {
    let mut w = World::new();
    let pending = |key: &str, expires_at| Event::SubscriberPending {
        key: key.into(),
        subscriber: SubscriberRecord {
            channel: Medium::Email,
            address: key.trim_start_matches("email:").into(),
            format: None,
            components: Vec::new(),
            timezone: None,
            source: "self".into(),
            url: None,
            audience: None,
        },
        expires_at,
    };
    let fresh = w.record(pending(
        "email:new@x.test",
        Utc::now() + TimeDelta::hours(48),
    ));
    let Ok(Route::Confirm { address, url }) = w.route_of(fresh, "email:new@x.test") else {
        panic!("a confirmation");
    };
    assert_eq!(address, "new@x.test");
    assert!(
        url.starts_with("https://status.acme.test/confirm/"),
        "{url}"
    );

    let stale = w.record(pending(
        "email:old@x.test",
        Utc::now() - TimeDelta::minutes(1),
    ));
    let Err(Attempted::Rejected { error }) = w.route_of(stale, "email:old@x.test") else {
        panic!("an expired link is not sent");
    };
    assert!(error.contains("expired"), "{error}");
}
