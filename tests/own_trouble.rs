//! The monitor's own trouble is never the customer's outage: a daemon started with too
//! few file descriptors for its probes opens no incident, tells customers nothing, and
//! tells its operators once.

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::Duration;

use common::{Behaviour, http_peer, switchable, wait_until};
use forewarn::journal::{Event, Journal};

/// Open files the daemon may have: what it holds after starting (about 15), and a few
/// more, far fewer than 40 probes at once need.
const FD_LIMIT: u64 = 24;

fn events(state: &Path) -> Vec<Event> {
    Journal::read(state)
        .map(|r| r.records.into_iter().map(|r| r.event).collect())
        .unwrap_or_default()
}

/// Who each mail in `<state>/mail/` went to.
fn recipients(state: &Path) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(state.join("mail")) else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|m| {
            m.lines()
                .find(|l| l.to_ascii_lowercase().starts_with("to:"))
                .map(|l| l[3..].trim().to_owned())
        })
        .collect()
}

#[test]
fn too_few_file_descriptors_are_an_operator_alert_not_an_outage() {
    let rt = common::background_runtime();
    // Each probe holds its socket a while, so many are open at once.
    let (behaviour, target) = switchable(Behaviour::Slow(Duration::from_millis(1500)));
    let peer = rt.block_on(http_peer(behaviour));
    let dir = tempfile::tempdir().expect("tempdir");
    let components: String = (0..40)
        .map(|i| {
            format!(
                "[[component]]\nid = \"c{i}\"\nname = \"Component {i}\"\n[component.check]\nurl = \"{}\"\nevery = \"2s\"\ntimeout = \"1900ms\"\nfail_after = 2\n\n",
                peer.url(&format!("/c{i}"))
            )
        })
        .collect();
    let config = common::write_config(dir.path(), &components);
    std::fs::write(
        dir.path().join("config/subscribers.toml"),
        "[[email]]\naddress = \"customer@test.example\"\n\n[[operator]]\naddress = \"oncall@test.example\"\n",
    )
    .expect("subscribers");
    let state = dir.path().join("state");
    let mut cmd = common::daemon_command(&config, &state);
    // SAFETY: setrlimit is async-signal-safe and touches only the child's own limits.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: FD_LIMIT,
                rlim_max: FD_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let daemon = common::Running::new(cmd.spawn().expect("spawn forewarn run"));
    let read_log = || std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default();

    wait_until(
        Duration::from_secs(30),
        "an operator alert that checks could not run",
        || {
            events(&state)
                .iter()
                .any(|e| matches!(e, Event::OperatorAlert { kind, .. } if kind == "probes_not_run"))
        },
    );
    // Let the trouble go on: the next round of probes hits the limit again.
    std::thread::sleep(Duration::from_secs(3));
    // The machine has room again; the owed alert reaches the operators.
    *target.lock().unwrap() = Behaviour::Ok("ok");
    wait_until(
        Duration::from_secs(40),
        "the alert in the operators' mail",
        || recipients(&state).iter().any(|r| r.contains("oncall@")),
    );
    std::thread::sleep(Duration::from_secs(3));
    let out = daemon.stop();
    let log = read_log();
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("too many open files"),
        "the log names the cause:\n{log}"
    );

    let all = events(&state);
    let alerts: Vec<&Event> = all
        .iter()
        .filter(|e| matches!(e, Event::OperatorAlert { .. }))
        .collect();
    assert_eq!(alerts.len(), 1, "one alert, not one per probe: {alerts:#?}");
    match alerts[0] {
        Event::OperatorAlert { message, .. } => {
            assert!(message.contains("no file descriptors left"), "{message}");
            assert!(message.contains("customers were not told"), "{message}");
        }
        _ => unreachable!(),
    }
    assert!(
        !all.iter().any(|e| matches!(
            e,
            Event::IncidentOpened { .. } | Event::ComponentStatusChanged { .. }
        )),
        "no incident, no status change: {all:#?}"
    );
    let to = recipients(&state);
    assert!(
        !to.iter().any(|r| r.contains("customer@")),
        "customers were told nothing: {to:?}"
    );
    assert_eq!(
        to.iter().filter(|r| r.contains("oncall@")).count(),
        1,
        "{to:?}"
    );
}
