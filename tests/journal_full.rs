//! A journal that cannot grow (a full disk, here a file-size limit on the daemon) makes
//! `/readyz` answer 503 and `/metrics` count the refused appends, until an append
//! succeeds again; then what was confirmed meanwhile is recorded and operators hear
//! that the journal could not be written. The daemon's log file is under the same limit:
//! a log that cannot be written never stops the daemon.

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::Duration;

use common::{Behaviour, closed_port, http_peer, switchable, wait_until, write_config};
use forewarn::journal::{Event, Journal};

/// Bytes any one file the daemon writes may hold: less than an incident's first records.
const FILE_LIMIT: u64 = 600;

fn events(state: &Path) -> Vec<Event> {
    Journal::read(state)
        .map(|r| r.records.into_iter().map(|r| r.event).collect())
        .unwrap_or_default()
}

#[test]
fn a_journal_that_cannot_grow_is_not_ready_until_it_can_and_loses_no_outage() {
    let rt = common::background_runtime();
    let (behaviour, target) = switchable(Behaviour::Ok("ok"));
    let peer = rt.block_on(http_peer(behaviour));
    let dir = tempfile::tempdir().expect("tempdir");
    let port = closed_port();
    let config = write_config(
        dir.path(),
        &format!(
            "[serve]\nlisten = \"127.0.0.1:{port}\"\n\n[[component]]\nid = \"api\"\nname = \"Public API\"\n[component.check]\nurl = \"{}\"\nevery = \"1s\"\nfail_after = 1\nrecover_after = 1\n",
            peer.url("/health")
        ),
    );
    let state = dir.path().join("state");
    let mut cmd = common::daemon_command(&config, &state);
    // SAFETY: signal and setrlimit are async-signal-safe and touch only the child.
    unsafe {
        cmd.pre_exec(|| {
            // A write past the limit fails with EFBIG instead of ending the process.
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: FILE_LIMIT,
                rlim_max: libc::RLIM_INFINITY,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().expect("spawn forewarn run");
    let pid = child.id() as libc::pid_t;
    let daemon = common::Running::new(child);
    let read_log = || std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default();

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let get = |path: &str| -> Option<(u16, String)> {
        rt.block_on(async {
            let r = http
                .get(format!("http://127.0.0.1:{port}{path}"))
                .send()
                .await
                .ok()?;
            let status = r.status().as_u16();
            Some((status, r.text().await.unwrap_or_default()))
        })
    };
    let ready = || get("/readyz").map(|(s, _)| s);

    wait_until(Duration::from_secs(30), "ready at start", || {
        ready() == Some(200)
    });

    // The service goes down; recording it needs more room than the journal has.
    *target.lock().unwrap() = Behaviour::Status(503);
    wait_until(Duration::from_secs(30), "/readyz says not ready", || {
        ready() == Some(503)
    });
    let (_, metrics) = get("/metrics").expect("metrics");
    let failures: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("forewarn_journal_append_failures_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(failures >= 1, "refused appends are counted:\n{metrics}");
    assert!(
        !events(&state)
            .iter()
            .any(|e| matches!(e, Event::IncidentOpened { .. })),
        "nothing half-written"
    );

    // The service comes back while the journal is still full: a down period that
    // begins and ends in the trouble.
    let went_down = chrono::Utc::now();
    *target.lock().unwrap() = Behaviour::Ok("ok");
    let probed = peer.requests.load(std::sync::atomic::Ordering::Relaxed);
    wait_until(Duration::from_secs(30), "probes see it back", || {
        peer.requests.load(std::sync::atomic::Ordering::Relaxed) >= probed + 3
    });
    assert_eq!(ready(), Some(503), "still full");
    let room_at = chrono::Utc::now();

    // Room again.
    let lim = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: prlimit on our own child, with a valid limit and no old value asked for.
    let raised = unsafe { libc::prlimit(pid, libc::RLIMIT_FSIZE, &lim, std::ptr::null_mut()) };
    assert_eq!(raised, 0, "{}", std::io::Error::last_os_error());
    wait_until(Duration::from_secs(30), "ready again", || {
        ready() == Some(200)
    });
    let all = events(&state);
    assert!(
        all.iter()
            .any(|e| matches!(e, Event::IncidentOpened { .. })),
        "the outage is recorded once the journal can grow: {all:#?}"
    );
    let records = Journal::read(&state).expect("journal").records;
    let changes: Vec<(chrono::DateTime<chrono::Utc>, String)> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::ComponentStatusChanged { to, .. } => Some((r.at, format!("{to:?}"))),
            _ => None,
        })
        .collect();
    assert_eq!(
        changes
            .iter()
            .map(|(_, to)| to.as_str())
            .collect::<Vec<_>>(),
        ["MajorOutage", "Operational"],
        "the outage that began and ended while the journal was full is recorded: {changes:?}"
    );
    assert!(
        changes.iter().all(|(at, _)| *at < room_at),
        "with the times it happened, before the journal had room: {changes:?}, room at {room_at}"
    );
    assert!(changes[0].0 < went_down && changes[1].0 > went_down);
    assert!(
        all.iter()
            .any(|e| matches!(e, Event::IncidentResolved { .. })),
        "and its incident resolved: {all:#?}"
    );
    let alert = all
        .iter()
        .find_map(|e| match e {
            Event::OperatorAlert { kind, message, .. } if kind == "journal_unwritable" => {
                Some(message.clone())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("operators hear the journal could not be written: {all:#?}"));
    assert!(
        alert.contains("2 status changes seen meanwhile are recorded now"),
        "{alert}"
    );
    let out = daemon.stop();
    assert_eq!(out.status.code(), Some(0), "{}", read_log());
}
