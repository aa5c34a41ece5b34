//! TLS, DNS and TCP probes against real servers on 127.0.0.1: a TLS server presenting
//! certificates from a test authority with chosen expiry dates, and an authoritative DNS
//! server (hickory-server) for a test zone.

mod common;

use common::tls::{Authority, authority, self_signed_server, tls_server};

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use forewarn::config::{Check, Config};
use forewarn::probe::{Outcome, Prober};
use tokio::net::TcpListener;

fn check(body: &str) -> Check {
    let src = format!(
        "{}\n[[component]]\nid = \"x\"\nname = \"X\"\n[component.check]\nevery = \"5s\"\ntimeout = \"2s\"\n{body}\n",
        common::SITE
    );
    match Config::parse(Path::new("test.toml"), &src, &|_| None) {
        Ok(c) => c.components[0].check.clone(),
        Err(e) => panic!("test config invalid:\n{e}"),
    }
}

async fn probe(body: &str) -> Outcome {
    let prober = Prober::new().expect("prober");
    tokio::time::timeout(Duration::from_secs(5), prober.probe(&check(body)))
        .await
        .expect("the probe is bounded by its own timeout")
        .outcome
}

// ---------------------------------------------------------------- TLS

fn tls_check(addr: SocketAddr, ca: &Authority, extra: &str) -> String {
    format!(
        "kind = \"tls\"\naddress = \"{addr}\"\nserver_name = \"localhost\"\nca_file = \"{}\"\n{extra}",
        ca.pem_file.path().display()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_with_months_left_is_up() {
    let ca = authority("Test CA");
    let addr = tls_server(&ca, "localhost", 90).await;
    assert_eq!(probe(&tls_check(addr, &ca, "")).await, Outcome::Up);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_close_to_expiry_warns_before_customers_hit_it() {
    let ca = authority("Test CA");
    let addr = tls_server(&ca, "localhost", 5).await;
    // It still works for customers: a warning, for operators only.
    match probe(&tls_check(addr, &ca, "warn_days = 14")).await {
        Outcome::Warning(r) => assert!(r.starts_with("certificate expires in 5 days ("), "{r}"),
        other => panic!("expected a warning, got {other:?}"),
    }
    assert_eq!(
        probe(&tls_check(addr, &ca, "warn_days = 3")).await,
        Outcome::Up
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_certificate_is_down() {
    let ca = authority("Test CA");
    let addr = tls_server(&ca, "localhost", -4).await;
    match probe(&tls_check(addr, &ca, "")).await {
        Outcome::Down(r) => assert!(r.starts_with("certificate expired 3 days ago ("), "{r}"),
        other => panic!("expected it down, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_or_misnamed_certificate_is_down_unless_verification_is_off() {
    let ca = authority("Test CA");
    let stranger = authority("Another CA");
    let addr = tls_server(&ca, "localhost", 90).await;
    assert_eq!(
        probe(&tls_check(addr, &stranger, "")).await,
        Outcome::Down("certificate issued by an unknown authority".into())
    );
    assert_eq!(
        probe(&tls_check(addr, &stranger, "verify = false")).await,
        Outcome::Up
    );

    let misnamed = tls_server(&ca, "other.example", 90).await;
    assert_eq!(
        probe(&tls_check(misnamed, &ca, "")).await,
        Outcome::Down("certificate not valid for this host name".into())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_self_signed_certificate_is_named_in_words_not_library_types() {
    let (addr, itself) = self_signed_server("localhost").await;
    match probe(&tls_check(addr, &itself, "")).await {
        Outcome::Down(r) => {
            assert!(r.starts_with("certificate is self-signed"), "{r}");
            assert!(!r.contains("Error(") && !r.contains("Other("), "{r}");
        }
        other => panic!("expected it refused, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_port_without_tls_fails_the_handshake() {
    let ca = authority("Test CA");
    let peer = common::http_peer(common::Behaviour::Banner).await;
    match probe(&tls_check(peer.addr, &ca, "")).await {
        Outcome::Down(r) => assert!(r.starts_with("TLS handshake failed"), "{r}"),
        other => panic!("expected a handshake failure, got {other:?}"),
    }
}

// ---------------------------------------------------------------- TCP

#[tokio::test(flavor = "multi_thread")]
async fn tcp_checks_see_open_and_closed_ports() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    assert_eq!(
        probe(&format!("kind = \"tcp\"\naddress = \"{addr}\"")).await,
        Outcome::Up
    );
    let closed = common::closed_port();
    assert_eq!(
        probe(&format!("kind = \"tcp\"\naddress = \"127.0.0.1:{closed}\"")).await,
        Outcome::Down("connection refused".into())
    );
}

// ---------------------------------------------------------------- DNS

/// An authoritative server for `example.test.` with `www` → 192.0.2.10.
async fn dns_server() -> SocketAddr {
    use hickory_server::Server;
    use hickory_server::net::runtime::TokioRuntimeProvider;
    use hickory_server::proto::rr::rdata::{A, SOA};
    use hickory_server::proto::rr::{LowerName, Name, RData, Record};
    use hickory_server::store::in_memory::InMemoryZoneHandler;
    use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};

    let origin = Name::from_str("example.test.").expect("name");
    let mut zone = InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
        origin.clone(),
        ZoneType::Primary,
        AxfrPolicy::Deny,
    );
    let soa = SOA::new(
        Name::from_str("ns.example.test.").expect("name"),
        Name::from_str("admin.example.test.").expect("name"),
        1,
        3600,
        600,
        86400,
        60,
    );
    zone.upsert_mut(Record::from_rdata(origin.clone(), 3600, RData::SOA(soa)), 1);
    zone.upsert_mut(
        Record::from_rdata(
            Name::from_str("www.example.test.").expect("name"),
            60,
            RData::A(A(Ipv4Addr::new(192, 0, 2, 10))),
        ),
        1,
    );
    let mut catalog = Catalog::new();
    catalog.upsert(LowerName::new(&origin), vec![Arc::new(zone)]);
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind udp");
    let addr = socket.local_addr().expect("addr");
    let mut server = Server::new(catalog);
    server.register_socket(socket);
    tokio::spawn(async move {
        let _ = server.block_until_done().await;
    });
    addr
}

#[tokio::test(flavor = "multi_thread")]
async fn dns_checks_resolve_against_a_real_server() {
    let server = dns_server().await;
    let check = |extra: &str| format!("kind = \"dns\"\nserver = \"{server}\"\n{extra}");
    assert_eq!(
        probe(&check("name = \"www.example.test\"")).await,
        Outcome::Up
    );
    assert_eq!(
        probe(&check(
            "name = \"www.example.test\"\nexpect = [\"192.0.2.10\"]"
        ))
        .await,
        Outcome::Up
    );
    assert_eq!(
        probe(&check(
            "name = \"www.example.test\"\nexpect = [\"192.0.2.99\"]"
        ))
        .await,
        Outcome::Down("www.example.test resolved to 192.0.2.10, expected 192.0.2.99".into())
    );
    assert_eq!(
        probe(&check("name = \"nope.example.test\"")).await,
        Outcome::Down("no such domain: nope.example.test".into())
    );
    assert_eq!(
        probe(&check("name = \"www.example.test\"\nrecord = \"AAAA\"")).await,
        Outcome::Down("no AAAA records for www.example.test".into())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dns_server_that_does_not_answer_is_down_within_the_timeout() {
    // A UDP socket that reads queries and never replies.
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = silent.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while silent.recv_from(&mut buf).await.is_ok() {}
    });
    let started = std::time::Instant::now();
    let outcome = probe(&format!(
        "kind = \"dns\"\nserver = \"{addr}\"\nname = \"www.example.test\""
    ))
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    match outcome {
        Outcome::Down(r) => assert!(
            r == "the DNS server did not answer" || r == "timed out after 2s",
            "{r}"
        ),
        other => panic!("expected down, got {other:?}"),
    }
}
