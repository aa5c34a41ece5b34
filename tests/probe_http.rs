//! HTTP probes against real servers on 127.0.0.1 that answer well, badly, slowly,
//! hugely or not at all. Every probe must end within its timeout with a clear reason.

mod common;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{Behaviour, http_peer};
use forewarn::config::{Check, Config};
use forewarn::probe::{Outcome, Prober};

const TIMEOUT: Duration = Duration::from_secs(1);
/// Slack for scheduling on a busy 2-core machine.
const SLACK: Duration = Duration::from_millis(700);

fn check(body: &str) -> Check {
    // The only environment variable these checks may name.
    let env = |name: &str| (name == "TEST_TOKEN").then(|| "s3cret-token".to_owned());
    let src = format!(
        "{}\n[[component]]\nid = \"x\"\nname = \"X\"\n[component.check]\nevery = \"2s\"\ntimeout = \"1s\"\n{body}\n",
        common::SITE
    );
    match Config::parse(Path::new("test.toml"), &src, &env) {
        Ok(c) => c.components[0].check.clone(),
        Err(e) => panic!("test config invalid:\n{e}"),
    }
}

/// Probe and check the time bound; returns the outcome.
async fn probe(body: &str) -> Outcome {
    let prober = Prober::new().expect("prober");
    let check = check(body);
    let started = Instant::now();
    let sample = prober.probe(&check).await;
    let took = started.elapsed();
    assert!(
        took <= TIMEOUT + SLACK,
        "probe took {took:?}, more than its timeout"
    );
    assert!(
        sample.latency <= TIMEOUT,
        "reported latency {:?} exceeds the timeout",
        sample.latency
    );
    sample.outcome
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_endpoint_is_up() {
    let peer = http_peer(Behaviour::Ok("all ok")).await;
    let outcome = probe(&format!(
        "url = \"{}\"\nbody_contains = \"ok\"",
        peer.url("/health")
    ))
    .await;
    assert_eq!(outcome, Outcome::Up);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_status_is_down_with_its_code() {
    let peer = http_peer(Behaviour::Status(503)).await;
    let outcome = probe(&format!("url = \"{}\"", peer.url("/"))).await;
    assert_eq!(outcome, Outcome::Down("HTTP 503".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_never_answers_times_out() {
    let peer = http_peer(Behaviour::Hang).await;
    let outcome = probe(&format!("url = \"{}\"", peer.url("/"))).await;
    assert_eq!(outcome, Outcome::Down("timed out after 1s".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_drip_body_is_cut_off_by_the_timeout() {
    let peer = http_peer(Behaviour::Drip).await;
    let outcome = probe(&format!("url = \"{}\"", peer.url("/"))).await;
    match &outcome {
        Outcome::Down(r) => assert!(r.starts_with("timed out after 1s"), "{r}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    let dripped = peer.bytes_sent.load(Ordering::Relaxed);
    assert!(
        dripped < 20,
        "the server dripped {dripped} bytes: the probe kept listening too long"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_body_is_read_only_up_to_the_cap() {
    let peer = http_peer(Behaviour::Huge).await;
    let outcome = probe(&format!("url = \"{}\"", peer.url("/"))).await;
    assert_eq!(
        outcome,
        Outcome::Up,
        "no body condition: the status is what counts"
    );
    // Give the server a moment to notice the client is gone.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = peer.bytes_sent.load(Ordering::Relaxed);
    assert!(
        sent < 32 * 1024 * 1024,
        "the server pushed {} MiB of a 100 MiB body: the probe did not stop reading",
        sent / (1024 * 1024)
    );

    let peer = http_peer(Behaviour::Huge).await;
    let outcome = probe(&format!(
        "url = \"{}\"\nbody_contains = \"needle\"",
        peer.url("/")
    ))
    .await;
    assert_eq!(
        outcome,
        Outcome::Down("body missing \"needle\" in its first 1 MiB".into())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_loop_is_capped() {
    let peer = http_peer(Behaviour::RedirectLoop).await;
    let outcome = probe(&format!("url = \"{}\"", peer.url("/loop"))).await;
    assert_eq!(
        outcome,
        Outcome::Down("too many redirects (more than 10)".into())
    );
    let requests = peer.requests.load(Ordering::Relaxed);
    assert!(requests <= 11, "{requests} requests for one probe");

    let outcome = probe(&format!(
        "url = \"{}\"\nfollow_redirects = false",
        peer.url("/loop")
    ))
    .await;
    assert_eq!(
        outcome,
        Outcome::Down("HTTP 302 (redirects are not followed for this check)".into())
    );
    let outcome = probe(&format!(
        "url = \"{}\"\nfollow_redirects = false\nexpect_status = [\"3xx\"]",
        peer.url("/loop")
    ))
    .await;
    assert_eq!(outcome, Outcome::Up);
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_headers_stay_with_their_host_and_the_redirect_is_followed_without_them() {
    let elsewhere = http_peer(Behaviour::Echo).await;
    let redirector = http_peer(Behaviour::RedirectTo(format!(
        "http://localhost:{}/",
        elsewhere.addr.port()
    )))
    .await;
    // Echo answers with the request's head: the header must not be in it.
    let outcome = probe(&format!(
        "url = \"{}\"\nheaders = {{ \"X-Tenant\" = \"acme-tenant-7\" }}\nbody_contains = \"acme-tenant-7\"",
        redirector.url("/")
    ))
    .await;
    assert_eq!(
        outcome,
        Outcome::Down("body missing \"acme-tenant-7\"".into()),
        "the redirect was followed, without the header"
    );
    assert_eq!(elsewhere.requests.load(Ordering::Relaxed), 1);

    // On its own host the header is sent.
    let direct = probe(&format!(
        "url = \"{}\"\nheaders = {{ \"X-Tenant\" = \"acme-tenant-7\" }}\nbody_contains = \"acme-tenant-7\"",
        elsewhere.url("/")
    ))
    .await;
    assert_eq!(direct, Outcome::Up);
}

#[tokio::test(flavor = "multi_thread")]
async fn secret_headers_never_follow_a_redirect_to_another_host() {
    let elsewhere = http_peer(Behaviour::Ok("ok")).await;
    // "localhost" is another host name than "127.0.0.1", as far as a redirect goes.
    let redirector = http_peer(Behaviour::RedirectTo(format!(
        "http://localhost:{}/",
        elsewhere.addr.port()
    )))
    .await;

    let outcome = probe(&format!(
        "url = \"{}\"\nheaders_env = {{ \"X-Api-Key\" = \"TEST_TOKEN\" }}",
        redirector.url("/")
    ))
    .await;
    assert_eq!(
        outcome,
        Outcome::Down("HTTP 302: a redirect to another host was not followed, so the check's secret headers stay private".into())
    );
    assert_eq!(
        elsewhere.requests.load(Ordering::Relaxed),
        0,
        "the other host was contacted"
    );

    // Without secrets the redirect is followed as usual.
    assert_eq!(
        probe(&format!("url = \"{}\"", redirector.url("/"))).await,
        Outcome::Up
    );
    assert_eq!(elsewhere.requests.load(Ordering::Relaxed), 1);

    // Another port on the same address is another service: not followed either.
    let same = http_peer(Behaviour::Ok("ok")).await;
    let local = http_peer(Behaviour::RedirectTo(format!(
        "http://127.0.0.1:{}/",
        same.addr.port()
    )))
    .await;
    let outcome = probe(&format!(
        "url = \"{}\"\nheaders_env = {{ \"X-Api-Key\" = \"TEST_TOKEN\" }}",
        local.url("/")
    ))
    .await;
    assert!(
        outcome.is_down(),
        "another port is another service: {outcome:?}"
    );
    assert_eq!(same.requests.load(Ordering::Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn configured_headers_and_secrets_from_the_environment_are_sent() {
    let echo = http_peer(Behaviour::Echo).await;
    let body = |needle: &str| {
        format!(
            "url = \"{}\"\nheaders = {{ \"Accept\" = \"application/json\" }}\nheaders_env = {{ \"X-Api-Key\" = \"TEST_TOKEN\" }}\nbody_contains = \"{needle}\"",
            echo.url("/health")
        )
    };
    for needle in [
        "GET /health",
        "accept: application/json",
        "x-api-key: s3cret-token",
        "user-agent: forewarn/",
        // Each probe's connection is its own: the server is asked to close it.
        "connection: close",
        &format!("host: 127.0.0.1:{}", echo.addr.port()),
    ] {
        assert_eq!(
            probe(&body(needle)).await,
            Outcome::Up,
            "the request lacked {needle:?}"
        );
    }
    assert!(
        probe(&body("authorization:")).await.is_down(),
        "the echo really is checked"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_check_may_name_its_own_virtual_host() {
    let echo = http_peer(Behaviour::Echo).await;
    let outcome = probe(&format!(
        "url = \"{}\"\nheaders = {{ Host = \"shop.acme.test\" }}\nbody_contains = \"host: shop.acme.test\"",
        echo.url("/")
    ))
    .await;
    assert_eq!(outcome, Outcome::Up, "the check's own Host header is sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_in_a_url_from_the_environment_go_as_basic_authorization_to_its_host_only() {
    let echo = http_peer(Behaviour::Echo).await;
    let secret_url = format!(
        "http://monitor:p%40ss@127.0.0.1:{}/health?deep=1",
        echo.addr.port()
    );
    let env = |name: &str| (name == "HEALTH_URL").then(|| secret_url.clone());
    let check_for = |needle: &str| {
        let src = format!(
            "{}\n[[component]]\nid = \"x\"\nname = \"X\"\n[component.check]\nurl_env = \"HEALTH_URL\"\ntimeout = \"1s\"\nbody_contains = \"{needle}\"\n",
            common::SITE
        );
        match Config::parse(Path::new("test.toml"), &src, &env) {
            Ok(c) => c.components[0].check.clone(),
            Err(e) => panic!("test config invalid:\n{e}"),
        }
    };
    let prober = Prober::new().expect("prober");
    // "monitor:p@ss", percent-decoded, in base64.
    for needle in [
        "GET /health?deep=1 ",
        "authorization: Basic bW9uaXRvcjpwQHNz",
    ] {
        assert_eq!(
            prober.probe(&check_for(needle)).await.outcome,
            Outcome::Up,
            "the request lacked {needle:?}"
        );
    }
    assert!(
        prober
            .probe(&check_for("monitor:p"))
            .await
            .outcome
            .is_down(),
        "the credentials never travel in the request line"
    );
}

/// A server on 127.0.0.1 that answers its first request with a redirect to an absolute
/// address on itself, and every later one with the request's head.
async fn redirect_then_echo() -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        for n in 0..10 {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => head.extend_from_slice(&buf[..k]),
                }
            }
            let answer = if n == 0 {
                format!(
                    "HTTP/1.1 301 Moved Permanently\r\nLocation: http://127.0.0.1:{}/health/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    addr.port()
                )
            } else {
                let text = String::from_utf8_lossy(&head).to_lowercase();
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                )
            };
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread")]
async fn url_credentials_follow_a_redirect_that_stays_on_the_same_host() {
    let addr = redirect_then_echo().await;
    let secret_url = format!("http://monitor:p%40ss@127.0.0.1:{}/health", addr.port());
    let env = |name: &str| (name == "HEALTH_URL").then(|| secret_url.clone());
    // The echo is of the second request, the one the redirect sent on (lowercased).
    let src = format!(
        "{}\n[[component]]\nid = \"x\"\nname = \"X\"\n[component.check]\nurl_env = \"HEALTH_URL\"\ntimeout = \"1s\"\nbody_contains = \"authorization: basic bw9uaxrvcjpwqhnz\"\n",
        common::SITE
    );
    let check = match Config::parse(Path::new("test.toml"), &src, &env) {
        Ok(c) => c.components[0].check.clone(),
        Err(e) => panic!("test config invalid:\n{e}"),
    };
    let prober = Prober::new().expect("prober");
    assert_eq!(
        prober.probe(&check).await.outcome,
        Outcome::Up,
        "the redirected request carried the URL's credentials"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_closed_without_answer_is_down() {
    let peer = http_peer(Behaviour::Close).await;
    let outcome = probe(&format!("url = \"{}\"", peer.url("/"))).await;
    assert_eq!(
        outcome,
        Outcome::Down("connection closed before a complete response".into())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_speaking_nonsense_is_down() {
    let peer = http_peer(Behaviour::Garbage).await;
    let outcome = probe(&format!("url = \"{}\"", peer.url("/"))).await;
    assert_eq!(
        outcome,
        Outcome::Down("the server sent an invalid HTTP response".into())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_listening_is_connection_refused() {
    let port = common::closed_port();
    // The path says "parse": reasons come from the error, never from the URL's words.
    let outcome = probe(&format!("url = \"http://127.0.0.1:{port}/parser/health\"")).await;
    assert_eq!(outcome, Outcome::Down("connection refused".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_answer_is_degraded() {
    let peer = http_peer(Behaviour::Slow(Duration::from_millis(400))).await;
    let outcome = probe(&format!(
        "url = \"{}\"\nlatency_threshold = \"150ms\"",
        peer.url("/")
    ))
    .await;
    match outcome {
        Outcome::Degraded(r) => assert!(
            r.starts_with("slow response: ") && r.ends_with("(threshold 150ms)"),
            "{r}"
        ),
        other => panic!("expected degraded, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn json_conditions_compare_values() {
    let peer = http_peer(Behaviour::Ok(r#"{"status":"degraded","db":{"ok":true}}"#)).await;
    let outcome = probe(&format!(
        "url = \"{}\"\njson = {{ \"/db/ok\" = true, \"/status\" = \"ok\" }}",
        peer.url("/")
    ))
    .await;
    assert_eq!(
        outcome,
        Outcome::Down("/status is \"degraded\", expected \"ok\"".into())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn probes_of_hostile_servers_run_side_by_side_within_their_timeouts() {
    let hang = http_peer(Behaviour::Hang).await;
    let drip = http_peer(Behaviour::Drip).await;
    let huge = http_peer(Behaviour::Huge).await;
    let prober = Prober::new().expect("prober");
    let checks: Vec<Check> = [&hang, &drip, &huge]
        .iter()
        .flat_map(|p| std::iter::repeat_n(check(&format!("url = \"{}\"", p.url("/"))), 10))
        .collect();
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for c in checks {
        let prober = prober.clone();
        set.spawn(async move { prober.probe(&c).await });
    }
    let mut n = 0;
    while let Some(s) = set.join_next().await {
        s.expect("probe task");
        n += 1;
    }
    assert_eq!(n, 30);
    let took = started.elapsed();
    assert!(
        took <= TIMEOUT + SLACK,
        "30 concurrent hostile probes took {took:?}"
    );
}
