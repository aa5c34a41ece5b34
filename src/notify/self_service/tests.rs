//! Self-service as a subscriber lives it: each answer, and the events that make it true,
//! folded back into the audience as the daemon would after appending them.

use super::*;
use crate::journal::Record;

const CONFIG: &str = r#"
[site]
title = "Acme Status"
base_url = "https://status.acme.test"
[site.contact]
email = "help@acme.test"

[[component]]
id = "checkout"
name = "Checkout"
[component.check]
url = "https://shop.acme.test/health"

[[component]]
id = "search"
name = "Search"
[component.check]
url = "https://shop.acme.test/search/health"

[[component]]
id = "queue"
name = "Job queue"
public = false
[component.check]
url = "https://queue.acme.test/health"
"#;

struct World {
    config: Config,
    audience: Audience,
    keys: Keys,
    now: DateTime<Utc>,
    seq: u64,
}

impl World {
    fn new() -> World {
        World {
            config: Config::parse(std::path::Path::new("forewarn.toml"), CONFIG, &|_| None)
                .unwrap_or_else(|e| panic!("{e}")),
            audience: Audience::default(),
            keys: Keys::from_secret(b"a secret of at least thirty-two bytes"),
            now: "2026-11-22T12:00:00Z".parse().unwrap(),
            seq: 0,
        }
    }

    fn desk(&self) -> Desk<'_> {
        Desk {
            config: &self.config,
            audience: &self.audience,
            keys: &self.keys,
            now: self.now,
        }
    }

    /// What the daemon does with an answer: append its events (folded here), reply.
    fn record<T>(&mut self, answer: Answer<T>) -> T {
        assert!(
            answer.events.is_empty() || !answer.failure.is_empty(),
            "events to record come with what to log if they cannot be"
        );
        for event in answer.events {
            self.seq += 1;
            self.audience.apply(&Record {
                seq: self.seq,
                at: self.now,
                more: false,
                event,
            });
        }
        answer.reply
    }

    fn member(&mut self, key: &str, source: &str) {
        let event = Event::SubscriberConfirmed {
            key: key.into(),
            subscriber: SubscriberRecord {
                channel: crate::vocab::Medium::Email,
                address: key.trim_start_matches("email:").into(),
                format: None,
                components: Vec::new(),
                timezone: None,
                source: source.into(),
                url: None,
                audience: None,
            },
        };
        self.record(Answer {
            reply: (),
            events: vec![event],
            failure: "cannot record a subscriber",
            log: None,
        });
    }
}

#[test]
fn a_sign_up_records_one_pending_subscriber_with_a_link_that_works_for_two_days() {
    let mut w = World::new();
    let answer = sign_up(
        &w.desk(),
        "Ana@Example.com",
        vec!["checkout".into(), "checkout".into()],
    );
    assert_eq!(answer.reply, SignUp::Accepted);
    let [
        Event::SubscriberPending {
            key,
            subscriber,
            expires_at,
        },
    ] = answer.events.as_slice()
    else {
        panic!("one pending subscriber, got {:?}", answer.events);
    };
    assert_eq!(subscriber.components, ["checkout"], "chosen once");
    assert_eq!(subscriber.source, SOURCE_SELF);
    assert_eq!(*expires_at, w.now + CONFIRM_WITHIN);
    let key = key.clone();
    w.record(answer);
    assert!(w.audience.pending.contains_key(&key));
}

#[test]
fn a_wrong_address_or_a_component_kept_from_customers_is_refused_and_nothing_recorded() {
    let w = World::new();
    let bad = sign_up(&w.desk(), "not an address", Vec::new());
    assert!(
        matches!(&bad.reply, SignUp::Invalid(m) if m.contains("is not an email address")),
        "{:?}",
        bad.reply
    );
    assert!(bad.events.is_empty());
    let hidden = sign_up(&w.desk(), "ana@example.com", vec!["queue".into()]);
    assert!(
        matches!(&hidden.reply, SignUp::Invalid(m) if m.contains("\"queue\" is not a part of this service")),
        "{:?}",
        hidden.reply
    );
    assert!(hidden.events.is_empty());
}

#[test]
fn three_confirmation_emails_a_day_then_the_same_answer_and_no_more_mail() {
    let mut w = World::new();
    for _ in 0..CONFIRMATIONS_PER_DAY {
        let answer = sign_up(&w.desk(), "ana@example.com", Vec::new());
        assert_eq!(answer.events.len(), 1);
        w.record(answer);
        w.now += TimeDelta::hours(1);
    }
    let fourth = sign_up(&w.desk(), "ana@example.com", Vec::new());
    assert_eq!(fourth.reply, SignUp::Accepted, "the answer everybody gets");
    assert!(fourth.events.is_empty(), "no fourth email today");
    w.now += TimeDelta::days(1);
    let tomorrow = sign_up(&w.desk(), "ana@example.com", Vec::new());
    assert_eq!(tomorrow.events.len(), 1, "a new day, a new email");
}

#[test]
fn someone_already_subscribed_gets_the_same_answer_and_no_email() {
    let mut w = World::new();
    w.member("email:ana@example.com", SOURCE_SELF);
    let answer = sign_up(&w.desk(), "ana@example.com", Vec::new());
    assert_eq!(answer.reply, SignUp::Accepted);
    assert!(answer.events.is_empty());
}

#[test]
fn a_confirmation_link_shows_then_confirms_once_and_stops_after_two_days() {
    let mut w = World::new();
    let pending = sign_up(&w.desk(), "ana@example.com", Vec::new());
    let Event::SubscriberPending {
        key, expires_at, ..
    } = &pending.events[0]
    else {
        panic!("pending");
    };
    let token = w.keys.confirm_token(key, *expires_at);
    w.record(pending);

    let look = confirm(&w.desk(), &token, false);
    assert_eq!(look.reply.as_deref(), Some("a…@example.com"));
    assert!(look.events.is_empty(), "opening the link confirms nothing");

    let yes = confirm(&w.desk(), &token, true);
    assert!(matches!(
        yes.events.as_slice(),
        [Event::SubscriberConfirmed { .. }]
    ));
    w.record(yes);
    assert!(w.audience.members.contains_key("email:ana@example.com"));

    let again = confirm(&w.desk(), &token, true);
    assert_eq!(
        again.reply.as_deref(),
        Some("a…@example.com"),
        "pressed twice"
    );
    assert!(again.events.is_empty());

    let mut late = World::new();
    let pending = sign_up(&late.desk(), "bo@example.com", Vec::new());
    let Event::SubscriberPending {
        key, expires_at, ..
    } = &pending.events[0]
    else {
        panic!("pending");
    };
    let token = late.keys.confirm_token(key, *expires_at);
    late.record(pending);
    late.now += CONFIRM_WITHIN + TimeDelta::minutes(1);
    assert_eq!(confirm(&late.desk(), &token, true).reply, None);
}

#[test]
fn an_unsubscribe_link_removes_once_and_then_says_done() {
    let mut w = World::new();
    w.member("email:ana@example.com", SOURCE_SELF);
    let token = w.keys.unsubscribe_token("email:ana@example.com");
    assert_eq!(lookup(&w.desk(), &token).as_deref(), Some("a…@example.com"));
    let first = unsubscribe(&w.desk(), &token);
    assert!(matches!(
        first.events.as_slice(),
        [Event::SubscriberRemoved { .. }]
    ));
    w.record(first);
    assert!(w.audience.members.is_empty());
    let second = unsubscribe(&w.desk(), &token);
    assert_eq!(second.reply.as_deref(), Some("a…@example.com"));
    assert!(second.events.is_empty(), "already gone: nothing to record");
    assert_eq!(lookup(&w.desk(), &token), None);
    assert_eq!(unsubscribe(&w.desk(), "nobody.at-all").reply, None);
}

#[test]
fn the_manage_page_saves_a_public_choice_and_explains_what_it_cannot_change() {
    let mut w = World::new();
    w.member("email:ana@example.com", SOURCE_SELF);
    w.member("email:ops@example.com", SOURCE_FILE);
    let token = w.keys.unsubscribe_token("email:ana@example.com");

    let shown = manage(&w.desk(), &token, None).reply.expect("a subscriber");
    let ids: Vec<&str> = shown
        .components
        .iter()
        .map(|(id, _, _)| id.as_str())
        .collect();
    assert_eq!(ids, ["checkout", "search"], "only public components");

    let set = manage(
        &w.desk(),
        &token,
        Some(vec!["checkout".into(), "checkout".into()]),
    );
    assert!(set.reply.as_ref().is_some_and(|m| m.saved));
    w.record(set);
    assert_eq!(
        w.audience.members["email:ana@example.com"]
            .record
            .components,
        ["checkout"]
    );
    let same = manage(&w.desk(), &token, Some(vec!["checkout".into()]));
    assert!(same.events.is_empty(), "nothing changed, nothing recorded");

    let hidden = manage(&w.desk(), &token, Some(vec!["queue".into()]));
    assert!(hidden.events.is_empty());
    assert!(
        hidden
            .reply
            .and_then(|m| m.problem)
            .is_some_and(|p| p.contains("\"queue\" is not a part of this service"))
    );

    let file = w.keys.unsubscribe_token("email:ops@example.com");
    let kept = manage(&w.desk(), &file, Some(vec!["search".into()]));
    assert!(kept.events.is_empty());
    let page = kept.reply.expect("a subscriber");
    assert!(page.from_file && !page.saved);
    assert!(page.problem.is_some_and(|p| p.contains("Our team keeps")));

    assert!(manage(&w.desk(), "nobody.at-all", None).reply.is_none());
}

#[test]
fn a_webhook_is_registered_once_with_its_secret_shown_that_once() {
    let mut w = World::new();
    let request = |url: &str, format: Option<&str>, components: &[&str]| WebhookRequest {
        url: url.into(),
        format: format.map(str::to_owned),
        components: components.iter().map(|c| c.to_string()).collect(),
    };
    let ok = register(
        &w.desk(),
        request("https://hooks.example.com/in/abc", None, &["checkout"]),
    );
    let registered = ok.reply.clone().expect("registered");
    assert!(
        registered
            .secret
            .as_deref()
            .is_some_and(|s| s.starts_with("whsec_"))
    );
    assert_eq!(registered.format, "standard");
    w.record(ok).expect("registered");
    assert!(w.audience.members.contains_key(&registered.id));

    let twice = register(
        &w.desk(),
        request("https://hooks.example.com/in/abc", None, &[]),
    );
    assert_eq!(twice.reply.unwrap_err().0, 409);
    let creds = register(
        &w.desk(),
        request("https://user:pw@hooks.example.com/", None, &[]),
    );
    assert_eq!(creds.reply.unwrap_err().0, 400);
    let unknown = register(
        &w.desk(),
        request("https://hooks.example.com/other", None, &["nope"]),
    );
    assert!(
        unknown
            .reply
            .unwrap_err()
            .1
            .contains("\"nope\" is not a configured component")
    );
    let slack = register(
        &w.desk(),
        request("https://hooks.slack.com/services/x", Some("slack"), &[]),
    );
    assert_eq!(
        slack.reply.expect("registered").secret,
        None,
        "Slack signs nothing"
    );
}
