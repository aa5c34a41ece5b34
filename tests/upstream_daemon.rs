//! "Is it me or them", end to end: `forewarn run` follows two vendors' status pages on
//! 127.0.0.1 while it checks our own components, with a real SMTP server and a webhook
//! receiver that verifies signatures with the `standardwebhooks` crate. A vendor's
//! trouble while our checks pass tells operators only (or, with `notify_customers`,
//! gives customers a heads-up worded as possible impact); while our checkout fails, the
//! incident names the vendor in the page, the API, the emails and the webhooks, and the
//! follow-ups say when they reported it fixed; a vendor page that cannot be read is
//! "unknown", never an outage.

mod common;

use std::path::Path;
use std::time::Duration;

use common::peers::{ReceivedMail, SmtpPeer, WebhookPeer};
use common::vendor::{Answer, VendorPeer};
use common::{Behaviour, Running, background_runtime, http_peer, switchable, wait_until};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SECRET_VAR: &str = "TEST_UPSTREAM_SECRET";
const CUSTOMER: &str = "customer@shop.test";
const ONCALL: &str = "oncall@shop.test";
const LIMIT: Duration = Duration::from_secs(30);
const THEIR_TITLE: &str = "Card payments <fail> & time out";

fn fixture() -> serde_json::Value {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/vendors/statuspage-summary.json"),
    )
    .expect("fixture");
    serde_json::from_str(&text).expect("json")
}

/// The same page with every component operational and no incident.
fn all_well(name: &str) -> String {
    let mut page = fixture();
    page["page"]["name"] = serde_json::json!(name);
    for c in page["components"].as_array_mut().expect("components") {
        c["status"] = serde_json::json!("operational");
    }
    page["incidents"] = serde_json::json!([]);
    page["status"] =
        serde_json::json!({"indicator": "none", "description": "All Systems Operational"});
    page.to_string()
}

fn in_trouble(name: &str) -> String {
    let mut page = fixture();
    page["page"]["name"] = serde_json::json!(name);
    page.to_string()
}

struct Mail {
    to: Vec<String>,
    subject: String,
    text: String,
}

fn read(mail: &ReceivedMail) -> Mail {
    let parsed = mail_parser::MessageParser::default()
        .parse(mail.data.as_bytes())
        .expect("a parsable message");
    Mail {
        to: mail.to.clone(),
        subject: parsed.subject().unwrap_or_default().to_owned(),
        text: parsed
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
    }
}

fn mails(smtp: &SmtpPeer, to: &str) -> Vec<Mail> {
    smtp.messages()
        .iter()
        .map(read)
        .filter(|m| m.to.iter().any(|t| t == to))
        .collect()
}

fn wait_mail(smtp: &SmtpPeer, to: &str, what: &str, pred: impl Fn(&Mail) -> bool) -> Mail {
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        if let Some(m) = mails(smtp, to).into_iter().find(|m| pred(m)) {
            return m;
        }
        if std::time::Instant::now() >= deadline {
            let seen: Vec<String> = mails(smtp, to).into_iter().map(|m| m.subject).collect();
            panic!("no email to {to} {what} within {LIMIT:?}; got {seen:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn summary(site: &Path) -> serde_json::Value {
    std::fs::read_to_string(site.join("api/v2/summary.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn upstream<'a>(summary: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    summary["upstreams"]
        .as_array()
        .and_then(|a| a.iter().find(|u| u["id"] == id))
        .unwrap_or(&serde_json::Value::Null)
}

#[test]
fn vendors_trouble_is_told_as_theirs_and_named_as_the_cause_of_ours() {
    let rt = background_runtime();
    let _in_runtime = rt.enter();
    let smtp = SmtpPeer::start();
    let hooks = rt.block_on(WebhookPeer::start(Some(SECRET)));
    let payments = rt.block_on(VendorPeer::start());
    let mailer = rt.block_on(VendorPeer::start());
    payments.set(
        "/api/v2/summary.json",
        Answer::Json(all_well("Payment Provider")),
    );
    mailer.set(
        "/api/v2/summary.json",
        Answer::Json(all_well("Mail Vendor")),
    );
    let (shop_behaviour, shop) = switchable(Behaviour::Ok("ok"));
    let shop_peer = rt.block_on(http_peer(shop_behaviour));
    let fine = rt.block_on(http_peer(Behaviour::Ok("ok")));

    let dir = tempfile::tempdir().expect("tempdir");
    let config_dir = dir.path().join("config");
    std::fs::create_dir_all(&config_dir).expect("mkdir");
    let config = config_dir.join("forewarn.toml");
    std::fs::write(
        &config,
        format!(
            r#"[site]
title = "Shop Status"
base_url = "https://status.shop.test"
timezone = "UTC"
[site.contact]
email = "help@shop.test"

[email]
transport = "smtp"
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
tls = "none"
from = "status@shop.test"

[[component]]
id = "checkout"
name = "Checkout"
depends_on = ["payments"]
[component.check]
url = "{shop}"
every = "200ms"
fail_after = 2
recover_after = 2

[[component]]
id = "email"
name = "Order emails"
depends_on = ["mailer"]
[component.check]
url = "{fine}"
every = "200ms"

[[upstream]]
id = "payments"
name = "Payment provider"
page = "{payments_page}"
components = ["Card payments"]
every = "200ms"

[[upstream]]
id = "mailer"
name = "Mail vendor"
page = "{mailer_page}"
every = "200ms"
notify_customers = true
"#,
            smtp_port = smtp.port(),
            shop = shop_peer.url("/health"),
            fine = fine.url("/health"),
            payments_page = payments.page(),
            mailer_page = mailer.page(),
        ),
    )
    .expect("config");
    std::fs::write(
        config_dir.join("subscribers.toml"),
        format!(
            "[[email]]\naddress = \"{CUSTOMER}\"\n\n[[webhook]]\nurl = \"{}\"\nsecret_env = \"{SECRET_VAR}\"\n\n[[operator]]\naddress = \"{ONCALL}\"\n",
            hooks.url("/hook")
        ),
    )
    .expect("subscribers");
    let state = dir.path().join("state");
    let site = dir.path().join("site");
    let daemon = Running::new(common::start_daemon_logged(
        &config,
        &state,
        &[(SECRET_VAR, SECRET)],
    ));

    // Both vendors read, all well.
    wait_until(LIMIT, "both vendors read as operational", || {
        let s = summary(&site);
        upstream(&s, "payments")["status"] == "operational"
            && upstream(&s, "mailer")["status"] == "operational"
    });

    // 1. The payment provider reports trouble while our checks pass: operators hear,
    //    customers do not, the page shows it as theirs.
    payments.set(
        "/api/v2/summary.json",
        Answer::Json(in_trouble("Payment Provider")),
    );
    let alert = wait_mail(&smtp, ONCALL, "about the payment provider", |m| {
        m.text
            .contains("Payment provider reports a partial outage affecting Card payments")
    });
    assert!(
        alert.subject.starts_with("[Operator alert]"),
        "{}",
        alert.subject
    );
    assert!(
        alert
            .text
            .contains("Our checks of Checkout pass, so no incident was opened"),
        "{}",
        alert.text
    );
    wait_until(LIMIT, "the page to show their incident", || {
        std::fs::read_to_string(site.join("index.html"))
            .is_ok_and(|h| h.contains("Card payments &lt;fail&gt; &amp; time out"))
    });
    let index = std::fs::read_to_string(site.join("index.html")).expect("index");
    assert!(index.contains("Services we depend on"), "the section");
    assert!(
        index.contains("Reported by Payment provider at 27 Nov 2026, 10:20 UTC"),
        "attributed, with their last update"
    );
    assert!(
        index.contains("href=\"https://stspg.example/p31zjtct2jer\""),
        "their link"
    );
    let s = summary(&site);
    assert_eq!(upstream(&s, "payments")["status"], "partial_outage");
    assert_eq!(
        upstream(&s, "payments")["incidents"][0]["name"],
        THEIR_TITLE
    );
    assert_eq!(
        s["status"]["indicator"], "none",
        "our own status is unchanged"
    );
    assert!(
        s["incidents"].as_array().is_some_and(|i| i.is_empty()),
        "no incident of ours"
    );

    // 2. Now our checkout fails too: the incident names them as the likely cause.
    *shop.lock().expect("lock") = Behaviour::Status(503);
    let opened = wait_mail(&smtp, CUSTOMER, "about the checkout incident", |m| {
        m.subject.contains("Problem with Checkout")
    });
    assert!(
        opened.text.contains(&format!(
            "Likely cause: Payment provider, a service we depend on, reports a partial outage affecting Card payments: “{THEIR_TITLE}” (https://stspg.example/p31zjtct2jer)."
        )),
        "{}",
        opened.text
    );
    let got = hooks.wait_until(LIMIT, "the incident's webhook", |r| {
        r.iter().any(|x| {
            x.json
                .as_ref()
                .is_some_and(|j| j["type"] == "incident.opened")
        })
    });
    let hook = got
        .iter()
        .find(|x| {
            x.json
                .as_ref()
                .is_some_and(|j| j["type"] == "incident.opened")
        })
        .expect("incident.opened");
    assert!(hook.verified, "signed the Standard Webhooks way");
    let cause = &hook.json.as_ref().expect("json")["data"]["incident"]["caused_by"][0];
    assert_eq!(cause["upstream"], "payments");
    assert_eq!(cause["incident_name"], THEIR_TITLE);
    assert_eq!(cause["shortlink"], "https://stspg.example/p31zjtct2jer");
    assert_eq!(cause["fixed_at"], serde_json::Value::Null);
    let reference = hook.json.as_ref().expect("json")["data"]["incident"]["reference"]
        .as_str()
        .expect("reference")
        .to_owned();
    let incident_page = site.join(format!("incidents/{reference}.html"));
    wait_until(LIMIT, "the incident's page", || {
        std::fs::read_to_string(&incident_page)
            .is_ok_and(|p| p.contains("Reported by a service we depend on"))
    });
    let page = std::fs::read_to_string(&incident_page).expect("the incident's page");
    assert!(
        page.contains("Reported by a service we depend on"),
        "{page}"
    );
    assert!(
        page.contains("Payment provider reports a partial outage affecting Card payments"),
        "{page}"
    );

    // 3. They report it fixed while ours is still down: the next update says so.
    payments.set(
        "/api/v2/summary.json",
        Answer::Json(all_well("Payment Provider")),
    );
    let update = wait_mail(&smtp, CUSTOMER, "saying they fixed it", |m| {
        m.text
            .contains("Payment provider reports the problem on their side fixed. We are checking that Checkout works again.")
    });
    assert_eq!(update.subject, opened.subject, "one conversation");
    hooks.wait_until(LIMIT, "the update's webhook", |r| {
        r.iter().any(|x| {
            x.json.as_ref().is_some_and(|j| {
                j["type"] == "incident.updated"
                    && j["data"]["incident"]["caused_by"][0]["fixed_at"].is_string()
            })
        })
    });

    // 4. Ours recovers: the resolution says when they reported it fixed.
    *shop.lock().expect("lock") = Behaviour::Ok("ok");
    let resolved = wait_mail(&smtp, CUSTOMER, "resolving the incident", |m| {
        m.subject == opened.subject && m.text.starts_with("Resolved")
    });
    assert!(
        resolved
            .text
            .contains("Payment provider reported their problem fixed at "),
        "{}",
        resolved.text
    );

    // 5. The mail vendor has trouble while our emails pass, and customers are told
    //    (notify_customers), worded as possible impact; then that it is fixed.
    mailer.set(
        "/api/v2/summary.json",
        Answer::Json(in_trouble("Mail Vendor")),
    );
    let heads_up = wait_mail(&smtp, CUSTOMER, "with a heads-up", |m| {
        m.subject == "Mail vendor: possible impact on Order emails"
    });
    assert!(
        heads_up.text.starts_with("Possible impact"),
        "{}",
        heads_up.text
    );
    assert!(
        heads_up
            .text
            .contains("Our own checks of Order emails pass at the moment"),
        "{}",
        heads_up.text
    );
    assert!(
        heads_up
            .text
            .contains(&format!("Their report: “{THEIR_TITLE}”")),
        "{}",
        heads_up.text
    );
    assert!(
        heads_up
            .text
            .contains("Questions? Contact us quoting \"Mail vendor\": email help@shop.test"),
        "a person to reach: {}",
        heads_up.text
    );
    // Their incident is in the site's feed while it lasts, attributed to them.
    wait_until(LIMIT, "the vendor's incident in the feed", || {
        std::fs::read_to_string(site.join("feed.atom")).is_ok_and(|f| {
            f.contains("Mail vendor reports: Card payments &lt;fail&gt; &amp; time out")
        })
    });
    mailer.set(
        "/api/v2/summary.json",
        Answer::Json(all_well("Mail Vendor")),
    );
    let fixed = wait_mail(&smtp, CUSTOMER, "saying the vendor fixed it", |m| {
        m.text.starts_with("Fixed by the provider")
    });
    assert_eq!(fixed.subject, heads_up.subject, "one conversation");

    // 6. The payment provider's page stops making sense: unknown, never an outage.
    payments.set("/api/v2/summary.json", Answer::Html);
    wait_until(LIMIT, "the vendor to read as unknown", || {
        upstream(&summary(&site), "payments")["status"] == "unknown"
    });
    let index = std::fs::read_to_string(site.join("index.html")).expect("index");
    assert!(
        index.contains("We cannot tell what their status page says at the moment"),
        "shown as such"
    );
    let s = summary(&site);
    assert_eq!(s["status"]["indicator"], "none", "ours is fine");

    let out = daemon.stop();
    assert_eq!(out.status.code(), Some(0), "{}", common::daemon_log(&state));

    // The incident's feed entry names the cause too; the fixed vendor's entry is gone.
    let feed = std::fs::read_to_string(site.join("feed.atom")).expect("feed");
    assert!(
        feed.contains("Payment provider reported a partial outage affecting Card payments"),
        "{feed}"
    );
    assert!(!feed.contains("Mail vendor reports:"), "{feed}");
    // Customers heard of the payment provider only within our incident.
    for m in mails(&smtp, CUSTOMER) {
        if m.text.contains("Payment provider") {
            assert_eq!(m.subject, opened.subject, "{}", m.text);
        }
    }
    // Webhooks: the heads-up about the mail vendor came, signed; nothing about the
    // payment provider outside our incident.
    let received = hooks.received();
    let about = |id: &str| {
        received
            .iter()
            .filter(|r| {
                r.json.as_ref().is_some_and(|j| {
                    j["type"] == "upstream.changed" && j["data"]["upstream"]["id"] == id
                })
            })
            .collect::<Vec<_>>()
    };
    let mail_vendor = about("mailer");
    assert_eq!(mail_vendor.len(), 2, "the heads-up and the fix");
    assert!(mail_vendor.iter().all(|r| r.verified));
    let first = mail_vendor[0].json.as_ref().expect("json");
    assert_eq!(first["data"]["fixed"], false);
    assert_eq!(
        first["data"]["upstream"]["incidents"][0]["name"],
        THEIR_TITLE
    );
    assert_eq!(first["data"]["upstream"]["depended_on_by"][0], "email");
    assert!(
        about("payments").is_empty(),
        "customers were not told of it alone"
    );
    // Politely: named, and asking only for what changed.
    let seen = payments.seen();
    let agent = seen[0].headers["user-agent"].to_str().expect("ascii");
    assert!(
        agent.starts_with("forewarn/") && agent.contains("+https://status.shop.test"),
        "{agent}"
    );
    assert!(
        seen.iter().any(|s| s.headers.contains_key("if-none-match")),
        "conditional requests"
    );
}

#[test]
fn a_vendor_that_asks_us_to_wait_is_not_asked_again_meanwhile() {
    let rt = background_runtime();
    let _in_runtime = rt.enter();
    let busy = rt.block_on(VendorPeer::start());
    busy.set(
        "/api/v2/summary.json",
        Answer::Status(
            429,
            vec![("retry-after", "3600".into())],
            "slow down".into(),
        ),
    );
    let fine = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = common::write_config(
        dir.path(),
        &format!(
            "[[component]]\nid = \"checkout\"\nname = \"Checkout\"\ndepends_on = [\"payments\"]\n[component.check]\nurl = \"{}\"\nevery = \"200ms\"\n\n[[upstream]]\nid = \"payments\"\nname = \"Payment provider\"\npage = \"{}\"\nkind = \"statuspage\"\nevery = \"200ms\"\n",
            fine.url("/health"),
            busy.page()
        ),
    );
    let state = dir.path().join("state");
    let site = dir.path().join("site");
    let daemon = Running::new(common::start_daemon_logged(&config, &state, &[]));
    wait_until(LIMIT, "the first read", || !busy.seen().is_empty());
    // Read every 200 ms otherwise: ten periods pass while our own checks go on.
    let checked = std::time::Instant::now();
    wait_until(LIMIT, "our checks to carry on", || {
        checked.elapsed() >= Duration::from_secs(2) && site.join("index.html").exists()
    });
    assert_eq!(
        busy.seen().len(),
        1,
        "asked to wait an hour, forewarn waits (at most an hour)"
    );
    let s = summary(&site);
    assert_eq!(
        upstream(&s, "payments")["status"],
        "unknown",
        "not read yet, never an outage"
    );
    assert_eq!(s["status"]["indicator"], "none");
    let out = daemon.stop();
    assert_eq!(out.status.code(), Some(0), "{}", common::daemon_log(&state));
}
