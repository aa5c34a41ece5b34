//! Notifying subscribers, with the daemon as a real process and real peers: an SMTP
//! server receiving real SMTP, and an HTTP receiver verifying every Standard Webhooks
//! signature with an independent implementation.

mod common;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use common::peers::{ReceivedMail, Reply, SmtpPeer, WebhookPeer, free_port};
use common::{Behaviour, forewarn, http_peer, text, wait_until, write_config};
use forewarn::journal::{Event, Journal};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const SECRET_VAR: &str = "TEST_WEBHOOK_SECRET";

/// A healthy component (so the monitor itself opens nothing) plus extra config.
fn config(dir: &Path, healthy_url: &str, extra: &str) -> PathBuf {
    write_config(
        dir,
        &format!(
            "{extra}\n[[component]]\nid = \"api\"\nname = \"Public API\"\n[component.check]\nurl = \"{healthy_url}\"\nevery = \"1s\"\n\n[[component]]\nid = \"search\"\nname = \"Search\"\n[component.check]\nurl = \"{healthy_url}\"\nevery = \"1s\"\n"
        ),
    )
}

fn start(config: &Path, state: &Path) -> Child {
    common::start_daemon_logged(config, state, &[(SECRET_VAR, SECRET)])
}

/// Stop the daemon; returns its log.
fn stop(child: Child, state: &Path) -> String {
    let out = common::stop_daemon(child);
    let log = common::daemon_log(state);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "a log written to a file has no terminal colours"
    );
    log
}

fn incident_file(
    dir: &Path,
    id: &str,
    title: &str,
    component: &str,
    updates: &[(&str, &str, bool)],
) {
    let mut s = format!(
        "id = \"{id}\"\ntitle = {}\nimpact = \"major\"\n\n[components]\n{component} = \"partial_outage\"\n",
        toml_string(title)
    );
    for (n, (status, message, notify)) in updates.iter().enumerate() {
        s.push_str(&format!(
            "\n[[update]]\nat = 2026-11-22T10:{:02}:00Z\nstatus = \"{status}\"\nmessage = {}\n",
            n * 5,
            toml_string(message)
        ));
        if !notify {
            s.push_str("notify = false\n");
        }
        if *status == "resolved" {
            s.push_str("apology = \"We are sorry for the failed payments.\"\n");
        }
    }
    let path = dir.join("config/incidents");
    std::fs::create_dir_all(&path).unwrap();
    let tmp = path.join(format!(".{id}.tmp"));
    std::fs::write(&tmp, s).unwrap();
    std::fs::rename(tmp, path.join(format!("{id}.toml"))).unwrap();
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap() // JSON string escapes are valid TOML basic strings
}

fn parse(mail: &ReceivedMail) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default()
        .parse(mail.data.as_bytes())
        .expect("a parsable message")
}

fn outbox(config: &Path, state: &Path) -> String {
    let out = common::run_bounded(
        forewarn()
            .args(["outbox", "--config"])
            .arg(config)
            .arg("--state")
            .arg(state),
        Duration::from_secs(20),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn email_over_smtp_is_threaded_with_both_parts_and_one_click_unsubscribe() {
    let rt = common::background_runtime();
    let healthy = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let smtp = SmtpPeer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &healthy.url("/health"),
        &format!(
            "[email]\ntransport = \"smtp\"\nfrom = \"Test Status <status@test.example>\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\ntls = \"none\"\n",
            smtp.port()
        ),
    );
    std::fs::write(
        dir.path().join("config/subscribers.toml"),
        "[[email]]\naddress = \"ops@customer.example\"\n\n[[email]]\naddress = \"search-only@customer.example\"\ncomponents = [\"search\"]\n",
    )
    .unwrap();
    // A title that tries to add a header.
    let title = "Card payments failing\r\nBcc: victim@evil.example";
    incident_file(
        dir.path(),
        "cards",
        title,
        "api",
        &[("investigating", "Some card payments fail.", true)],
    );
    let state = dir.path().join("state");
    let daemon = start(&config, &state);
    smtp.wait_for(1, Duration::from_secs(20));
    incident_file(
        dir.path(),
        "cards",
        title,
        "api",
        &[
            ("investigating", "Some card payments fail.", true),
            ("identified", "A typo fix, nobody is told.", false),
            ("resolved", "Card payments work normally again.", true),
        ],
    );
    let mails = smtp.wait_for(2, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(500));
    let stderr = stop(daemon, &state);
    let mails = {
        let all = smtp.messages();
        assert_eq!(
            all.len(),
            2,
            "opening and resolution only: {mails:?}\n{stderr}"
        );
        all
    };
    for m in &mails {
        assert_eq!(
            m.to,
            vec!["ops@customer.example".to_string()],
            "the search-only subscriber hears nothing about the API"
        );
        let head = m.data.split("\r\n\r\n").next().unwrap();
        assert!(
            !head
                .lines()
                .any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
            "no injected header:\n{head}"
        );
    }
    let first = parse(&mails[0]);
    let second = parse(&mails[1]);
    // One subject for the whole incident (Gmail starts a new conversation when it
    // changes); where things stand is the first line instead.
    for m in [&first, &second] {
        assert_eq!(
            m.subject(),
            Some("Card payments failing Bcc: victim@evil.example (INC-2026-1122-cards)")
        );
        // Replies reach a person.
        assert_eq!(
            m.reply_to()
                .and_then(|r| r.first())
                .and_then(|a| a.address()),
            Some("help@test.example")
        );
        // The ways to reach a person are links in the HTML part.
        assert!(
            m.body_html(0)
                .unwrap()
                .contains("href=\"mailto:help@test.example?subject"),
            "{}",
            m.body_html(0).unwrap()
        );
    }
    assert!(
        first
            .body_text(0)
            .unwrap()
            .starts_with("Partial outage · Investigating")
    );
    assert!(second.body_text(0).unwrap().starts_with("Resolved"));
    for m in [&first, &second] {
        assert_eq!(m.text_body_count(), 1);
        assert_eq!(m.html_body_count(), 1);
        assert_eq!(
            m.header_raw("Auto-Submitted").map(str::trim),
            Some("auto-generated")
        );
        assert_eq!(
            m.header_raw("List-Unsubscribe-Post").map(str::trim),
            Some("List-Unsubscribe=One-Click")
        );
        let unsub = m.header_raw("List-Unsubscribe").unwrap();
        assert!(
            unsub.contains("<https://status.test.example/unsubscribe/"),
            "{unsub}"
        );
        assert!(unsub.contains("<mailto:help@test.example"), "{unsub}");
        assert!(m.header_raw("List-Id").unwrap().contains("Test Status"));
        let text = m.body_text(0).unwrap();
        assert!(
            text.contains("INC-2026-1122-cards"),
            "the reference to quote:\n{text}"
        );
        assert!(
            text.contains("help@test.example"),
            "how to reach a person:\n{text}"
        );
        assert!(
            text.contains("https://status.test.example/unsubscribe/"),
            "a visible unsubscribe link"
        );
        let html = m.body_html(0).unwrap();
        assert!(html.contains("Card payments failing"));
        assert!(html.contains(">Unsubscribe</a>"));
    }
    assert!(
        first
            .body_text(0)
            .unwrap()
            .contains("Some card payments fail.")
    );
    let resolved = second.body_text(0).unwrap();
    assert!(resolved.contains("Card payments work normally again."));
    assert!(resolved.contains("We are sorry for the failed payments."));
    assert!(resolved.contains("It lasted 10 minutes."), "{resolved}");
    assert!(!resolved.contains("typo fix"));
    // One conversation per incident.
    let root = first.message_id().unwrap();
    assert_eq!(second.in_reply_to().as_text(), Some(root));
    assert_eq!(second.references().as_text(), Some(root));
    assert_ne!(second.message_id(), Some(root));
}

#[test]
fn webhooks_are_signed_retried_disabled_and_filtered() {
    let rt = common::background_runtime();
    let healthy = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let receiver = rt.block_on(WebhookPeer::start(Some(SECRET)));
    let chat = rt.block_on(WebhookPeer::start(None));
    receiver.script(
        "/flaky",
        vec![
            Reply::StatusRetryAfter(500, "1".into()),
            Reply::StatusRetryAfter(503, "1".into()),
        ],
    );
    receiver.script("/gone", vec![Reply::Status(410)]);
    receiver.script("/hangs", vec![Reply::Hang]);
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &healthy.url("/health"),
        "[notify]\nwebhook_timeout = \"1s\"\n",
    );
    let hook = |path: &str, extra: &str| {
        format!(
            "[[webhook]]\nurl = \"{}\"\nsecret_env = \"{SECRET_VAR}\"\n{extra}\n",
            receiver.url(path)
        )
    };
    let subscribers = [
        hook("/ok", ""),
        hook("/flaky", ""),
        hook("/gone", ""),
        hook("/hangs", ""),
        hook("/search-only", "components = [\"search\"]"),
        format!(
            "[[webhook]]\nurl = \"{}\"\nformat = \"slack\"\n",
            chat.url("/slack")
        ),
        format!(
            "[[webhook]]\nurl = \"{}\"\nformat = \"discord\"\n",
            chat.url("/discord")
        ),
    ]
    .join("\n");
    let subscribers_path = dir.path().join("config/subscribers.toml");
    std::fs::write(&subscribers_path, &subscribers).unwrap();
    incident_file(
        dir.path(),
        "cards",
        "Card payments failing",
        "api",
        &[
            (
                "investigating",
                "Some card payments fail. <@everyone>",
                true,
            ),
            ("identified", "Silent correction.", false),
        ],
    );
    let state = dir.path().join("state");
    let daemon = start(&config, &state);
    let limit = Duration::from_secs(30);
    receiver.wait_until(
        limit,
        "the flaky receiver to accept on the third try",
        |r| r.iter().filter(|x| x.path == "/flaky").count() >= 3,
    );
    receiver.wait_until(limit, "the hanging receiver to be tried again", |r| {
        r.iter().filter(|x| x.path == "/hangs").count() >= 2
    });
    chat.wait_until(limit, "both chat messages", |r| r.len() >= 2);
    let listing = {
        let mut last = String::new();
        wait_until(limit, "nothing owed but the dead delivery", || {
            last = outbox(&config, &state);
            last.contains("dead") && !last.contains("pending") && !last.contains("failing")
        });
        last
    };
    assert!(listing.contains("Disabled:"), "{listing}");
    assert!(listing.contains("410"), "{listing}");

    let got = receiver.received();
    for r in &got {
        assert!(
            r.verified,
            "every webhook verifies with the standardwebhooks crate: {r:?}"
        );
        let json = r.json.as_ref().unwrap();
        assert_eq!(json["type"], "incident.opened");
        assert_eq!(json["data"]["incident"]["name"], "Card payments failing");
        assert_eq!(
            json["data"]["incident"]["status"], "investigating",
            "the incident as it stood when the notice was made"
        );
        assert_eq!(
            json["data"]["page_url"],
            "https://status.test.example/incidents/INC-2026-1122-cards.html"
        );
    }
    assert!(
        !got.iter().any(|r| r.path == "/search-only"),
        "filtered out"
    );
    let by_path = |p: &str| got.iter().filter(|r| r.path == p).collect::<Vec<_>>();
    assert_eq!(
        by_path("/ok").len(),
        1,
        "one notice: the silent correction sends nothing"
    );
    let flaky = by_path("/flaky");
    assert_eq!(flaky.len(), 3);
    assert!(
        flaky.iter().all(|r| r.webhook_id == flaky[0].webhook_id),
        "same id on every attempt"
    );
    let flaky_id = flaky[0].webhook_id.clone().unwrap();
    let attempts: Vec<(String, u32)> = Journal::read(&state)
        .unwrap()
        .records
        .iter()
        .filter_map(|r| match &r.event {
            Event::DeliveryFailed { id, attempt, .. } if *id == flaky_id => {
                Some(("failed".to_string(), *attempt))
            }
            Event::DeliverySucceeded { id, attempt } if *id == flaky_id => {
                Some(("succeeded".to_string(), *attempt))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        attempts,
        vec![
            ("failed".into(), 1),
            ("failed".into(), 2),
            ("succeeded".into(), 3)
        ],
        "every attempt is in the journal"
    );
    assert_eq!(by_path("/gone").len(), 1, "410: never tried again");
    assert_eq!(by_path("/hangs").len(), 2, "timed out once, then delivered");

    // A tampered body fails independent verification.
    let ok = &by_path("/ok")[0];
    let wh = standardwebhooks::Webhook::new(SECRET).unwrap();
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        "webhook-id",
        ok.webhook_id.clone().unwrap().parse().unwrap(),
    );
    headers.insert(
        "webhook-timestamp",
        ok.timestamp.clone().unwrap().parse().unwrap(),
    );
    headers.insert(
        "webhook-signature",
        ok.signature.clone().unwrap().parse().unwrap(),
    );
    assert!(wh.verify(ok.body.as_bytes(), &headers).is_ok());
    let tampered = ok.body.replace("Card payments", "Card paymentz");
    assert!(wh.verify(tampered.as_bytes(), &headers).is_err());

    // Chat formats carry the same notice, and operator text pings nobody.
    let chats = chat.received();
    let slack = chats
        .iter()
        .find(|r| r.path == "/slack")
        .unwrap()
        .json
        .clone()
        .unwrap();
    assert!(
        slack["text"]
            .as_str()
            .unwrap()
            .contains("INC-2026-1122-cards")
    );
    let slack_text = slack.to_string();
    assert!(
        slack_text.contains("&lt;@everyone&gt;"),
        "Slack markup escaped: {slack_text}"
    );
    let discord = chats
        .iter()
        .find(|r| r.path == "/discord")
        .unwrap()
        .json
        .clone()
        .unwrap();
    assert_eq!(discord["allowed_mentions"]["parse"], serde_json::json!([]));
    assert!(
        discord["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .contains("help@test.example")
    );

    // The operator fixes the endpoint, re-enables it by editing its entry, and retries.
    let dead_id = by_path("/gone")[0].webhook_id.clone().unwrap();
    std::fs::write(
        &subscribers_path,
        subscribers.replace(
            &format!("{}\"\nsecret_env", receiver.url("/gone")),
            &format!(
                "{}\"\ncomponents = [\"api\", \"search\"]\nsecret_env",
                receiver.url("/gone")
            ),
        ),
    )
    .unwrap();
    wait_until(limit, "the endpoint to be enabled again", || {
        Journal::read(&state)
            .map(|r| {
                r.records
                    .iter()
                    .any(|r| matches!(&r.event, Event::SubscriberUpdated { .. }))
            })
            .unwrap_or(false)
    });
    let out = common::run_bounded(
        forewarn()
            .args(["outbox", "retry", &dead_id, "--config"])
            .arg(&config)
            .arg("--state")
            .arg(&state),
        Duration::from_secs(20),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("running daemon"),
        "{}",
        text(&out.stdout)
    );
    receiver.wait_until(limit, "the retried delivery", |r| {
        r.iter().filter(|x| x.path == "/gone").count() == 2
    });
    let again = receiver.received();
    let gone: Vec<_> = again.iter().filter(|r| r.path == "/gone").collect();
    assert_eq!(
        gone[1].webhook_id.as_deref(),
        Some(dead_id.as_str()),
        "same id: receivers can de-duplicate"
    );
    wait_until(limit, "an empty outbox", || {
        outbox(&config, &state).contains("Nothing owed")
    });
    stop(daemon, &state);
}

#[test]
fn mail_waits_for_a_server_that_is_down_then_arrives_in_order() {
    let rt = common::background_runtime();
    let healthy = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &healthy.url("/health"),
        &format!(
            "[email]\ntransport = \"smtp\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {port}\ntls = \"none\"\n"
        ),
    );
    std::fs::write(
        dir.path().join("config/subscribers.toml"),
        "[[email]]\naddress = \"a@customer.example\"\n[[email]]\naddress = \"b@customer.example\"\n",
    )
    .unwrap();
    incident_file(
        dir.path(),
        "cards",
        "Card payments failing",
        "api",
        &[
            ("investigating", "First.", true),
            ("identified", "Second.", true),
            ("monitoring", "Third.", true),
        ],
    );
    let state = dir.path().join("state");
    let daemon = start(&config, &state);
    wait_until(
        Duration::from_secs(20),
        "failed attempts to be recorded",
        || outbox(&config, &state).contains("failing"),
    );
    let smtp = SmtpPeer::start_on(port);
    let mails = smtp.wait_for(6, Duration::from_secs(30));
    wait_until(Duration::from_secs(20), "the receipts", || {
        outbox(&config, &state).contains("Nothing owed")
    });
    stop(daemon, &state);
    let status = common::run_bounded(
        forewarn()
            .args(["status", "--config"])
            .arg(&config)
            .arg("--state")
            .arg(&state),
        Duration::from_secs(20),
    );
    let said = text(&status.stdout);
    assert!(
        said.contains("Subscribers: 2 by email, 0 webhooks. Deliveries owed: 0"),
        "{said}"
    );
    for who in ["a@customer.example", "b@customer.example"] {
        let theirs: Vec<String> = mails
            .iter()
            .filter(|m| m.to == vec![who.to_string()])
            .map(|m| parse(m).body_text(0).unwrap().into_owned())
            .collect();
        assert_eq!(theirs.len(), 3, "{who}: every notice, once");
        for (n, word) in ["First.", "Second.", "Third."].iter().enumerate() {
            assert!(
                theirs[n].contains(word),
                "{who}: notice {n} is \"{word}\": {}",
                theirs[n]
            );
        }
    }
}

#[test]
fn config_errors_in_subscribers_and_email_name_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        "http://127.0.0.1:9/",
        "[email]\ntransport = \"smtp\"\nsmtp_host = \"smtp.example.com\"\ntls = \"none\"\nusername = \"status\"\npassword_env = \"NO_SUCH_PASSWORD_VAR\"\n",
    );
    std::fs::write(
        dir.path().join("config/subscribers.toml"),
        "[[email]]\naddress = \"not an address\"\n\n[[email]]\naddress = \"ok@example.com\"\ncomponents = [\"serch\"]\n\n[[webhook]]\nurl = \"https://hooks.example.com/x\"\nformat = \"standard\"\n\n[[webhook]]\nurl = \"https://user:pw@hooks.example.com/y\"\nformat = \"slack\"\n\n[[operator]]\naddress = \"oncall@example.com\"\nurl = \"https://hooks.example.com/z\"\n\n[[operator]]\naddres = \"oncall@example.com\"\n",
    )
    .unwrap();
    let out = common::run_bounded(
        forewarn().args(["check", "--config"]).arg(&config),
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    for want in [
        "forewarn.toml:13:7: email.tls: \"none\" would send mail and the password in clear text to smtp.example.com",
        "forewarn.toml:15:16: email.password_env: environment variable NO_SUCH_PASSWORD_VAR is not set",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }

    // With the mail settings fixed, the subscribers file is checked against them.
    let config = self::config(dir.path(), "http://127.0.0.1:9/", "");
    let out = common::run_bounded(
        forewarn().args(["check", "--config"]).arg(&config),
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    for want in [
        "subscribers.toml:2:",
        "address: \"not an address\" is not an email address",
        "subscribers.toml:6:",
        "\"serch\" is not a configured component (did you mean \"search\"?)",
        "secret_env: is required",
        "url: holds credentials (user:password@)",
        "subscribers.toml:16:1: operator #1 (line 16): address: give an address (email) or a url (webhook), not both",
        "subscribers.toml:21:1: operator #2 (line 20): addres: unknown key; did you mean \"address\"?",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
}

#[test]
fn operators_can_send_a_test_notice_and_preview_what_subscribers_get() {
    let rt = common::background_runtime();
    let healthy = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let receiver = rt.block_on(WebhookPeer::start(Some(SECRET)));
    receiver.script("/broken", vec![Reply::Status(500)]);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &healthy.url("/health"), "");
    let state = dir.path().join("state");
    let cli = |args: &[&str]| {
        common::run_bounded(
            forewarn()
                .env(SECRET_VAR, SECRET)
                .args(args)
                .arg("--config")
                .arg(&config)
                .arg("--state")
                .arg(&state),
            Duration::from_secs(30),
        )
    };

    let out = cli(&["notify-test", "--email", "me@customer.example"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    let eml = said
        .split_whitespace()
        .find(|w| w.ends_with(".eml"))
        .unwrap_or_else(|| panic!("names the .eml file: {said}"));
    let mail = std::fs::read_to_string(eml).unwrap();
    assert!(mail.contains("To: me@customer.example"), "{mail}");
    assert!(mail.contains("Test notice"), "{mail}");
    // No page exists for a test notice: its link is the status page itself.
    assert!(!mail.contains("/incidents/"), "{mail}");
    assert!(mail.contains("https://status.test.example/"), "{mail}");

    let out = cli(&[
        "notify-test",
        "--webhook",
        &receiver.url("/hook"),
        "--secret-env",
        SECRET_VAR,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = receiver.wait_until(Duration::from_secs(10), "the test webhook", |r| {
        !r.is_empty()
    });
    assert!(got[0].verified);
    let data = &got[0].json.as_ref().unwrap()["data"];
    assert_eq!(data["test"], true);
    assert_eq!(data["page_url"], "https://status.test.example/");
    assert_eq!(
        data["incident"]["shortlink"],
        "https://status.test.example/"
    );

    let out = cli(&[
        "notify-test",
        "--webhook",
        &receiver.url("/broken"),
        "--secret-env",
        SECRET_VAR,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not delivered: the receiver answered 500"),
        "{}",
        text(&out.stderr)
    );

    // Preview an incident the daemon recorded.
    incident_file(
        dir.path(),
        "cards",
        "Card payments failing",
        "api",
        &[("investigating", "Some card payments fail.", true)],
    );
    let daemon = start(&config, &state);
    wait_until(
        Duration::from_secs(20),
        "the incident to be recorded",
        || {
            Journal::read(&state)
                .map(|r| {
                    r.records
                        .iter()
                        .any(|r| matches!(r.event, Event::IncidentOpened { .. }))
                })
                .unwrap_or(false)
        },
    );
    stop(daemon, &state);
    let out = cli(&["preview", "INC-2026-1122-cards"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let email = text(&out.stdout);
    assert!(
        email.contains("Subject: Card payments failing (INC-2026-1122-cards)"),
        "{email}"
    );
    assert!(email.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    let out = cli(&["preview", "cards", "--channel", "slack"]);
    let slack: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        slack["text"]
            .as_str()
            .unwrap()
            .contains("INC-2026-1122-cards")
    );
    let out = cli(&["preview", "cards", "--channel", "statuspage"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    let body: serde_json::Value =
        serde_json::from_str(shown.split_once("\n\n").map(|(_, b)| b).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}: {shown}"));
    assert_eq!(body["incident"]["name"], "Card payments failing");
    assert_eq!(body["page"]["status_indicator"], "major", "{body}");
    let out = cli(&["preview", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no incident nope"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn mail_goes_over_starttls_with_a_password_from_the_environment() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let dir = tempfile::tempdir().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Test mail CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let (cert_path, key_path) = (dir.path().join("mail.pem"), dir.path().join("mail.key"));
    std::fs::write(&cert_path, leaf.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let smtp = SmtpPeer::start_tls(
        cert_path.to_str().unwrap(),
        key_path.to_str().unwrap(),
        "correct horse",
    );

    let rt = common::background_runtime();
    let healthy = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let config = config(
        dir.path(),
        &healthy.url("/health"),
        &format!(
            "[email]\ntransport = \"smtp\"\nsmtp_host = \"localhost\"\nsmtp_port = {}\ntls = \"starttls\"\nca_file = \"mail-ca.pem\"\nusername = \"status\"\npassword_env = \"TEST_SMTP_PASSWORD\"\n",
            smtp.port()
        ),
    );
    std::fs::write(dir.path().join("config/mail-ca.pem"), ca.pem()).unwrap();
    let state = dir.path().join("state");
    let out = common::run_bounded(
        forewarn()
            .env("TEST_SMTP_PASSWORD", "correct horse")
            .args(["notify-test", "--email", "me@customer.example", "--config"])
            .arg(&config)
            .arg("--state")
            .arg(&state),
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mails = smtp.wait_for(1, Duration::from_secs(10));
    assert_eq!(mails[0].to, vec!["me@customer.example".to_string()]);
    assert_eq!(smtp.logins(), vec!["status".to_string()]);

    // A wrong password is an error the operator can read, and it is not printed.
    let out = common::run_bounded(
        forewarn()
            .env("TEST_SMTP_PASSWORD", "wrong battery")
            .args(["notify-test", "--email", "me@customer.example", "--config"])
            .arg(&config)
            .arg("--state")
            .arg(&state),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("not delivered"), "{err}");
    assert!(
        !err.contains("wrong battery"),
        "the password never shows: {err}"
    );
}

#[test]
fn dead_deliveries_are_listed_as_json_and_retried_while_the_daemon_is_stopped() {
    let rt = common::background_runtime();
    let healthy = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let receiver = rt.block_on(WebhookPeer::start(Some(SECRET)));
    receiver.script("/gone", vec![Reply::Status(410)]);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &healthy.url("/health"), "");
    let entry = format!(
        "[[webhook]]\nurl = \"{}\"\nsecret_env = \"{SECRET_VAR}\"\n",
        receiver.url("/gone")
    );
    let subscribers = dir.path().join("config/subscribers.toml");
    std::fs::write(&subscribers, &entry).unwrap();
    incident_file(
        dir.path(),
        "cards",
        "Card payments failing",
        "api",
        &[("investigating", "Some card payments fail.", true)],
    );
    let state = dir.path().join("state");
    let daemon = start(&config, &state);
    receiver.wait_until(Duration::from_secs(20), "the 410", |r| r.len() == 1);
    wait_until(Duration::from_secs(20), "the delivery to be dead", || {
        outbox(&config, &state).contains("dead")
    });
    stop(daemon, &state);

    let cli = |args: &[&str]| {
        common::run_bounded(
            forewarn()
                .args(args)
                .arg("--config")
                .arg(&config)
                .arg("--state")
                .arg(&state),
            Duration::from_secs(20),
        )
    };
    let listed = cli(&["outbox", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    assert_eq!(json["deliveries"][0]["state"], "dead", "{json}");
    assert_eq!(
        json["deliveries"][0]["notice"],
        "incident.opened INC-2026-1122-cards"
    );
    assert!(
        json["disabled"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("410")
    );
    let bad = cli(&["outbox", "retry", "msg_nope"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("cannot retry msg_nope"),
        "{}",
        text(&bad.stderr)
    );

    // The endpoint is back: its entry changes, every dead delivery is queued again with
    // the daemon stopped, and the next start sends it, under the same id.
    std::fs::write(&subscribers, format!("{entry}components = [\"api\"]\n")).unwrap();
    let retried = cli(&["outbox", "retry", "--all"]);
    assert!(retried.status.success(), "{}", text(&retried.stderr));
    assert!(
        text(&retried.stdout).contains("1 delivery queued again"),
        "{}",
        text(&retried.stdout)
    );
    let daemon = start(&config, &state);
    let got = receiver.wait_until(Duration::from_secs(20), "the retry", |r| r.len() == 2);
    assert_eq!(got[1].webhook_id, got[0].webhook_id);
    assert_eq!(got[1].status_sent, 200);
    wait_until(Duration::from_secs(20), "an empty outbox", || {
        outbox(&config, &state).contains("Nothing owed")
    });
    stop(daemon, &state);
}
