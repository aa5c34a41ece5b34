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

    // The incident at Statuspage's address, with and without the slash, and its page
    // links resolve from either.
    for path in [
        format!("/incidents/{reference}"),
        format!("/incidents/{reference}/"),
    ] {
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
