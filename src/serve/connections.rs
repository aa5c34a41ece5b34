//! The front's connections: how many it holds, from whom, and for how long.
//!
//! Every connection is a file descriptor the monitor's probes, the journal and the mail
//! also need, so the front holds at most `max_connections` (fewer if the open-file
//! limit, less what is kept for the monitor, is lower), and one client address at most
//! `max_connections_per_client` (an IPv6 client is its /64). A connection beyond the
//! client's limit closes that client's oldest idle connection; a newcomer to a full
//! front closes the oldest idle connection of the client holding the most. A flood of
//! idle or slow clients pays for itself and makes room for the next visitor instead of
//! shutting everyone out, and never reaches the monitor's sockets. A client must send
//! a request's headers within `header_timeout` (and start the next request on a
//! kept-alive connection as soon), and a connection on which nothing moves for
//! `idle_timeout`, and that is not being answered, is closed.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

use crate::config::FrontLimits;

/// Descriptors kept for the daemon itself besides probes and mail: the journal, the
/// log, the site build, the config watcher, the bridge socket.
const KEPT_FOR_DAEMON: u64 = 128;
/// The fewest connections the front holds, whatever the open-file limit says.
const FEWEST: usize = 16;
/// The largest request head (and write buffer) of one connection.
const MAX_BUFFER: usize = 32 * 1024;
/// Newcomers finding the front full this close together are a burst.
const BURST: Duration = Duration::from_millis(100);
/// Connections the kernel queues before the front takes them (capped by
/// `net.core.somaxconn`): a burst waits there instead of being refused.
const BACKLOG: u32 = 4096;

/// A listening socket on `addr` with a deep accept queue.
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// How many connections the front may hold: `limits.max_connections`, or fewer when
/// the open-file limit, less `kept` descriptors for the monitor, leaves less room.
pub fn capacity(limits: &FrontLimits, kept: usize) -> usize {
    let open_files = rlimit::getrlimit(rlimit::Resource::NOFILE)
        .map(|(soft, _)| soft)
        .unwrap_or(1024);
    let room = open_files.saturating_sub(kept as u64 + KEPT_FOR_DAEMON);
    let room = usize::try_from(room).unwrap_or(usize::MAX).max(FEWEST);
    if room < limits.max_connections {
        tracing::warn!(
            connections = room,
            max_connections = limits.max_connections,
            open_file_limit = open_files,
            "the open-file limit leaves the HTTP front fewer connections than max_connections (the rest is kept for probes, mail and the journal)"
        );
    }
    room.min(limits.max_connections)
}

/// Serve `app` on `listener` until `shutdown`, within `limits`, holding at most
/// `capacity` connections; addresses in `exempt` (trusted proxies) have no
/// per-client limit.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: FrontLimits,
    capacity: usize,
    exempt: Arc<Vec<IpAddr>>,
    shutdown: CancellationToken,
) {
    let table = Arc::new(Mutex::new(Table::default()));
    // HTTP/1.1 only: its header timeout runs from the first byte, and a TLS proxy in
    // front speaks HTTP/2 to browsers when it is wanted.
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_BUFFER);
    let builder = Arc::new(builder);
    let mut told_full = None::<Instant>;
    let mut told_accept = None::<Instant>;
    // When a newcomer last found the front full.
    let mut last_full = None::<Instant>;
    // One permit per connection, held until its socket is closed: an evicted connection
    // leaves room only once its descriptor is really given back.
    let room = Arc::new(Semaphore::new(capacity));
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors (or a connection reset before it was taken):
                    // wait a moment rather than spin, and say so at most once a minute.
                    if once_a_minute(&mut told_accept) {
                        tracing::warn!(error = %e, "the HTTP front cannot take a connection just now");
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        // Someone is waiting: make room for them if the front is full.
        let permit = loop {
            if let Ok(p) = room.clone().try_acquire_owned() {
                break Some(p);
            }
            {
                // Not while those closed last are still giving their descriptors back,
                // or a flood would empty the table down to its last visitor.
                let mut table = lock(&table);
                if table.closing == 0 {
                    // One for this newcomer; a few at once while newcomers keep coming, so
                    // a burst is taken in without a round trip each.
                    let burst = last_full.is_some_and(|t| t.elapsed() < BURST);
                    let n = if burst { (capacity / 64).max(1) } else { 1 };
                    for _ in 0..n {
                        table.evict_for_newcomer();
                    }
                }
                last_full = Some(Instant::now());
            }
            if once_a_minute(&mut told_full) {
                tracing::warn!(
                    connections = capacity,
                    per_client = limits.per_client,
                    "the HTTP front is at its connection limit: the oldest idle connections of the clients holding the most are closed to let new ones in"
                );
            }
            // Look again after a moment if no room was made meanwhile.
            tokio::select! {
                _ = shutdown.cancelled() => break None,
                p = room.clone().acquire_owned() => break p.ok(),
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        };
        let Some(permit) = permit else {
            break;
        };
        let ip = client(peer.ip());
        let per_client = (!exempt.contains(&ip)).then_some(limits.per_client);
        let (id, conn) = lock(&table).admit(ip, per_client);
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            peer,
            app.clone(),
            builder.clone(),
            Watched {
                id,
                conn,
                _permit: permit,
                table: table.clone(),
                idle: limits.idle_timeout,
                shutdown: shutdown.clone(),
            },
        ));
    }
}

/// What a connection's task needs to be closed: evicted, idle or shut down.
struct Watched {
    id: u64,
    conn: Conn,
    /// Held for as long as the socket is open; given back after [`Drop`] below.
    _permit: OwnedSemaphorePermit,
    table: Arc<Mutex<Table>>,
    idle: Duration,
    shutdown: CancellationToken,
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    builder: Arc<Builder<TokioExecutor>>,
    watched: Watched,
) {
    let started = Instant::now();
    let activity = Arc::new(AtomicU64::new(0));
    let io = TokioIo::new(Counted {
        inner: stream,
        started,
        activity: activity.clone(),
    });
    let busy = watched.conn.busy.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let mut req = req.map(axum::body::Body::new);
        req.extensions_mut().insert(ConnectInfo(peer));
        let mut app = app.clone();
        let guard = Busy::enter(busy.clone());
        async move {
            // Busy until the last byte of the answer is handed over, not only its head.
            let answer = app.call(req).await;
            answer.map(|resp| resp.map(|body| Answering { body, _busy: guard }))
        }
    });
    let mut conn = Box::pin(builder.serve_connection(io, service));
    let mut closing = false;
    loop {
        let last = Duration::from_millis(activity.load(Ordering::Relaxed));
        let idle_until = started + last + watched.idle;
        tokio::select! {
            _ = conn.as_mut() => break,
            _ = watched.conn.evict.cancelled() => break,
            _ = watched.shutdown.cancelled(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tokio::time::sleep_until(idle_until) => {
                let moved = Duration::from_millis(activity.load(Ordering::Relaxed));
                // A request being answered (the daemon may take a while) is not idle.
                let answering = watched.conn.busy.load(Ordering::Relaxed) > 0;
                if started + moved + watched.idle <= Instant::now() && !answering {
                    break;
                }
            }
        }
    }
    // The socket closes here; `watched` leaves the table as it is dropped, even if a
    // handler panicked.
    drop(conn);
}

impl Drop for Watched {
    fn drop(&mut self) {
        let mut table = lock(&self.table);
        if table.remove(self.id).is_none() {
            // Evicted: its descriptor is given back as the permit is dropped, after this.
            table.closing = table.closing.saturating_sub(1);
        }
    }
}

/// An open connection as the table sees it.
#[derive(Clone)]
struct Conn {
    ip: IpAddr,
    /// Requests being answered on it now.
    busy: Arc<AtomicUsize>,
    evict: CancellationToken,
}

/// The open connections, oldest first, and how many each client holds.
#[derive(Default)]
struct Table {
    next: u64,
    open: BTreeMap<u64, Conn>,
    per_ip: HashMap<IpAddr, usize>,
    /// Connections evicted whose tasks have not closed them yet.
    closing: usize,
}

impl Table {
    /// Take in a new connection from `ip`, first closing that client's oldest idle
    /// one if it holds `per_client` already.
    fn admit(&mut self, ip: IpAddr, per_client: Option<usize>) -> (u64, Conn) {
        if per_client.is_some_and(|n| self.per_ip.get(&ip).copied().unwrap_or(0) >= n) {
            self.evict_oldest(|c| c.ip == ip);
        }
        let id = self.next;
        self.next += 1;
        let conn = Conn {
            ip,
            busy: Arc::new(AtomicUsize::new(0)),
            evict: CancellationToken::new(),
        };
        self.open.insert(id, conn.clone());
        *self.per_ip.entry(ip).or_default() += 1;
        (id, conn)
    }

    /// Make room for a newcomer: close the oldest idle connection of the client holding
    /// the most connections that has an idle one (of two such clients, the one whose
    /// idle connection is older); a flood pays for itself, and a visitor with one
    /// connection is the last to lose it. Only when every connection is answering a
    /// request does the oldest of all go.
    fn evict_for_newcomer(&mut self) -> bool {
        // Each client's oldest idle connection (the map is oldest first).
        let mut oldest_idle: HashMap<IpAddr, u64> = HashMap::new();
        for (id, c) in &self.open {
            if c.busy.load(Ordering::Relaxed) == 0 {
                oldest_idle.entry(c.ip).or_insert(*id);
            }
        }
        let pick = oldest_idle
            .iter()
            .max_by_key(|(ip, id)| (self.per_ip.get(*ip).copied().unwrap_or(0), Reverse(**id)))
            .map(|(_, id)| *id);
        let victim = pick.or_else(|| self.open.keys().next().copied());
        self.close(victim)
    }

    /// Close the oldest connection that `which` picks and that answers nothing now, or
    /// else the oldest it picks.
    fn evict_oldest(&mut self, which: impl Fn(&Conn) -> bool) -> bool {
        let idle = self
            .open
            .iter()
            .find(|(_, c)| which(c) && c.busy.load(Ordering::Relaxed) == 0)
            .map(|(id, _)| *id);
        let victim = idle.or_else(|| self.open.iter().find(|(_, c)| which(c)).map(|(id, _)| *id));
        self.close(victim)
    }

    /// Close `victim`'s connection, if it is open.
    fn close(&mut self, victim: Option<u64>) -> bool {
        match victim.and_then(|id| self.remove(id)) {
            Some(conn) => {
                conn.evict.cancel();
                self.closing += 1;
                true
            }
            None => false,
        }
    }

    fn remove(&mut self, id: u64) -> Option<Conn> {
        let conn = self.open.remove(&id)?;
        if let Some(n) = self.per_ip.get_mut(&conn.ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&conn.ip);
            }
        }
        Some(conn)
    }
}

fn lock(table: &Mutex<Table>) -> std::sync::MutexGuard<'_, Table> {
    table
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Who a connection counts against: an IPv4 address (also when seen through an IPv6
/// socket), or an IPv6 /64, which one household or server usually holds whole.
fn client(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(
                u128::from(v6) & !((1u128 << 64) - 1),
            )),
        },
        v4 => v4,
    }
}

fn once_a_minute(last: &mut Option<Instant>) -> bool {
    let now = Instant::now();
    if last.is_some_and(|t| now.duration_since(t) < Duration::from_secs(60)) {
        return false;
    }
    *last = Some(now);
    true
}

/// Marks a connection busy while one of its requests is answered.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn enter(count: Arc<AtomicUsize>) -> Busy {
        count.fetch_add(1, Ordering::Relaxed);
        Busy(count)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An answer's body, holding its connection busy until it is sent whole (or dropped).
struct Answering {
    body: axum::body::Body,
    _busy: Busy,
}

impl hyper::body::Body for Answering {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// A stream that notes when bytes last moved either way (milliseconds after `started`).
struct Counted {
    inner: TcpStream,
    started: Instant,
    activity: Arc<AtomicU64>,
}

impl Counted {
    fn moved(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.activity.store(ms, Ordering::Relaxed);
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.moved();
        }
        polled
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
