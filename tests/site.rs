//! The status site built from a real journal: the API's Statuspage fields, stable feed
//! ids, atomic publishing under a hammering reader, literal operator text, honest
//! "no data".

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use forewarn::config::Config;
use forewarn::journal::{Event, IncidentUpdate, Journal, MaintenanceWindow};
use forewarn::site::{Builder, Changes};
use forewarn::status::{ComponentStatus, Impact, IncidentStatus, StatusView};
use serde_json::Value;

struct Fixture {
    _dir: tempfile::TempDir,
    config: Config,
    state: PathBuf,
    out: PathBuf,
    journal: Journal,
    view: StatusView,
}

const COMPONENTS: &str = r#"
[[component]]
id = "api"
name = "Public API"
group = "Core"
[component.check]
url = "https://api.acme.test/health"

[[component]]
id = "checkout"
name = "Checkout"
group = "Core"
[component.check]
url = "https://shop.acme.test/health"

[[component]]
id = "db"
name = "Database"
[component.check]
kind = "tcp"
address = "db.acme.test:5432"
"#;

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::write_config(dir.path(), COMPONENTS);
    let config = Config::load(&path).expect("config");
    let state = dir.path().join("state");
    let (journal, _) = Journal::open(&state).expect("journal");
    let out = dir.path().join("site");
    Fixture {
        _dir: dir,
        config,
        state,
        out,
        journal,
        view: StatusView::default(),
    }
}

impl Fixture {
    fn record(&mut self, at: DateTime<Utc>, events: Vec<Event>) -> Changes {
        let mut changes = Changes::default();
        let recs = self
            .journal
            .append(events.into_iter().map(|e| (at, e)).collect())
            .expect("append");
        for r in recs {
            self.view.apply(&r);
            changes.note(&r.event, &self.view);
        }
        changes
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.out.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    fn json(&self, rel: &str) -> Value {
        serde_json::from_str(&self.read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }
}

fn update(at: DateTime<Utc>, status: IncidentStatus, message: &str) -> IncidentUpdate {
    IncidentUpdate {
        at,
        status,
        message: message.into(),
        eta: Some(at + TimeDelta::hours(2)),
        notify: true,
        apology: None,
        credit: None,
        automatic: false,
        next_update: None,
    }
}

fn declared(id: &str, title: &str, at: DateTime<Utc>, message: &str) -> Event {
    Event::IncidentOpened {
        id: id.into(),
        reference: format!("INC-{}-{id}", at.format("%Y-%m%d")),
        title: title.into(),
        components: BTreeMap::from([("checkout".to_string(), ComponentStatus::PartialOutage)]),
        impact: Impact::Major,
        automatic: false,
        update: Some(update(at, IncidentStatus::Investigating, message)),
        postmortem_url: None,
    }
}

fn a_story(f: &mut Fixture) -> DateTime<Utc> {
    let now = Utc::now();
    let t0 = now - TimeDelta::hours(3);
    f.record(
        t0,
        vec![declared(
            "cards",
            "Card payments failing",
            t0,
            "Some card payments fail.",
        )],
    );
    f.record(
        t0 + TimeDelta::minutes(30),
        vec![Event::IncidentUpdated {
            id: "cards".into(),
            reference: format!("INC-{}-cards", t0.format("%Y-%m%d")),
            update: update(
                t0 + TimeDelta::minutes(30),
                IncidentStatus::Identified,
                "A faulty release.",
            ),
        }],
    );
    f.record(
        now,
        vec![Event::MaintenanceScheduled {
            id: "db-upgrade".into(),
            window: MaintenanceWindow {
                title: "Database upgrade".into(),
                components: vec!["db".into()],
                starts_at: now + TimeDelta::days(2),
                ends_at: now + TimeDelta::days(2) + TimeDelta::hours(2),
                message: "Writes pause.".into(),
            },
        }],
    );
    now
}

fn build(f: &mut Fixture, now: DateTime<Utc>) -> Builder {
    let mut b = Builder::new(&f.config, f.out.clone()).expect("builder");
    b.build_all(&f.config, &f.view, &f.state, now)
        .expect("build");
    b
}

fn fields(v: &Value, names: &[&str], what: &str) {
    for n in names {
        assert!(v.get(n).is_some(), "{what} lacks \"{n}\": {v}");
    }
}

#[test]
fn the_api_uses_statuspage_fields_and_values() {
    let mut f = fixture();
    let now = a_story(&mut f);
    build(&mut f, now);
    let page_fields = ["id", "name", "url", "time_zone", "updated_at"];
    let component_statuses = [
        "operational",
        "degraded_performance",
        "partial_outage",
        "major_outage",
        "under_maintenance",
    ];
    let incident_statuses = [
        "investigating",
        "identified",
        "monitoring",
        "resolved",
        "postmortem",
    ];

    let summary = f.json("api/v2/summary.json");
    fields(
        &summary,
        &[
            "page",
            "components",
            "incidents",
            "scheduled_maintenances",
            "status",
        ],
        "summary",
    );
    fields(&summary["page"], &page_fields, "page");
    let status = &summary["status"];
    assert!(
        ["none", "minor", "major", "critical"]
            .contains(&status["indicator"].as_str().unwrap_or("")),
        "{status}"
    );
    assert_eq!(
        status["indicator"], "major",
        "checkout shows a declared partial outage"
    );
    assert!(status["description"].is_string());

    for c in summary["components"].as_array().expect("components") {
        fields(
            c,
            &[
                "id",
                "name",
                "status",
                "created_at",
                "updated_at",
                "position",
                "group_id",
                "page_id",
                "group",
            ],
            "component",
        );
        assert!(
            component_statuses.contains(&c["status"].as_str().unwrap_or("")),
            "{c}"
        );
    }
    let checkout = summary["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "checkout")
        .expect("checkout");
    assert_eq!(checkout["status"], "partial_outage");

    for path in ["api/v2/incidents.json", "api/v2/incidents/unresolved.json"] {
        let doc = f.json(path);
        fields(&doc["page"], &page_fields, path);
        let list = doc["incidents"].as_array().expect("incidents");
        assert_eq!(list.len(), 1, "{path}");
        let i = &list[0];
        fields(
            i,
            &[
                "id",
                "name",
                "status",
                "impact",
                "shortlink",
                "created_at",
                "started_at",
                "resolved_at",
                "incident_updates",
                "components",
            ],
            path,
        );
        assert!(incident_statuses.contains(&i["status"].as_str().unwrap_or("")));
        assert_eq!(i["status"], "identified");
        assert!(
            ["none", "minor", "major", "critical"].contains(&i["impact"].as_str().unwrap_or(""))
        );
        assert!(i["shortlink"].as_str().unwrap_or("").ends_with(".html"));
        let ups = i["incident_updates"].as_array().expect("updates");
        assert_eq!(ups.len(), 2);
        assert_eq!(ups[0]["body"], "A faulty release.", "newest first");
        for u in ups {
            fields(
                u,
                &[
                    "id",
                    "status",
                    "body",
                    "created_at",
                    "display_at",
                    "affected_components",
                ],
                "incident update",
            );
        }
    }
    for path in [
        "api/v2/scheduled-maintenances.json",
        "api/v2/scheduled-maintenances/upcoming.json",
        "api/v2/scheduled-maintenances/active.json",
    ] {
        let doc = f.json(path);
        let list = doc["scheduled_maintenances"].as_array().expect("list");
        for m in list {
            fields(
                m,
                &[
                    "id",
                    "name",
                    "status",
                    "scheduled_for",
                    "scheduled_until",
                    "incident_updates",
                    "components",
                ],
                path,
            );
            assert!(
                ["scheduled", "in_progress", "verifying", "completed"]
                    .contains(&m["status"].as_str().unwrap_or(""))
            );
        }
        let expected = if path.ends_with("active.json") { 0 } else { 1 };
        assert_eq!(list.len(), expected, "{path}");
    }
    let status = f.json("api/v2/status.json");
    fields(&status, &["page", "status"], "status.json");
    let components = f.json("api/v2/components.json");
    assert!(
        components["components"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["group"] == true && c["name"] == "Core")
    );
}

fn atom_ids(f: &Fixture) -> Vec<String> {
    let feed: atom_syndication::Feed = f.read("feed.atom").parse().expect("valid Atom");
    feed.entries().iter().map(|e| e.id().to_owned()).collect()
}

#[test]
fn feed_ids_stay_the_same_across_rebuilds() {
    let mut f = fixture();
    let now = a_story(&mut f);
    let mut b = build(&mut f, now);
    let first = atom_ids(&f);
    assert_eq!(first.len(), 1);
    assert!(
        first[0].starts_with("tag:status.test.example,"),
        "{first:?}"
    );

    let later = now + TimeDelta::minutes(5);
    let changes = f.record(
        later,
        vec![declared(
            "refunds",
            "Refunds delayed",
            later,
            "Refunds take longer.",
        )],
    );
    b.update(&f.config, &f.view, &f.state, later, &changes)
        .expect("update");
    let second = atom_ids(&f);
    assert_eq!(second.len(), 2);
    assert!(
        second.contains(&first[0]),
        "the first incident kept its id: {second:?}"
    );
    b.build_all(&f.config, &f.view, &f.state, later + TimeDelta::minutes(1))
        .expect("rebuild");
    assert_eq!(atom_ids(&f), second);

    let feed: atom_syndication::Feed = f.read("feed.atom").parse().expect("valid Atom");
    assert!(feed.links().iter().any(|l| l.rel() == "self"));
    assert!(!feed.authors().is_empty());
    let cal = f.read("maintenance.ics");
    assert!(
        cal.contains("BEGIN:VEVENT") && cal.contains("UID:db-upgrade@status.test.example"),
        "{cal}"
    );
    let rss = f.read("history.rss");
    assert!(rss.contains("<rss") && rss.contains("Refunds delayed"));
}

#[test]
fn an_update_rewrites_only_what_changed() {
    let mut f = fixture();
    let now = a_story(&mut f);
    let mut b = build(&mut f, now);
    let reference = format!(
        "INC-{}-cards",
        (now - TimeDelta::hours(3)).format("%Y-%m%d")
    );
    let before = f.read(&format!("incidents/{reference}.html"));
    let at = now + TimeDelta::minutes(1);
    let changes = f.record(
        at,
        vec![Event::IncidentUpdated {
            id: "cards".into(),
            reference: reference.clone(),
            update: update(
                at,
                IncidentStatus::Monitoring,
                "The rollback is done; we are watching.",
            ),
        }],
    );
    let report = b
        .update(&f.config, &f.view, &f.state, at, &changes)
        .expect("update");
    assert!(report.written < report.rendered, "{report:?}");
    let after = f.read(&format!("incidents/{reference}.html"));
    assert_ne!(before, after);
    assert!(after.contains("The rollback is done; we are watching."));
    assert!(
        f.read("index.html")
            .contains("The rollback is done; we are watching.")
    );
    // The database page did not change, so it was not rewritten.
    let nothing = b
        .update(&f.config, &f.view, &f.state, at, &Changes::default())
        .expect("update");
    assert_eq!(nothing.written, 0, "{nothing:?}");
}

#[test]
fn operator_text_is_shown_literally() {
    let mut f = fixture();
    let now = Utc::now();
    let nasty = "<script>alert('x')</script> {{title}} & more";
    f.record(
        now,
        vec![declared("nasty", "<b>Bold</b> {{title}}", now, nasty)],
    );
    build(&mut f, now);
    let reference = format!("INC-{}-nasty", now.format("%Y-%m%d"));
    for page in [
        "index.html".to_owned(),
        format!("incidents/{reference}.html"),
    ] {
        let html = f.read(&page);
        assert!(
            !html.contains("<script>alert"),
            "{page} runs operator script"
        );
        assert!(
            html.contains("&lt;script&gt;alert("),
            "{page} hides the text instead of showing it"
        );
        assert!(html.contains("{{title}}"), "{page} interpreted braces");
        assert!(!html.contains("<b>Bold</b>"), "{page}: titles are escaped");
    }
    let api = f.json("api/v2/incidents.json");
    assert_eq!(
        api["incidents"][0]["incident_updates"][0]["body"], nasty,
        "JSON carries the text as written"
    );
    // The feed's entries are HTML inside XML: the HTML a feed reader shows escapes it too.
    let feed: atom_syndication::Feed = f.read("feed.atom").parse().expect("an Atom feed");
    let entry = &feed.entries()[0];
    assert!(
        entry.title().as_str().contains("<b>Bold</b> {{title}}"),
        "the title as written (XML escapes it)"
    );
    let html = entry
        .content()
        .and_then(|c| c.value())
        .expect("an entry with content");
    assert!(
        !html.contains("<script>alert"),
        "the feed runs operator script"
    );
    assert!(html.contains("&lt;script&gt;alert("), "{html}");
    assert!(html.contains("{{title}}"), "the feed interpreted braces");
}

#[test]
fn a_component_without_samples_shows_no_data_not_100_percent() {
    let mut f = fixture();
    let now = Utc::now();
    build(&mut f, now);
    let index = f.read("index.html");
    assert!(
        index.contains("No data yet"),
        "no uptime claimed without samples"
    );
    assert!(
        !index.contains("100% uptime"),
        "nothing was measured, so nothing is 100%"
    );
    assert!(index.contains("no data"));
    assert!(index.contains("All systems operational"));
    assert!(f.read("components/db.html").contains("No data yet"));
}

#[test]
fn readers_never_see_a_missing_or_mixed_page_during_200_rebuilds() {
    let mut f = fixture();
    let now = Utc::now();
    let mut b = build(&mut f, now);
    let index = f.out.join("index.html");
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let reader = {
        let (stop, reads, index) = (stop.clone(), reads.clone(), index.clone());
        std::thread::spawn(move || -> Result<(), String> {
            while !stop.load(Ordering::Relaxed) {
                let text = std::fs::read_to_string(&index)
                    .map_err(|e| format!("could not open index.html: {e}"))?;
                if !text.starts_with("<!DOCTYPE html>") || !text.trim_end().ends_with("</html>") {
                    return Err(format!("a torn page of {} bytes", text.len()));
                }
                let generations: Vec<&str> = text.matches("Generation ").collect();
                if generations.len() > 1 {
                    let firsts: std::collections::BTreeSet<&str> = text
                        .match_indices("Generation ")
                        .map(|(i, _)| &text[i..(i + 16).min(text.len())])
                        .collect();
                    if firsts.len() > 1 {
                        return Err(format!("a page mixing versions: {firsts:?}"));
                    }
                }
                reads.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })
    };
    for g in 0..200u32 {
        let at = now + TimeDelta::seconds(i64::from(g) + 1);
        // Each generation renames the incident; its title shows on the index twice.
        let changes = f.record(
            at,
            vec![Event::IncidentChanged {
                id: "gen".into(),
                reference: "INC-gen".into(),
                title: format!("Generation {g:05}"),
                components: BTreeMap::from([(
                    "api".to_string(),
                    ComponentStatus::DegradedPerformance,
                )]),
                impact: Impact::Minor,
                postmortem_url: None,
            }],
        );
        if g == 0 {
            let opened = f.record(
                at,
                vec![declared(
                    "gen",
                    "Generation 00000",
                    at,
                    "Two titles, one version.",
                )],
            );
            b.update(&f.config, &f.view, &f.state, at, &opened)
                .expect("update");
        }
        if g % 2 == 0 {
            b.build_all(&f.config, &f.view, &f.state, at)
                .expect("full build");
        } else {
            b.update(&f.config, &f.view, &f.state, at, &changes)
                .expect("update");
        }
    }
    stop.store(true, Ordering::Relaxed);
    reader
        .join()
        .expect("reader thread")
        .expect("every read saw a whole page of one version");
    assert!(
        reads.load(Ordering::Relaxed) > 50,
        "the reader read {} times",
        reads.load(Ordering::Relaxed)
    );
    assert!(f.read("index.html").contains("Generation 00199"));
    let leftovers: Vec<_> = std::fs::read_dir(f.out.parent().unwrap_or(Path::new(".")))
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".new-") || n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let _ = Duration::ZERO;
}

#[test]
fn the_front_page_of_20_components_with_90_days_of_history_weighs_under_60_kb() {
    let dir = tempfile::tempdir().expect("tempdir");
    let story = common::story::write(dir.path(), 20);
    let out = dir.path().join("site");
    let mut b = Builder::new(&story.config, out.clone()).expect("builder");
    b.build_all(&story.config, &story.view, &story.state, story.now)
        .expect("build");
    let index = std::fs::read_to_string(out.join("index.html")).expect("index");
    assert!(
        index.len() < 60 * 1024,
        "index.html is {} bytes",
        index.len()
    );
    assert!(index.contains(&story.open_title));
    assert!(
        index.contains("99."),
        "uptime from 90 days of rollups: {}",
        &index[..200]
    );
    assert_eq!(index.matches("class=\"bar\"").count(), 20);
    // The vendor we depend on, in its own section, its words escaped and attributed.
    let vendors = &index[index.find("Services we depend on").expect("the section")..];
    assert!(
        vendors.contains("<a href=\"https://status.payments.acme.test/incidents/p31?a&#x3D;1&amp;b&#x3D;2\">Cards &lt;declined&gt; &amp; &quot;slow&quot;</a>"),
        "{vendors}"
    );
    assert!(
        vendors.contains("Reported by Payment provider at "),
        "{vendors}"
    );
    // The open incident of card payments names them as its likely cause.
    let page = std::fs::read_to_string(out.join("incidents/INC-now-cards.html")).expect("page");
    assert!(
        page.contains("Payment provider reports a partial outage affecting Card payments: <a href=\"https://status.payments.acme.test/incidents/p31?a&#x3D;1&amp;b&#x3D;2\">Cards &lt;declined&gt; &amp; &quot;slow&quot;</a>."),
        "{page}"
    );
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("api/v2/summary.json")).expect("summary"),
    )
    .expect("json");
    assert_eq!(
        summary["upstreams"][0]["incidents"][0]["name"],
        "Cards <declined> & \"slow\""
    );
    assert_eq!(
        summary["incidents"][0]["caused_by"][0]["upstream"],
        "payments"
    );
}

/// The fixture's configuration with a `my-templates` folder holding one template.
fn with_templates(f: &Fixture, file: &str, text: &str) -> (Config, PathBuf) {
    let templates = f.config.file.parent().expect("dir").join("my-templates");
    std::fs::create_dir_all(&templates).expect("mkdir");
    std::fs::write(templates.join(file), text).expect("write");
    let src = std::fs::read_to_string(&f.config.file)
        .expect("read")
        .replace(
            "timezone = \"UTC\"",
            "timezone = \"UTC\"\ntemplates = \"my-templates\"",
        );
    std::fs::write(&f.config.file, src).expect("write");
    (
        Config::load(&f.config.file).expect("config with templates"),
        templates,
    )
}

#[test]
fn operator_templates_replace_the_built_in_ones_and_bad_ones_are_named() {
    let mut f = fixture();
    let now = a_story(&mut f);
    let (config, templates) = with_templates(
        &f,
        "contact.hbs",
        "<section><h2>Call Ada</h2><p>{{#if reference}}Quote {{reference}}.{{/if}} {{email}}</p></section>\n",
    );
    let mut b = Builder::new(&config, f.out.clone()).expect("builder");
    b.build_all(&config, &f.view, &f.state, now).expect("build");
    let index = f.read("index.html");
    assert!(
        index.contains("<h2>Call Ada</h2>"),
        "the operator's template is used"
    );
    assert!(
        index.contains("Quote INC-"),
        "with the open incident's reference"
    );
    assert!(
        index.contains("class=\"banner"),
        "the other templates are the built-in ones"
    );

    std::fs::write(templates.join("index.hbs"), "{{#if}}broken").expect("write");
    let err = Builder::new(&config, f.out.clone())
        .err()
        .expect("a broken template is refused");
    assert!(
        format!("{err:#}").contains("my-templates/index.hbs is not a valid template"),
        "{err:#}"
    );
}

#[test]
fn the_email_link_quotes_the_open_incident() {
    let mut f = fixture();
    let now = a_story(&mut f);
    build(&mut f, now);
    // Attribute values are HTML-escaped ("=" as "&#x3D;"); a browser reads them back.
    let index = f.read("index.html").replace("&#x3D;", "=");
    let reference = format!(
        "INC-{}-cards",
        (now - TimeDelta::hours(3)).format("%Y-%m%d")
    );
    assert!(
        index.contains(&format!(
            "mailto:help@test.example?subject={reference}%3A%20a%20question%20from%20a%20customer"
        )),
        "{}",
        index
            .lines()
            .find(|l| l.contains("mailto"))
            .unwrap_or("no mailto")
    );
    let page = f.read(&format!("incidents/{reference}.html"));
    assert!(page.contains(&format!(
        "Still affected? Contact us quoting <strong>{reference}</strong>"
    )));
}

#[test]
fn the_site_folder_never_swallows_the_configuration_or_other_files() {
    let mut f = fixture();
    let now = a_story(&mut f);
    let config_dir = f.config.file.parent().expect("dir").to_owned();
    let mut b = Builder::new(&f.config, config_dir.clone()).expect("builder");
    let err = b
        .build_all(&f.config, &f.view, &f.state, now)
        .expect_err("refused");
    assert!(
        format!("{err:#}").contains("would hold the configuration folder"),
        "{err:#}"
    );
    assert!(f.config.file.exists());

    let foreign = f.out.with_file_name("www");
    std::fs::create_dir_all(&foreign).expect("mkdir");
    std::fs::write(foreign.join("index.php"), "<?php").expect("write");
    let mut b = Builder::new(&f.config, foreign.clone()).expect("builder");
    let err = b
        .build_all(&f.config, &f.view, &f.state, now)
        .expect_err("refused");
    assert!(
        format!("{err:#}").contains("holds files forewarn did not make"),
        "{err:#}"
    );
    assert!(foreign.join("index.php").exists());
}

#[test]
fn pages_of_open_incidents_stay_current_without_events() {
    let mut f = fixture();
    let now = a_story(&mut f);
    let mut b = build(&mut f, now);
    let reference = format!(
        "INC-{}-cards",
        (now - TimeDelta::hours(3)).format("%Y-%m%d")
    );
    let later = now + TimeDelta::hours(3);
    b.update(&f.config, &f.view, &f.state, later, &Changes::default())
        .expect("update");
    let page = f.read(&format!("incidents/{reference}.html"));
    assert!(
        page.contains("Ongoing for</dt><dd>6 h"),
        "the duration moved on: {page}"
    );
    // The ETA given was two hours after the second update: it has passed by now.
    assert!(
        page.contains("this is taking longer than we expected"),
        "{page}"
    );
    assert!(!page.contains("Fix expected by</dt><dd><strong>"));
}

#[test]
fn an_incident_moved_to_another_component_leaves_the_first_ones_page() {
    let mut f = fixture();
    let now = a_story(&mut f);
    let mut b = build(&mut f, now);
    let reference = format!(
        "INC-{}-cards",
        (now - TimeDelta::hours(3)).format("%Y-%m%d")
    );
    assert!(f.read("components/checkout.html").contains(&reference));
    let changes = f.record(
        now,
        vec![Event::IncidentChanged {
            id: "cards".into(),
            reference: reference.clone(),
            title: "Card payments failing".into(),
            components: BTreeMap::from([("api".to_string(), ComponentStatus::PartialOutage)]),
            impact: Impact::Major,
            postmortem_url: None,
        }],
    );
    b.update(&f.config, &f.view, &f.state, now, &changes)
        .expect("update");
    assert!(!f.read("components/checkout.html").contains(&reference));
    assert!(f.read("components/api.html").contains(&reference));
}

/// With a critical checkout outage and a newer, minor search slowdown open, people read
/// about the checkout first and are asked to quote its reference, on the page, in the API.
#[test]
fn the_worst_open_incident_comes_first_and_is_the_one_to_quote() {
    let mut f = fixture();
    let now = Utc::now();
    let older = now - TimeDelta::minutes(40);
    let newer = now - TimeDelta::minutes(10);
    let opened =
        |id: &str, title: &str, at, component: &str, status, impact| Event::IncidentOpened {
            id: id.into(),
            reference: format!("INC-{id}"),
            title: title.into(),
            components: BTreeMap::from([(component.to_string(), status)]),
            impact,
            automatic: false,
            update: Some(update(at, IncidentStatus::Investigating, "We are on it.")),
            postmortem_url: None,
        };
    f.record(
        older,
        vec![opened(
            "checkout",
            "Checkout down",
            older,
            "checkout",
            ComponentStatus::MajorOutage,
            Impact::Critical,
        )],
    );
    f.record(
        newer,
        vec![opened(
            "search",
            "Search slow",
            newer,
            "api",
            ComponentStatus::DegradedPerformance,
            Impact::Minor,
        )],
    );
    build(&mut f, now);

    let index = f.read("index.html");
    let (first, second) = (
        index.find("Checkout down").expect("checkout listed"),
        index.find("Search slow").expect("search listed"),
    );
    assert!(first < second, "the critical incident is listed first");
    assert!(
        index.contains(
            "Still affected by Checkout down? Contact us quoting <strong>INC-checkout</strong>"
        ),
        "the card quotes the worst incident"
    );
    assert!(
        index.contains("About Search slow, quote <strong>INC-search</strong>"),
        "and names the other one's reference"
    );
    assert!(
        index
            .replace("&#x3D;", "=")
            .contains("subject=INC-checkout%3A%20a%20question"),
        "the email link quotes the worst incident"
    );
    for file in ["api/v2/summary.json", "api/v2/incidents/unresolved.json"] {
        let ids: Vec<String> = f.json(file)["incidents"]
            .as_array()
            .expect("incidents")
            .iter()
            .map(|i| i["id"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(ids, ["checkout", "search"], "{file}");
    }
    // The component page of Public API quotes the incident that touches it.
    let page = f.read("components/api.html");
    assert!(page.contains("quoting <strong>INC-search</strong>"));
}

/// Machines read what people read: every maintenance step is an update of its own (a
/// bot posting updates by id sees each), and incident updates say what changed.
#[test]
fn the_api_gives_each_step_its_own_update_and_each_update_its_before_and_after() {
    let mut f = fixture();
    let now = Utc::now();
    let start = now - TimeDelta::hours(2);
    let window = MaintenanceWindow {
        title: "Database upgrade".into(),
        components: vec!["db".into()],
        starts_at: start,
        ends_at: start + TimeDelta::hours(1),
        message: "Writes pause.".into(),
    };
    f.record(
        start - TimeDelta::days(1),
        vec![Event::MaintenanceScheduled {
            id: "db-upgrade".into(),
            window,
        }],
    );
    f.record(
        start,
        vec![Event::MaintenanceStarted {
            id: "db-upgrade".into(),
        }],
    );
    f.record(
        start + TimeDelta::hours(1),
        vec![Event::MaintenanceCompleted {
            id: "db-upgrade".into(),
        }],
    );
    // An incident opened with checkout down, resolved once it works again.
    let t0 = now - TimeDelta::minutes(30);
    f.record(
        t0,
        vec![
            Event::ComponentStatusChanged {
                component: "checkout".into(),
                from: ComponentStatus::Operational,
                to: ComponentStatus::MajorOutage,
                reason: "HTTP 500".into(),
                incident: Some("INC-x".into()),
            },
            Event::IncidentOpened {
                id: "INC-x".into(),
                reference: "INC-x".into(),
                title: "Checkout: major outage".into(),
                components: BTreeMap::from([(
                    "checkout".to_string(),
                    ComponentStatus::MajorOutage,
                )]),
                impact: Impact::Critical,
                automatic: true,
                update: Some(update(t0, IncidentStatus::Investigating, "Errors.")),
                postmortem_url: None,
            },
        ],
    );
    let t1 = now - TimeDelta::minutes(5);
    let mut resolved = update(t1, IncidentStatus::Resolved, "Fixed.");
    resolved.eta = None;
    resolved.apology = Some("Sorry.".into());
    resolved.credit = Some("A day free.".into());
    f.record(
        t1,
        vec![
            Event::ComponentStatusChanged {
                component: "checkout".into(),
                from: ComponentStatus::MajorOutage,
                to: ComponentStatus::Operational,
                reason: "checks are passing again".into(),
                incident: Some("INC-x".into()),
            },
            Event::IncidentResolved {
                id: "INC-x".into(),
                reference: "INC-x".into(),
                duration_secs: 1500,
                update: Some(resolved),
            },
        ],
    );
    build(&mut f, now);

    let all = f.json("api/v2/scheduled-maintenances.json");
    let m = &all["scheduled_maintenances"][0];
    let steps: Vec<(&str, &str)> = m["incident_updates"]
        .as_array()
        .expect("updates")
        .iter()
        .map(|u| {
            (
                u["status"].as_str().unwrap_or(""),
                u["id"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        steps.iter().map(|s| s.0).collect::<Vec<_>>(),
        ["completed", "in_progress", "scheduled"],
        "newest first, one per step"
    );
    let mut ids: Vec<&str> = steps.iter().map(|s| s.1).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3, "each step has its own id: {steps:?}");

    let incidents = f.json("api/v2/incidents.json");
    let inc = incidents["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .find(|i| i["id"] == "INC-x")
        .expect("the incident");
    assert_eq!(inc["apology"], "Sorry.");
    assert_eq!(inc["credit"], "A day free.");
    let updates = inc["incident_updates"].as_array().expect("updates");
    let change = |u: &Value| {
        (
            u["affected_components"][0]["old_status"].clone(),
            u["affected_components"][0]["new_status"].clone(),
        )
    };
    assert_eq!(
        change(&updates[0]),
        ("major_outage".into(), "operational".into()),
        "the resolution says the component is operational again"
    );
    assert_eq!(
        change(&updates[1]),
        ("operational".into(), "major_outage".into())
    );
    assert_eq!(updates[0]["apology"], "Sorry.");
}

/// A component with `public = false` is watched, never shown: not on any page, feed,
/// badge or API file, nor the incidents that touch only it.
#[test]
fn a_component_that_is_not_public_is_nowhere_on_the_site() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::write_config(
        dir.path(),
        &format!(
            "{COMPONENTS}\n[[component]]\nid = \"queue\"\nname = \"Billing queue\"\npublic = false\n[component.check]\nkind = \"tcp\"\naddress = \"queue.acme.test:5672\"\n"
        ),
    );
    let config = Config::load(&path).expect("config");
    let state = dir.path().join("state");
    let (mut journal, _) = Journal::open(&state).expect("journal");
    let now = Utc::now();
    let recs = journal
        .append(vec![
            (
                now,
                Event::ComponentStatusChanged {
                    component: "queue".into(),
                    from: ComponentStatus::Operational,
                    to: ComponentStatus::MajorOutage,
                    reason: "connection refused".into(),
                    incident: Some("INC-queue".into()),
                },
            ),
            (
                now,
                Event::IncidentOpened {
                    id: "INC-queue".into(),
                    reference: "INC-queue".into(),
                    title: "Billing queue: major outage".into(),
                    components: BTreeMap::from([(
                        "queue".to_string(),
                        ComponentStatus::MajorOutage,
                    )]),
                    impact: Impact::Critical,
                    automatic: true,
                    update: Some(update(now, IncidentStatus::Investigating, "Errors.")),
                    postmortem_url: None,
                },
            ),
        ])
        .expect("append");
    let view = StatusView::from_records(&recs);
    let out = dir.path().join("site");
    let mut b = Builder::new(&config, out.clone()).expect("builder");
    b.build_all(&config, &view, &state, now).expect("build");
    let mut files = Vec::new();
    let mut stack = vec![out.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("dir").flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                files.push(e.path());
            }
        }
    }
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        assert!(
            !text.contains("Billing queue") && !text.contains("INC-queue"),
            "{} shows the private component",
            file.display()
        );
    }
    let index = std::fs::read_to_string(out.join("index.html")).expect("index");
    assert!(
        index.contains("All systems operational"),
        "the banner counts public components only"
    );
    assert!(!out.join("components/queue.html").exists());
}

/// The `href` of the page's stylesheet link, if it has one.
fn stylesheet_link(page: &str) -> Option<String> {
    let at = page.find("<link rel=\"stylesheet\" href=\"")?;
    let rest = &page[at + "<link rel=\"stylesheet\" href=\"".len()..];
    rest.find('"').map(|end| rest[..end].to_owned())
}

#[test]
fn pages_share_one_cache_busted_stylesheet_and_the_front_page_keeps_its_own() {
    let mut f = fixture();
    let now = a_story(&mut f);
    build(&mut f, now);
    let index = f.read("index.html");
    assert!(
        index.contains("<style>"),
        "the front page draws from one request"
    );
    assert_eq!(stylesheet_link(&index), None);

    let component = f.read("components/api.html");
    assert!(
        !component.contains("<style>"),
        "no inline copy on other pages"
    );
    let href = stylesheet_link(&component).expect("a stylesheet link");
    let name = href.strip_prefix("../").expect("relative to the site root");
    assert!(
        name.starts_with("style-") && name.ends_with(".css"),
        "{name}"
    );
    assert_eq!(
        stylesheet_link(&f.read("history.html")).as_deref(),
        Some(name)
    );
    let css = f.read(name);
    let inline = &index[index.find("<style>").expect("style") + "<style>".len()..];
    assert!(
        inline.starts_with(css.trim_end()),
        "the shared file holds the same rules as the front page"
    );

    // An operator's own stylesheet gets a name of its own, so browsers fetch it anew.
    let (config, _) = with_templates(&f, "style.css", "body { color: #123456; }\n");
    Builder::new(&config, f.out.clone())
        .expect("builder")
        .build_all(&config, &f.view, &f.state, now)
        .expect("build");
    let new_href = stylesheet_link(&f.read("components/api.html")).expect("link");
    assert_ne!(new_href, href);
    let new_name = new_href.trim_start_matches("../");
    assert_eq!(f.read(new_name), "body { color: #123456; }\n");
    assert!(
        !f.out.join(name).exists(),
        "the old stylesheet goes with the full build"
    );
}

#[test]
fn a_rebuild_by_another_process_writes_only_what_changed_and_restores_what_was_removed() {
    use std::os::unix::fs::MetadataExt;
    let mut f = fixture();
    let now = a_story(&mut f);
    build(&mut f, now);
    let out = f.out.clone();
    let inode = |rel: &str| {
        std::fs::metadata(out.join(rel))
            .expect("a file of the site")
            .ino()
    };
    let db_page = inode("components/db.html");
    let stylesheet = std::fs::read_dir(&f.out)
        .expect("site")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("style-"))
        .expect("a stylesheet");
    std::fs::remove_file(f.out.join(&stylesheet)).expect("remove");

    // A new builder knows nothing of the last build but the site's own manifest.
    let later = now + TimeDelta::minutes(5);
    build(&mut f, later);
    assert_eq!(
        inode("components/db.html"),
        db_page,
        "an unchanged page is left as it is"
    );
    assert!(
        f.out.join(&stylesheet).is_file(),
        "a file removed by hand is written again"
    );
    assert!(
        f.read("index.html")
            .contains(&later.format("%H:%M").to_string()),
        "the front page says when it was made"
    );
}
