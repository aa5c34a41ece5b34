//! One messy afternoon, told by the real daemon to real peers on 127.0.0.1: two
//! incidents at once, one that escalates, a certificate nearing expiry, a component that
//! is not public, a fix that lands before the operator writes "monitoring", an ETA that
//! passes. After each step the status page, `api/v2`, a customer's email, the operator's
//! email and a signed webhook are read, for what they must say and what they must not.
//!
//! Each row is one moment of the afternoon: what happens, what to wait for, and what
//! every channel must (not) say then.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::peers::{Received, SmtpPeer, WebhookPeer};
use common::{Behaviour, forewarn, http_peer, run_bounded, switchable, text, wait_until};
use forewarn::journal::{Event, Journal};
use serde_json::Value;

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const SECRET_VAR: &str = "AFTERNOON_WEBHOOK_SECRET";
const CUSTOMER: &str = "customer@shop.test";
const ONCALL: &str = "oncall@shop.test";
const LIMIT: Duration = Duration::from_secs(30);

/// A mail as a reader sees it.
#[derive(Debug, Clone)]
struct Mail {
    subject: String,
    text: String,
    html: String,
}

struct Afternoon {
    dir: tempfile::TempDir,
    config: PathBuf,
    state: PathBuf,
    smtp: SmtpPeer,
    hooks: WebhookPeer,
    checkout: Arc<Mutex<Behaviour>>,
    search: Arc<Mutex<Behaviour>>,
    daemon: Option<common::Running>,
    /// References of the incidents, once opened.
    checkout_ref: String,
    search_ref: String,
}

impl Afternoon {
    fn site(&self, rel: &str) -> String {
        std::fs::read_to_string(self.state.with_file_name("site").join(rel)).unwrap_or_default()
    }

    fn api(&self, rel: &str) -> Value {
        serde_json::from_str(&self.site(&format!("api/v2/{rel}"))).unwrap_or(Value::Null)
    }

    fn mails(&self, to: &str) -> Vec<Mail> {
        self.smtp
            .messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == to))
            .map(|m| {
                let parsed = mail_parser::MessageParser::default()
                    .parse(m.data.as_bytes())
                    .expect("a parsable message");
                Mail {
                    subject: parsed.subject().unwrap_or_default().to_owned(),
                    text: parsed.body_text(0).unwrap_or_default().into_owned(),
                    html: parsed.body_html(0).unwrap_or_default().into_owned(),
                }
            })
            .collect()
    }

    /// The newest mail to `to` whose text contains `needle`.
    fn mail(&self, to: &str, needle: &str) -> Option<Mail> {
        self.mails(to)
            .into_iter()
            .rev()
            .find(|m| m.text.contains(needle) || m.subject.contains(needle))
    }

    fn webhooks(&self) -> Vec<Received> {
        self.hooks.received()
    }

    /// The newest webhook of `kind` about `reference`.
    fn webhook(&self, kind: &str, reference: &str) -> Option<Value> {
        self.webhooks()
            .into_iter()
            .rev()
            .filter(|r| r.verified)
            .filter_map(|r| r.json)
            .find(|j| {
                j["type"] == kind && j["data"]["incident"]["reference"].as_str() == Some(reference)
            })
    }

    fn journal_has(&self, pred: impl Fn(&Event) -> bool) -> bool {
        Journal::read(&self.state)
            .map(|r| r.records.iter().any(|r| pred(&r.event)))
            .unwrap_or(false)
    }

    fn reference_of(&self, component: &str) -> String {
        Journal::read(&self.state)
            .ok()
            .and_then(|r| {
                r.records.iter().rev().find_map(|r| match &r.event {
                    Event::IncidentOpened {
                        reference,
                        components,
                        ..
                    } if components.contains_key(component) => Some(reference.clone()),
                    _ => None,
                })
            })
            .unwrap_or_default()
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = run_bounded(
            forewarn()
                .args(args)
                .arg("--config")
                .arg(&self.config)
                .arg("--state")
                .arg(&self.state),
            Duration::from_secs(20),
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// The component's row on the front page.
    fn row(&self, name: &str) -> String {
        let page = self.site("index.html");
        let start = page
            .find(&format!(".html\">{name}</a>"))
            .unwrap_or(page.len());
        let rest = &page[start..];
        let end = [rest.find("<div class=\"comp\">"), rest.find("</section>")]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(rest.len());
        rest[..end].to_owned()
    }
}

/// The Message-IDs of every mail to `to`, in arrival order.
fn message_ids(a: &Afternoon, to: &str) -> Vec<String> {
    a.smtp
        .messages()
        .into_iter()
        .filter(|m| m.to.iter().any(|t| t == to))
        .filter_map(|m| {
            mail_parser::MessageParser::default()
                .parse(m.data.as_bytes())
                .and_then(|p| p.message_id().map(str::to_owned))
        })
        .collect()
}

/// What a row checks; failures are collected so one run reports every untruth.
struct Check<'a> {
    step: &'a str,
    failures: &'a mut Vec<String>,
}

impl Check<'_> {
    fn says(&mut self, channel: &str, text: &str, expected: &str) {
        if !text.contains(expected) {
            self.failures.push(format!(
                "{}: {channel} should say {expected:?}:\n{}",
                self.step,
                excerpt(text)
            ));
        }
    }

    fn never(&mut self, channel: &str, text: &str, forbidden: &str) {
        if text.contains(forbidden) {
            self.failures.push(format!(
                "{}: {channel} must not say {forbidden:?}:\n{}",
                self.step,
                excerpt(text)
            ));
        }
    }

    fn holds(&mut self, what: &str, ok: bool) {
        if !ok {
            self.failures.push(format!("{}: {what}", self.step));
        }
    }
}

fn excerpt(s: &str) -> String {
    s.chars().take(3000).collect()
}

/// One moment of the afternoon.
struct Row {
    name: &'static str,
    act: fn(&mut Afternoon),
    /// What marks the moment as reached (bounded wait).
    reached: fn(&Afternoon) -> bool,
    check: fn(&Afternoon, &mut Check<'_>),
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            name: "1. a calm start: a certificate with 5 days left, a private queue that is down",
            act: |_| {},
            reached: |a| {
                a.mail(ONCALL, "A certificate expires soon").is_some()
                    && a.mail(ONCALL, "Problem with Internal queue").is_some()
                    && a.site("index.html").contains("All systems operational")
            },
            check: |a, c| {
                let alert = a.mail(ONCALL, "A certificate expires soon").unwrap();
                c.says("operator email", &alert.subject, "[Operator alert]");
                c.says("operator email", &alert.text, "The certificate of Website");
                c.says("operator email", &alert.text, "expires in 5 days");
                c.says(
                    "operator email",
                    &alert.text,
                    "Customers have not been told",
                );
                // Customers hear nothing of a certificate that still works, nor of a
                // component that is not public.
                c.holds(
                    "the customer got no email at all",
                    a.mails(CUSTOMER).is_empty(),
                );
                let page = a.site("index.html");
                c.says("page", &page, "All systems operational");
                c.never("page", &page, "Degraded performance");
                c.never("page", &page, "Internal queue");
                c.never("page", &page, "certificate");
                let summary = a.api("summary.json").to_string();
                c.never("api summary", &summary, "Internal queue");
                c.never("api summary", &summary, "\"queue\"");
                c.holds(
                    "no webhook tells customers of the queue or the certificate",
                    a.webhooks()
                        .iter()
                        .all(|r| !r.body.contains("queue") && !r.body.contains("certificate")),
                );
                let ops = a.mail(ONCALL, "Problem with Internal queue").unwrap();
                c.says(
                    "operator email",
                    &ops.text,
                    "Affected: Internal queue (major outage)",
                );
            },
        },
        Row {
            name: "2. checkout fails",
            act: |a| *a.checkout.lock().unwrap() = Behaviour::Status(500),
            reached: |a| {
                a.mail(CUSTOMER, "Problem with Checkout").is_some()
                    && a.site("index.html").contains("Major outage")
                    && a.webhook("incident.opened", &a.reference_of("checkout"))
                        .is_some()
            },
            check: |a, c| {
                let mail = a.mail(CUSTOMER, "Problem with Checkout").unwrap();
                c.holds(
                    "the subject is the component and the reference",
                    mail.subject
                        == format!("Problem with Checkout ({})", a.reference_of("checkout")),
                );
                c.holds(
                    "the first line says where things stand",
                    mail.text.starts_with("Major outage · Investigating"),
                );
                c.says(
                    "customer email",
                    &mail.text,
                    "Affected: Checkout (major outage)",
                );
                c.says(
                    "customer email html",
                    &mail.html,
                    "href=\"mailto:help@shop.test?subject",
                );
                let row = a.row("Checkout");
                c.says("checkout row", &row, "Major outage");
                // The hour in progress counts: a figure below 100% beside a major
                // outage, never "100%" nor "No data yet".
                c.says("checkout row", &row, "% of checks passed");
                c.never("checkout row", &row, "100% of checks passed");
                c.never("checkout row", &row, "all checks passed");
                c.never("checkout row", &row, "No data yet");
                let hook = a
                    .webhook("incident.opened", &a.reference_of("checkout"))
                    .unwrap();
                c.holds(
                    "the webhook names the incident as critical",
                    hook["data"]["incident"]["impact"] == "critical",
                );
            },
        },
        Row {
            name: "3. search slows down while checkout is still out",
            act: |a| {
                a.checkout_ref = a.reference_of("checkout");
                *a.search.lock().unwrap() = Behaviour::Slow(Duration::from_millis(700));
            },
            reached: |a| {
                a.mail(CUSTOMER, "Problem with Search").is_some()
                    && a.site("index.html")
                        .contains("Search: degraded performance")
            },
            check: |a, c| {
                let page = a.site("index.html");
                let (checkout, search) = (
                    page.find("Checkout: major outage").unwrap_or(usize::MAX),
                    page.find("Search: degraded performance").unwrap_or(0),
                );
                c.holds(
                    "what is happening now lists the critical checkout first",
                    checkout < search,
                );
                c.says(
                    "page",
                    &page,
                    &format!("Contact us quoting <strong>{}</strong>", a.checkout_ref),
                );
                let ids: Vec<String> = a.api("incidents/unresolved.json")["incidents"]
                    .as_array()
                    .map(|v| v.iter().map(|i| i["reference"].to_string()).collect())
                    .unwrap_or_default();
                c.holds(
                    "the API lists the critical incident first",
                    ids.first().is_some_and(|r| r.contains(&a.checkout_ref)),
                );
                let mail = a.mail(CUSTOMER, "Problem with Search").unwrap();
                c.holds(
                    "a slowdown is told as one",
                    mail.text
                        .starts_with("Degraded performance · Investigating"),
                );
            },
        },
        Row {
            name: "4. the search slowdown becomes an outage",
            act: |a| {
                a.search_ref = a.reference_of("search");
                *a.search.lock().unwrap() = Behaviour::Status(503);
            },
            reached: |a| {
                a.mail(CUSTOMER, "has become worse").is_some()
                    && a.site("index.html").contains("Search: major outage")
            },
            check: |a, c| {
                let mail = a.mail(CUSTOMER, "has become worse").unwrap();
                c.holds(
                    "the escalation keeps the incident's subject",
                    mail.subject == format!("Problem with Search ({})", a.search_ref),
                );
                c.holds(
                    "and says where things stand now",
                    mail.text.starts_with("Major outage · Investigating"),
                );
                c.says("customer email", &mail.text, "Search: major outage");
                c.never("customer email", &mail.text, "Search: degraded performance");
                let history = a.api("incidents.json").to_string();
                c.never("api incidents", &history, "Search: degraded performance");
                let hook = a.webhook("incident.updated", &a.search_ref);
                c.holds(
                    "the webhook follows the escalation",
                    hook.is_some_and(|h| {
                        h["data"]["incident"]["name"] == "Search: major outage"
                            && h["data"]["incident"]["impact"] == "critical"
                    }),
                );
            },
        },
        Row {
            name: "4b. forewarn restarts in the middle of it all",
            act: |a| {
                let old = a.daemon.take().expect("daemon").stop();
                assert_eq!(old.status.code(), Some(0));
                a.daemon = Some(common::Running::new(common::start_daemon_logged(
                    &a.config,
                    &a.state,
                    &[(SECRET_VAR, SECRET)],
                )));
            },
            reached: |a| {
                common::daemon_log(&a.state)
                    .matches("monitoring started")
                    .count()
                    == 2
            },
            check: |a, c| {
                // Give it a few probe rounds: nothing already told is told again.
                std::thread::sleep(Duration::from_secs(3));
                let ids = message_ids(a, CUSTOMER);
                let mut unique = ids.clone();
                unique.sort();
                unique.dedup();
                c.holds(
                    "no customer email was sent twice across the restart",
                    unique.len() == ids.len(),
                );
                let open = a.api("incidents/unresolved.json")["incidents"]
                    .as_array()
                    .map_or(0, |v| v.len());
                c.holds("no incident was opened again: two are open", open == 2);
            },
        },
        Row {
            name: "5. the operator identifies the checkout fault, with an ETA in 8 seconds",
            act: |a| {
                a.cli(&[
                    "incident",
                    "update",
                    &a.checkout_ref.clone(),
                    "--status",
                    "identified",
                    "--message",
                    "A faulty release; we are rolling it back.",
                    "--eta",
                    "8s",
                ]);
            },
            reached: |a| a.mail(CUSTOMER, "A faulty release").is_some(),
            check: |a, c| {
                let mail = a.mail(CUSTOMER, "A faulty release").unwrap();
                c.says("customer email", &mail.text, "We expect a fix by");
                c.holds(
                    "one subject for the whole incident",
                    mail.subject == format!("Problem with Checkout ({})", a.checkout_ref),
                );
                let hook = a.webhook("incident.updated", &a.checkout_ref);
                c.holds(
                    "machines read the ETA too",
                    hook.is_some_and(|h| h["data"]["incident"]["eta"].is_string()),
                );
                c.holds(
                    "operators are told the promise is close",
                    a.mail(ONCALL, "A promised update is due").is_some(),
                );
            },
        },
        Row {
            name: "6. checkout is fixed before anyone writes, and the ETA passes",
            act: |a| *a.checkout.lock().unwrap() = Behaviour::Ok("ok"),
            reached: |a| {
                a.mail(CUSTOMER, "we are making sure they stay that way")
                    .is_some()
            },
            check: |a, c| {
                let mail = a
                    .mail(CUSTOMER, "we are making sure they stay that way")
                    .unwrap();
                c.says(
                    "customer email",
                    &mail.text,
                    "Affected: Checkout (working normally again)",
                );
                c.says("customer email", &mail.text, "Our next update will be by");
                c.never("customer email", &mail.text, "We expect a fix by");
                c.never("customer email", &mail.text, "(major outage)");
                c.never(
                    "customer email",
                    &mail.text,
                    "taking longer than we expected",
                );
                let row = a.row("Checkout");
                c.says("checkout row", &row, "Operational");
            },
        },
        Row {
            name: "7. the operator writes \"monitoring\" after the fix",
            act: |a| {
                a.cli(&[
                    "incident",
                    "update",
                    &a.checkout_ref.clone(),
                    "--status",
                    "monitoring",
                    "--message",
                    "The rollback is done; we are watching payments.",
                ]);
            },
            reached: |a| a.mail(CUSTOMER, "we are watching payments").is_some(),
            check: |a, c| {
                let mail = a.mail(CUSTOMER, "we are watching payments").unwrap();
                c.holds(
                    "the first line says it recovered",
                    mail.text.starts_with("Recovered · Monitoring"),
                );
                c.says(
                    "customer email",
                    &mail.text,
                    "Checkout (working normally again)",
                );
                c.never("customer email", &mail.text, "We expect a fix by");
                c.never("customer email", &mail.text, "(major outage)");
                c.holds(
                    "still one subject",
                    mail.subject == format!("Problem with Checkout ({})", a.checkout_ref),
                );
            },
        },
        Row {
            name: "8. the operator resolves checkout with an apology and a credit",
            act: |a| {
                a.cli(&[
                    "incident",
                    "resolve",
                    &a.checkout_ref.clone(),
                    "--message",
                    "Payments work normally.",
                    "--apology",
                    "We are sorry for the failed payments.",
                    "--credit",
                    "We have credited a day of service.",
                ]);
            },
            reached: |a| {
                a.mail(CUSTOMER, "Payments work normally.").is_some()
                    && a.webhook("incident.resolved", &a.checkout_ref).is_some()
            },
            check: |a, c| {
                let mail = a.mail(CUSTOMER, "Payments work normally.").unwrap();
                c.holds(
                    "the first line says resolved",
                    mail.text.starts_with("Resolved"),
                );
                c.says(
                    "customer email",
                    &mail.text,
                    "We are sorry for the failed payments.",
                );
                let hook = a.webhook("incident.resolved", &a.checkout_ref).unwrap();
                let inc = &hook["data"]["incident"];
                c.holds(
                    "the webhook carries the apology",
                    inc["apology"] == "We are sorry for the failed payments.",
                );
                c.holds(
                    "and the credit",
                    inc["credit"] == "We have credited a day of service.",
                );
                let last = &inc["incident_updates"][0];
                c.holds(
                    "the resolving update says the component is operational",
                    last["status"] == "resolved"
                        && last["affected_components"][0]["new_status"] == "operational",
                );
                let first = inc["incident_updates"]
                    .as_array()
                    .and_then(|u| u.last())
                    .cloned()
                    .unwrap_or(Value::Null);
                c.holds(
                    "the first update says what changed: operational to major outage",
                    first["affected_components"][0]["old_status"] == "operational"
                        && first["affected_components"][0]["new_status"] == "major_outage",
                );
            },
        },
        Row {
            name: "8b. the operator declares slow refunds, expecting a fix in 3 seconds",
            act: |a| {
                a.cli(&[
                    "incident",
                    "new",
                    "--title",
                    "Refunds delayed",
                    "--component",
                    "checkout=degraded_performance",
                    "--impact",
                    "minor",
                    "--message",
                    "Refunds take longer than usual to reach your account.",
                    "--eta",
                    "3s",
                ]);
            },
            reached: |a| a.mail(CUSTOMER, "Refunds take longer than usual").is_some(),
            check: |a, c| {
                let mail = a.mail(CUSTOMER, "Refunds take longer than usual").unwrap();
                c.holds(
                    "a declared incident's subject is its title and reference",
                    mail.subject.starts_with("Refunds delayed (INC-"),
                );
                c.says("customer email", &mail.text, "We expect a fix by");
            },
        },
        Row {
            name: "8c. the ETA passes without a word, then the operator writes \"monitoring\" and resolves",
            act: |a| {
                // Nobody writes by the ETA: forewarn says it is late, for the team.
                wait_until(LIMIT, "the late notice", || {
                    a.mail(CUSTOMER, "This is taking longer than we expected")
                        .is_some()
                });
                let id = "refunds-delayed";
                a.cli(&[
                    "incident",
                    "update",
                    id,
                    "--status",
                    "monitoring",
                    "--message",
                    "Refunds are flowing again; we are watching them.",
                ]);
                wait_until(LIMIT, "the monitoring notice", || {
                    a.mail(CUSTOMER, "Refunds are flowing again").is_some()
                });
                a.cli(&[
                    "incident",
                    "resolve",
                    id,
                    "--message",
                    "Refunds reach accounts on time again.",
                ]);
            },
            reached: |a| {
                a.mail(CUSTOMER, "Refunds reach accounts on time again.")
                    .is_some()
            },
            check: |a, c| {
                let late = a
                    .mail(CUSTOMER, "This is taking longer than we expected")
                    .unwrap();
                c.holds(
                    "the late notice keeps the incident's subject",
                    late.subject.starts_with("Refunds delayed (INC-"),
                );
                c.says("late notice", &late.text, "We are still working on it.");
                let mail = a.mail(CUSTOMER, "Refunds are flowing again").unwrap();
                c.holds(
                    "monitoring is not called late",
                    mail.text.starts_with("Degraded performance · Monitoring"),
                );
                c.never(
                    "monitoring email",
                    &mail.text,
                    "taking longer than we expected",
                );
                c.never("monitoring email", &mail.text, "We expect a fix by");
            },
        },
        Row {
            name: "9. search recovers by itself",
            act: |a| *a.search.lock().unwrap() = Behaviour::Ok("ok"),
            reached: |a| {
                a.journal_has(|e| matches!(e, Event::IncidentResolved { reference, .. } if *reference == a.search_ref))
                    && a.mail(CUSTOMER, "Search is working normally again").is_some()
            },
            check: |a, c| {
                let page = a.site("index.html");
                c.says("page", &page, "All systems operational");
                c.never("page", &page, "What is happening now");
                let mail = a
                    .mail(CUSTOMER, "Search is working normally again")
                    .unwrap();
                c.holds(
                    "the resolution keeps the subject of the first notice",
                    mail.subject == format!("Problem with Search ({})", a.search_ref),
                );
                // Customers never heard of the queue, operators heard of everything.
                for m in a.mails(CUSTOMER) {
                    c.never("customer email", &m.text, "Internal queue");
                    c.never("customer email", &m.subject, "Operator alert");
                }
            },
        },
    ]
}

/// The shop's configuration: its mail relay, two HTTP checks, a TLS check and a private
/// queue.
struct Peers<'a> {
    smtp: u16,
    checkout: &'a str,
    search: &'a str,
    tls: std::net::SocketAddr,
    ca: &'a Path,
    queue: u16,
}

fn config(dir: &Path, p: &Peers<'_>) -> PathBuf {
    let folder = dir.join("config");
    std::fs::create_dir_all(&folder).expect("mkdir");
    let path = folder.join("forewarn.toml");
    let Peers {
        smtp,
        checkout,
        search,
        tls,
        ca,
        queue,
    } = p;
    let body = format!(
        r#"
[site]
title = "Shop Status"
base_url = "https://status.shop.test"
timezone = "UTC"

[site.contact]
email = "help@shop.test"

[email]
transport = "smtp"
smtp_host = "127.0.0.1"
smtp_port = {smtp}
tls = "none"
from = "status@shop.test"

[[component]]
id = "checkout"
name = "Checkout"
[component.check]
url = "{checkout}"
every = "1s"
timeout = "900ms"
fail_after = 2
recover_after = 2

[[component]]
id = "search"
name = "Search"
[component.check]
url = "{search}"
every = "1s"
timeout = "900ms"
latency_threshold = "300ms"
fail_after = 2
recover_after = 2

[[component]]
id = "website"
name = "Website"
[component.check]
kind = "tls"
address = "{tls}"
server_name = "localhost"
ca_file = "{ca}"
warn_days = 14
every = "1s"
timeout = "900ms"

[[component]]
id = "queue"
name = "Internal queue"
public = false
[component.check]
kind = "tcp"
address = "127.0.0.1:{queue}"
every = "1s"
timeout = "900ms"
fail_after = 2
"#,
        ca = ca.display()
    );
    std::fs::write(&path, body).expect("config");
    path
}

#[test]
fn a_messy_afternoon_is_told_truthfully_on_every_channel() {
    let rt = common::background_runtime();
    let (checkout_b, checkout) = switchable(Behaviour::Ok("ok"));
    let (search_b, search) = switchable(Behaviour::Ok("ok"));
    let checkout_peer = rt.block_on(http_peer(checkout_b));
    let search_peer = rt.block_on(http_peer(search_b));
    let ca = common::tls::authority("Afternoon CA");
    let tls = rt.block_on(common::tls::tls_server(&ca, "localhost", 5));
    let hooks = rt.block_on(WebhookPeer::start(Some(SECRET)));
    let smtp = SmtpPeer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = config(
        dir.path(),
        &Peers {
            smtp: smtp.port(),
            checkout: &checkout_peer.url("/health"),
            search: &search_peer.url("/health"),
            tls,
            ca: ca.pem_file.path(),
            queue: common::closed_port(),
        },
    );
    std::fs::write(
        dir.path().join("config/subscribers.toml"),
        format!(
            "[[email]]\naddress = \"{CUSTOMER}\"\n\n[[webhook]]\nurl = \"{}\"\nsecret_env = \"{SECRET_VAR}\"\n\n[[operator]]\naddress = \"{ONCALL}\"\n",
            hooks.url("/hooks")
        ),
    )
    .expect("subscribers");
    let state = dir.path().join("state");
    let daemon = common::start_daemon_logged(&config_path, &state, &[(SECRET_VAR, SECRET)]);
    let mut a = Afternoon {
        dir,
        config: config_path,
        state,
        smtp,
        hooks,
        checkout,
        search,
        daemon: Some(common::Running::new(daemon)),
        checkout_ref: String::new(),
        search_ref: String::new(),
    };
    let mut failures = Vec::new();
    for row in rows() {
        (row.act)(&mut a);
        wait_until(LIMIT, row.name, || (row.reached)(&a));
        // Let the notices of the moment settle (the site rebuilds 200 ms after events).
        std::thread::sleep(Duration::from_millis(400));
        (row.check)(
            &a,
            &mut Check {
                step: row.name,
                failures: &mut failures,
            },
        );
    }
    let out = a.daemon.take().expect("daemon").stop();
    let log = common::daemon_log(&a.state);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        failures.is_empty(),
        "{} untruths:\n\n{}\n\n--- daemon log ---\n{log}",
        failures.len(),
        failures.join("\n\n")
    );
    // Every webhook was signed, and nothing was told twice.
    let hooks = a.webhooks();
    assert!(hooks.iter().all(|r| r.verified));
    let mut ids: Vec<&str> = hooks
        .iter()
        .filter_map(|r| r.webhook_id.as_deref())
        .collect();
    let all = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all, "a webhook was sent twice");
    let mails = message_ids(&a, CUSTOMER);
    let mut unique = mails.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), mails.len(), "an email was sent twice");
    drop(a.dir);
}

/// Customers hear of a certificate once clients refuse it, in words that say so.
#[test]
fn an_expired_certificate_is_told_as_failing_secure_connections() {
    let rt = common::background_runtime();
    let ca = common::tls::authority("Expired CA");
    let tls = rt.block_on(common::tls::tls_server(&ca, "localhost", -2));
    let smtp = SmtpPeer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = dir.path().join("config");
    std::fs::create_dir_all(&folder).expect("mkdir");
    let config = folder.join("forewarn.toml");
    std::fs::write(
        &config,
        format!(
            "[site]\ntitle = \"Shop Status\"\nbase_url = \"https://status.shop.test\"\ntimezone = \"UTC\"\n[site.contact]\nemail = \"help@shop.test\"\n\n[email]\ntransport = \"smtp\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\ntls = \"none\"\nfrom = \"status@shop.test\"\n\n[[component]]\nid = \"website\"\nname = \"Website\"\n[component.check]\nkind = \"tls\"\naddress = \"{tls}\"\nserver_name = \"localhost\"\nca_file = \"{}\"\nevery = \"1s\"\ntimeout = \"900ms\"\nfail_after = 2\n",
            smtp.port(),
            ca.pem_file.path().display()
        ),
    )
    .expect("config");
    std::fs::write(
        folder.join("subscribers.toml"),
        format!("[[email]]\naddress = \"{CUSTOMER}\"\n"),
    )
    .expect("subscribers");
    let state = dir.path().join("state");
    let daemon = common::Running::new(common::start_daemon_logged(&config, &state, &[]));
    let mails = smtp.wait_for(1, LIMIT);
    let out = daemon.stop();
    assert_eq!(out.status.code(), Some(0), "{}", common::daemon_log(&state));
    let parsed = mail_parser::MessageParser::default()
        .parse(mails[0].data.as_bytes())
        .expect("a parsable message");
    let text = parsed.body_text(0).unwrap_or_default().into_owned();
    assert!(
        parsed
            .subject()
            .is_some_and(|s| s.starts_with("Problem with Website (INC-")),
        "{:?}",
        parsed.subject()
    );
    assert!(text.contains("Website: secure connections fail"), "{text}");
    assert!(
        text.contains("Secure connections to Website fail: its certificate expired at "),
        "{text}"
    );
    for wrong in ["more slowly", "Degraded", "degraded"] {
        assert!(!text.contains(wrong), "{wrong:?} in:\n{text}");
    }
}
