//! What people moving from Statuspage (and from other monitors) already point at
//! forewarn: the addresses their links and tools use, data other sites read from a
//! browser, and the same files from the same inputs.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Behaviour, closed_port, http_peer, wait_until, write_config};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A declared incident on `api`, opened an hour ago.
fn declare_incident(dir: &Path) {
    let at = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let s = format!(
        "id = \"cards\"\ntitle = \"Card payments failing\"\nimpact = \"major\"\n[components]\napi = \"partial_outage\"\n\n[[update]]\nat = {at}\nstatus = \"investigating\"\nmessage = \"Card payments fail for some customers & we are looking into it.\"\n"
    );
    let folder = dir.join("config/incidents");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("cards.toml"), s).unwrap();
}

#[test]
fn statuspage_addresses_answer_and_data_is_readable_from_other_sites() {
    let rt = common::background_runtime();
    let _in_runtime = rt.enter();
    let healthy = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let config = write_config(
        dir.path(),
        &format!(
            "[serve]\nlisten = \"127.0.0.1:{port}\"\n\n[[component]]\nid = \"api\"\nname = \"Public API\"\n[component.check]\nurl = \"{}\"\nevery = \"1s\"\n",
            healthy.url("/health")
        ),
    );
    declare_incident(dir.path());
    let state = dir.path().join("state");
    let daemon = common::start_daemon_logged(&config, &state, &[]);
    let base = format!("http://127.0.0.1:{port}");
    let http = client();
    let send = |req: reqwest::RequestBuilder| rt.block_on(req.send()).unwrap();
    let body = |r: reqwest::Response| rt.block_on(r.text()).unwrap();
    wait_until(Duration::from_secs(20), "the incident in the API", || {
        rt.block_on(http.get(format!("{base}/api/v2/incidents.json")).send())
            .ok()
            .filter(|r| r.status() == 200)
            .and_then(|r| rt.block_on(r.text()).ok())
            .is_some_and(|t| t.contains("Card payments failing"))
    });
    let api: serde_json::Value = serde_json::from_str(&body(send(
        http.get(format!("{base}/api/v2/incidents.json")),
    )))
    .unwrap();
    let shortlink = api["incidents"][0]["shortlink"]
        .as_str()
        .unwrap()
        .to_owned();
    let reference = shortlink
        .rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(".html")
        .to_owned();

    // The incident at Statuspage's address: with the slash, a page that leads to it;
    // without, the page itself, whose links resolve from there.
    let folder = body(send(http.get(format!("{base}/incidents/{reference}/"))));
    assert!(
        folder.contains(&format!("rel=\"canonical\" href=\"{shortlink}\"")),
        "{folder}"
    );
    assert!(
        folder.contains(&format!(
            "<meta http-equiv=\"refresh\" content=\"0; url=../{reference}.html\">"
        )),
        "{folder}"
    );
    let led_to = reqwest::Url::parse(&format!("{base}/incidents/{reference}/"))
        .unwrap()
        .join(&format!("../{reference}.html"))
        .unwrap();
    for path in [format!("/incidents/{reference}"), led_to.path().to_owned()] {
        let r = send(http.get(format!("{base}{path}")));
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        let page = body(r);
        assert!(page.contains("Card payments failing"), "{path}");
        assert!(
            page.contains(&format!("rel=\"canonical\" href=\"{shortlink}\"")),
            "{path} names its one address"
        );
        let css = page
            .split("rel=\"stylesheet\" href=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_else(|| panic!("{path} links its stylesheet"));
        let url = reqwest::Url::parse(&format!("{base}{path}"))
            .unwrap()
            .join(css)
            .unwrap();
        let r = send(http.get(url.clone()));
        assert_eq!(r.status(), 200, "{url} from {path}");
        assert_eq!(r.headers()["content-type"], "text/css; charset=utf-8");
    }
    for (path, ty) in [
        ("/history.atom", "application/atom+xml"),
        ("/history.rss", "application/rss+xml"),
    ] {
        let r = send(http.get(format!("{base}{path}")));
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], ty, "{path}");
        assert!(body(r).contains("Card payments failing"), "{path}");
    }
    // The static files are there too, for any web server.
    let site = dir.path().join("site");
    for file in [
        format!("incidents/{reference}/index.html"),
        "history.atom".to_owned(),
        "history.rss".to_owned(),
    ] {
        assert!(site.join(&file).is_file(), "{file} in the built site");
    }

    // Data is shared with other sites; pages and forms are not.
    let other = "http://127.0.0.2:8000";
    for path in [
        "/api/v2/summary.json",
        "/api/v2/status.json",
        "/feed.atom",
        "/history.rss",
        "/maintenance.ics",
        "/badge.svg",
        "/badges/api.json",
    ] {
        let r = send(http.get(format!("{base}{path}")).header("origin", other));
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["access-control-allow-origin"], "*", "{path}");
        let pre = send(
            http.request(reqwest::Method::OPTIONS, format!("{base}{path}"))
                .header("origin", other)
                .header("access-control-request-method", "GET")
                .header("access-control-request-headers", "if-none-match"),
        );
        assert_eq!(pre.status(), 204, "preflight of {path}");
        let h = pre.headers();
        assert_eq!(h["access-control-allow-origin"], "*");
        let methods = h["access-control-allow-methods"].to_str().unwrap();
        assert!(
            methods.contains("GET") && methods.contains("HEAD"),
            "{methods}"
        );
        assert_eq!(h["access-control-allow-headers"], "if-none-match");
    }
    for path in [
        "/",
        "/history.html",
        &format!("/incidents/{reference}.html"),
    ] {
        let r = send(http.get(format!("{base}{path}")).header("origin", other));
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            r.headers().get("access-control-allow-origin").is_none(),
            "{path} is not shared"
        );
        let pre = send(
            http.request(reqwest::Method::OPTIONS, format!("{base}{path}"))
                .header("origin", other)
                .header("access-control-request-method", "GET"),
        );
        assert_eq!(pre.status(), 405, "preflight of {path}");
        assert!(pre.headers().get("access-control-allow-origin").is_none());
    }
    let out = common::stop_daemon(daemon);
    assert_eq!(out.status.code(), Some(0), "{}", common::daemon_log(&state));
}

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const SECRET_VAR: &str = "TEST_STATUSPAGE_SECRET";

/// Atlassian's documented incident webhook, field by field (their example's values).
const DOCUMENTED_INCIDENT: &str = r#"{
  "meta": {"unsubscribe": "http://statustest.flyingkleinbrothers.com:5000/?unsubscribe=j0vqr9kl3513",
           "documentation": "https://help.statuspage.io/knowledge_base/topics/webhook-notifications"},
  "page": {"id": "j2mfxwj97wnj", "status_indicator": "critical", "status_description": "Major System Outage"},
  "incident": {
    "backfilled": false, "created_at": "2013-05-29T15:08:51-06:00", "impact": "critical",
    "impact_override": null, "monitoring_at": "2013-05-29T16:07:53-06:00", "postmortem_body": null,
    "postmortem_body_last_updated_at": null, "postmortem_ignored": false,
    "postmortem_notified_subscribers": false, "postmortem_notified_twitter": false,
    "postmortem_published_at": null, "resolved_at": null, "scheduled_auto_transition": false,
    "scheduled_for": null, "scheduled_remind_prior": false, "scheduled_reminded_at": null,
    "scheduled_until": null, "shortlink": "http://j.mp/18zyDQx", "status": "monitoring",
    "updated_at": "2013-05-29T16:30:35-06:00", "id": "lbkhbwn21v5q", "organization_id": null,
    "incident_updates": [{
      "body": "A fix has been implemented and we are monitoring the results.",
      "created_at": "2013-05-29T16:07:53.869-06:00", "display_at": "2013-05-29T16:07:53-06:00",
      "id": "drfcwbnpxnr6", "incident_id": "lbkhbwn21v5q", "status": "monitoring",
      "twitter_updated_at": null, "updated_at": "2013-05-29T16:09:09-06:00",
      "wants_twitter_update": false
    }],
    "name": "Virginia Is Down"
  }
}"#;

/// Atlassian's documented component webhook.
const DOCUMENTED_COMPONENT: &str = r#"{
  "meta": {"unsubscribe": "http://statustest.flyingkleinbrothers.com:5000/?unsubscribe=j0vqr9kl3513",
           "documentation": "https://help.statuspage.io/knowledge_base/topics/webhook-notifications"},
  "page": {"id": "j2mfxwj97wnj", "status_indicator": "major", "status_description": "Partial System Outage"},
  "component_update": {"created_at": "2013-05-29T21:32:28Z", "new_status": "operational",
                       "old_status": "major_outage", "id": "k7730b5v92bv", "component_id": "rb5wq1dczvbm"},
  "component": {"created_at": "2013-05-29T21:32:28Z", "id": "rb5wq1dczvbm", "name": "Some Component",
                "status": "operational"}
}"#;

/// Every field of `documented` is in `ours` with a value of the same kind (a string
/// where they have a string, or null for a moment yet to come; null where they have
/// null may be a value), recursively.
fn same_shape(documented: &serde_json::Value, ours: &serde_json::Value, at: &str) {
    use serde_json::Value;
    match (documented, ours) {
        (Value::Object(d), Value::Object(o)) => {
            for (k, v) in d {
                let Some(mine) = o.get(k) else {
                    panic!("{at}.{k} is missing: {ours}");
                };
                same_shape(v, mine, &format!("{at}.{k}"));
            }
        }
        (Value::Array(d), Value::Array(o)) => {
            assert!(!o.is_empty(), "{at} is empty");
            if let Some(first) = d.first() {
                for item in o {
                    same_shape(first, item, &format!("{at}[]"));
                }
            }
        }
        (Value::Null, _) => {}
        // A moment that has not come yet (`monitoring_at`, `resolved_at`).
        (Value::String(_), Value::Null) if at.ends_with("_at") => {}
        (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Number(_), Value::Number(_)) => {}
        (d, o) => panic!("{at}: documented {d}, ours {o}"),
    }
}

#[test]
fn statuspage_receivers_read_our_webhooks_unchanged() {
    let rt = common::background_runtime();
    let _in_runtime = rt.enter();
    let (behaviour, target) = common::switchable(Behaviour::Status(503));
    let service = rt.block_on(http_peer(behaviour));
    let receiver = rt.block_on(common::peers::WebhookPeer::start(Some(SECRET)));
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "[[component]]\nid = \"api\"\nname = \"Public API\"\n[component.check]\nurl = \"{}\"\nevery = \"200ms\"\nfail_after = 2\nrecover_after = 2\n\n[[component]]\nid = \"search\"\nname = \"Search\"\n[component.check]\nkind = \"tcp\"\naddress = \"127.0.0.1:{}\"\nevery = \"1h\"\n",
            service.url("/health"),
            service.addr.port()
        ),
    );
    std::fs::write(
        dir.path().join("config/subscribers.toml"),
        format!(
            "[[webhook]]\nurl = \"{}\"\nformat = \"statuspage\"\n\n[[webhook]]\nurl = \"{}\"\nformat = \"statuspage\"\nsecret_env = \"{SECRET_VAR}\"\n",
            receiver.url("/plain"),
            receiver.url("/signed")
        ),
    )
    .unwrap();
    let state = dir.path().join("state");
    let daemon = common::start_daemon_logged(&config, &state, &[(SECRET_VAR, SECRET)]);
    let limit = Duration::from_secs(30);
    let kind = |r: &common::peers::Received, key: &str| {
        r.json.as_ref().is_some_and(|j| j.get(key).is_some())
    };
    receiver.wait_until(limit, "the outage's incident and component update", |r| {
        ["/plain", "/signed"].iter().all(|p| {
            r.iter().any(|x| x.path == *p && kind(x, "incident"))
                && r.iter()
                    .any(|x| x.path == *p && kind(x, "component_update"))
        })
    });
    *target.lock().unwrap() = Behaviour::Ok("ok");
    let got = receiver.wait_until(limit, "the resolution", |r| {
        r.iter().filter(|x| x.path == "/plain").any(|x| {
            x.json
                .as_ref()
                .is_some_and(|j| j["incident"]["status"] == "resolved")
        }) && r
            .iter()
            .filter(|x| x.path == "/plain" && kind(x, "component_update"))
            .count()
            >= 2
    });
    let out = common::stop_daemon(daemon);
    assert_eq!(out.status.code(), Some(0), "{}", common::daemon_log(&state));

    let incident_doc: serde_json::Value = serde_json::from_str(DOCUMENTED_INCIDENT).unwrap();
    let component_doc: serde_json::Value = serde_json::from_str(DOCUMENTED_COMPONENT).unwrap();
    let plain: Vec<&common::peers::Received> = got.iter().filter(|x| x.path == "/plain").collect();
    for r in &plain {
        let body = r.json.as_ref().expect("JSON");
        assert!(r.signature.is_none(), "unsigned, as Statuspage sends them");
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
        let top: Vec<&String> = body.as_object().unwrap().keys().collect();
        if kind(r, "incident") {
            same_shape(&incident_doc, body, "");
            assert_eq!(top.len(), 3, "meta, page, incident: {top:?}");
        } else {
            same_shape(&component_doc, body, "");
            assert_eq!(
                top.len(),
                4,
                "meta, page, component_update, component: {top:?}"
            );
        }
        assert!(
            body["meta"]["unsubscribe"]
                .as_str()
                .unwrap()
                .starts_with("https://status.test.example/unsubscribe/"),
            "{body}"
        );
        assert_eq!(body["page"]["id"], "status-test-example");
    }
    // What each says, in order: down, the incident opened, ..., up, resolved.
    let updates: Vec<(&str, &str)> = plain
        .iter()
        .filter(|r| kind(r, "component_update"))
        .map(|r| {
            let j = r.json.as_ref().unwrap();
            assert_eq!(j["component"]["id"], "api");
            assert_eq!(j["component_update"]["component_id"], "api");
            assert_eq!(
                j["component"]["status"],
                j["component_update"]["new_status"]
            );
            (
                j["component_update"]["old_status"].as_str().unwrap(),
                j["component_update"]["new_status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        updates.first().map(|u| u.0),
        Some("operational"),
        "{updates:?}"
    );
    assert_eq!(
        updates.last().map(|u| u.1),
        Some("operational"),
        "{updates:?}"
    );
    let outage = updates[0].1;
    assert_ne!(outage, "operational");
    let first = plain.iter().find(|r| kind(r, "incident")).unwrap();
    let j = first.json.as_ref().unwrap();
    assert_eq!(j["incident"]["status"], "investigating", "{j}");
    assert_ne!(
        j["page"]["status_indicator"], "none",
        "the page is not all well: {j}"
    );
    assert_eq!(j["incident"]["components"][0]["id"], "api");
    let last = plain.iter().rev().find(|r| kind(r, "incident")).unwrap();
    let j = last.json.as_ref().unwrap();
    assert_eq!(j["incident"]["status"], "resolved");
    assert_eq!(j["page"]["status_indicator"], "none", "{j}");
    assert_eq!(j["page"]["status_description"], "All Systems Operational");

    // With a secret: the same bodies, signed the Standard Webhooks way.
    let signed: Vec<&common::peers::Received> =
        got.iter().filter(|x| x.path == "/signed").collect();
    assert!(!signed.is_empty());
    for r in signed {
        assert!(
            r.verified,
            "verified by the standardwebhooks crate: {}",
            r.body
        );
        assert!(kind(r, "incident") || kind(r, "component_update"));
    }
}
