//! The outbox as a fold: which deliveries an event makes, how receipts settle them, and
//! that a replay from scratch owes exactly what the live fold owed.

use std::collections::BTreeMap;

use super::*;
use crate::journal::{IncidentUpdate, SubscriberRecord};
use crate::notify::audience::Audience;
use crate::notify::fold::Fold;
use crate::vocab::{ComponentStatus, Impact, IncidentStatus, Medium, WebhookFormat};

fn config() -> Config {
    Config::parse(
        std::path::Path::new("forewarn.toml"),
        crate::config::declared::tests::CONFIG,
        &|_| None,
    )
    .unwrap()
}

fn t(secs: i64) -> DateTime<Utc> {
    "2026-11-22T12:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::seconds(secs)
}

fn subscriber(key: &str, channel: &str, components: &[&str]) -> Event {
    Event::SubscriberConfirmed {
        key: key.into(),
        subscriber: SubscriberRecord {
            channel: if channel == "webhook" {
                Medium::Webhook
            } else {
                Medium::Email
            },
            address: key.trim_start_matches("email:").into(),
            format: (channel == "webhook").then_some(WebhookFormat::Standard),
            components: components.iter().map(|c| c.to_string()).collect(),
            timezone: None,
            source: "file".into(),
            url: None,
            audience: None,
        },
    }
}

fn update(at: i64, status: IncidentStatus, notify: bool) -> IncidentUpdate {
    IncidentUpdate {
        at: t(at),
        status,
        message: format!("{status} at {at}"),
        eta: None,
        notify,
        apology: None,
        credit: None,
        automatic: false,
        next_update: None,
    }
}

fn opened(component: &str) -> Event {
    Event::IncidentOpened {
        id: "cards".into(),
        reference: "INC-2026-1122-cards".into(),
        title: "Card payments failing".into(),
        components: BTreeMap::from([(component.to_string(), ComponentStatus::PartialOutage)]),
        impact: Impact::Major,
        automatic: false,
        update: Some(update(0, IncidentStatus::Investigating, true)),
        postmortem_url: None,
    }
}

fn updated(at: i64, notify: bool) -> Event {
    Event::IncidentUpdated {
        id: "cards".into(),
        reference: "INC-2026-1122-cards".into(),
        update: update(at, IncidentStatus::Identified, notify),
    }
}

/// Feeds records through the live fold, as the daemon does.
struct Live {
    config: Config,
    view: StatusView,
    audience: Audience,
    outbox: Outbox,
    records: Vec<Record>,
}

impl Live {
    fn new() -> Live {
        Live {
            config: config(),
            view: StatusView::default(),
            audience: Audience::default(),
            outbox: Outbox::default(),
            records: Vec::new(),
        }
    }

    fn push(&mut self, at: i64, event: Event) -> &mut Self {
        let r = Record {
            seq: self.records.len() as u64 + 1,
            at: t(at),
            more: false,
            event,
        };
        crate::notify::fold::step(
            &self.config,
            &mut self.view,
            &mut self.audience,
            &mut self.outbox,
            &r,
            None,
        );
        self.records.push(r);
        self
    }

    fn owed(&self) -> Vec<(String, String, State)> {
        self.outbox
            .list()
            .iter()
            .map(|d| (d.subscriber.clone(), d.composed.kind.to_string(), d.state))
            .collect()
    }
}

#[test]
fn subscribers_hear_only_about_their_components_and_only_after_joining() {
    let mut live = Live::new();
    live.push(0, opened("checkout")); // nobody subscribed yet
    live.push(1, subscriber("email:all@x.test", "email", &[]))
        .push(1, subscriber("email:api@x.test", "email", &["api"]))
        .push(1, subscriber("email:shop@x.test", "email", &["checkout"]));
    live.push(60, updated(60, true));
    let owed = live.owed();
    assert_eq!(
        owed,
        vec![
            (
                "email:all@x.test".into(),
                "incident.updated".into(),
                State::Pending
            ),
            (
                "email:shop@x.test".into(),
                "incident.updated".into(),
                State::Pending
            ),
        ],
        "the api-only subscriber hears nothing about checkout; nobody hears of the opening they missed"
    );
}

#[test]
fn silent_corrections_and_status_changes_reach_only_those_meant() {
    let mut live = Live::new();
    live.push(0, subscriber("email:all@x.test", "email", &[]))
        .push(0, subscriber("webhook:1", "webhook", &[]));
    live.push(10, updated(10, false));
    assert!(live.owed().is_empty(), "notify = false sends nothing");
    live.push(
        20,
        Event::ComponentStatusChanged {
            component: "api".into(),
            from: ComponentStatus::Operational,
            to: ComponentStatus::MajorOutage,
            reason: "HTTP 503".into(),
            incident: None,
        },
    );
    assert_eq!(
        live.owed(),
        vec![(
            "webhook:1".into(),
            "component.status_changed".into(),
            State::Pending
        )],
        "status changes go to Standard Webhooks receivers only"
    );
}

#[test]
fn receipts_settle_deliveries_and_a_replay_owes_the_same() {
    let mut live = Live::new();
    live.push(0, subscriber("email:a@x.test", "email", &[]))
        .push(0, subscriber("email:b@x.test", "email", &[]));
    live.push(10, opened("checkout"));
    live.push(70, updated(70, true));
    let ids: Vec<String> = live.outbox.list().iter().map(|d| d.id.clone()).collect();
    assert_eq!(ids.len(), 4);

    // Per subscriber and thread, only the opening is due: the update waits behind it.
    let due = live.outbox.take_due(t(100), 100);
    assert_eq!(due.len(), 2);
    assert!(due.iter().all(|d| d.composed.kind == "incident.opened"));
    assert!(live.outbox.take_due(t(100), 100).is_empty(), "under way");

    let a = due
        .iter()
        .find(|d| d.subscriber == "email:a@x.test")
        .unwrap()
        .clone();
    let b = due
        .iter()
        .find(|d| d.subscriber == "email:b@x.test")
        .unwrap()
        .clone();
    for e in receipts(&a, Attempted::Delivered, t(101)) {
        live.push(101, e);
    }
    let failure = Attempted::Failed {
        error: "the mail server did not take the message".into(),
        retry_after: None,
    };
    for e in receipts(&b, failure, t(101)) {
        live.push(101, e);
    }
    let b_now = live.outbox.get(&b.id).unwrap();
    assert_eq!(b_now.state, State::Failing);
    assert_eq!(b_now.next_at, t(106), "first retry after 5 s");

    // a's update is now due; b's update still waits behind b's failing opening.
    let due = live.outbox.take_due(t(102), 100);
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].subscriber, "email:a@x.test");
    assert_eq!(due[0].composed.kind, "incident.updated");
    live.outbox.release(&due[0].id);

    let replayed = Fold::replay(&live.config, &live.records);
    let mut live_ids: Vec<_> = live
        .outbox
        .list()
        .iter()
        .map(|d| (d.id.clone(), d.state, d.attempts))
        .collect();
    let mut replay_ids: Vec<_> = replayed
        .outbox
        .list()
        .iter()
        .map(|d| (d.id.clone(), d.state, d.attempts))
        .collect();
    live_ids.sort();
    replay_ids.sort();
    assert_eq!(live_ids, replay_ids);
    assert_eq!(replayed.outbox.depth(), 3);
    assert!(
        !replay_ids.iter().any(|(id, ..)| *id == a.id),
        "delivered: not owed again"
    );
}

#[test]
fn ids_are_stable_and_distinct() {
    assert_eq!(
        delivery_id(7, "email:a@x.test"),
        delivery_id(7, "email:a@x.test")
    );
    assert_ne!(
        delivery_id(7, "email:a@x.test"),
        delivery_id(8, "email:a@x.test")
    );
    assert_ne!(
        delivery_id(7, "email:a@x.test"),
        delivery_id(7, "email:b@x.test")
    );
    assert!(delivery_id(7, "x").starts_with("msg_"));
}

#[test]
fn retries_back_off_then_give_up_after_a_day() {
    let waits: Vec<u64> = (1..=8).map(|a| backoff(a).as_secs()).collect();
    assert_eq!(waits, vec![5, 30, 120, 600, 1800, 3600, 3600, 3600]);

    let mut live = Live::new();
    live.push(0, subscriber("webhook:1", "webhook", &[]));
    live.push(0, opened("api"));
    let mut now = t(0);
    let mut attempts = 0;
    loop {
        let due = live.outbox.take_due(now, 10);
        assert_eq!(due.len(), 1, "one delivery, due at {now}");
        attempts += 1;
        let events = receipts(
            &due[0],
            Attempted::Failed {
                error: "the receiver answered 503 Service Unavailable".into(),
                retry_after: None,
            },
            now,
        );
        let dead = matches!(events[0], Event::DeliveryDead { .. });
        for e in events {
            live.push((now - t(0)).num_seconds(), e);
        }
        if dead {
            break;
        }
        now = live.outbox.next_due().unwrap();
        assert!(attempts < 100);
    }
    assert!(
        (25..=32).contains(&attempts),
        "{attempts} attempts in a day"
    );
    let d = &live.outbox.list()[0];
    assert_eq!(d.state, State::Dead);
    assert!(
        live.outbox.next_due().is_none(),
        "dead deliveries wait for an operator"
    );

    live.push(90_000, Event::DeliveryRetried { id: d.id.clone() });
    assert_eq!(
        live.outbox.take_due(t(90_000), 10).len(),
        1,
        "retried: due at once"
    );
}

#[test]
fn retry_after_is_honoured_and_gone_endpoints_are_disabled() {
    let mut live = Live::new();
    live.push(0, subscriber("webhook:1", "webhook", &[]));
    live.push(0, opened("api"));
    live.push(60, updated(60, true));
    let d = live.outbox.take_due(t(0), 10).remove(0);
    let events = receipts(
        &d,
        Attempted::Failed {
            error: "the receiver answered 429 Too Many Requests".into(),
            retry_after: Some(std::time::Duration::from_secs(1)),
        },
        t(0),
    );
    assert!(matches!(&events[0], Event::DeliveryFailed { next_at, .. } if *next_at == t(1)));

    let gone = receipts(
        &d,
        Attempted::Gone {
            error: "the receiver answered 410 Gone: the endpoint is disabled".into(),
        },
        t(2),
    );
    for e in gone {
        live.push(2, e);
    }
    assert!(live.audience.members["webhook:1"].disabled.is_some());
    live.push(120, updated(120, true));
    assert!(
        !live.outbox.list().iter().any(|d| d.composed.seq == 5),
        "nothing new is owed to a disabled endpoint"
    );
}

#[test]
fn whoever_heard_of_the_opening_hears_of_the_resolution() {
    let mut live = Live::new();
    live.push(0, subscriber("email:api@x.test", "email", &["api"]));
    live.push(0, opened("api"));
    live.push(
        30,
        Event::IncidentChanged {
            id: "cards".into(),
            reference: "INC-2026-1122-cards".into(),
            title: "Card payments failing".into(),
            components: BTreeMap::from([("checkout".to_string(), ComponentStatus::PartialOutage)]),
            impact: Impact::Major,
            postmortem_url: None,
        },
    );
    live.push(
        60,
        Event::IncidentResolved {
            id: "cards".into(),
            reference: "INC-2026-1122-cards".into(),
            duration_secs: 60,
            update: Some(update(60, IncidentStatus::Resolved, true)),
        },
    );
    let kinds: Vec<String> = live.owed().into_iter().map(|(_, k, _)| k).collect();
    assert_eq!(kinds, vec!["incident.opened", "incident.resolved"]);
}

#[test]
fn retry_after_is_a_wish_then_the_backoff_is_a_floor() {
    let mut live = Live::new();
    live.push(0, subscriber("webhook:1", "webhook", &[]));
    live.push(0, opened("api"));
    let mut d = live.outbox.take_due(t(0), 10).remove(0);
    let mut waits = Vec::new();
    for attempt in 0..5 {
        d.attempts = attempt;
        d.first_attempt = Some(t(0));
        let events = receipts(
            &d,
            Attempted::Failed {
                error: "the receiver answered 503 Service Unavailable".into(),
                retry_after: Some(std::time::Duration::from_secs(1)),
            },
            t(100),
        );
        let Event::DeliveryFailed { next_at, .. } = &events[0] else {
            panic!("{events:?}")
        };
        waits.push((*next_at - t(100)).num_seconds());
    }
    assert_eq!(waits, vec![1, 1, 5, 30, 120]);
}

#[test]
fn a_late_failure_receipt_does_not_revive_a_dead_delivery() {
    let mut live = Live::new();
    live.push(0, subscriber("webhook:1", "webhook", &[]));
    live.push(0, opened("api"));
    let d = live.outbox.take_due(t(0), 10).remove(0);
    live.push(
        1,
        Event::SubscriberDisabled {
            key: "webhook:1".into(),
            reason: "the receiver answered 410 Gone: the endpoint is disabled".into(),
        },
    );
    live.push(
        2,
        Event::DeliveryFailed {
            id: d.id.clone(),
            attempt: 1,
            error: "timed out".into(),
            next_at: t(7),
        },
    );
    assert_eq!(live.outbox.get(&d.id).unwrap().state, State::Dead);
    assert!(live.outbox.next_due().is_none());
}

#[test]
fn a_moved_window_is_told_and_a_reworded_one_is_not() {
    use crate::journal::MaintenanceWindow;
    let window = |start: i64, message: &str| MaintenanceWindow {
        title: "Database upgrade".into(),
        components: vec!["database".into()],
        starts_at: t(start),
        ends_at: t(start + 7200),
        message: message.into(),
    };
    let mut live = Live::new();
    live.push(0, subscriber("email:a@x.test", "email", &[]));
    live.push(
        0,
        Event::MaintenanceScheduled {
            id: "db".into(),
            window: window(86_400, "Read-only."),
        },
    );
    live.push(
        10,
        Event::MaintenanceChanged {
            id: "db".into(),
            window: window(86_400, "Read-only for two hours."),
        },
    );
    live.push(
        20,
        Event::MaintenanceChanged {
            id: "db".into(),
            window: window(172_800, "Read-only for two hours."),
        },
    );
    let kinds: Vec<String> = live.owed().into_iter().map(|(_, k, _)| k).collect();
    assert_eq!(kinds, vec!["maintenance.scheduled", "maintenance.changed"]);
    let moved = live.outbox.list()[1]
        .composed
        .notice(
            &live.config,
            crate::notify::notice::Reader::customer(chrono_tz::UTC),
        )
        .unwrap();
    assert_eq!(moved.headline, "Planned maintenance moved");
    assert!(
        moved.message.contains("24 November"),
        "the new times: {}",
        moved.message
    );
}

/// Who may hear of a component is in the journal: an incident of a component kept from
/// customers owes them nothing, and making the component public later, then replaying,
/// owes them nothing either: every replay tells the same people.
#[test]
fn what_was_kept_from_customers_stays_so_on_replay_whatever_the_config_says_now() {
    let mut operator = subscriber("operator:email:oncall@x.test", "email", &[]);
    if let Event::SubscriberConfirmed { subscriber, .. } = &mut operator {
        subscriber.audience = Some(crate::vocab::Role::Operator);
    }
    let mut live = Live::new();
    live.push(0, subscriber("email:all@x.test", "email", &[]))
        .push(0, operator)
        .push(
            0,
            Event::ComponentVisibility {
                component: "checkout".into(),
                public: false,
            },
        )
        .push(1, opened("checkout"));
    let owed: Vec<String> = live.owed().into_iter().map(|(s, _, _)| s).collect();
    assert_eq!(owed, ["operator:email:oncall@x.test"], "operators only");

    // The configuration now calls checkout public: a replay owes exactly the same.
    let mut config = live.config.clone();
    for c in &mut config.components {
        c.public = true;
    }
    let replayed = Fold::replay(&config, &live.records);
    let again: Vec<String> = replayed
        .outbox
        .list()
        .iter()
        .map(|d| d.subscriber.clone())
        .collect();
    assert_eq!(again, owed);
}
