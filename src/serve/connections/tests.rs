use super::*;

fn ip(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

#[test]
fn a_client_over_its_limit_loses_its_own_oldest_idle_connection() {
    let mut t = Table::default();
    let (first, a) = t.admit(ip(2), Some(2));
    let (_, b) = t.admit(ip(2), Some(2));
    let (_, other) = t.admit(ip(3), Some(2));
    a.busy.fetch_add(1, Ordering::Relaxed);
    t.admit(ip(2), Some(2));
    assert!(
        !a.evict.is_cancelled(),
        "a connection answering a request is spared"
    );
    assert!(
        b.evict.is_cancelled(),
        "the oldest idle one of that client goes"
    );
    assert!(!other.evict.is_cancelled(), "another client is not touched");
    assert_eq!(t.per_ip[&ip(2)], 2);
    assert!(t.open.contains_key(&first));
}

#[test]
fn a_proxy_has_no_per_client_limit() {
    let mut t = Table::default();
    let conns: Vec<Conn> = (0..5).map(|_| t.admit(ip(9), None).1).collect();
    assert!(conns.iter().all(|c| !c.evict.is_cancelled()));
    assert_eq!(t.per_ip[&ip(9)], 5);
}

#[test]
fn a_full_front_closes_a_connection_of_the_client_holding_the_most() {
    let mut t = Table::default();
    let (_, visitor) = t.admit(ip(1), None);
    let flood: Vec<Conn> = (0..3).map(|_| t.admit(ip(2), None).1).collect();
    flood[0].busy.fetch_add(1, Ordering::Relaxed);
    assert!(t.evict_for_newcomer());
    assert!(!visitor.evict.is_cancelled(), "the oldest, but alone: kept");
    assert!(!flood[0].evict.is_cancelled(), "answering a request: kept");
    assert!(
        flood[1].evict.is_cancelled(),
        "the flood's oldest idle one goes"
    );
    assert_eq!(t.per_ip[&ip(2)], 2);
    assert_eq!(t.closing, 1);
}

#[test]
fn of_two_clients_holding_as_many_the_older_idle_connection_goes() {
    let mut t = Table::default();
    let (_, a) = t.admit(ip(2), None);
    let (_, b) = t.admit(ip(3), None);
    assert!(t.evict_for_newcomer());
    assert!(a.evict.is_cancelled() && !b.evict.is_cancelled());
}

#[test]
fn eviction_spares_connections_being_answered() {
    let mut t = Table::default();
    let (_, a) = t.admit(ip(2), None);
    let (_, b) = t.admit(ip(3), None);
    a.busy.fetch_add(1, Ordering::Relaxed);
    assert!(t.evict_oldest(|_| true));
    assert!(b.evict.is_cancelled(), "the idle one goes first");
    assert!(t.evict_oldest(|_| true));
    assert!(a.evict.is_cancelled(), "when all are busy, the oldest goes");
    assert!(t.open.is_empty() && t.per_ip.is_empty());
    assert!(!t.evict_oldest(|_| true), "nothing left to close");
}

#[tokio::test]
async fn a_connection_is_busy_until_its_answer_is_sent_whole() {
    use hyper::body::Body as _;
    let count = Arc::new(AtomicUsize::new(0));
    let mut answer = Answering {
        body: axum::body::Body::from("the status page"),
        _busy: Busy::enter(count.clone()),
    };
    assert_eq!(count.load(Ordering::Relaxed), 1);
    let frame = std::future::poll_fn(|cx| Pin::new(&mut answer).poll_frame(cx)).await;
    assert!(frame.is_some_and(|f| f.is_ok()));
    assert_eq!(
        count.load(Ordering::Relaxed),
        1,
        "still busy while it is being sent"
    );
    drop(answer);
    assert_eq!(count.load(Ordering::Relaxed), 0);
}

#[test]
fn an_ipv4_client_through_an_ipv6_socket_is_one_client() {
    let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("address");
    assert_eq!(client(mapped), IpAddr::from([192, 0, 2, 7]));
}

#[test]
fn an_ipv6_client_is_its_slash_64() {
    let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("address");
    let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("address");
    let other: IpAddr = "2001:db8:1:3::1".parse().expect("address");
    assert_eq!(client(a), client(b));
    assert_ne!(client(a), client(other));
}
