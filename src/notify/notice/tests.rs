use super::*;
use crate::status::Impact;

fn config() -> Config {
    let src = crate::config::declared::tests::CONFIG.replace(
        "email = \"help@acme.test\"",
        "email = \"help@acme.test\"\nphone = \"+33 1 23 45 67 89\"\nhours = \"9:00 to 18:00\"",
    );
    Config::parse(std::path::Path::new("forewarn.toml"), &src, &|_| None).unwrap()
}

fn incident() -> Incident {
    Incident {
        id: "cards".into(),
        reference: "INC-2026-1122-cards".into(),
        title: "Card payments failing".into(),
        components: [("checkout".to_string(), ComponentStatus::PartialOutage)].into(),
        impact: Impact::Major,
        automatic: false,
        opened_at: "2026-11-22T09:04:00Z".parse().unwrap(),
        resolved_at: None,
        updates: Vec::new(),
        postmortem_url: None,
    }
}

fn update(status: IncidentStatus) -> IncidentUpdate {
    IncidentUpdate {
        at: "2026-11-22T09:30:00Z".parse().unwrap(),
        status,
        message: "A faulty release; we are rolling it back.".into(),
        eta: Some("2026-11-22T11:00:00Z".parse().unwrap()),
        notify: true,
        apology: None,
        credit: None,
        automatic: false,
    }
}

#[test]
fn an_update_says_what_is_affected_when_it_will_be_fixed_and_whom_to_call() {
    let n = Notice::incident(&config(), &incident(), &update(IncidentStatus::Identified));
    assert_eq!(
        n.subject,
        "[Partial outage] Card payments failing (INC-2026-1122-cards)"
    );
    let text = n.to_text();
    for expected in [
        "Identified (10:30 CET on 22 November)",
        "A faulty release; we are rolling it back.",
        "We expect a fix by 12:00 CET on 22 November.",
        "Affected: Checkout (partial outage)",
        "Follow the repair: https://status.acme.test/incidents/INC-2026-1122-cards.html",
        "Need help now? Contact us quoting INC-2026-1122-cards: email help@acme.test, phone +33 1 23 45 67 89 (9:00 to 18:00).",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn a_resolution_carries_the_apology_and_credit_and_no_eta() {
    let mut u = update(IncidentStatus::Resolved);
    u.apology = Some("We are sorry for the failed payments.".into());
    u.credit = Some("We have credited 10% of this month's fee.".into());
    let n = Notice::incident(&config(), &incident(), &u);
    assert_eq!(
        n.subject,
        "[Resolved] Card payments failing (INC-2026-1122-cards)"
    );
    assert_eq!(n.eta, None);
    let text = n.to_text();
    assert!(text.contains("We are sorry for the failed payments."));
    assert!(text.contains("We have credited 10% of this month's fee."));
    assert!(text.contains("Still affected? Contact us quoting INC-2026-1122-cards"));
}

#[test]
fn a_maintenance_notice_gives_the_window() {
    let w = MaintenanceWindow {
        title: "Database upgrade".into(),
        components: vec!["database".into()],
        starts_at: "2026-11-25T01:00:00Z".parse().unwrap(),
        ends_at: "2026-11-25T03:00:00Z".parse().unwrap(),
        message: "Writes are paused.".into(),
    };
    let n = Notice::maintenance(&config(), &w, "scheduled");
    assert_eq!(n.subject, "[Planned maintenance] Database upgrade");
    let text = n.to_text();
    assert!(
        text.contains("From 02:00 CET on 25 November to 04:00 CET on 25 November."),
        "{text}"
    );
    assert!(text.contains("Affected: Database (under maintenance)"));
}

#[test]
fn an_eta_that_has_passed_is_not_repeated() {
    let mut inc = incident();
    let mut first = update(IncidentStatus::Investigating);
    first.eta = Some("2026-11-22T10:00:00Z".parse().unwrap());
    inc.updates.push(first);
    let mut later = update(IncidentStatus::Identified);
    later.at = "2026-11-22T11:30:00Z".parse().unwrap();
    later.eta = None;
    inc.updates.push(later.clone());
    let n = Notice::incident(&config(), &inc, &later);
    assert_eq!(n.eta, None);
    assert_eq!(inc.eta(), None);
}
