//! Reading declared incident and maintenance files.

use super::*;
use crate::vocab::{ComponentStatus, Impact, IncidentStatus};

/// The journal as reading the files sees it: the incidents and windows it published.
#[derive(Default)]
struct Journal {
    incidents: Vec<(String, PublishedIncident)>,
}

impl Published for Journal {
    fn incident(&self, id: &str) -> Option<PublishedIncident> {
        self.incidents
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, p)| p.clone())
    }
    fn incident_by_reference(&self, reference: &str) -> Option<PublishedIncident> {
        self.incidents
            .iter()
            .find(|(_, p)| p.reference == reference)
            .map(|(_, p)| p.clone())
    }
    fn maintenance(&self, _: &str) -> Option<PublishedWindow> {
        None
    }
}

pub(crate) const CONFIG: &str = r#"
[site]
title = "Acme Status"
base_url = "https://status.acme.test"
timezone = "Europe/Paris"
[site.contact]
email = "help@acme.test"

[[component]]
id = "api"
name = "Public API"
[component.check]
url = "https://api.acme.test/health"

[[component]]
id = "checkout"
name = "Checkout"
[component.check]
url = "https://shop.acme.test/health"

[[component]]
id = "database"
name = "Database"
[component.check]
kind = "tcp"
address = "db.acme.test:5432"
"#;

pub(crate) fn now() -> DateTime<Utc> {
    "2026-11-22T12:00:00Z".parse().unwrap()
}

/// A config folder with the given files (paths relative to it).
pub(crate) fn fixture(files: &[(&str, &str)]) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("forewarn.toml");
    std::fs::write(&path, CONFIG).unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let config = Config::load(&path).unwrap();
    (dir, config)
}

pub(crate) const CARDS: &str = r#"
id = "cards"
title = "Card payments failing"
impact = "major"

[components]
checkout = "partial_outage"

[[update]]
at = 2026-11-22T10:04:00+01:00
status = "investigating"
message = "Some card payments fail. We are looking into it."
eta = 2026-11-22T12:00:00

[[update]]
at = 2026-11-22T10:30:00
status = "identified"
message = "A faulty release; we are rolling it back."
"#;

#[test]
fn an_incident_file_is_read_with_local_times_in_the_site_zone() {
    let (_d, config) = fixture(&[("incidents/cards.toml", CARDS)]);
    let loaded = Declared::load(&config, &Journal::default(), now());
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let i = &loaded.declared.incidents[0];
    assert_eq!(i.id, "cards");
    assert_eq!(i.impact, Some(Impact::Major));
    assert_eq!(i.components["checkout"], ComponentStatus::PartialOutage);
    assert_eq!(i.updates.len(), 2);
    assert_eq!(
        i.updates[0].at,
        "2026-11-22T09:04:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(
        i.updates[0].eta,
        Some("2026-11-22T11:00:00Z".parse().unwrap()),
        "local ETA, Paris time"
    );
    assert_eq!(
        i.updates[1].at,
        "2026-11-22T09:30:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(i.updates[1].status, IncidentStatus::Identified);
}

#[test]
fn a_maintenance_file_is_read_with_default_reminders() {
    let (_d, config) = fixture(&[(
        "maintenance/db.toml",
        r#"
id = "db-upgrade"
title = "Database upgrade"
components = ["database", "api"]
starts_at = "2026-11-25 02:00"
ends_at = "2026-11-25 04:00"
message = "The API will be read-only."
"#,
    )]);
    let loaded = Declared::load(&config, &Journal::default(), now());
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let m = &loaded.declared.maintenance[0];
    assert_eq!(m.window.components, ["database", "api"]);
    assert_eq!(
        m.window.starts_at,
        "2026-11-25T01:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(m.remind_before, DEFAULT_REMIND_BEFORE.to_vec());
}

#[test]
fn a_broken_file_keeps_its_last_good_version_and_spares_the_others() {
    let (dir, config) = fixture(&[
        ("incidents/cards.toml", CARDS),
        (
            "incidents/other.toml",
            &CARDS.replace("\"cards\"", "\"other\""),
        ),
    ]);
    let first = Declared::load(&config, &Journal::default(), now());
    assert_eq!(first.declared.incidents.len(), 2);
    // Half-written: the second update lost its end.
    let half = &CARDS[..CARDS.len() - 30];
    std::fs::write(dir.path().join("incidents/cards.toml"), half).unwrap();
    let second = Declared::load(&config, &Journal::default(), now());
    assert_eq!(second.broken.len(), 1);
    assert!(second.problems[0].file.ends_with("cards.toml"));
    let kept = Declared::keep_last_good(&second, &first.declared);
    assert_eq!(kept, first.declared);
}

#[test]
fn follows_must_name_an_automatic_incident_in_the_journal() {
    let file = r#"
id = "api-words"
follows = "INC-2026-1122-api"

[[update]]
at = 2026-11-22T10:10:00Z
status = "identified"
message = "A database failover is under way."
"#;
    let (_d, config) = fixture(&[("incidents/api.toml", file)]);
    let empty = Declared::load(&config, &Journal::default(), now());
    assert_eq!(empty.problems.len(), 1);
    assert!(
        empty.problems[0]
            .message
            .contains("no incident INC-2026-1122-api in the journal"),
        "{}",
        empty.problems[0]
    );

    let view = Journal {
        incidents: vec![(
            "INC-2026-1122-api".into(),
            PublishedIncident {
                reference: "INC-2026-1122-api".into(),
                automatic: true,
                opened_at: "2026-11-22T10:00:00Z".parse().unwrap(),
                resolved_at: None,
            },
        )],
    };
    let ok = Declared::load(&config, &view, now());
    assert!(ok.problems.is_empty(), "{:?}", ok.problems);
    assert_eq!(ok.declared.incidents[0].incident_id(), "INC-2026-1122-api");
}

#[test]
fn a_copied_file_with_the_same_id_disqualifies_both_and_the_original_stays() {
    let (dir, config) = fixture(&[("incidents/cards.toml", CARDS)]);
    let first = Declared::load(&config, &Journal::default(), now());
    std::fs::write(
        dir.path().join("incidents/a-copy.toml"),
        CARDS.replace("Card payments failing", "Refunds delayed"),
    )
    .unwrap();
    let second = Declared::load(&config, &Journal::default(), now());
    assert!(second.declared.incidents.is_empty(), "neither copy is used");
    assert_eq!(second.problems.len(), 2, "{:?}", second.problems);
    assert!(
        second
            .problems
            .iter()
            .any(|d| d.file.ends_with("a-copy.toml")
                && d.message.ends_with("also used in cards.toml"))
    );
    let kept = Declared::keep_last_good(&second, &first.declared);
    assert_eq!(
        kept, first.declared,
        "the original's last good version stays in force"
    );
}
