//! The built site judged by independent tools: the current Nu HTML validator (npm
//! `vnu-jar`, on Java), Python's `feedparser` and `icalendar`, headless Chromium with
//! axe-core, and Atlassian's status widget (npm `@statuspage/status-widget`) embedded on
//! another origin. `.ci/run` installs them and sets FOREWARN_REQUIRE_EXTERNAL=1, so in CI a
//! missing tool fails the test; elsewhere such a test says it was skipped.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::{run_bounded, text};
use forewarn::site::Builder;

/// An independent judge. Judges run on the real clock: under the faked clock of
/// `.ci/future-clock`, Chromium's renderer stalls. What they judge is still the site as
/// this test built it, a year ahead there.
fn judge(program: &str) -> Command {
    let mut c = Command::new(program);
    c.env_remove("LD_PRELOAD");
    c
}

fn required() -> bool {
    std::env::var("FOREWARN_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1")
}

/// Is this tool usable? If not: fail in CI, skip (loudly) elsewhere.
fn available(what: &str, probe: &mut Command) -> bool {
    let ok = probe
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(!required(), "{what} is missing; .ci/run installs it");
        eprintln!("skipped: {what} is not installed (.ci/run installs it)");
    }
    ok
}

/// The site of a realistic story, built once for all tests of this file.
fn site() -> &'static Path {
    static SITE: OnceLock<PathBuf> = OnceLock::new();
    SITE.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("site-check");
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("mkdir");
        // With a public front, so the sign-up form is judged too.
        let story = common::story::write_with(
            &root,
            12,
            "[serve]\npublic_url = \"https://status.acme.test\"\n",
        );
        let out = root.join("site");
        let mut b = Builder::new(&story.config, out.clone()).expect("builder");
        b.build_all(&story.config, &story.view, &story.state, story.now)
            .expect("build");
        out
    })
}

/// The Nu validator's jar: `FOREWARN_VNU_JAR`, or where `.ci/run` installs it.
fn vnu_jar() -> PathBuf {
    std::env::var_os("FOREWARN_VNU_JAR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/browser-check/node_modules/vnu-jar/build/dist/vnu.jar")
        })
}

#[test]
fn every_page_stylesheet_and_badge_is_valid() {
    let jar = vnu_jar();
    if !available("java", judge("java").arg("-version"))
        || !available(
            "the Nu validator (npm vnu-jar, in target/browser-check)",
            judge("java").arg("-jar").arg(&jar).arg("--version"),
        )
    {
        return;
    }
    // Warnings fail too (`--Werror`): the checker warns of what readers and tools
    // stumble on.
    let out = run_bounded(
        judge("java")
            .arg("-jar")
            .arg(&jar)
            .args([
                "--Werror",
                "--skip-non-html",
                "--also-check-css",
                "--also-check-svg",
                "--format",
                "gnu",
            ])
            .arg(site()),
        Duration::from_secs(300),
    );
    assert!(
        out.status.success(),
        "the Nu validator found problems:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // It judged something: a page with an error is refused.
    let broken = site().parent().expect("root").join("broken");
    std::fs::create_dir_all(&broken).expect("mkdir");
    std::fs::write(
        broken.join("page.html"),
        "<!DOCTYPE html><html lang=\"en\"><head><title>x</title></head><body><p><div></p></body></html>",
    )
    .expect("write");
    let out = run_bounded(
        judge("java")
            .arg("-jar")
            .arg(&jar)
            .args(["--Werror", "--format", "gnu"])
            .arg(&broken),
        Duration::from_secs(120),
    );
    assert!(!out.status.success(), "the checker catches a broken page");
}

#[test]
fn feeds_and_calendar_parse_cleanly() {
    let check = "import feedparser, icalendar";
    if !available(
        "python3 with feedparser and icalendar",
        judge("python3").args(["-c", check]),
    ) {
        return;
    }
    let script = r#"
import sys, feedparser, icalendar
root = sys.argv[1]
for name in ["feed.atom", "history.atom", "history.rss", "components/c0.atom", "components/c2.atom"]:
    d = feedparser.parse(root + "/" + name)
    if d.bozo:
        sys.exit(f"{name}: {d.bozo_exception}")
    if not d.entries:
        sys.exit(f"{name}: no entries")
    if name.endswith(".atom") and not d.feed.get("id"):
        sys.exit(f"{name}: no feed id")
    print(name, len(d.entries), d.entries[0].id)
rss = feedparser.parse(root + "/history.rss")
print("history.rss titles", [e.title for e in rss.entries])
raw = open(root + "/history.rss").read()
import re
for t in re.findall(r"<title>(.*?)</title>", raw):
    if "&amp;" in t or "&lt;" in t:
        sys.exit(f"history.rss: a title with entities readers take differently: {t}")
selfs = [l.href for l in rss.feed.get("links", []) if l.get("rel") == "self"]
print("history.rss self", selfs)
c2 = feedparser.parse(root + "/components/c2.atom")
print("components/c2.atom titles", [e.title for e in c2.entries])
cal = icalendar.Calendar.from_ical(open(root + "/maintenance.ics", "rb").read())
print("PRODID", cal.get("prodid"))
for e in cal.walk("VEVENT"):
    if not e.get("uid") or not e.get("dtstart"):
        sys.exit("maintenance.ics: a VEVENT without a UID or a start")
    print("VEVENT", e.get("uid"), "SEQUENCE", e.decoded("sequence"), "STATUS", e.get("status"))
"#;
    let out = run_bounded(
        judge("python3").args(["-c", script]).arg(site()),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("feed.atom 2 tag:status.test.example,"),
        "{stdout}"
    );
    assert!(
        stdout.contains("'Component 0 & search <beta>: major outage (Resolved)'"),
        "the title reads as written: {stdout}"
    );
    assert!(
        stdout.contains("history.rss self ['https://status.test.example/history.rss']"),
        "the RSS feed names its own address: {stdout}"
    );
    assert!(
        stdout.contains("Maintenance: CDN switch (cancelled)")
            && stdout.contains("Maintenance: Database upgrade (scheduled)"),
        "the component's feed has its windows: {stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "PRODID -//forewarn//forewarn {}//EN",
            env!("CARGO_PKG_VERSION")
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("VEVENT cdn-switch@status.test.example SEQUENCE 2 STATUS CANCELLED"),
        "moved once, then cancelled: {stdout}"
    );
    assert!(
        stdout.contains("VEVENT db-upgrade@status.test.example SEQUENCE 0 STATUS CONFIRMED"),
        "{stdout}"
    );
}

/// Chromium, and node with these npm packages in `target/browser-check`, with `script`
/// (from `tests/browser/`) copied there to run: (chromium, that folder), or None when
/// they are missing (which fails in CI).
fn browser_with(packages: &[&str], script: &str) -> Option<(String, PathBuf)> {
    let chromium =
        std::env::var("FOREWARN_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-check");
    let resolve: Vec<String> = packages
        .iter()
        .map(|p| format!("require.resolve('{p}');"))
        .collect();
    if !available("node", judge("node").arg("--version"))
        || !available("chromium", judge(&chromium).arg("--version"))
        || !available(
            &format!("{} (npm, in target/browser-check)", packages.join(", ")),
            judge("node")
                .current_dir(&tools)
                .args(["-e", &resolve.concat()]),
        )
    {
        return None;
    }
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/browser")
            .join(script),
        tools.join(script),
    )
    .expect("copy");
    Some((chromium, tools))
}

#[test]
fn pages_read_well_in_a_browser_without_serious_accessibility_problems() {
    let Some((chromium, tools)) = browser_with(&["playwright-core", "axe-core"], "check.mjs")
    else {
        return;
    };
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&shots).expect("mkdir");
    let pages = [
        "index.html",
        "incidents/INC-now-cards.html",
        "incidents/INC-auto.html",
        "history.html",
    ];
    let urls: Vec<String> = pages
        .iter()
        .map(|p| format!("file://{}/{p}", site().display()))
        .collect();
    let out = run_bounded(
        judge("node")
            .current_dir(&tools)
            .arg("check.mjs")
            .arg(&chromium)
            .arg(&shots)
            .args(&urls),
        Duration::from_secs(180),
    );
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
    let mut problems = Vec::new();
    for page in report.as_array().expect("pages") {
        let (url, width) = (page["url"].as_str().unwrap_or(""), &page["width"]);
        for v in page["violations"].as_array().into_iter().flatten() {
            if matches!(v["impact"].as_str(), Some("serious" | "critical")) {
                problems.push(format!(
                    "{url} at {width}px: {} ({}): {}",
                    v["id"], v["impact"], v["help"]
                ));
            }
        }
        if page["overflow"] == true {
            problems.push(format!("{url} at {width}px scrolls sideways"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let front = &report[0]["text"];
    let front = front.as_str().unwrap_or("");
    assert!(
        front.contains("Partial outage"),
        "the banner is visible: {front}"
    );
    assert!(
        front.contains("Card payments failing for some customers"),
        "the open incident is visible"
    );
    assert!(front.contains("We expect a fix by"), "its ETA is visible");
    assert!(front.contains("Talk to a human"), "a person can be reached");
    assert!(shots.join("site-index.html-390.png").exists());
    assert!(shots.join("site-index.html-1280.png").exists());
}

/// Atlassian's own status widget, embedded on another site, shows forewarn's status:
/// the API answers cross-origin reads.
#[test]
fn the_statuspage_widget_shows_our_status_from_another_site() {
    let Some((chromium, tools)) = browser_with(
        &["playwright-core", "@statuspage/status-widget/package.json"],
        "widget.mjs",
    ) else {
        return;
    };
    let site = site();
    let root = site.parent().expect("root");
    let port = common::closed_port();
    let mut front = common::forewarn()
        .arg("serve")
        .arg("--config")
        .arg(root.join("config/forewarn.toml"))
        .arg("--state")
        .arg(root.join("state"))
        .arg("--out")
        .arg(site)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("forewarn serve");
    common::wait_until(Duration::from_secs(20), "the front", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let out = run_bounded(
        judge("node")
            .current_dir(&tools)
            .arg("widget.mjs")
            .arg(&chromium)
            .arg(format!("http://127.0.0.1:{port}")),
        Duration::from_secs(120),
    );
    let _ = front.kill();
    let _ = front.wait();
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(site.join("api/v2/summary.json")).expect("summary.json"),
    )
    .expect("JSON");
    let description = summary["status"]["description"].as_str().expect("status");
    assert_ne!(
        description, "All Systems Operational",
        "the story has an outage"
    );
    let fetched = report["summary"].as_array().expect("responses");
    assert!(
        fetched
            .iter()
            .any(|r| r["status"] == 200 && r["allow"] == "*"),
        "the widget read the API from {}: {report}",
        report["origin"]
    );
    let shown = report["text"].as_array().expect("widgets");
    assert_eq!(shown.len(), 2, "{report}");
    for t in shown {
        let t = t.as_str().unwrap_or("");
        assert!(
            t.contains(description),
            "the widget shows \"{description}\": {report}"
        );
    }
}
