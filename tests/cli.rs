//! The command line as operators use it: init, check, probe, status and the demo.

mod common;

use std::time::Duration;

use common::{Behaviour, forewarn, http_peer, run_bounded, text, write_config};

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn init_writes_a_valid_example_and_never_overwrites_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_bounded(forewarn().arg("init").arg(dir.path()), LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let path = dir.path().join("config/forewarn.toml");
    assert!(text(&out.stdout).contains(&path.display().to_string()));

    let check = run_bounded(forewarn().arg("check").current_dir(dir.path()), LIMIT);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    assert!(
        text(&check.stdout).contains("valid, 6 components"),
        "{}",
        text(&check.stdout)
    );
    assert!(
        text(&check.stdout).contains("1 email subscriber, 0 webhooks and 1 operator"),
        "{}",
        text(&check.stdout)
    );

    std::fs::write(&path, "# my edits\n").expect("write");
    let again = run_bounded(forewarn().arg("init").arg(dir.path()), LIMIT);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("already exists"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "# my edits\n"
    );
}

#[test]
fn probe_prints_a_table_and_exits_1_when_something_is_down() {
    let rt = common::background_runtime();
    let up = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let down = rt.block_on(http_peer(Behaviour::Status(503)));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &format!(
            "[[component]]\nid = \"api\"\nname = \"API\"\n[component.check]\nurl = \"{}\"\n\n[[component]]\nid = \"checkout\"\nname = \"Checkout\"\n[component.check]\nurl = \"{}\"\n",
            up.url("/"),
            down.url("/")
        ),
    );
    let out = run_bounded(forewarn().arg("probe").arg("--config").arg(&config), LIMIT);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("COMPONENT") && lines[0].contains("OUTCOME"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("api") && lines[1].contains("up"),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with("checkout")
            && lines[2].contains("down")
            && lines[2].contains("HTTP 503"),
        "{stdout}"
    );

    let only_api = run_bounded(
        forewarn()
            .args(["probe", "--component", "api", "--json", "--config"])
            .arg(&config),
        LIMIT,
    );
    assert_eq!(only_api.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&only_api.stdout).expect("JSON output");
    assert_eq!(json.as_array().map(Vec::len), Some(1));
    assert_eq!(json[0]["component"], "api");
    assert_eq!(json[0]["outcome"], "up");

    let unknown = run_bounded(
        forewarn()
            .args(["probe", "--component", "nope", "--config"])
            .arg(&config),
        LIMIT,
    );
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown.stderr).contains("no component \"nope\""));
}

#[test]
fn status_before_anything_happened_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        "[[component]]\nid = \"api\"\nname = \"API\"\n[component.check]\nurl = \"http://127.0.0.1:9/\"\n",
    );
    let out = run_bounded(
        forewarn()
            .arg("status")
            .arg("--config")
            .arg(&config)
            .arg("--state")
            .arg(dir.path().join("state")),
        LIMIT,
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("api") && l.contains("never")),
        "{stdout}"
    );
    assert!(stdout.contains("No open incidents."), "{stdout}");
    assert!(
        !dir.path().join("state").exists(),
        "status must not create state"
    );
}

#[test]
fn the_demo_shows_an_outage_detected_recorded_and_resolved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_bounded(
        forewarn()
            .args(["demo", "--speed", "10", "--dir"])
            .arg(dir.path().join("demo"))
            .arg("--out")
            .arg(dir.path().join("site")),
        Duration::from_secs(60),
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    for expected in [
        "(demo service) checkout starts answering HTTP 503",
        "Checkout: operational -> major outage (HTTP 503)",
        "customers read: \"We are seeing errors on Checkout and are investigating.",
        "Search: operational -> degraded performance (slow response",
        "(operator) forewarn incident update --status identified INC-",
        "is now identified",
        "maintenance \"Database upgrade\" announced",
        "maintenance db-upgrade: reminder sent before it starts",
        "maintenance db-upgrade started",
        "maintenance db-upgrade completed",
        "Checkout: major outage -> operational",
        "is now monitoring",
        "customers read: \"We are sorry: for almost a minute, some of you could not pay.\"",
        "customers read: \"We have credited 10% of this month's fee to the affected accounts.\"",
        "No open incidents.",
        "email to ops@demo-shop.test: \"Problem with Checkout (INC-",
        "email to finance@demo-shop.test: \"Problem with Checkout (INC-",
        "(partner's webhook receiver) incident.opened INC-",
        "(partner's webhook receiver) incident.resolved INC-",
        "(customer) signs up on http://127.0.0.1:",
        "email to customer@demo-shop.test: \"Confirm your subscription to Demo Shop Status notices\"",
        "HTTP 200, subscribed to checkout",
        "email to customer@demo-shop.test: \"Problem with Checkout (INC-",
        // The slowdown escalates: the incident follows, in the same conversation.
        "Search: degraded performance -> major outage (HTTP 503)",
        "-search now reads \"Search: major outage\"",
        "customers read: \"The problem with Search has become worse: it is now a major outage (it was degraded performance).",
        // The payment provider's outage is theirs: operators hear, and checkout's
        // incident names it, then says when they fixed it.
        "(payment provider) their status page reports an outage of card payments",
        "Payment provider's status page reports a partial outage: \"Card payments failing for some merchants\"",
        "Our checks of Checkout pass, so no incident was opened.",
        "customers read: \"Payment provider reports the problem on their side fixed. We are checking that Checkout works again.\"",
        // The certificate nearing expiry is the operators' alone.
        "email to oncall@demo-shop.test: \"[Operator alert] Demo Shop Status: A certificate expires soon (Website)\"",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    let opened = stdout.matches("opened: \"Checkout: major outage\"").count();
    let resolved = stdout
        .lines()
        .filter(|l| l.contains("INC-") && l.contains("-checkout resolved"))
        .count();
    assert_eq!((opened, resolved), (1, 1), "{stdout}");
    assert!(
        !stdout.contains("Database: operational ->"),
        "a failure during maintenance opened something:\n{stdout}"
    );
    assert!(!stdout.contains("command failed"), "{stdout}");
    assert!(!stdout.contains("bad signature"), "{stdout}");
    assert!(
        !stdout.contains("email to finance@demo-shop.test: \"Problem with Search"),
        "finance only hears about checkout:\n{stdout}"
    );
    for line in stdout.lines().filter(|l| l.contains("] email to ")) {
        assert!(
            line.contains("oncall@") || !line.contains("Operator alert"),
            "customers never get operator alerts: {line}"
        );
    }
    assert!(
        !stdout.contains("Website: operational ->"),
        "a certificate that still works changes nothing customers see:\n{stdout}"
    );
    // Every email the demo announced is an .eml file where it says.
    let announced: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("] email to "))
        .filter_map(|l| l.rsplit_once(" (")?.1.strip_suffix(')'))
        .collect();
    assert!(announced.len() >= 10, "{stdout}");
    for path in &announced {
        let mail = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(
            mail.contains("Content-Type: multipart/alternative"),
            "{path}"
        );
    }
    let named = announced.iter().any(|path| {
        let raw = std::fs::read(path).expect("eml");
        let mail = mail_parser::MessageParser::default()
            .parse(&raw)
            .expect("a parsable message");
        mail.subject().is_some_and(|s| s.starts_with("Problem with Checkout"))
            && mail.body_text(0).is_some_and(|t| {
                t.contains("Likely cause: Payment provider, a service we depend on, reports a partial outage affecting Card payments")
            })
    });
    assert!(named, "checkout's first notice names the provider");
    let index = std::fs::read_to_string(dir.path().join("site/index.html")).expect("index");
    assert!(
        index.contains("Services we depend on"),
        "the vendors' section"
    );
    let journal =
        std::fs::read_to_string(dir.path().join("demo/state/journal.jsonl")).expect("journal");
    assert!(
        journal
            .lines()
            .any(|l| l.contains("\"type\":\"incident.opened\"") && l.contains("checkout"))
    );

    // A second run starts afresh in the same folder.
    let again = run_bounded(
        forewarn()
            .args(["demo", "--speed", "20", "--dir"])
            .arg(dir.path().join("demo"))
            .arg("--out")
            .arg(dir.path().join("site")),
        Duration::from_secs(60),
    );
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
}

#[test]
fn the_demo_refuses_a_folder_it_did_not_make() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("precious.txt"), "keep me").expect("write");
    let out = run_bounded(
        forewarn()
            .args(["demo", "--dir"])
            .arg(dir.path())
            .arg("--out")
            .arg(dir.path().join("site")),
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("was not made by forewarn demo"));
    assert!(dir.path().join("precious.txt").exists());
}

/// A static build never probes, sends or guards anything, so the variables that hold
/// secrets for those may be unset there; `forewarn check` still demands them.
#[test]
fn build_needs_only_what_a_build_uses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        r#"
[email]
transport = "smtp"
from = "Status <status@test.example>"
smtp_host = "smtp.test.example"
username = "status"
password_env = "FOREWARN_TEST_UNSET_SMTP_PASSWORD"

[serve]
admin_token_env = "FOREWARN_TEST_UNSET_ADMIN_TOKEN"

[[component]]
id = "api"
name = "API"
[component.check]
url_env = "FOREWARN_TEST_UNSET_URL"
headers_env = { Authorization = "FOREWARN_TEST_UNSET_HEADER" }
"#,
    );
    let unset = [
        "FOREWARN_TEST_UNSET_SMTP_PASSWORD",
        "FOREWARN_TEST_UNSET_ADMIN_TOKEN",
        "FOREWARN_TEST_UNSET_URL",
        "FOREWARN_TEST_UNSET_HEADER",
    ];
    let out_dir = dir.path().join("out");
    let mut build = forewarn();
    build
        .arg("build")
        .arg("--config")
        .arg(&config)
        .arg("--state")
        .arg(dir.path().join("state"))
        .arg("--out")
        .arg(&out_dir);
    for var in unset {
        build.env_remove(var);
    }
    let out = run_bounded(&mut build, LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let index = std::fs::read_to_string(out_dir.join("index.html")).expect("index.html");
    assert!(index.contains("API"), "the component is on the page");
    assert!(
        !index.contains("unset.invalid"),
        "no stand-in address is shown"
    );

    let mut check = forewarn();
    check.arg("check").arg("--config").arg(&config);
    for var in unset {
        check.env_remove(var);
    }
    let out = run_bounded(&mut check, LIMIT);
    assert_eq!(
        out.status.code(),
        Some(2),
        "check still demands every secret"
    );
    let stderr = text(&out.stderr);
    for var in unset {
        assert!(stderr.contains(var), "{var} is named: {stderr}");
    }
}
