//! forewarn's HTTP front with the daemon as a real process: the status site over HTTP
//! with the right types, caching and compression, health checks, and one-click
//! unsubscribe from a real email received over SMTP.

mod common;

use std::path::Path;
use std::time::Duration;

use common::peers::SmtpPeer;
use common::{Behaviour, closed_port, forewarn, http_peer, text, wait_until, write_config};
use forewarn::journal::{Event, Journal};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn incident(dir: &Path, updates: &[(&str, &str)]) {
    let mut s = "id = \"cards\"\ntitle = \"Card payments failing\"\nimpact = \"major\"\n[components]\napi = \"partial_outage\"\n".to_string();
    for (n, (status, message)) in updates.iter().enumerate() {
        s.push_str(&format!(
            "\n[[update]]\nat = 2026-11-22T10:{:02}:00Z\nstatus = \"{status}\"\nmessage = \"{message}\"\n",
            n * 5
        ));
    }
    std::fs::create_dir_all(dir.join("config/incidents")).unwrap();
    std::fs::write(dir.join("config/incidents/.cards.tmp"), s).unwrap();
    std::fs::rename(
        dir.join("config/incidents/.cards.tmp"),
        dir.join("config/incidents/cards.toml"),
    )
    .unwrap();
}

/// Wait (bounded) until the journal holds an event `pred` accepts.
fn wait_for_event(state: &Path, what: &str, pred: impl Fn(&Event) -> bool) {
    wait_until(Duration::from_secs(20), what, || {
        Journal::read(state)
            .map(|r| r.records.iter().any(|r| pred(&r.event)))
            .unwrap_or(false)
    });
}

/// `link` with its last character changed: a token that was never issued.
fn forge(link: &str) -> String {
    let (head, last) = link.split_at(link.len() - 1);
    format!("{head}{}", if last == "x" { "y" } else { "x" })
}

fn removed_by_subscriber(state: &Path) -> usize {
    Journal::read(state)
        .map(|r| {
            r.records
                .iter()
                .filter(|r| {
                    matches!(&r.event, Event::SubscriberRemoved { by: Some(b), .. } if b == "subscriber")
                })
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn the_site_is_served_with_types_caching_compression_and_safe_headers() {
    let rt = common::background_runtime();
    let _in_runtime = rt.enter();
    let healthy = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let config = write_config(
        dir.path(),
        &format!(
            "[serve]\nlisten = \"127.0.0.1:{port}\"\n\n[[component]]\nid = \"api\"\nname = \"Public API\"\n[component.check]\nurl = \"{0}\"\nevery = \"1s\"\n\n[[component]]\nid = \"queue\"\nname = \"Billing queue\"\npublic = false\n[component.check]\nurl = \"{0}\"\nevery = \"1s\"\n",
            healthy.url("/health")
        ),
    );
    let state = dir.path().join("state");
    let daemon = common::start_daemon_logged(&config, &state, &[]);
    let base = format!("http://127.0.0.1:{port}");
    let http = client();
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut req = http.get(format!("{base}{path}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        rt.block_on(req.send())
    };
    wait_until(
        Duration::from_secs(20),
        "the front and the first build",
        || get("/index.html", &[]).is_ok_and(|r| r.status() == 200),
    );

    let index = get("/", &[]).unwrap();
    assert_eq!(index.status(), 200);
    let h = index.headers().clone();
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert_eq!(h["cache-control"], "public, max-age=60");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'none'")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    let etag = h["etag"].to_str().unwrap().to_owned();
    assert!(rt.block_on(index.text()).unwrap().contains("Public API"));
    assert_eq!(get("/", &[("if-none-match", &etag)]).unwrap().status(), 304);
    let gz = get("/", &[("accept-encoding", "gzip")]).unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let br = get("/", &[("accept-encoding", "br")]).unwrap();
    assert_eq!(br.headers()["content-encoding"], "br");

    for (path, ty) in [
        ("/feed.atom", "application/atom+xml"),
        ("/maintenance.ics", "text/calendar; charset=utf-8"),
        ("/api/v2/summary.json", "application/json"),
        ("/badge.svg", "image/svg+xml"),
    ] {
        let r = get(path, &[]).unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], ty, "{path}");
    }
    for path in [
        "/.forewarn-site",
        "/../state/journal.jsonl",
        "/%2e%2e/state/journal.jsonl",
        "/nope.html",
    ] {
        assert_eq!(get(path, &[]).unwrap().status(), 404, "{path}");
    }
    assert_eq!(get("/healthz", &[]).unwrap().status(), 200);
    assert_eq!(get("/readyz", &[]).unwrap().status(), 200);

    // /metrics parses as Prometheus text and moves as probes run.
    let scrape = || {
        let r = get("/metrics", &[]).unwrap();
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        let text = rt.block_on(r.text()).unwrap();
        prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
            .unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    let value = |s: &prometheus_parse::Scrape, name: &str, label: Option<(&str, &str)>| {
        s.samples
            .iter()
            .find(|x| x.metric == name && label.is_none_or(|(k, v)| x.labels.get(k) == Some(v)))
            .map(|x| match &x.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => *v,
                prometheus_parse::Value::Histogram(h) => h.last().map_or(0.0, |b| b.count),
                prometheus_parse::Value::Summary(_) => f64::NAN,
            })
            .unwrap_or_else(|| panic!("{name} {label:?} in the scrape"))
    };
    let probed = |s: &prometheus_parse::Scrape| {
        s.samples.iter().any(|x| {
            x.metric == "forewarn_probes_total" && x.labels.get("component") == Some("api")
        })
    };
    // Checks start within their first interval, at a random offset.
    wait_until(Duration::from_secs(15), "a first probe in /metrics", || {
        probed(&scrape())
    });
    let first = scrape();
    let runs = value(&first, "forewarn_probes_total", Some(("component", "api")));
    assert!(runs >= 1.0);
    assert_eq!(
        value(
            &first,
            "forewarn_component_status",
            Some(("status", "operational"))
        ),
        1.0
    );
    assert_eq!(value(&first, "forewarn_open_incidents", None), 0.0);
    assert!(
        value(
            &first,
            "forewarn_probe_duration_seconds",
            Some(("component", "api"))
        ) >= 1.0
    );
    for family in [
        "forewarn_outbox_deliveries",
        "forewarn_outbox_oldest_pending_seconds",
        "forewarn_site_build_seconds",
    ] {
        value(&first, family, None);
    }
    wait_until(Duration::from_secs(10), "more probes in /metrics", || {
        value(
            &scrape(),
            "forewarn_probes_total",
            Some(("component", "api")),
        ) > runs
    });
    // Every check has run by now (one probe a second, each starting within its first);
    // /metrics, on the public front, leaves out a component kept from customers.
    let later = scrape();
    assert!(
        !later
            .samples
            .iter()
            .any(|x| x.labels.get("component") == Some("queue")),
        "{:?}",
        later.samples.iter().map(|x| &x.labels).collect::<Vec<_>>()
    );

    // A 10 MB body is refused from its announced length: the answer comes after the
    // first kilobyte, the rest never sent.
    {
        use std::io::{Read, Write};
        let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            conn,
            "POST /unsubscribe/x.y HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
            10 * 1024 * 1024
        )
        .unwrap();
        conn.write_all(&[b'a'; 1024]).unwrap();
        let mut head = [0u8; 12];
        conn.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"HTTP/1.1 413", "{}", String::from_utf8_lossy(&head));
    }
    let out = common::stop_daemon(daemon);
    assert_eq!(out.status.code(), Some(0), "{}", common::daemon_log(&state));
}

#[test]
fn one_click_unsubscribe_from_a_real_email_sticks() {
    let rt = common::background_runtime();
    let _in_runtime = rt.enter();
    let healthy = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let smtp = SmtpPeer::start();
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let config = front_config(dir.path(), port, smtp.port(), &healthy.url("/health"), true);
    std::fs::write(
        dir.path().join("config/subscribers.toml"),
        "[[email]]\naddress = \"leaver@customer.example\"\n",
    )
    .unwrap();
    incident(dir.path(), &[("investigating", "Some card payments fail.")]);
    let state = dir.path().join("state");
    let daemon = common::start_daemon_logged(&config, &state, &[]);
    let mail = smtp.wait_for(1, Duration::from_secs(20)).remove(0);
    let parsed = mail_parser::MessageParser::default()
        .parse(mail.data.as_bytes())
        .unwrap();
    let header = parsed.header_raw("List-Unsubscribe").unwrap().to_owned();
    let link = header
        .split(['<', '>'])
        .find(|s| s.starts_with("http://"))
        .unwrap_or_else(|| panic!("an http link in {header}"))
        .to_owned();
    assert!(
        link.starts_with(&format!("http://127.0.0.1:{port}/unsubscribe/")),
        "{link}"
    );
    assert!(
        parsed.body_text(0).unwrap().contains(&link),
        "the visible link is the same"
    );
    let http = client();

    // A GET shows a button and changes nothing (link scanners follow GETs).
    let page = rt.block_on(http.get(&link).send()).unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers().get("set-cookie").is_none());
    let body = rt.block_on(page.text()).unwrap();
    assert!(body.contains("<form method=\"post\">"), "{body}");
    assert!(
        body.contains("l…@customer.example"),
        "the address, partly hidden: {body}"
    );
    assert!(
        !body.contains("leaver@"),
        "never the whole address on a page"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        removed_by_subscriber(&state),
        0,
        "a GET unsubscribes nobody"
    );

    // A forged token and a POST without the one-click body change nothing.
    let forged = forge(&link);
    let r = rt
        .block_on(http.post(&forged).body("List-Unsubscribe=One-Click").send())
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = rt.block_on(http.post(&link).send()).unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(removed_by_subscriber(&state), 0);

    // RFC 8058 one-click, as a mail client sends it.
    let one_click = || {
        rt.block_on(
            http.post(&link)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("List-Unsubscribe=One-Click")
                .send(),
        )
        .unwrap()
    };
    let r = one_click();
    assert_eq!(r.status(), 200, "no redirect");
    assert!(r.headers().get("set-cookie").is_none());
    assert_eq!(removed_by_subscriber(&state), 1);
    // A repeat, as multipart/form-data (what RFC 8058 suggests senders use), still
    // succeeds.
    let multipart = rt
        .block_on(
            http.post(&link)
                .header("content-type", "multipart/form-data; boundary=XyZ")
                .body("--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--XyZ--\r\n")
                .send(),
        )
        .unwrap();
    assert_eq!(multipart.status(), 200);
    assert_eq!(one_click().status(), 200, "a repeat is still a success");
    assert_eq!(removed_by_subscriber(&state), 1);

    // The next update reaches nobody, even after a restart re-reads subscribers.toml.
    incident(
        dir.path(),
        &[
            ("investigating", "Some card payments fail."),
            ("identified", "A faulty release."),
        ],
    );
    wait_for_event(&state, "the update to be recorded", |e| {
        matches!(e, Event::IncidentUpdated { .. })
    });
    let out = common::stop_daemon(daemon);
    assert_eq!(out.status.code(), Some(0), "{}", common::daemon_log(&state));
    let daemon = common::start_daemon_logged(&config, &state, &[]);
    incident(
        dir.path(),
        &[
            ("investigating", "Some card payments fail."),
            ("identified", "A faulty release."),
            ("resolved", "Fixed."),
        ],
    );
    wait_for_event(&state, "the resolution to be recorded", |e| {
        matches!(e, Event::IncidentResolved { .. })
    });
    std::thread::sleep(Duration::from_millis(500));
    let out = common::stop_daemon(daemon);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(smtp.messages().len(), 1, "nothing after the unsubscribe");
    let confirmed = Journal::read(&state)
        .unwrap()
        .records
        .iter()
        .filter(|r| matches!(r.event, Event::SubscriberConfirmed { .. }))
        .count();
    assert_eq!(confirmed, 1, "the file did not bring them back");
    let listing = common::run_bounded(
        forewarn()
            .args(["outbox", "--config"])
            .arg(&config)
            .arg("--state")
            .arg(&state),
        Duration::from_secs(20),
    );
    assert!(
        text(&listing.stdout).contains("Nothing owed"),
        "{}",
        text(&listing.stdout)
    );
}

/// The one http link in a received email's text part that starts with `prefix`.
fn link_in(mail: &common::peers::ReceivedMail, prefix: &str) -> String {
    let parsed = mail_parser::MessageParser::default()
        .parse(mail.data.as_bytes())
        .unwrap();
    let text = parsed.body_text(0).unwrap().into_owned();
    text.split_whitespace()
        .find(|w| w.starts_with(prefix))
        .unwrap_or_else(|| panic!("a link starting {prefix} in:\n{text}"))
        .to_owned()
}

/// The configuration of a front on `port` (listening there when `listen`; otherwise
/// `forewarn serve` does), mail through `smtp_port`, two healthy components and one
/// kept from customers (`queue`, public = false).
fn front_config(
    dir: &Path,
    port: u16,
    smtp_port: u16,
    healthy_url: &str,
    listen: bool,
) -> std::path::PathBuf {
    let listen = if listen {
        format!("listen = \"127.0.0.1:{port}\"\n")
    } else {
        String::new()
    };
    write_config(
        dir,
        &format!(
            "[serve]\n{listen}public_url = \"http://127.0.0.1:{port}\"\n\n[email]\ntransport = \"smtp\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {smtp_port}\ntls = \"none\"\n\n[[component]]\nid = \"api\"\nname = \"Public API\"\n[component.check]\nurl = \"{healthy_url}\"\nevery = \"1s\"\n\n[[component]]\nid = \"search\"\nname = \"Search\"\n[component.check]\nurl = \"{healthy_url}\"\nevery = \"1s\"\n\n[[component]]\nid = \"queue\"\nname = \"Billing queue\"\npublic = false\n[component.check]\nurl = \"{healthy_url}\"\nevery = \"1s\"\n"
        ),
    )
}

/// A daemon with its front on a free port (also its public address), mail through
/// `smtp`, and two healthy components, api and search; waits until the front answers.
fn start_front(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    smtp: &SmtpPeer,
    healthy_url: &str,
) -> (
    String,
    std::path::PathBuf,
    std::path::PathBuf,
    std::process::Child,
) {
    let port = closed_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = front_config(dir, port, smtp.port(), healthy_url, true);
    let state = dir.join("state");
    let daemon = common::start_daemon_logged(&config, &state, &[]);
    let http = client();
    wait_until(Duration::from_secs(20), "the front", || {
        rt.block_on(http.get(format!("{base}/healthz")).send())
            .is_ok_and(|r| r.status() == 200)
    });
    (base, config, state, daemon)
}

#[test]
fn sign_up_confirm_hear_of_an_outage_and_leave() {
    let rt = common::background_runtime();
    let _in_runtime = rt.enter();
    let healthy = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let smtp = SmtpPeer::start();
    let dir = tempfile::tempdir().unwrap();
    let (base, _config, state, daemon) =
        start_front(&rt, dir.path(), &smtp, &healthy.url("/health"));
    let http = client();
    let sign_up = |body: &str| {
        rt.block_on(
            http.post(format!("{base}/subscribe"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_owned())
                .send(),
        )
        .unwrap()
    };

    // Every page of the site offers the form, posting to the front.
    wait_until(Duration::from_secs(20), "the first build", || {
        rt.block_on(http.get(format!("{base}/index.html")).send())
            .is_ok_and(|r| r.status() == 200)
    });
    let index = rt
        .block_on(
            rt.block_on(http.get(format!("{base}/")).send())
                .unwrap()
                .text(),
        )
        .unwrap();
    assert!(
        index.contains(&format!(
            "<form method=\"post\" action=\"{base}/subscribe\">"
        )),
        "{index}"
    );
    assert!(index.contains("name=\"components\" value=\"search\""));
    assert!(
        !index.contains("Billing queue") && !index.contains("value=\"queue\""),
        "a component kept from customers is not offered"
    );

    // Bad input is explained on the page.
    let r = sign_up("email=not-an-address");
    assert_eq!(r.status(), 400);
    assert!(
        rt.block_on(r.text())
            .unwrap()
            .contains("is not an email address")
    );
    let r = sign_up("email=a%40customer.example&components=nope");
    assert_eq!(r.status(), 400);
    assert!(
        rt.block_on(r.text())
            .unwrap()
            .contains("&quot;nope&quot; is not a part of this service")
    );
    // A component kept from customers does not exist for them.
    let r = sign_up("email=a%40customer.example&components=queue");
    assert_eq!(r.status(), 400);
    assert!(
        rt.block_on(r.text())
            .unwrap()
            .contains("&quot;queue&quot; is not a part of this service")
    );

    // Sign up for the API only; one confirmation email, nothing else before confirming.
    let r = sign_up("email=New.Customer%40customer.example&components=api");
    assert_eq!(r.status(), 200);
    assert!(rt.block_on(r.text()).unwrap().contains("Check your inbox"));
    let confirmation = smtp.wait_for(1, Duration::from_secs(20)).remove(0);
    assert_eq!(
        confirmation.to,
        vec!["new.customer@customer.example".to_string()]
    );
    let link = link_in(&confirmation, &format!("{base}/confirm/"));
    incident(dir.path(), &[("investigating", "Some card payments fail.")]);
    wait_for_event(&state, "the incident to be recorded", |e| {
        matches!(e, Event::IncidentOpened { .. })
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        smtp.messages().len(),
        1,
        "nothing but the confirmation before confirming"
    );

    // The link: a GET shows a button and confirms nothing; a forged one is refused.
    let page = rt.block_on(http.get(&link).send()).unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        rt.block_on(page.text())
            .unwrap()
            .contains("<form method=\"post\">")
    );
    let forged = forge(&link);
    assert_eq!(
        rt.block_on(http.post(&forged).send()).unwrap().status(),
        404
    );
    let confirmed = |state: &Path| {
        Journal::read(state)
            .map(|r| {
                r.records
                    .iter()
                    .filter(|r| matches!(r.event, Event::SubscriberConfirmed { .. }))
                    .count()
            })
            .unwrap_or(0)
    };
    assert_eq!(confirmed(&state), 0);
    let r = rt.block_on(http.post(&link).send()).unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        rt.block_on(r.text())
            .unwrap()
            .contains("You are subscribed")
    );
    assert_eq!(confirmed(&state), 1);

    // Now they hear of the next update, and can leave from it.
    incident(
        dir.path(),
        &[
            ("investigating", "Some card payments fail."),
            ("identified", "A faulty release."),
        ],
    );
    let mails = smtp.wait_for(2, Duration::from_secs(20));
    let update = &mails[1];
    assert_eq!(update.to, vec!["new.customer@customer.example".to_string()]);
    let leave = link_in(update, &format!("{base}/unsubscribe/"));
    let r = rt
        .block_on(http.post(&leave).body("List-Unsubscribe=One-Click").send())
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(removed_by_subscriber(&state), 1);

    // Limits: three confirmation emails per address per day (a fourth sign-up gets the
    // answer everybody gets, and no email), ten sign-ups per client per hour (429 with
    // Retry-After).
    let before = smtp.messages().len();
    for n in 0..4 {
        let r = sign_up("email=twice%40customer.example");
        assert_eq!(r.status(), 200, "sign-up {n}");
        assert!(rt.block_on(r.text()).unwrap().contains("Check your inbox"));
    }
    smtp.wait_for(before + 3, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(500));
    let to_twice = smtp
        .messages()
        .iter()
        .filter(|m| m.to == vec!["twice@customer.example".to_string()])
        .count();
    assert_eq!(to_twice, 3, "no fourth confirmation email today");
    let mut last = None;
    for n in 0..12 {
        let r = sign_up(&format!("email=someone{n}%40customer.example"));
        last = Some(r.status());
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
            break;
        }
    }
    assert_eq!(
        last.map(|s| s.as_u16()),
        Some(429),
        "the client limit answers 429"
    );

    let out = common::stop_daemon(daemon);
    assert_eq!(out.status.code(), Some(0), "{}", common::daemon_log(&state));
}

#[test]
fn subscribers_choose_what_they_hear_about_from_their_link() {
    let rt = common::background_runtime();
    let _in_runtime = rt.enter();
    let healthy = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let smtp = SmtpPeer::start();
    let dir = tempfile::tempdir().unwrap();
    let (base, config, state, daemon) =
        start_front(&rt, dir.path(), &smtp, &healthy.url("/health"));
    let http = client();
    let post = |url: &str, body: &str| {
        rt.block_on(
            http.post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_owned())
                .send(),
        )
        .unwrap()
    };
    assert_eq!(
        post(
            &format!("{base}/subscribe"),
            "email=chooser%40customer.example"
        )
        .status(),
        200
    );
    let confirmation = smtp.wait_for(1, Duration::from_secs(20)).remove(0);
    assert_eq!(
        post(&link_in(&confirmation, &format!("{base}/confirm/")), "").status(),
        200
    );

    // They hear about the API incident, and the email links to their choices.
    incident(dir.path(), &[("investigating", "Some card payments fail.")]);
    let mail = smtp.wait_for(2, Duration::from_secs(20)).remove(1);
    let manage = link_in(&mail, &format!("{base}/manage/"));
    let page = rt
        .block_on(rt.block_on(http.get(&manage).send()).unwrap().text())
        .unwrap();
    assert!(page.contains("Now: everything."), "{page}");

    // Only Search from now on; an unknown component is refused on the page.
    let r = post(&manage, "components=nope");
    assert_eq!(r.status(), 400);
    assert!(
        rt.block_on(r.text())
            .unwrap()
            .contains("is not a part of this service")
    );
    let r = post(&manage, "components=search");
    assert_eq!(r.status(), 200);
    let page = rt.block_on(r.text()).unwrap();
    assert!(page.contains("Saved."));
    assert!(page.contains("value=\"search\" checked"), "{page}");

    // The API incident's next update no longer reaches them.
    incident(
        dir.path(),
        &[
            ("investigating", "Some card payments fail."),
            ("identified", "A faulty release."),
        ],
    );
    wait_for_event(&state, "the update to be recorded", |e| {
        matches!(e, Event::IncidentUpdated { .. })
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(smtp.messages().len(), 2, "filtered out after their choice");

    // Their subscription survives a crash.
    common::signal(&daemon, libc::SIGKILL);
    let _ = common::wait_bounded(daemon, Duration::from_secs(10));
    let daemon = common::start_daemon_logged(&config, &state, &[]);
    wait_until(Duration::from_secs(20), "the front again", || {
        rt.block_on(http.get(&manage).send())
            .is_ok_and(|r| r.status() == 200)
    });
    let page = rt
        .block_on(rt.block_on(http.get(&manage).send()).unwrap().text())
        .unwrap();
    assert!(page.contains("value=\"search\" checked"), "{page}");
    let out = common::stop_daemon(daemon);
    assert_eq!(out.status.code(), Some(0), "{}", common::daemon_log(&state));
}

#[test]
fn a_separate_serve_process_asks_the_running_daemon() {
    let rt = common::background_runtime();
    let _in_runtime = rt.enter();
    let healthy = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let smtp = SmtpPeer::start();
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = front_config(
        dir.path(),
        port,
        smtp.port(),
        &healthy.url("/health"),
        false,
    );
    let state = dir.path().join("state");
    let daemon = common::start_daemon_logged(&config, &state, &[]);
    let serve = forewarn()
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--config",
        ])
        .arg(&config)
        .arg("--state")
        .arg(&state)
        .arg("--out")
        .arg(state.with_file_name("site"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn forewarn serve");
    let http = client();
    let status = |path: &str| {
        rt.block_on(http.get(format!("{base}{path}")).send())
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    wait_until(Duration::from_secs(20), "the site through serve", || {
        status("/index.html") == 200 && status("/readyz") == 200
    });
    let sign_up = || {
        rt.block_on(
            http.post(format!("{base}/subscribe"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("email=apart%40customer.example")
                .send(),
        )
        .unwrap()
    };
    assert_eq!(sign_up().status(), 200);
    let confirmation = smtp.wait_for(1, Duration::from_secs(20)).remove(0);
    let link = link_in(&confirmation, &format!("{base}/confirm/"));
    let r = rt.block_on(http.post(&link).send()).unwrap();
    assert_eq!(r.status(), 200);
    wait_for_event(&state, "the confirmation", |e| {
        matches!(e, Event::SubscriberConfirmed { .. })
    });
    let metrics = rt
        .block_on(
            rt.block_on(http.get(format!("{base}/metrics")).send())
                .unwrap()
                .text(),
        )
        .unwrap();
    assert!(metrics.contains("forewarn_open_incidents 0"), "{metrics}");

    // Without the daemon the site is still served; what needs the journal says so.
    let out = common::stop_daemon(daemon);
    assert_eq!(out.status.code(), Some(0), "{}", common::daemon_log(&state));
    assert_eq!(status("/index.html"), 200);
    assert_eq!(status("/readyz"), 503);
    assert_eq!(sign_up().status(), 503);
    let out = common::stop_daemon(serve);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn webhooks_registered_through_the_api_are_signed_with_the_secret_shown_once() {
    let rt = common::background_runtime();
    let _in_runtime = rt.enter();
    let healthy = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let receiver = rt.block_on(common::peers::WebhookPeer::start(None));
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = write_config(
        dir.path(),
        &format!(
            "[serve]\nlisten = \"127.0.0.1:{port}\"\nadmin_token_env = \"TEST_ADMIN_TOKEN\"\n\n[[component]]\nid = \"api\"\nname = \"Public API\"\n[component.check]\nurl = \"{}\"\nevery = \"1s\"\n",
            healthy.url("/health")
        ),
    );
    let state = dir.path().join("state");
    let token = "an operator token of some length";
    let daemon = common::start_daemon_logged(&config, &state, &[("TEST_ADMIN_TOKEN", token)]);
    let http = client();
    wait_until(Duration::from_secs(20), "the front", || {
        rt.block_on(http.get(format!("{base}/healthz")).send())
            .is_ok_and(|r| r.status() == 200)
    });
    let register = |auth: Option<&str>, body: &str| {
        let mut req = http
            .post(format!("{base}/webhooks"))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(a) = auth {
            req = req.header("authorization", format!("Bearer {a}"));
        }
        rt.block_on(req.send()).unwrap()
    };
    let body = format!(
        "{{\"url\": \"{}\", \"components\": [\"api\"]}}",
        receiver.url("/hook")
    );
    assert_eq!(register(None, &body).status(), 401);
    assert_eq!(
        register(Some("a wrong token of the same size!"), &body).status(),
        401
    );
    assert_eq!(register(Some(token), "{\"url\": 3}").status(), 400);
    let r = register(
        Some(token),
        "{\"url\": \"https://hooks.example/x\", \"components\": [\"nope\"]}",
    );
    assert_eq!(r.status(), 400);
    let r = register(Some(token), &body);
    assert_eq!(r.status(), 201);
    let registered: serde_json::Value =
        serde_json::from_str(&rt.block_on(r.text()).unwrap()).unwrap();
    let secret = registered["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{registered}");
    let again = register(Some(token), &body);
    assert_eq!(again.status(), 409);
    assert!(
        !rt.block_on(again.text()).unwrap().contains("whsec_"),
        "shown once"
    );

    incident(dir.path(), &[("investigating", "Some card payments fail.")]);
    let got = receiver.wait_until(Duration::from_secs(20), "the webhook", |r| !r.is_empty());
    let hook = &got[0];
    let mut headers = axum::http::HeaderMap::new();
    for (k, v) in [
        ("webhook-id", &hook.webhook_id),
        ("webhook-timestamp", &hook.timestamp),
        ("webhook-signature", &hook.signature),
    ] {
        headers.insert(k, v.clone().unwrap().parse().unwrap());
    }
    standardwebhooks::Webhook::new(&secret)
        .unwrap()
        .verify(hook.body.as_bytes(), &headers)
        .expect("signed with the secret returned at registration");
    assert_eq!(hook.json.as_ref().unwrap()["type"], "incident.opened");
    let out = common::stop_daemon(daemon);
    assert_eq!(out.status.code(), Some(0), "{}", common::daemon_log(&state));
}
