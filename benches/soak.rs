//! Crash soak: the real daemon, under flapping load (three checked services that fail
//! and recover every 2, 3 and 5 s), telling 5 email subscribers (a real SMTP server)
//! and 2 Standard Webhooks receivers (each signature verified by the `standardwebhooks`
//! crate), is killed with SIGKILL at random moments (0.3 to 3 s after each start), again
//! and again. Then the services calm down and a last run delivers what is owed.
//!
//! Counts: records the daemon logged as recorded but missing from the journal after
//! the kill (events lost, must be 0); deliveries with a success receipt that never
//! arrived, and deliveries still owed at the end (deliveries lost, must be 0); messages
//! that arrived more than once (all must share their id); webhook signatures that did
//! not verify (0).
//!
//! Run with: `cargo bench --bench soak` (`SOAK_KILLS=N`, default 30).

#[allow(dead_code)]
#[path = "../tests/common/peers.rs"]
mod peers;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::routing::get;
use forewarn::config::Config;
use forewarn::journal::{Event, Journal};
use forewarn::notify::fold::Fold;
use peers::{SmtpPeer, WebhookPeer};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// A service per path `/s/<period in ms>` that fails for half of each period, until
/// `calm` is set.
async fn flapping(
    State((started, calm)): State<(Instant, Arc<AtomicBool>)>,
    UrlPath(period): UrlPath<u64>,
) -> StatusCode {
    let phase = started.elapsed().as_millis() as u64 % period.max(2);
    if calm.load(Ordering::Relaxed) || phase < period / 2 {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// The delivery id (`msg_…`) inside a Message-ID or webhook-id.
fn delivery_id(text: &str) -> Option<String> {
    let at = text.find("msg_")?;
    let id: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    Some(id)
}

/// The highest sequence number the daemon logged as recorded in `log`.
fn logged_seq(log: &str) -> u64 {
    log.lines()
        .filter(|l| l.contains(" recorded"))
        .filter_map(|l| l.split("seq=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .max()
        .unwrap_or(0)
}

fn last_seq(state: &Path) -> u64 {
    Journal::read(state)
        .ok()
        .and_then(|r| r.records.last().map(|r| r.seq))
        .unwrap_or(0)
}

fn main() {
    let kills: usize = std::env::var("SOAK_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let calm = Arc::new(AtomicBool::new(false));
    let target = {
        let calm = calm.clone();
        rt.block_on(async move {
            let app = Router::new()
                .route("/s/{period}", get(flapping))
                .with_state((Instant::now(), calm));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            tokio::spawn(async move { axum::serve(listener, app).await });
            addr
        })
    };
    let smtp = SmtpPeer::start();
    let hooks = rt.block_on(WebhookPeer::start(Some(SECRET)));

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("config")).expect("mkdir");
    let config_path = dir.path().join("config/forewarn.toml");
    let mut config = format!(
        "[site]\ntitle = \"Soak\"\nbase_url = \"https://status.soak.test\"\n[site.contact]\nemail = \"help@soak.test\"\n\n[email]\ntransport = \"smtp\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\ntls = \"none\"\nfrom = \"status@soak.test\"\n",
        smtp.port()
    );
    for (i, period) in [2000, 3000, 5000].iter().enumerate() {
        config.push_str(&format!(
            "\n[[component]]\nid = \"c{i}\"\nname = \"Service {i}\"\n[component.check]\nurl = \"http://{target}/s/{period}\"\nevery = \"250ms\"\ntimeout = \"200ms\"\nfail_after = 1\nrecover_after = 1\n"
        ));
    }
    std::fs::write(&config_path, config).expect("config");
    let mut subscribers = String::new();
    for i in 0..5 {
        subscribers.push_str(&format!(
            "[[email]]\naddress = \"customer{i}@soak.test\"\n\n"
        ));
    }
    for i in 0..2 {
        subscribers.push_str(&format!(
            "[[webhook]]\nurl = \"{}\"\nsecret_env = \"SOAK_SECRET\"\n\n",
            hooks.url(&format!("/hook{i}"))
        ));
    }
    std::fs::write(dir.path().join("config/subscribers.toml"), subscribers).expect("subs");
    let state = dir.path().join("state");
    let log_path = dir.path().join("daemon.log");
    let start = || {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("log");
        Command::new(env!("CARGO_BIN_EXE_forewarn"))
            .args(["run", "--config"])
            .arg(&config_path)
            .arg("--state")
            .arg(&state)
            .arg("--out")
            .arg(dir.path().join("site"))
            .env("SOAK_SECRET", SECRET)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn forewarn run")
    };

    let began = Instant::now();
    let mut lost_events = 0;
    let mut failed_starts = 0;
    for _ in 0..kills {
        let log_before = std::fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
        let mut child = start();
        std::thread::sleep(Duration::from_millis(fastrand::u64(300..3000)));
        if let Ok(Some(status)) = child.try_wait() {
            failed_starts += 1;
            eprintln!("the daemon stopped by itself: {status}");
        }
        // SAFETY: signals only the child started above.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGKILL);
        }
        let _ = child.wait();
        let log = std::fs::read(&log_path).unwrap_or_default();
        let this_run = String::from_utf8_lossy(&log[log_before as usize..]);
        let logged = logged_seq(&this_run);
        if logged > last_seq(&state) {
            lost_events += 1;
            eprintln!(
                "record {logged} was logged as recorded but the journal ends at {}",
                last_seq(&state)
            );
        }
    }
    let killed_for = began.elapsed();

    // Calm: no new outages; the last run delivers what is owed, then stops cleanly.
    calm.store(true, Ordering::Relaxed);
    let child = start();
    let config = Config::load(&config_path).expect("config");
    let deadline = Instant::now() + Duration::from_secs(180);
    let owed = loop {
        std::thread::sleep(Duration::from_millis(500));
        let records = Journal::read(&state).map(|r| r.records).unwrap_or_default();
        let settled = records
            .iter()
            .any(|r| matches!(r.event, Event::ComponentStatusChanged { .. }))
            && Fold::replay(&config, &records).outbox.depth() == 0;
        if settled || Instant::now() > deadline {
            break Fold::replay(&config, &records).outbox.depth();
        }
    };
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: signals only the child started above.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let mut child = child;
    let _ = child.wait();

    let records = Journal::read(&state).expect("the journal").records;
    let succeeded: HashSet<String> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::DeliverySucceeded { id, .. } => Some(id.clone()),
            _ => None,
        })
        .collect();
    let incidents = records
        .iter()
        .filter(|r| matches!(r.event, Event::IncidentOpened { .. }))
        .count();
    // The first email of an incident carries its thread's Message-ID, the others their
    // delivery id: map the thread roots back to the deliveries that opened them.
    let mut roots: BTreeMap<String, String> = BTreeMap::new();
    for r in &records {
        if let Event::IncidentOpened { id, .. } = &r.event {
            for i in 0..5 {
                let key = format!("email:customer{i}@soak.test");
                let root = forewarn::notify::channels::email::thread_root(
                    &config,
                    &format!("incident:{id}"),
                    &key,
                );
                roots.insert(root, forewarn::notify::outbox::delivery_id(r.seq, &key));
            }
        }
    }
    let mut arrivals: BTreeMap<String, usize> = BTreeMap::new();
    for mail in smtp.messages() {
        let header = mail
            .data
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
            .map(|l| l["message-id:".len()..].trim().to_owned());
        let id = header.and_then(|h| roots.get(&h).cloned().or_else(|| delivery_id(&h)));
        if let Some(id) = id {
            *arrivals.entry(id).or_default() += 1;
        }
    }
    let received = hooks.received();
    let unverified = received.iter().filter(|r| !r.verified).count();
    for r in &received {
        if let Some(id) = r.webhook_id.as_deref().and_then(delivery_id) {
            *arrivals.entry(id).or_default() += 1;
        }
    }
    let never_arrived = succeeded
        .iter()
        .filter(|id| !arrivals.contains_key(*id))
        .count();
    if std::env::var_os("SOAK_DEBUG").is_some() {
        for id in succeeded.iter().filter(|id| !arrivals.contains_key(*id)) {
            eprintln!("never arrived: {id}");
        }
        for id in arrivals.keys().take(5) {
            eprintln!("arrived: {id}");
        }
        if let Some(m) = smtp.messages().first() {
            eprintln!("{}", &m.data[..m.data.len().min(800)]);
        }
    }
    // An outage told twice under new ids would show as a second incident opened for a
    // component that already has one open.
    let mut open: BTreeMap<String, String> = BTreeMap::new();
    let mut opened_twice = 0;
    for r in &records {
        match &r.event {
            Event::IncidentOpened { id, components, .. } => {
                for c in components.keys() {
                    if open.insert(c.clone(), id.clone()).is_some() {
                        opened_twice += 1;
                    }
                }
            }
            Event::IncidentResolved { id, .. } => open.retain(|_, v| v != id),
            _ => {}
        }
    }
    let repeated: usize = arrivals.values().filter(|n| **n > 1).count();
    let unknown = arrivals
        .keys()
        .filter(|id| !succeeded.contains(*id))
        .count();
    println!(
        "{kills} SIGKILLs over {:.0} s ({failed_starts} runs ended by themselves); journal {} records, {incidents} incidents opened",
        killed_for.as_secs_f64(),
        records.len()
    );
    println!(
        "events lost: {lost_events}; deliveries made: {} ({} emails, {} webhook requests); lost: {} (receipt but never arrived {never_arrived}, still owed {owed}); repeated (same id): {repeated}; arrived without a receipt: {unknown}; incidents opened twice for one outage: {opened_twice}; unverified signatures: {unverified}",
        succeeded.len(),
        smtp.messages().len(),
        received.len(),
        never_arrived + owed,
    );
}
