//! Reading vendors' status pages, against real pages on 127.0.0.1: each dialect in its
//! documented shape (Atlassian's with groups, incident.io's copy without groups or
//! incidents in its summary, Instatus, Better Stack, another forewarn's own site), and
//! pages that misbehave (429 with Retry-After, HTML, 50 MB, a hang). Through
//! `forewarn upstream test` and `forewarn check`, as an operator meets them.

mod common;

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use common::vendor::{Answer, VendorPeer, huge_page};
use common::{background_runtime, forewarn, run_bounded, text, write_config};

const LIMIT: Duration = Duration::from_secs(60);

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/vendors")
            .join(name),
    )
    .expect("fixture")
}

/// `forewarn upstream test URL` with these extra arguments: (exit code, stdout, stderr).
fn upstream_test(url: &str, extra: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_bounded(
        forewarn()
            .current_dir(dir.path())
            .args(["upstream", "test", url])
            .args(extra),
        LIMIT,
    );
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

#[test]
fn an_atlassian_page_lists_its_groups_members_and_open_incidents() {
    let rt = background_runtime();
    let vendor = rt.block_on(VendorPeer::start());
    vendor.set(
        "/api/v2/summary.json",
        Answer::Json(fixture("statuspage-summary.json")),
    );
    let (code, out, err) = upstream_test(&vendor.page(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Atlassian Statuspage, \"Payment Provider\""),
        "{out}"
    );
    assert!(out.contains("Overall: Partial outage"), "{out}");
    assert!(
        out.contains("Payments / Card payments   Partial outage"),
        "a member is listed with its group: {out}"
    );
    assert!(
        out.contains("Payments / Bank transfers  Operational"),
        "{out}"
    );
    assert!(
        out.contains("Card payments <fail> & time out (identified), since 2026-11-27T10:04:00Z https://stspg.example/p31zjtct2jer"),
        "the open incident with its stage, start and link: {out}"
    );
    assert!(
        !out.contains("Database upgrade"),
        "maintenance only scheduled is not under way: {out}"
    );
    // The page is asked with a User-Agent that names forewarn.
    let seen = vendor.seen();
    let agent = seen[0].headers["user-agent"].to_str().expect("ascii");
    assert!(agent.starts_with("forewarn/"), "{agent}");
}

#[test]
fn a_member_listed_only_inside_its_group_is_found() {
    let rt = background_runtime();
    let vendor = rt.block_on(VendorPeer::start());
    vendor.set(
        "/api/v2/summary.json",
        Answer::Json(fixture("statuspage-nested-summary.json")),
    );
    let (code, out, err) = upstream_test(&vendor.page(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Payments / Card payments   Partial outage"),
        "{out}"
    );
}

#[test]
fn incident_io_pages_without_groups_or_incidents_in_the_summary_are_read_whole() {
    let rt = background_runtime();
    let vendor = rt.block_on(VendorPeer::start());
    vendor.set(
        "/api/v2/summary.json",
        Answer::Json(fixture("incidentio-summary.json")),
    );
    vendor.set(
        "/api/v2/incidents.json",
        Answer::Json(fixture("incidentio-incidents.json")),
    );
    let (code, out, err) = upstream_test(&vendor.page(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("incident.io (Statuspage-compatible), \"Mail Vendor\""),
        "{out}"
    );
    assert!(out.contains("Overall: Major outage"), "{out}");
    assert!(
        out.contains("Emails delayed (investigating)"),
        "the open one: {out}"
    );
    assert!(
        !out.contains("Dashboard slow"),
        "not the resolved one: {out}"
    );
}

#[test]
fn a_page_whose_second_file_fails_is_not_read_as_all_well() {
    // Without its list of incidents, an incident.io page would look fixed.
    let rt = background_runtime();
    let mail = rt.block_on(VendorPeer::start());
    mail.set(
        "/api/v2/summary.json",
        Answer::Json(fixture("incidentio-summary.json")),
    );
    mail.set(
        "/api/v2/incidents.json",
        Answer::Status(503, Vec::new(), "busy".into()),
    );
    let (code, _, err) = upstream_test(&mail.page(), &[]);
    assert_eq!(code, 1);
    assert!(err.contains("their page answered HTTP 503"), "{err}");
    // Without its components, an Instatus page would lose what we follow.
    let cards = rt.block_on(VendorPeer::start());
    cards.set(
        "/summary.json",
        Answer::Json(fixture("instatus-summary.json")),
    );
    cards.set("/v2/components.json", Answer::Hang);
    let (code, _, err) = upstream_test(&cards.page(), &["--timeout", "1s"]);
    assert_eq!(code, 1);
    assert!(err.contains("their page did not answer within 1s"), "{err}");
}

#[test]
fn instatus_pages_are_read_with_their_components_and_groups() {
    let rt = background_runtime();
    let vendor = rt.block_on(VendorPeer::start());
    vendor.set(
        "/summary.json",
        Answer::Json(fixture("instatus-summary.json")),
    );
    vendor.set(
        "/v2/components.json",
        Answer::Json(fixture("instatus-components.json")),
    );
    let (code, out, err) = upstream_test(&vendor.page(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Instatus, \"Card Network\""), "{out}");
    assert!(out.contains("Cards / Visa"), "{out}");
    assert!(out.contains("Partial outage"), "{out}");
    assert!(
        out.contains("Visa authorisations failing (identified), since 2026-11-27T10:04:00Z"),
        "a JavaScript date is read: {out}"
    );
}

#[test]
fn better_stack_pages_show_the_reports_under_way_only() {
    let rt = background_runtime();
    let vendor = rt.block_on(VendorPeer::start());
    let now = Utc::now();
    let iso = |d: chrono::TimeDelta| (now + d).to_rfc3339();
    let index = serde_json::json!({
        "data": {"id": "1", "type": "status_page", "attributes": {
            "company_name": "Hosting Co", "aggregate_state": "degraded"}},
        "included": [
            {"id": "10", "type": "status_page_section", "attributes": {"name": "Servers"}},
            {"id": "20", "type": "status_page_resource", "attributes": {
                "public_name": "Frankfurt", "status": "degraded", "status_page_section_id": 10}},
            {"id": "21", "type": "status_page_resource", "attributes": {
                "public_name": "Virginia", "status": "operational", "status_page_section_id": 10}},
            {"id": "30", "type": "status_report", "attributes": {
                "title": "Frankfurt network slow", "report_type": "manual",
                "starts_at": iso(chrono::TimeDelta::minutes(-20)), "ends_at": null}},
            {"id": "31", "type": "status_report", "attributes": {
                "title": "An old report", "report_type": "manual",
                "starts_at": iso(chrono::TimeDelta::days(-3)), "ends_at": iso(chrono::TimeDelta::days(-2))}}
        ]
    });
    vendor.set("/index.json", Answer::Json(index.to_string()));
    let (code, out, err) = upstream_test(&vendor.page(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Better Stack, \"Hosting Co\""), "{out}");
    assert!(out.contains("Servers / Frankfurt"), "{out}");
    assert!(out.contains("Degraded performance"), "{out}");
    assert!(out.contains("Frankfurt network slow"), "{out}");
    assert!(!out.contains("An old report"), "{out}");
}

#[test]
fn another_forewarn_is_read_through_its_own_api() {
    // A vendor running forewarn, whose own API is down: its front serves its site.
    let dir = tempfile::tempdir().expect("tempdir");
    let port = common::peers::free_port();
    let config = write_config(
        dir.path(),
        &format!(
            "[serve]\nlisten = \"127.0.0.1:{port}\"\n\n[[component]]\nid = \"api\"\nname = \"Vendor API\"\n[component.check]\nurl = \"http://127.0.0.1:{}/\"\nevery = \"200ms\"\nfail_after = 1\n",
            common::closed_port()
        ),
    );
    let state = dir.path().join("state");
    let vendor = common::Running::new(common::start_daemon_logged(&config, &state, &[]));
    let page = format!("http://127.0.0.1:{port}/");
    let mut last = (0, String::new(), String::new());
    common::wait_until(LIMIT, "the vendor's forewarn to report its outage", || {
        last = upstream_test(&page, &[]);
        last.1.contains("Vendor API")
            && last.1.contains("Major outage")
            && last.1.contains("Open incidents:")
    });
    let (code, out, err) = last;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("{page}: forewarn, \"Test Status\"")),
        "{out}"
    );
    assert!(
        out.contains("Vendor API: major outage (investigating)"),
        "{out}"
    );
    vendor.stop();
}

#[test]
fn pages_that_misbehave_are_named_as_such_and_never_as_an_outage() {
    let rt = background_runtime();
    // Slow down, please.
    let busy = rt.block_on(VendorPeer::start());
    busy.set(
        "/api/v2/summary.json",
        Answer::Status(429, vec![("retry-after", "120".into())], "slow down".into()),
    );
    let (code, _, err) = upstream_test(&busy.page(), &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("their page answered HTTP 429 and asked us to wait 2m"),
        "{err}"
    );
    // A web page where the data should be.
    let html = rt.block_on(VendorPeer::start());
    for path in ["/api/v2/summary.json", "/summary.json", "/index.json"] {
        html.set(path, Answer::Html);
    }
    let (code, _, err) = upstream_test(&html.page(), &[]);
    assert_eq!(code, 1);
    assert!(err.contains("is a web page (HTML), not JSON"), "{err}");
    assert!(!err.contains("outage"), "{err}");
    // Fifty megabytes.
    let (huge, sent) = rt.block_on(huge_page());
    let (code, _, err) = upstream_test(&huge, &["--kind", "statuspage"]);
    assert_eq!(code, 1);
    assert!(err.contains("larger than 2 MB"), "{err}");
    let sent = sent.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        sent < 20 * 1024 * 1024,
        "reading stopped early, not after {sent} bytes"
    );
    // No answer at all.
    let hang = rt.block_on(VendorPeer::start());
    hang.set("/api/v2/summary.json", Answer::Hang);
    let (code, _, err) = upstream_test(&hang.page(), &["--timeout", "1s"]);
    assert_eq!(code, 1);
    assert!(err.contains("their page did not answer within 1s"), "{err}");
    // A page that is not a status page.
    let nothing = rt.block_on(VendorPeer::start());
    let (code, _, err) = upstream_test(&nothing.page(), &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("it is not a status page forewarn can read"),
        "{err}"
    );
}

#[test]
fn check_names_a_followed_component_the_vendor_page_does_not_have() {
    let rt = background_runtime();
    let vendor = rt.block_on(VendorPeer::start());
    vendor.set(
        "/api/v2/summary.json",
        Answer::Json(fixture("statuspage-summary.json")),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let components = format!(
        "[[component]]\nid = \"checkout\"\nname = \"Checkout\"\ndepends_on = [\"payments\"]\n[component.check]\nurl = \"http://127.0.0.1:9/\"\n\n[[upstream]]\nid = \"payments\"\nname = \"Payment provider\"\npage = \"{}\"\ncomponents = [\"Card payments\", \"Crad payments\"]\n",
        vendor.page()
    );
    let config = write_config(dir.path(), &components);
    let check = |extra: &[&str]| {
        run_bounded(
            forewarn()
                .arg("--config")
                .arg(&config)
                .arg("check")
                .args(extra),
            LIMIT,
        )
    };
    let out = check(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    let line = std::fs::read_to_string(&config)
        .expect("config")
        .lines()
        .position(|l| l.contains("Crad payments"))
        .expect("the line")
        + 1;
    assert!(
        err.contains(&format!("forewarn.toml:{line}:")),
        "the file and line: {err}"
    );
    assert!(
        err.contains("upstream \"payments\": components: \"Crad payments\" is not on their page"),
        "{err}"
    );
    assert!(
        err.contains("Payments / Card payments"),
        "the names it has: {err}"
    );
    // Offline, the page is not read and the rest is valid.
    let out = check(&["--offline"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("upstream payments")
            && text(&out.stdout).contains("(not read: --offline)"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn check_names_a_followed_name_that_two_groups_share() {
    let mut page: serde_json::Value =
        serde_json::from_str(&fixture("statuspage-summary.json")).expect("json");
    let components = page["components"].as_array_mut().expect("components");
    let mut eu = components[1].clone();
    eu["id"] = serde_json::json!("grp0eu");
    eu["name"] = serde_json::json!("EU");
    eu["components"] = serde_json::json!(["eucards00001"]);
    let mut eu_cards = components[2].clone();
    eu_cards["id"] = serde_json::json!("eucards00001");
    eu_cards["group_id"] = serde_json::json!("grp0eu");
    components.push(eu);
    components.push(eu_cards);
    let rt = background_runtime();
    let vendor = rt.block_on(VendorPeer::start());
    vendor.set("/api/v2/summary.json", Answer::Json(page.to_string()));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &format!(
            "[[component]]\nid = \"checkout\"\nname = \"Checkout\"\ndepends_on = [\"payments\"]\n[component.check]\nurl = \"http://127.0.0.1:9/\"\n\n[[upstream]]\nid = \"payments\"\nname = \"Payment provider\"\npage = \"{}\"\ncomponents = [\"Card payments\"]\n",
            vendor.page()
        ),
    );
    let out = run_bounded(forewarn().arg("--config").arg(&config).arg("check"), LIMIT);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("upstream \"payments\": components: \"Card payments\" is the name of several components on their page (Payments / Card payments, EU / Card payments); write the one you mean as \"Group / Name\""),
        "{err}"
    );
    // Written whole, it is one.
    let fixed = std::fs::read_to_string(&config).expect("config").replace(
        "components = [\"Card payments\"]",
        "components = [\"EU / Card payments\"]",
    );
    std::fs::write(&config, fixed).expect("write");
    let out = run_bounded(forewarn().arg("--config").arg(&config).arg("check"), LIMIT);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn probe_lists_what_the_vendors_pages_say() {
    let rt = background_runtime();
    let vendor = rt.block_on(VendorPeer::start());
    vendor.set(
        "/api/v2/summary.json",
        Answer::Json(fixture("statuspage-summary.json")),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let fine = rt.block_on(common::http_peer(common::Behaviour::Ok("ok")));
    let config = write_config(
        dir.path(),
        &format!(
            "[[component]]\nid = \"checkout\"\nname = \"Checkout\"\ndepends_on = [\"payments\"]\n[component.check]\nurl = \"{}\"\n\n[[upstream]]\nid = \"payments\"\nname = \"Payment provider\"\npage = \"{}\"\ncomponents = [\"Card payments\"]\n",
            fine.url("/health"),
            vendor.page()
        ),
    );
    let out = run_bounded(forewarn().arg("--config").arg(&config).arg("probe"), LIMIT);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "their trouble is not ours: {stdout}"
    );
    let row = stdout
        .lines()
        .find(|l| l.starts_with("payments "))
        .unwrap_or_else(|| panic!("a row for the vendor: {stdout}"));
    assert!(
        row.contains("statuspage") && row.contains("partial_outage"),
        "{row}"
    );
    assert!(row.contains("Card payments <fail> & time out"), "{row}");
}

#[test]
fn check_passes_when_the_vendor_page_cannot_be_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = common::closed_port();
    let components = format!(
        "[[component]]\nid = \"checkout\"\nname = \"Checkout\"\ndepends_on = [\"payments\"]\n[component.check]\nurl = \"http://127.0.0.1:9/\"\n\n[[upstream]]\nid = \"payments\"\nname = \"Payment provider\"\npage = \"http://127.0.0.1:{port}/\"\ncomponents = [\"Crad payments\"]\n"
    );
    let config = write_config(dir.path(), &components);
    let out = run_bounded(forewarn().arg("--config").arg(&config).arg("check"), LIMIT);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("not checked: cannot connect to their page"),
        "{}",
        text(&out.stdout)
    );
}
