//! Protocol peers for the notifier tests: an SMTP server that keeps every message it
//! is given, and a webhook receiver that checks Standard Webhooks signatures and answers
//! as each test scripts it. Both listen on 127.0.0.1, and every wait is bounded.
//!
//! The SMTP peer speaks plain SMTP only: no STARTTLS and no AUTH. The mailin server
//! offers AUTH only after STARTTLS, so a peer without TLS answers AUTH with 503.
//! mailin also refuses the null sender `MAIL FROM:<>` with 500. A peer runs until the
//! test process ends; there is no way to stop it.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use mailin_embedded::{AuthMechanism, Handler, Server, SslConfig, response};

const POLL: Duration = Duration::from_millis(20);

/// A free port on 127.0.0.1 with nothing listening (bound, then released).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// One message as the SMTP peer received it.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent after DATA, CRLF line endings kept, dot-stuffing removed.
    pub data: String,
}

/// An SMTP server on 127.0.0.1 that accepts every message, or rejects every recipient.
pub struct SmtpPeer {
    port: u16,
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
    logins: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone, Default)]
struct MailHandler {
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
    reject: Option<u16>,
    /// With TLS: the password AUTH PLAIN must give; users who logged in are recorded.
    password: Option<String>,
    logins: Arc<Mutex<Vec<String>>>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for MailHandler {
    fn auth_plain(&mut self, _authz: &str, user: &str, password: &str) -> response::Response {
        if self.password.as_deref() == Some(password) {
            self.logins.lock().unwrap().push(user.to_owned());
            response::AUTH_OK
        } else {
            response::INVALID_CREDENTIALS
        }
    }

    fn rcpt(&mut self, _to: &str) -> response::Response {
        match self.reject {
            Some(code) => response::Response::custom(code, "Rejected by test peer".into()),
            None => response::OK,
        }
    }

    fn data_start(
        &mut self,
        _domain: &str,
        from: &str,
        _8bit: bool,
        to: &[String],
    ) -> response::Response {
        self.from = from.to_owned();
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> response::Response {
        let mail = ReceivedMail {
            from: std::mem::take(&mut self.from),
            to: std::mem::take(&mut self.to),
            data: String::from_utf8_lossy(&std::mem::take(&mut self.data)).into_owned(),
        };
        self.mails.lock().unwrap().push(mail);
        response::OK
    }
}

impl SmtpPeer {
    /// Starts on 127.0.0.1 with an ephemeral port.
    pub fn start() -> SmtpPeer {
        Self::start_on(0)
    }

    /// Starts on this port (0: any free one), for "server down, then started later".
    /// Retries the bind for up to 5 s in case the port is still held.
    pub fn start_on(port: u16) -> SmtpPeer {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match TcpListener::bind(("127.0.0.1", port)) {
                Ok(l) => return Self::serve(l, None),
                Err(e) if Instant::now() >= deadline => panic!("smtp peer: bind port {port}: {e}"),
                Err(_) => std::thread::sleep(POLL),
            }
        }
    }

    /// Starts on an ephemeral port and answers every RCPT TO with `code`
    /// (e.g. 550 for a permanent failure, 450 for a temporary one).
    pub fn start_rejecting(code: u16) -> SmtpPeer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind smtp peer");
        Self::serve(listener, Some(code))
    }

    /// Starts on an ephemeral port offering STARTTLS with this certificate and key (PEM
    /// files), and AUTH PLAIN (after STARTTLS) accepting `password` for any user.
    pub fn start_tls(cert_path: &str, key_path: &str, password: &str) -> SmtpPeer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind smtp peer");
        let tls = SslConfig::SelfSigned {
            cert_path: cert_path.to_owned(),
            key_path: key_path.to_owned(),
        };
        Self::serve_with(listener, None, Some((tls, password.to_owned())))
    }

    /// Users who logged in with AUTH.
    pub fn logins(&self) -> Vec<String> {
        self.logins.lock().unwrap().clone()
    }

    fn serve(listener: TcpListener, reject: Option<u16>) -> SmtpPeer {
        Self::serve_with(listener, reject, None)
    }

    fn serve_with(
        listener: TcpListener,
        reject: Option<u16>,
        tls: Option<(SslConfig, String)>,
    ) -> SmtpPeer {
        let port = listener.local_addr().expect("local addr").port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let logins = Arc::new(Mutex::new(Vec::new()));
        let handler = MailHandler {
            mails: mails.clone(),
            reject,
            password: tls.as_ref().map(|(_, p)| p.clone()),
            logins: logins.clone(),
            ..MailHandler::default()
        };
        let mut server = Server::new(handler);
        server
            .with_name("peer.test")
            .with_num_threads(8)
            .with_tcp_listener(listener);
        if let Some((ssl, _)) = tls {
            server.with_ssl(ssl).expect("smtp peer TLS");
            server.with_auth(AuthMechanism::Plain);
        }
        std::thread::Builder::new()
            .name(format!("smtp-peer-{port}"))
            .spawn(move || {
                if let Err(e) = server.serve() {
                    eprintln!("smtp peer on port {port} stopped: {e}");
                }
            })
            .expect("spawn smtp peer");
        SmtpPeer {
            port,
            mails,
            logins,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every message received so far, in arrival order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.mails.lock().unwrap().clone()
    }

    /// Waits until at least `n` messages arrived; panics when `limit` passes first.
    pub fn wait_for(&self, n: usize, limit: Duration) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + limit;
        loop {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            if Instant::now() >= deadline {
                panic!(
                    "smtp peer on port {}: wanted {n} messages within {limit:?}, got {}",
                    self.port,
                    got.len()
                );
            }
            std::thread::sleep(POLL);
        }
    }
}

/// One request as the webhook peer received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub webhook_id: Option<String>,
    pub timestamp: Option<String>,
    pub signature: Option<String>,
    pub body: String,
    pub json: Option<serde_json::Value>,
    /// The `standardwebhooks` crate accepted the signature (always false without a secret).
    pub verified: bool,
    /// 0 for a request the peer never answers (`Reply::Hang`).
    pub status_sent: u16,
    pub content_type: Option<String>,
}

/// How the webhook peer answers one request.
#[derive(Clone, Debug)]
pub enum Reply {
    Ok,
    Status(u16),
    /// This status with this `Retry-After` header value.
    StatusRetryAfter(u16, String),
    /// Never answers (holds the request for an hour).
    Hang,
    /// Waits, then answers 200.
    Delay(Duration),
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    scripts: HashMap<String, VecDeque<Reply>>,
}

type PeerState = (Arc<Mutex<Shared>>, Option<Arc<standardwebhooks::Webhook>>);

/// An HTTP server on 127.0.0.1 that records every request to any path (bodies up to
/// 1 MiB). Scripts and `Received::path` use the path without the query string.
pub struct WebhookPeer {
    port: u16,
    shared: Arc<Mutex<Shared>>,
}

impl WebhookPeer {
    /// Starts on an ephemeral port, inside the caller's tokio runtime. `secret` is a
    /// `whsec_...` secret; with None nothing is verified.
    pub async fn start(secret: Option<&str>) -> WebhookPeer {
        let hook =
            secret.map(|s| Arc::new(standardwebhooks::Webhook::new(s).expect("webhook secret")));
        let shared = Arc::new(Mutex::new(Shared::default()));
        let app = axum::Router::new()
            .fallback(handle)
            .layer(DefaultBodyLimit::max(1 << 20))
            .with_state((shared.clone(), hook));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind webhook peer");
        let port = listener.local_addr().expect("local addr").port();
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        WebhookPeer { port, shared }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The next requests to `path` get these replies in order, then `Reply::Ok`.
    pub fn script(&self, path: &str, replies: Vec<Reply>) {
        self.shared
            .lock()
            .unwrap()
            .scripts
            .insert(path.to_owned(), replies.into());
    }

    /// Every request received so far, in arrival order, answered or not.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().unwrap().received.clone()
    }

    /// Waits until `pred` holds for the requests received; panics when `limit` passes first.
    pub fn wait_until(
        &self,
        limit: Duration,
        what: &str,
        pred: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        loop {
            let got = self.received();
            if pred(&got) {
                return got;
            }
            if Instant::now() >= deadline {
                let seen: Vec<String> = got
                    .iter()
                    .map(|r| format!("{} -> {}", r.path, r.status_sent))
                    .collect();
                panic!(
                    "webhook peer: no {what} within {limit:?}; {} requests: {seen:?}",
                    got.len()
                );
            }
            std::thread::sleep(POLL);
        }
    }
}

async fn handle(
    State((shared, hook)): State<PeerState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let path = uri.path().to_owned();
    let reply = {
        let mut shared = shared.lock().unwrap();
        let reply = shared
            .scripts
            .get_mut(&path)
            .and_then(VecDeque::pop_front)
            .unwrap_or(Reply::Ok);
        let status_sent = match &reply {
            Reply::Ok | Reply::Delay(_) => 200,
            Reply::Status(code) | Reply::StatusRetryAfter(code, _) => *code,
            Reply::Hang => 0,
        };
        shared.received.push(Received {
            path,
            webhook_id: text("webhook-id"),
            timestamp: text("webhook-timestamp"),
            signature: text("webhook-signature"),
            body: String::from_utf8_lossy(&body).into_owned(),
            json: serde_json::from_slice(&body).ok(),
            verified: hook.is_some_and(|h| h.verify(&body, &headers).is_ok()),
            status_sent,
            content_type: text("content-type"),
        });
        reply
    };
    let status = |code: u16| StatusCode::from_u16(code).expect("scripted status");
    match reply {
        Reply::Ok => (StatusCode::OK, "ok").into_response(),
        Reply::Status(code) => status(code).into_response(),
        Reply::StatusRetryAfter(code, after) => {
            (status(code), [(header::RETRY_AFTER, after)]).into_response()
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::REQUEST_TIMEOUT.into_response()
        }
        Reply::Delay(d) => {
            tokio::time::sleep(d).await;
            (StatusCode::OK, "ok").into_response()
        }
    }
}
