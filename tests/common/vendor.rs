//! A vendor's status page on 127.0.0.1: files served by path (with an ETag, answering
//! conditional requests with 304), or answers that misbehave (429 with Retry-After,
//! HTML, a hang); every request's path and headers are kept. [`huge_page`] sends 50 MB.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;

/// How one path answers.
#[derive(Debug, Clone)]
pub enum Answer {
    /// 200 with this JSON, an ETag, and 304 to a request that already has it.
    Json(String),
    /// This status, these headers, this body.
    Status(u16, Vec<(&'static str, String)>, String),
    /// 200 with an HTML page.
    Html,
    /// Never answers.
    Hang,
}

/// One request seen: its path and headers.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: HeaderMap,
}

#[derive(Default)]
struct State {
    answers: HashMap<String, Answer>,
    seen: Vec<Seen>,
}

#[derive(Clone)]
pub struct VendorPeer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl VendorPeer {
    /// Start on 127.0.0.1 (in the current tokio runtime).
    pub async fn start() -> VendorPeer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let state = shared.clone();
            async move { answer(&state, uri, headers).await }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        VendorPeer { addr, state }
    }

    /// The page's address.
    pub fn page(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Answer `path` (such as `/api/v2/summary.json`) this way from now on.
    pub fn set(&self, path: &str, answer: Answer) {
        self.state
            .lock()
            .expect("lock")
            .answers
            .insert(path.to_owned(), answer);
    }

    /// Serve every file under `dir` at its path.
    pub fn serve_dir(&self, dir: &std::path::Path) {
        fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut Vec<(String, String)>) {
            for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
                let p = entry.path();
                if p.is_dir() {
                    walk(base, &p, out);
                } else if let Ok(text) = std::fs::read_to_string(&p) {
                    let rel = p.strip_prefix(base).expect("under base");
                    out.push((format!("/{}", rel.display()), text));
                }
            }
        }
        let mut files = Vec::new();
        walk(dir, dir, &mut files);
        for (path, text) in files {
            self.set(&path, Answer::Json(text));
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().expect("lock").seen.clone()
    }
}

async fn answer(state: &Mutex<State>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().to_owned();
    let found = {
        let mut s = state.lock().expect("lock");
        s.seen.push(Seen {
            path: path.clone(),
            headers: headers.clone(),
        });
        s.answers.get(&path).cloned()
    };
    let build = |code: u16| Response::builder().status(StatusCode::from_u16(code).expect("code"));
    match found {
        None => build(404).body(Body::from("not here")).expect("response"),
        Some(Answer::Json(text)) => {
            let etag = format!("\"{:x}\"", fnv(text.as_bytes()));
            if headers
                .get("if-none-match")
                .is_some_and(|v| v.as_bytes() == etag.as_bytes())
            {
                return build(304)
                    .header("etag", etag)
                    .body(Body::empty())
                    .expect("response");
            }
            build(200)
                .header("content-type", "application/json")
                .header("etag", etag)
                .body(Body::from(text))
                .expect("response")
        }
        Some(Answer::Status(code, extra, body)) => {
            let mut r = build(code);
            for (k, v) in extra {
                r = r.header(k, v);
            }
            r.body(Body::from(body)).expect("response")
        }
        Some(Answer::Html) => build(200)
            .header("content-type", "text/html")
            .body(Body::from(
                "<!DOCTYPE html><html><body><h1>Status</h1></body></html>",
            ))
            .expect("response"),
        Some(Answer::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            build(500).body(Body::empty()).expect("response")
        }
    }
}

/// A page whose every file is a 50 MB body sent in chunks (no length announced);
/// returns its address and a count of the body bytes it managed to send.
pub async fn huge_page() -> (String, Arc<std::sync::atomic::AtomicU64>) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut head = [0u8; 4096];
                let _ = stream.read(&mut head).await;
                let start = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
                if stream.write_all(start.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b' '; 64 * 1024];
                let framed = [
                    format!("{:x}\r\n", chunk.len()).into_bytes(),
                    chunk,
                    b"\r\n".to_vec(),
                ]
                .concat();
                for _ in 0..(50 * 16) {
                    if stream.write_all(&framed).await.is_err() {
                        return;
                    }
                    counter.fetch_add(64 * 1024, Ordering::Relaxed);
                }
                let _ = stream.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    (format!("http://{addr}/"), sent)
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}
