use std::time::Duration;

use super::*;
use crate::probe::Outcome;

const T: Thresholds = Thresholds {
    fail_after: 2,
    recover_after: 2,
    severity: ComponentStatus::MajorOutage,
};

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

fn sample(up: bool, secs: i64) -> Sample {
    Sample {
        outcome: if up {
            Outcome::Up
        } else {
            Outcome::Down("HTTP 503".into())
        },
        latency: Duration::from_millis(5),
        at: at(secs),
        certificate: None,
    }
}

/// How the tests weigh: the check's thresholds, at the moment of `secs`.
fn weighing(quorum: Option<usize>, seen_within: TimeDelta, secs: i64) -> Weighing {
    Weighing {
        thresholds: T,
        quorum,
        seen_within,
        fresh_within: FRESH_WITHIN,
        settling: TimeDelta::seconds(3),
        now: at(secs),
    }
}

/// Feed rounds of samples, one per location each second; the verdicts that moved
/// something, with the status recorded after each transition.
fn run(
    locations: &mut Locations,
    rounds: &[&[(&str, bool)]],
    quorum: Option<usize>,
    status: &mut ComponentStatus,
    start: i64,
) -> Vec<Verdict> {
    let mut out = Vec::new();
    for (i, round) in rounds.iter().enumerate() {
        for (location, up) in round.iter() {
            let secs = start + i as i64;
            let v = locations.observe(
                "api",
                location,
                &sample(*up, secs),
                *status,
                &weighing(quorum, SEEN_WITHIN, secs),
            );
            if let Some((t, _)) = &v.transition {
                *status = t.to;
            }
            if v != Verdict::default() {
                out.push(v);
            }
        }
    }
    out
}

const ALL_UP: &[(&str, bool)] = &[("Frankfurt", true), ("Virginia", true), ("Singapore", true)];
const ONE_DOWN: &[(&str, bool)] = &[
    ("Frankfurt", false),
    ("Virginia", true),
    ("Singapore", true),
];
const TWO_DOWN: &[(&str, bool)] = &[
    ("Frankfurt", false),
    ("Virginia", false),
    ("Singapore", true),
];

#[test]
fn one_location_failing_alone_is_for_operators_only() {
    let mut l = Locations::default();
    let mut status = ComponentStatus::Operational;
    // Confirmed at its second failure; told once the others still see it working two
    // of its samples later; then not again.
    let rounds = [
        ALL_UP, ONE_DOWN, ONE_DOWN, ONE_DOWN, ONE_DOWN, ONE_DOWN, ONE_DOWN,
    ];
    let v = run(&mut l, &rounds, None, &mut status, 0);
    assert_eq!(status, ComponentStatus::Operational);
    assert_eq!(v.len(), 1, "{v:?}");
    let alone = v[0].alone.as_ref().expect("an operator's alert");
    assert_eq!(alone.location, "Frankfurt");
    assert_eq!(alone.reason, "HTTP 503");
    assert_eq!(alone.seen_from.phrase(), "1 of 3 locations (Frankfurt)");
}

#[test]
fn two_of_three_declare_the_outage_naming_them_and_fewer_than_two_end_it() {
    let mut l = Locations::default();
    let mut status = ComponentStatus::Operational;
    let v = run(&mut l, &[ALL_UP, TWO_DOWN, TWO_DOWN], None, &mut status, 0);
    assert_eq!(status, ComponentStatus::MajorOutage);
    let (t, seen) = v
        .iter()
        .find_map(|v| v.transition.clone())
        .expect("declared");
    assert_eq!(t.from, ComponentStatus::Operational);
    assert_eq!(t.reason, "HTTP 503");
    assert_eq!(seen.phrase(), "2 of 3 locations (Frankfurt and Virginia)");
    // Virginia recovers: one location still failing is below the quorum.
    let v = run(&mut l, &[ONE_DOWN, ONE_DOWN], None, &mut status, 10);
    assert_eq!(status, ComponentStatus::Operational);
    let (t, seen) = v
        .iter()
        .find_map(|v| v.transition.clone())
        .expect("recovered");
    assert_eq!(t.reason, "checks are passing again");
    assert_eq!(seen.locations, ["Singapore", "Virginia"]);
}

#[test]
fn a_quorum_of_one_follows_any_location_and_a_silent_location_stops_counting() {
    let mut l = Locations::default();
    let mut status = ComponentStatus::Operational;
    run(
        &mut l,
        &[ALL_UP, ONE_DOWN, ONE_DOWN],
        Some(1),
        &mut status,
        0,
    );
    assert_eq!(status, ComponentStatus::MajorOutage);

    // Two locations fall silent: Frankfurt alone is heard, and a majority of one is one.
    let mut l = Locations::default();
    let mut status = ComponentStatus::Operational;
    run(&mut l, &[ALL_UP], None, &mut status, 0);
    let later = SEEN_WITHIN.num_seconds() + 10;
    let v = run(
        &mut l,
        &[&[("Frankfurt", false)], &[("Frankfurt", false)]],
        None,
        &mut status,
        later,
    );
    assert_eq!(status, ComponentStatus::MajorOutage, "{v:?}");
    let (_, seen) = v.iter().find_map(|v| v.transition.clone()).unwrap();
    assert_eq!(seen.phrase(), "1 of 1 location (Frankfurt)");
}

#[test]
fn a_quorum_larger_than_the_locations_heard_from_changes_nothing_and_says_so() {
    let mut l = Locations::default();
    let mut status = ComponentStatus::Operational;
    let all_down: &[(&str, bool)] = &[
        ("Frankfurt", false),
        ("Virginia", false),
        ("Singapore", false),
    ];
    let v = run(
        &mut l,
        &[ALL_UP, all_down, all_down, all_down],
        Some(4),
        &mut status,
        0,
    );
    assert_eq!(
        status,
        ComponentStatus::Operational,
        "four must agree; three are heard"
    );
    assert!(v.iter().all(|v| v.transition.is_none()), "{v:?}");
    assert_eq!(v.iter().filter_map(|v| v.too_few).next(), Some((3, 4)));
}

#[test]
fn a_slow_check_keeps_its_locations_counted_between_samples() {
    // A check every 10 minutes: the others' samples of 9 minutes ago still count.
    let within = seen_within(Some(std::time::Duration::from_secs(600)));
    assert_eq!(within, TimeDelta::minutes(30));
    assert_eq!(
        seen_within(Some(std::time::Duration::from_secs(10))),
        SEEN_WITHIN
    );
    let mut l = Locations::default();
    let mut status = ComponentStatus::Operational;
    for (loc, up) in ALL_UP {
        l.observe(
            "api",
            loc,
            &sample(*up, 0),
            status,
            &weighing(None, within, 0),
        );
    }
    // Frankfurt fails twice, nine minutes later: one of three, not a majority.
    for s in [540, 541] {
        let v = l.observe(
            "api",
            "Frankfurt",
            &sample(false, s),
            status,
            &weighing(None, within, s),
        );
        if let Some((t, _)) = v.transition {
            status = t.to;
        }
    }
    assert_eq!(status, ComponentStatus::Operational);
}

#[test]
fn a_reset_starts_every_location_again_from_the_recorded_status() {
    let mut l = Locations::default();
    let mut status = ComponentStatus::Operational;
    run(&mut l, &[ALL_UP, TWO_DOWN, TWO_DOWN], None, &mut status, 0);
    assert_eq!(status, ComponentStatus::MajorOutage);
    // An operator resolved it: the locations start from operational and must confirm
    // the failure again before it is declared again.
    l.reset("api", ComponentStatus::Operational);
    status = ComponentStatus::Operational;
    let v = run(&mut l, &[TWO_DOWN], None, &mut status, 10);
    assert!(v.is_empty(), "{v:?}");
    run(&mut l, &[TWO_DOWN], None, &mut status, 11);
    assert_eq!(status, ComponentStatus::MajorOutage);
}

#[test]
fn a_location_that_confirms_first_in_a_real_outage_is_not_told_alone() {
    let mut l = Locations::default();
    let mut status = ComponentStatus::Operational;
    // Frankfurt sees it a round before Virginia does.
    let rounds = [ALL_UP, ONE_DOWN, TWO_DOWN, TWO_DOWN, TWO_DOWN];
    let v = run(&mut l, &rounds, None, &mut status, 0);
    assert_eq!(status, ComponentStatus::MajorOutage);
    assert!(v.iter().all(|v| v.alone.is_none()), "{v:?}");
}

#[test]
fn a_sample_delivered_late_is_not_weighed_and_says_how_late() {
    // A node cut off for a minute delivers what it saw then: Frankfurt's failures of a
    // minute ago do not open anything, and Virginia and Singapore still count.
    let mut l = Locations::default();
    let mut status = ComponentStatus::Operational;
    run(&mut l, &[ALL_UP], None, &mut status, 100);
    let late = weighing(None, SEEN_WITHIN, 101);
    for (loc, up, secs) in [("Frankfurt", false, 40), ("Virginia", false, 41)] {
        let v = l.observe("api", loc, &sample(up, secs), status, &late);
        assert!(v.transition.is_none(), "{v:?}");
        assert!(v.stale.is_some_and(|d| d > TimeDelta::seconds(59)), "{v:?}");
    }
    // Frankfurt's sample of one second ago is weighed; one older than it then is not.
    let now = weighing(None, SEEN_WITHIN, 102);
    assert_eq!(
        l.observe("api", "Frankfurt", &sample(false, 101), status, &now),
        Verdict::default()
    );
    l.observe("api", "Frankfurt", &sample(false, 100), status, &now);
    let frankfurt = |l: &Locations| {
        l.of("api")
            .into_iter()
            .find(|(loc, _, _)| loc == "Frankfurt")
            .map(|(_, st, _)| st)
    };
    assert_eq!(
        frankfurt(&l),
        Some(ComponentStatus::Operational),
        "one failure weighed, not two"
    );
    let v = run(&mut l, &[ONE_DOWN], None, &mut status, 102);
    assert_eq!(status, ComponentStatus::Operational, "{v:?}");
    assert!(v.iter().all(|v| v.transition.is_none()));
}

#[test]
fn a_new_leader_listens_to_every_location_before_it_decides() {
    // It takes over while Frankfurt's failures reach it first: alone, Frankfurt would
    // be a majority of one. Listening, it hears the others see the service working.
    let mut l = Locations::listening(at(0));
    let mut status = ComponentStatus::Operational;
    let v = run(
        &mut l,
        &[&[("Frankfurt", false)], &[("Frankfurt", false)]],
        None,
        &mut status,
        0,
    );
    assert!(v.is_empty(), "nothing decided while listening: {v:?}");
    let v = run(
        &mut l,
        &[ONE_DOWN, ONE_DOWN, ONE_DOWN],
        None,
        &mut status,
        2,
    );
    assert_eq!(status, ComponentStatus::Operational, "{v:?}");
    assert!(v.iter().all(|v| v.transition.is_none()), "{v:?}");
    // Once it has listened, an outage two locations see is declared.
    run(&mut l, &[TWO_DOWN, TWO_DOWN], None, &mut status, 5);
    assert_eq!(status, ComponentStatus::MajorOutage);
}

#[test]
fn late_samples_and_listening_follow_the_check_interval() {
    assert_eq!(fresh_within(Some(Duration::from_millis(200))), FRESH_WITHIN);
    assert_eq!(
        fresh_within(Some(Duration::from_secs(60))),
        TimeDelta::seconds(60)
    );
    assert_eq!(
        settling(Some(Duration::from_secs(10)), Duration::from_secs(5)),
        TimeDelta::seconds(20)
    );
    // A check every ten minutes: every location has sent one sample within one
    // interval, and not necessarily within two minutes.
    assert_eq!(
        settling(Some(Duration::from_secs(600)), Duration::from_secs(5)),
        TimeDelta::seconds(610)
    );
    assert_eq!(settling(None, Duration::from_secs(5)), SEEN_WITHIN);
}

#[test]
fn a_sample_from_a_clock_running_ahead_is_not_weighed_and_does_not_freeze_its_location() {
    let mut l = Locations::default();
    let mut status = ComponentStatus::Operational;
    run(&mut l, &[ALL_UP], None, &mut status, 100);
    // Frankfurt's clock runs a minute ahead, then is put right.
    let v = l.observe(
        "api",
        "Frankfurt",
        &sample(true, 161),
        status,
        &weighing(None, SEEN_WITHIN, 101),
    );
    assert!(v.stale.is_some_and(|d| d < TimeDelta::zero()), "{v:?}");
    // Its samples on time again are weighed: two failures confirm its own failure.
    run(&mut l, &[TWO_DOWN, TWO_DOWN], None, &mut status, 102);
    assert_eq!(status, ComponentStatus::MajorOutage);
}

#[test]
fn a_probe_that_took_nearly_its_timeout_is_weighed() {
    // Started 9 s ago, answered after 8 s: it ended a second ago.
    let mut l = Locations::default();
    let mut slow = sample(false, 91);
    slow.latency = Duration::from_secs(8);
    let v = l.observe(
        "api",
        "Frankfurt",
        &slow,
        ComponentStatus::Operational,
        &weighing(None, SEEN_WITHIN, 100),
    );
    assert_eq!(v.stale, None);
}

#[test]
fn a_failure_confirmed_while_listening_is_weighed_once_listening_ends() {
    // Four must agree, three are heard: the failures the locations confirm while a new
    // leader listens are told to operators once it has listened, once.
    let mut l = Locations::listening(at(0));
    let mut status = ComponentStatus::Operational;
    let all_down: &[(&str, bool)] = &[
        ("Frankfurt", false),
        ("Virginia", false),
        ("Singapore", false),
    ];
    let v = run(&mut l, &[all_down, all_down], Some(4), &mut status, 0);
    assert!(v.is_empty(), "nothing while listening: {v:?}");
    let v = run(
        &mut l,
        &[all_down, all_down, all_down],
        Some(4),
        &mut status,
        5,
    );
    let told: Vec<_> = v.iter().filter_map(|v| v.too_few).collect();
    assert_eq!(told, [(3, 4)], "{v:?}");
    assert_eq!(status, ComponentStatus::Operational);
}
