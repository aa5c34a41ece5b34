//! Broken configurations, checked through the real binary: each gives its
//! file:line:column message naming the key, exit code 2, and never a panic.

mod common;

use std::time::Duration;

use common::{forewarn, run_bounded, text};

const BASE: &str = r#"[site]
title = "Acme"
base_url = "https://status.acme.test"

[site.contact]
email = "help@acme.test"

[[component]]
id = "api"
name = "API"

[component.check]
url = "https://api.acme.test/health"
every = "30s"
"#;

/// BASE with line `n` (1-based) replaced by `new` (which may span several lines, or be
/// empty to blank the line).
fn with_line(n: usize, new: &str) -> String {
    BASE.lines()
        .enumerate()
        .map(|(i, l)| if i + 1 == n { new } else { l })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn appended(extra: &str) -> String {
    format!("{BASE}{extra}\n")
}

struct Case {
    name: &'static str,
    toml: String,
    /// "line:column: message" after the file name; the message may be a prefix.
    expect: &'static str,
}

fn cases() -> Vec<Case> {
    let tcp = |address: &str| with_line(13, &format!("kind = \"tcp\"\naddress = \"{address}\""));
    vec![
        Case { name: "unterminated string", toml: with_line(14, "every = \"30s"), expect: "14:" },
        Case { name: "wrong type", toml: with_line(14, "every = 30"), expect: "14:9: component \"api\": check.every: expected a string, found an integer" },
        Case { name: "unknown key with suggestion", toml: with_line(14, "evry = \"30s\""), expect: "14:1: component \"api\": check.evry: unknown key; did you mean \"every\"?" },
        Case { name: "unknown top-level table", toml: appended("[monitr]\nmax_concurrency = 5"), expect: "15:2: monitr: unknown key; did you mean \"monitor\"?" },
        Case { name: "bad duration", toml: with_line(14, "every = \"30x\""), expect: "14:9: component \"api\": check.every: \"30x\" is not a duration" },
        Case { name: "zero duration", toml: with_line(14, "every = \"0s\""), expect: "14:9: component \"api\": check.every: \"0s\" is zero" },
        Case { name: "interval too short", toml: with_line(14, "every = \"10ms\""), expect: "14:9: component \"api\": check.every: 10ms is too often" },
        Case { name: "interval too long", toml: with_line(14, "every = \"300000000000y\""), expect: "14:9: component \"api\": check.every: 300000000000years is too rare" },
        Case { name: "broken wording template", toml: appended("[wording]\nopened = \"{{#if}} down\""), expect: "16:10: wording.opened: is not a valid template" },
        Case { name: "promise interval that is not a duration", toml: appended("[wording]\nupdate_every = \"soon\""), expect: "16:16: wording.update_every: \"soon\" is not a duration" },
        Case { name: "site-wide key in a component's wording", toml: appended("[component.wording]\nkeep_promises = false"), expect: "16:1: component \"api\": wording.keep_promises: unknown key: \"keep_promises\" is set for the whole site, in [wording]" },
        Case { name: "public that is not true or false", toml: with_line(11, "public = \"no\""), expect: "11:10: component \"api\": public: expected true or false, found a string" },
        Case { name: "unknown wording placeholder", toml: appended("[wording]\nresolved = \"{{service}} is back\""), expect: "16:12: wording.resolved: is not a valid template" },
        Case { name: "bad cron", toml: with_line(14, "schedule = \"every minute\""), expect: "14:12: component \"api\": check.schedule: \"every minute\" is not a cron expression" },
        Case { name: "cron that never fires", toml: with_line(14, "schedule = \"0 0 0 30 2 *\""), expect: "14:12: component \"api\": check.schedule: \"0 0 0 30 2 *\" never fires" },
        Case { name: "every and schedule", toml: with_line(14, "every = \"30s\"\nschedule = \"0 * * * * *\""), expect: "15:12: component \"api\": check.schedule: give either every or schedule, not both" },
        Case { name: "timeout longer than interval", toml: with_line(14, "every = \"30s\"\ntimeout = \"45s\""), expect: "15:11: component \"api\": check.timeout: 45s is longer than the interval (30s)" },
        Case { name: "timeout longer than a cron gap", toml: with_line(14, "schedule = \"*/10 * * * * *\"\ntimeout = \"15s\""), expect: "15:11: component \"api\": check.timeout: 15s is longer than the interval (10s)" },
        Case { name: "duplicate id", toml: appended("\n[[component]]\nid = \"api\"\nname = \"API again\"\n[component.check]\nurl = \"https://b.acme.test/\""), expect: "17:6: component \"api\": id: duplicate id, already used by the component on line 8" },
        Case { name: "missing url", toml: with_line(13, ""), expect: "12:1: component \"api\": check.url: is required" },
        Case { name: "not a url", toml: with_line(13, "url = \"not a url\""), expect: "13:7: component \"api\": check.url: \"not a url\" is not a valid URL" },
        Case { name: "ftp url", toml: with_line(13, "url = \"ftp://files.acme.test/\""), expect: "13:7: component \"api\": check.url: \"ftp://files.acme.test/\" is not an http(s) address" },
        Case { name: "unknown kind", toml: with_line(13, "kind = \"ping\""), expect: "13:8: component \"api\": check.kind: \"ping\" is not a check kind (use http, tcp, tls, dns, heartbeat)" },
        Case { name: "key of another kind", toml: with_line(13, "kind = \"tcp\"\naddress = \"db:5432\"\nurl = \"https://x.test/\""), expect: "15:1: component \"api\": check.url: unknown key: \"url\" is used by http checks, but this is a tcp check" },
        Case { name: "tcp address without port", toml: tcp("db.acme.test"), expect: "14:11: component \"api\": check.address: \"db.acme.test\" has no port" },
        Case { name: "tcp port out of range", toml: tcp("db.acme.test:70000"), expect: "14:11: component \"api\": check.address: \"db.acme.test:70000\": \"70000\" is not a port number" },
        Case { name: "bad severity", toml: with_line(14, "every = \"30s\"\nseverity = \"down\""), expect: "15:12: component \"api\": check.severity: \"down\" is not an outage severity" },
        Case { name: "fail_after zero", toml: with_line(14, "every = \"30s\"\nfail_after = 0"), expect: "15:14: component \"api\": check.fail_after: 0 is out of range (use 1 to 100)" },
        Case { name: "fail_after as a string", toml: with_line(14, "every = \"30s\"\nfail_after = \"3\""), expect: "15:14: component \"api\": check.fail_after: expected a whole number, found a string" },
        Case { name: "bad expected status", toml: with_line(14, "every = \"30s\"\nexpect_status = [200, 700]"), expect: "15:23: component \"api\": check.expect_status: use status codes from 100 to 599" },
        Case { name: "not a JSON pointer", toml: with_line(14, "every = \"30s\"\njson = { \"status\" = \"ok\" }"), expect: "15:10: component \"api\": check.json.\"status\": is not a JSON pointer" },
        Case { name: "latency threshold not below timeout", toml: with_line(14, "every = \"30s\"\ntimeout = \"1s\"\nlatency_threshold = \"2s\""), expect: "16:21: component \"api\": check.latency_threshold: 2s is not shorter than the timeout (1s)" },
        Case { name: "missing site", toml: BASE.replacen("[site]\ntitle = \"Acme\"\nbase_url = \"https://status.acme.test\"\n\n[site.contact]\nemail = \"help@acme.test\"\n", "", 1), expect: "1:1: site: is required" },
        Case { name: "bad time zone", toml: with_line(3, "base_url = \"https://status.acme.test\"\ntimezone = \"Mars/Olympus\""), expect: "4:12: site.timezone: \"Mars/Olympus\" is not a time zone" },
        Case { name: "no way to reach a person", toml: with_line(6, "hours = \"9 to 5\""), expect: "5:1: site.contact: give at least one way to reach a person" },
        Case { name: "bad contact email", toml: with_line(6, "email = \"nobody\""), expect: "6:9: site.contact.email: \"nobody\" is not an email address" },
        Case { name: "bad component id", toml: with_line(9, "id = \"API Server\""), expect: "9:6: component #1: id: \"API Server\" is not a valid id" },
        Case { name: "missing check table", toml: with_line(12, "").replace("url = \"https://api.acme.test/health\"\nevery = \"30s\"\n", ""), expect: "8:1: component \"api\": check: is required" },
        Case { name: "check key on the component", toml: with_line(10, "name = \"API\"\nurl = \"https://api.acme.test/\""), expect: "11:1: component \"api\": url: unknown key: \"url\" belongs in the [component.check] table" },
        Case { name: "secret variable not set", toml: with_line(14, "every = \"30s\"\nheaders_env = { Authorization = \"FW_TEST_SURELY_UNSET\" }"), expect: "15:33: component \"api\": check.headers_env.Authorization: environment variable FW_TEST_SURELY_UNSET is not set" },
        Case { name: "a credential in plain headers", toml: with_line(14, "every = \"30s\"\nheaders = { Authorization = \"Bearer sk_live_x\" }"), expect: "15:13: component \"api\": check.headers.Authorization: carries a credential; keep secrets out of this file" },
        Case { name: "a custom secret header in plain headers", toml: with_line(14, "every = \"30s\"\nheaders = { \"X-Api-Key\" = \"k\" }"), expect: "15:13: component \"api\": check.headers.X-Api-Key: carries a credential" },
        Case { name: "a name far too long", toml: with_line(10, &format!("name = \"{}\"", "n".repeat(20_000))), expect: "10:8: component \"api\": name: is 20000 characters long; use at most 255" },
        Case { name: "bad header name", toml: with_line(14, "every = \"30s\"\nheaders = { \"Bad Header\" = \"x\" }"), expect: "15:13: component \"api\": check.headers.Bad Header: is not a valid header name" },
        Case { name: "tls warn_days zero", toml: with_line(13, "kind = \"tls\"\naddress = \"www.acme.test\"\nwarn_days = 0"), expect: "15:13: component \"api\": check.warn_days: 0 is out of range (use 1 to 365)" },
        Case { name: "tls ca_file missing", toml: with_line(13, "kind = \"tls\"\naddress = \"www.acme.test\"\nca_file = \"no-such-ca.pem\""), expect: "15:11: component \"api\": check.ca_file: cannot read \"no-such-ca.pem\"" },
        Case { name: "dns expect not an address", toml: with_line(13, "kind = \"dns\"\nname = \"www.acme.test\"\nexpect = [\"localhost\"]"), expect: "15:11: component \"api\": check.expect: \"localhost\" is not an IP address" },
        Case { name: "dns server not an address", toml: with_line(13, "kind = \"dns\"\nname = \"www.acme.test\"\nserver = \"ns1.acme.test\""), expect: "15:10: component \"api\": check.server: \"ns1.acme.test\" is not an IP address" },
        Case { name: "a heartbeat given a probe interval", toml: with_line(13, "kind = \"heartbeat\"\nexpect_every = \"5m\""), expect: "15:9: component \"api\": check.every: a heartbeat check is not probed: its job reports to forewarn; say how often with expect_every" },
        Case { name: "a heartbeat without its period", toml: with_line(13, "kind = \"heartbeat\"").replace("every = \"30s\"\n", ""), expect: "12:1: component \"api\": check.expect_every: is required (how often the job reports" },
        Case { name: "a heartbeat's grace that is not a duration", toml: with_line(13, "kind = \"heartbeat\"\nexpect_every = \"1d\"\ngrace = \"a while\"").replace("every = \"30s\"\n", ""), expect: "15:9: component \"api\": check.grace: \"a while\" is not a duration" },
        Case { name: "a heartbeat's grace of centuries", toml: with_line(13, "kind = \"heartbeat\"\nexpect_every = \"1d\"\ngrace = \"300000y\"").replace("every = \"30s\"\n", ""), expect: "15:9: component \"api\": check.grace: 300000years is too long (the most is 32 days)" },
        Case { name: "no components", toml: BASE.split("[[component]]").next().unwrap_or_default().to_owned(), expect: "1:1: no components" },
        Case { name: "no connections at all", toml: appended("[serve]\nmax_connections = 0"), expect: "16:19: serve.max_connections: 0 is out of range (use 1 to 1000000)" },
        Case { name: "a header timeout too short", toml: appended("[serve]\nheader_timeout = \"200ms\""), expect: "16:18: serve.header_timeout: must be between 1s and 1h" },
        Case { name: "broken TOML in a later component", toml: appended("\n[[component]]\nid = \"web\"\nname = \"Web\"\n[component.check]\nurl = \"https://w.acme.test/\"\nevery = 30s"), expect: "21:9: invalid TOML: string values must be quoted" },
        Case { name: "component also as a plain table", toml: appended("[component]\nx = 1"), expect: "15:2: invalid TOML: duplicate key" },
        Case { name: "depends_on with no upstream declared", toml: with_line(11, "depends_on = [\"payments\"]"), expect: "11:15: component \"api\": depends_on: \"payments\" is not an [[upstream]] id; declare the vendor's page in an [[upstream]] table first" },
        Case { name: "depends_on with a typo", toml: with_line(11, "depends_on = [\"pya\"]") + "[[upstream]]\nid = \"pay\"\nname = \"Pay\"\npage = \"https://status.pay.test\"\n", expect: "11:15: component \"api\": depends_on: \"pya\" is not an [[upstream]] id; did you mean \"pay\"?" },
        Case { name: "a vendor page read too often", toml: appended("[[upstream]]\nid = \"pay\"\nname = \"Pay\"\npage = \"https://status.pay.test\"\nevery = \"5s\""), expect: "19:9: upstream \"pay\": every: 5s is too often for someone else's status page (use at least 30s)" },
        Case { name: "a vendor page of a kind forewarn does not read", toml: appended("[[upstream]]\nid = \"pay\"\nname = \"Pay\"\npage = \"https://status.pay.test\"\nkind = \"atlassian\""), expect: "19:8: upstream \"pay\": kind: \"atlassian\" is not a kind of status page forewarn reads (use statuspage, incidentio, instatus, betterstack, forewarn, or leave it out to detect it)" },
        Case { name: "a vendor page that is not a web address", toml: appended("[[upstream]]\nid = \"pay\"\nname = \"Pay\"\npage = \"status.pay.test\""), expect: "18:8: upstream \"pay\": page:" },
        Case { name: "a vendor without its page", toml: appended("[[upstream]]\nid = \"pay\"\nname = \"Pay\""), expect: "15:1: upstream \"pay\": page: is required" },
        Case { name: "two vendors with one id", toml: appended("[[upstream]]\nid = \"pay\"\nname = \"Pay\"\npage = \"https://status.pay.test\"\n\n[[upstream]]\nid = \"pay\"\nname = \"Pay\"\npage = \"https://status.pay.test\""), expect: "20:1: upstream \"pay\": id: duplicate id, already used by the upstream on line 15" },
        Case { name: "a vendor component listed twice", toml: appended("[[upstream]]\nid = \"pay\"\nname = \"Pay\"\npage = \"https://status.pay.test\"\ncomponents = [\"API\", \"API\"]"), expect: "19:22: upstream \"pay\": components: \"API\" is listed twice" },
        Case { name: "components written as a plain table", toml: appended("[components]\nx = 1"), expect: "15:2: components: unknown key: components are declared as [[component]] tables" },
    ]
}

#[test]
fn every_broken_config_names_its_file_line_and_key_and_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = cases();
    assert!(cases.len() >= 25);
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let path = dir.path().join(format!("case{i}.toml"));
        std::fs::write(&path, &case.toml).expect("write");
        let out = run_bounded(
            forewarn().arg("check").arg("--config").arg(&path),
            Duration::from_secs(20),
        );
        let stderr = text(&out.stderr);
        let expected = format!("{}:{}", path.display(), case.expect);
        let problems = [
            (out.status.code() != Some(2)).then(|| format!("exit code {:?}", out.status.code())),
            (!stderr.lines().any(|l| l.starts_with(&expected)))
                .then(|| format!("no line starting with {expected:?}")),
            stderr
                .contains("panicked")
                .then(|| "it panicked".to_owned()),
        ];
        for p in problems.into_iter().flatten() {
            failures.push(format!("{}: {p}\n--- stderr ---\n{stderr}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn several_problems_are_all_reported_in_one_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("forewarn.toml");
    let toml = BASE
        .replace(
            "every = \"30s\"",
            "every = \"30x\"\nfail_after = -1\nretries = 3",
        )
        .replace("email = \"help@acme.test\"", "email = \"help\"");
    std::fs::write(&path, toml).expect("write");
    let out = run_bounded(
        forewarn().arg("check").arg("--config").arg(&path),
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    let located: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with(&path.display().to_string()))
        .collect();
    assert_eq!(located.len(), 4, "{stderr}");
    assert!(stderr.contains("4 problems found"), "{stderr}");
}

#[test]
fn secrets_written_into_the_file_are_refused_without_being_repeated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "https://status:hunter2@api.acme.test/health",
            "13:7: component \"api\": check.url: holds credentials",
        ),
        (
            "ftp://status:hunter2@api.acme.test:99999/",
            "13:7: component \"api\": check.url: holds credentials",
        ),
        (
            "https://hunter2@api.acme.test/",
            "13:7: component \"api\": check.url: holds credentials",
        ),
        (
            "https://api.acme.test/health?Token=hunter2",
            "13:7: component \"api\": check.url: the query parameter \"Token\" looks like a secret",
        ),
    ];
    for (url, expected) in cases {
        let path = dir.path().join("forewarn.toml");
        std::fs::write(&path, with_line(13, &format!("url = \"{url}\""))).expect("write");
        let out = run_bounded(
            forewarn().arg("check").arg("--config").arg(&path),
            Duration::from_secs(20),
        );
        assert_eq!(out.status.code(), Some(2));
        let stderr = text(&out.stderr);
        assert!(stderr.contains(expected), "{url}: {stderr}");
        assert!(
            !stderr.contains("hunter2"),
            "the secret was printed: {stderr}"
        );
    }
}

#[test]
fn a_secret_url_comes_from_the_environment_and_is_never_shown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("forewarn.toml");
    std::fs::write(&path, with_line(13, "url_env = \"FW_TEST_HEALTH_URL\"")).expect("write");
    let out = run_bounded(
        forewarn()
            .args(["probe", "--json", "--config"])
            .arg(&path)
            .env(
                "FW_TEST_HEALTH_URL",
                format!(
                    "http://127.0.0.1:{}/health?token=hunter2",
                    common::closed_port()
                ),
            ),
        Duration::from_secs(20),
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("GET http://127.0.0.1/… (address from the environment)"),
        "{stdout}"
    );
    assert!(!stdout.contains("hunter2") && !text(&out.stderr).contains("hunter2"));

    let both = with_line(
        13,
        "url = \"https://api.acme.test/\"\nurl_env = \"FW_TEST_HEALTH_URL\"",
    );
    std::fs::write(&path, both).expect("write");
    let out = run_bounded(
        forewarn().arg("check").arg("--config").arg(&path),
        Duration::from_secs(20),
    );
    assert!(
        text(&out.stderr)
            .contains(":14:11: component \"api\": check.url_env: give url or url_env, not both"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_missing_config_file_is_a_clear_error() {
    let out = run_bounded(
        forewarn()
            .arg("check")
            .arg("--config")
            .arg("/nonexistent/forewarn.toml"),
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot read /nonexistent/forewarn.toml"),
        "{stderr}"
    );
}

/// One mistake, one message: a broken value never makes its neighbours look unknown,
/// and "did you mean" never suggests the word that was written.
#[test]
fn a_broken_value_blames_only_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "bad time zone beside an [email] table",
            BASE.replace(
                "base_url = \"https://status.acme.test\"",
                "base_url = \"https://status.acme.test\"\ntimezone = \"Mars/Olympus\"",
            ) + "\n[email]\nfrom = \"status@acme.test\"\n",
            vec!["4:12: site.timezone: \"Mars/Olympus\" is not a time zone"],
        ),
        (
            "bad time zone, and a broken [email] table still checked",
            BASE.replace(
                "base_url = \"https://status.acme.test\"",
                "base_url = \"https://status.acme.test\"\ntimezone = \"Mars/Olympus\"",
            ) + "\n[email]\ntransport = \"pigeon\"\n",
            vec![
                "4:12: site.timezone: \"Mars/Olympus\" is not a time zone",
                "email.transport:",
            ],
        ),
        (
            "unknown check kind with its address",
            with_line(13, "kind = \"ping\"\naddress = \"api.acme.test:443\""),
            vec!["13:8: component \"api\": check.kind: \"ping\" is not a check kind"],
        ),
    ];
    for (i, (name, toml, expected)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("only{i}.toml"));
        std::fs::write(&path, toml).expect("write");
        let out = run_bounded(
            forewarn().arg("check").arg("--config").arg(&path),
            Duration::from_secs(20),
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        let located: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with(&path.display().to_string()))
            .collect();
        assert_eq!(located.len(), expected.len(), "{name}: {stderr}");
        for e in expected {
            assert!(
                located.iter().any(|l| l.contains(e)),
                "{name}: no {e:?} in {stderr}"
            );
        }
        assert!(
            !stderr.contains("did you mean \"email\""),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains("this is a  check"), "{name}: {stderr}");
    }
}

#[test]
fn a_file_that_is_not_utf8_is_named_at_its_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("forewarn.toml");
    // Latin-1 "é" on line 2: not UTF-8.
    let mut bytes = b"[site]\ntitle = \"Caf".to_vec();
    bytes.push(0xe9);
    bytes.extend_from_slice(BASE.trim_start_matches("[site]\ntitle = \"Acme").as_bytes());
    std::fs::write(&path, &bytes).expect("write");
    let out = run_bounded(
        forewarn().arg("check").arg("--config").arg(&path),
        Duration::from_secs(20),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}:2:13: is not UTF-8 text (byte 0xe9 here)",
            path.display()
        )),
        "{stderr}"
    );

    // A good main file; a declared incident and the subscribers file that are not text.
    std::fs::write(&path, BASE).expect("write");
    std::fs::create_dir_all(dir.path().join("incidents")).expect("mkdir");
    let incident = dir.path().join("incidents/cards.toml");
    std::fs::write(&incident, b"id = \"cards\"\ntitle = \"\xff\"\n").expect("write");
    let subscribers = dir.path().join("subscribers.toml");
    std::fs::write(&subscribers, b"[[email]]\naddress = \"\xfe@x.test\"\n").expect("write");
    let out = run_bounded(
        forewarn().arg("check").arg("--config").arg(&path),
        Duration::from_secs(20),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for (file, at) in [(&incident, "2:10"), (&subscribers, "2:12")] {
        assert!(
            stderr.contains(&format!("{}:{at}: is not UTF-8 text", file.display())),
            "{file:?} at {at}:\n{stderr}"
        );
    }
}

#[test]
fn a_credential_written_in_plain_headers_is_refused_without_being_repeated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("forewarn.toml");
    std::fs::write(
        &path,
        with_line(
            14,
            "every = \"30s\"\nheaders = { Cookie = \"session=hunter2\", Accept = \"application/json\" }",
        ),
    )
    .expect("write");
    let out = run_bounded(
        forewarn().arg("check").arg("--config").arg(&path),
        Duration::from_secs(20),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("check.headers.Cookie: carries a credential")
            && stderr.contains("headers_env"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(
        !stderr.contains("headers.Accept"),
        "an ordinary header stays allowed: {stderr}"
    );
}
