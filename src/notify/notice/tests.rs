use super::*;
use crate::present::links::incident_url;
use crate::vocab::Impact;

fn config() -> Config {
    let src = crate::config::declared::tests::CONFIG.replace(
        "email = \"help@acme.test\"",
        "email = \"help@acme.test\"\nphone = \"+33 1 23 45 67 89\"\nhours = \"9:00 to 18:00\"",
    );
    Config::parse(std::path::Path::new("forewarn.toml"), &src, &|_| None).unwrap()
}

fn paris() -> Reader {
    Reader::customer(chrono_tz::Europe::Paris)
}

fn incident() -> Incident {
    Incident {
        id: "cards".into(),
        reference: "INC-2026-1122-cards".into(),
        title: "Card payments failing".into(),
        opened_title: "Card payments failing".into(),
        components: [("checkout".to_string(), ComponentStatus::PartialOutage)].into(),
        impact: Impact::Major,
        automatic: false,
        opened_at: "2026-11-22T09:04:00Z".parse().unwrap(),
        resolved_at: None,
        updates: Vec::new(),
        statuses: BTreeMap::new(),
        postmortem_url: None,
        causes: Vec::new(),
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
        next_update: None,
    }
}

/// The notice for `u` as the last update of `inc`, with the components as given.
fn notice(inc: &Incident, u: &IncidentUpdate, now: &[(&str, ComponentStatus)]) -> Notice {
    let mut inc = inc.clone();
    inc.updates.push(u.clone());
    if u.status == IncidentStatus::Resolved {
        inc.resolved_at = Some(u.at);
    }
    let statuses: BTreeMap<String, ComponentStatus> =
        now.iter().map(|(c, s)| (c.to_string(), *s)).collect();
    let page = incident_url(&config(), &inc.reference);
    Notice::incident(
        &config(),
        &IncidentMoment {
            incident: &inc,
            update: u,
            statuses: &statuses,
            page: &page,
            hidden: &[],
        },
        paris(),
    )
}

#[test]
fn an_update_says_what_is_affected_when_it_will_be_fixed_and_whom_to_call() {
    let n = notice(
        &incident(),
        &update(IncidentStatus::Identified),
        &[("checkout", ComponentStatus::PartialOutage)],
    );
    assert_eq!(n.subject, "Card payments failing (INC-2026-1122-cards)");
    let text = n.to_text();
    assert!(text.starts_with("Partial outage · Identified\n"), "{text}");
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
    assert_eq!(
        n.contact_ways
            .iter()
            .map(|w| w.href.as_str())
            .collect::<Vec<_>>(),
        [
            "mailto:help@acme.test?subject=INC-2026-1122-cards%3A%20a%20question%20from%20a%20customer",
            "tel:+33123456789"
        ]
    );
}

#[test]
fn every_notice_of_an_incident_has_the_same_subject() {
    let open = notice(
        &incident(),
        &update(IncidentStatus::Investigating),
        &[("checkout", ComponentStatus::MajorOutage)],
    );
    let mut later = incident();
    later.title = "Card payments failing for some banks".into();
    let mut r = update(IncidentStatus::Resolved);
    r.at = "2026-11-22T10:30:00Z".parse().unwrap();
    let resolved = notice(&later, &r, &[("checkout", ComponentStatus::Operational)]);
    assert_eq!(open.subject, resolved.subject);
    assert_eq!(resolved.state, "Resolved");
    assert_eq!(resolved.title, "Card payments failing for some banks");

    // An automatic incident's title follows its status; its subject names the component.
    let mut auto = incident();
    auto.automatic = true;
    auto.title = "Checkout: major outage".into();
    auto.opened_title = "Checkout: degraded performance".into();
    let n = notice(
        &auto,
        &update(IncidentStatus::Investigating),
        &[("checkout", ComponentStatus::MajorOutage)],
    );
    assert_eq!(n.subject, "Problem with Checkout (INC-2026-1122-cards)");
}

#[test]
fn a_notice_after_the_fix_says_the_component_recovered_and_promises_nothing_past() {
    // The ETA of 10:00 went by; Checkout recovered before the operator wrote "monitoring".
    let mut inc = incident();
    let mut first = update(IncidentStatus::Identified);
    first.eta = Some("2026-11-22T10:00:00Z".parse().unwrap());
    inc.updates.push(first);
    let mut monitoring = update(IncidentStatus::Monitoring);
    monitoring.at = "2026-11-22T10:30:00Z".parse().unwrap();
    monitoring.eta = None;
    let n = notice(
        &inc,
        &monitoring,
        &[("checkout", ComponentStatus::Operational)],
    );
    let text = n.to_text();
    assert_eq!(n.eta, None, "{text}");
    assert!(!text.contains("We expect a fix"), "{text}");
    assert!(!text.contains("(partial outage)"), "{text}");
    assert!(
        text.contains("Affected: Checkout (working normally again)"),
        "{text}"
    );
    assert_eq!(n.state, "Recovered · Monitoring");
}

#[test]
fn an_eta_gone_by_without_a_fix_is_called_late() {
    let mut inc = incident();
    let mut first = update(IncidentStatus::Identified);
    first.eta = Some("2026-11-22T10:00:00Z".parse().unwrap());
    inc.updates.push(first);
    let mut later = update(IncidentStatus::Identified);
    later.at = "2026-11-22T10:20:00Z".parse().unwrap();
    later.eta = None;
    later.next_update = Some("2026-11-22T10:50:00Z".parse().unwrap());
    let n = notice(
        &inc,
        &later,
        &[("checkout", ComponentStatus::PartialOutage)],
    );
    assert_eq!(
        n.eta.as_deref(),
        Some("This is taking longer than we expected.")
    );
    assert_eq!(
        n.next_update.as_deref(),
        Some("Our next update will be by 11:50 CET on 22 November.")
    );
}

#[test]
fn a_resolution_carries_the_apology_and_credit_and_no_eta() {
    let mut u = update(IncidentStatus::Resolved);
    u.apology = Some("We are sorry for the failed payments.".into());
    u.credit = Some("We have credited 10% of this month's fee.".into());
    let n = notice(
        &incident(),
        &u,
        &[("checkout", ComponentStatus::Operational)],
    );
    assert_eq!(n.subject, "Card payments failing (INC-2026-1122-cards)");
    assert_eq!(n.eta, None);
    let text = n.to_text();
    assert!(text.contains("We are sorry for the failed payments."));
    assert!(text.contains("We have credited 10% of this month's fee."));
    assert!(text.contains("Was affected: Checkout\n"));
    assert!(text.contains("Still affected? Contact us quoting INC-2026-1122-cards"));
}

#[test]
fn each_maintenance_step_says_its_own_thing_under_one_subject() {
    let w = MaintenanceWindow {
        title: "Database upgrade".into(),
        components: vec!["database".into()],
        starts_at: "2026-11-25T01:00:00Z".parse().unwrap(),
        ends_at: "2026-11-25T03:00:00Z".parse().unwrap(),
        message: "Writes are paused.".into(),
    };
    let steps: Vec<Notice> = ["scheduled", "started", "completed", "cancelled"]
        .iter()
        .map(|s| Notice::maintenance(&config(), &w, s, &[], paris()))
        .collect();
    for n in &steps {
        assert_eq!(n.subject, "Planned maintenance: Database upgrade");
    }
    let text = steps[0].to_text();
    assert!(
        text.contains("From 02:00 CET on 25 November to 04:00 CET on 25 November."),
        "{text}"
    );
    assert!(text.contains("Will be affected: Database\n"), "{text}");
    assert!(steps[1].message.contains("should end by 04:00 CET"));
    assert!(
        steps[1]
            .to_text()
            .contains("Affected: Database (under maintenance)")
    );
    assert!(
        !steps[2].message.contains("Writes are paused."),
        "completion does not repeat the start"
    );
    assert!(
        steps[2]
            .message
            .contains("The maintenance of Database is complete.")
    );
    assert!(steps[3].message.contains("will not take place"));
}

#[test]
fn customers_never_see_a_component_that_is_not_public() {
    let mut config = config();
    if let Some(c) = config.components.iter_mut().find(|c| c.id == "database") {
        c.public = false;
    }
    let mut inc = incident();
    inc.components
        .insert("database".into(), ComponentStatus::MajorOutage);
    let u = update(IncidentStatus::Investigating);
    let statuses: BTreeMap<String, ComponentStatus> = inc.components.clone();
    let page = incident_url(&config, &inc.reference);
    let moment = IncidentMoment {
        incident: &inc,
        update: &u,
        statuses: &statuses,
        page: &page,
        hidden: &[],
    };
    let customer = Notice::incident(&config, &moment, paris());
    assert!(!customer.to_text().contains("Database"));
    let operator = Notice::incident(
        &config,
        &moment,
        Reader {
            tz: chrono_tz::Europe::Paris,
            operator: true,
        },
    );
    assert!(operator.to_text().contains("Database (major outage)"));
}

#[test]
fn monitoring_after_a_passed_eta_is_not_called_late() {
    // A declared incident keeps its declared status while open; once someone writes
    // "monitoring", the fix is in, whatever the ETA said.
    let mut inc = incident();
    let mut first = update(IncidentStatus::Identified);
    first.eta = Some("2026-11-22T10:00:00Z".parse().unwrap());
    inc.updates.push(first);
    let mut monitoring = update(IncidentStatus::Monitoring);
    monitoring.at = "2026-11-22T10:30:00Z".parse().unwrap();
    monitoring.eta = None;
    let n = notice(
        &inc,
        &monitoring,
        &[("checkout", ComponentStatus::PartialOutage)],
    );
    assert_eq!(n.eta, None, "{}", n.to_text());
    assert!(!n.to_text().contains("longer than we expected"));
}

#[test]
fn a_notice_showing_no_component_does_not_claim_a_recovery() {
    let n = notice(&incident(), &update(IncidentStatus::Investigating), &[]);
    assert_eq!(n.state, "Investigating");
}
