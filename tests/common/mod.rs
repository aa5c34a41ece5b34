//! Real peers for the tests, all on 127.0.0.1 with ephemeral ports: HTTP servers that
//! behave well or badly, and helpers to run the `forewarn` binary with bounded waits.
#![allow(dead_code)] // each test file uses its own subset

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How a test HTTP server answers.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// 200 with this body.
    Ok(&'static str),
    /// This status with a short body.
    Status(u16),
    /// Reads the request and never answers.
    Hang,
    /// Sends headers, then the body one byte every 100 ms.
    Drip,
    /// Sends a 100 MB body as fast as the client reads it.
    Huge,
    /// Redirects every request to itself.
    RedirectLoop,
    /// Reads the request and closes the connection without a word.
    Close,
    /// Answers with bytes that are not HTTP.
    Garbage,
    /// Waits, then answers 200.
    Slow(Duration),
    /// Answers 200 with the request's head (method, path, headers) as the body.
    Echo,
    /// Redirects every request to this URL.
    RedirectTo(String),
    /// Greets with a line of text at once, like an SMTP or SSH server, then closes.
    Banner,
    /// Alternates between 200 and 503 every `period` since the server started.
    Flap(Duration),
    /// Behaves as the test sets it at the moment each request arrives.
    Dynamic(Arc<std::sync::Mutex<Behaviour>>),
    /// 503 to clients connecting from these addresses, 200 "ok" to the others (set
    /// while the server runs): one location's network failing.
    FailFrom(Arc<std::sync::Mutex<Vec<std::net::IpAddr>>>),
}

/// A behaviour a test changes while the server runs, and the handle to change it.
pub fn switchable(first: Behaviour) -> (Behaviour, Arc<std::sync::Mutex<Behaviour>>) {
    let handle = Arc::new(std::sync::Mutex::new(first));
    (Behaviour::Dynamic(handle.clone()), handle)
}

/// A running test server.
pub struct Peer {
    pub addr: SocketAddr,
    /// Body bytes the server managed to hand to the network.
    pub bytes_sent: Arc<AtomicU64>,
    /// Requests received.
    pub requests: Arc<AtomicU64>,
}

impl Peer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

pub async fn http_peer(behaviour: Behaviour) -> Peer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let bytes_sent = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let (sent, reqs) = (bytes_sent.clone(), requests.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, client)) = listener.accept().await else {
                return;
            };
            reqs.fetch_add(1, Ordering::Relaxed);
            let behaviour = match &behaviour {
                Behaviour::FailFrom(from) => {
                    if from.lock().is_ok_and(|f| f.contains(&client.ip())) {
                        Behaviour::Status(503)
                    } else {
                        Behaviour::Ok("ok")
                    }
                }
                other => other.clone(),
            };
            tokio::spawn(answer(stream, behaviour, sent.clone(), started));
        }
    });
    Peer {
        addr,
        bytes_sent,
        requests,
    }
}

async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

fn response(status: u16, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} Test\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

async fn answer(
    mut stream: TcpStream,
    behaviour: Behaviour,
    sent: Arc<AtomicU64>,
    started: Instant,
) {
    let behaviour = match behaviour {
        Behaviour::Dynamic(now) => now.lock().map(|b| b.clone()).unwrap_or(Behaviour::Close),
        other => other,
    };
    if let Behaviour::Banner = behaviour {
        let _ = stream
            .write_all(b"220 mail.test.example ESMTP ready\r\n")
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        return;
    }
    let Some(head) = read_head(&mut stream).await else {
        return;
    };
    match behaviour {
        Behaviour::Echo => {
            let _ = stream.write_all(response(200, &head).as_bytes()).await;
        }
        Behaviour::Ok(body) => {
            let _ = stream.write_all(response(200, body).as_bytes()).await;
        }
        Behaviour::Status(code) => {
            let _ = stream
                .write_all(response(code, "status from the test server").as_bytes())
                .await;
        }
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Behaviour::Drip => {
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n";
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for _ in 0..1000 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if stream.write_all(b"o").await.is_err() {
                    return;
                }
                sent.fetch_add(1, Ordering::Relaxed);
            }
        }
        Behaviour::Huge => {
            let total: u64 = 100 * 1024 * 1024;
            let head =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n");
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = vec![b'x'; 64 * 1024];
            let mut written = 0u64;
            while written < total {
                match stream.write(&chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        written += n as u64;
                        sent.fetch_add(n as u64, Ordering::Relaxed);
                    }
                }
            }
        }
        Behaviour::RedirectTo(to) => {
            let r = format!(
                "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = stream.write_all(r.as_bytes()).await;
        }
        Behaviour::RedirectLoop => {
            let r = "HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            let _ = stream.write_all(r.as_bytes()).await;
        }
        Behaviour::Close | Behaviour::Banner | Behaviour::Dynamic(_) | Behaviour::FailFrom(_) => {}
        Behaviour::Garbage => {
            let _ = stream.write_all(b"this is not HTTP at all\r\n\r\n").await;
        }
        Behaviour::Slow(wait) => {
            tokio::time::sleep(wait).await;
            let _ = stream.write_all(response(200, "ok").as_bytes()).await;
        }
        Behaviour::Flap(period) => {
            let phase = started.elapsed().as_millis() / period.as_millis().max(1);
            let code = if phase.is_multiple_of(2) { 200 } else { 503 };
            let _ = stream.write_all(response(code, "flap").as_bytes()).await;
        }
    }
    let _ = stream.shutdown().await;
}

/// A multi-threaded runtime whose tasks keep running while the test thread blocks on
/// child processes.
pub fn background_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A free port on 127.0.0.1 with nothing listening (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

pub const SITE: &str = r#"
[site]
title = "Test Status"
base_url = "https://status.test.example"
timezone = "UTC"

[site.contact]
email = "help@test.example"
"#;

/// Write `config/forewarn.toml` in `dir` with the test site and these components.
pub fn write_config(dir: &Path, components: &str) -> PathBuf {
    let config_dir = dir.join("config");
    std::fs::create_dir_all(&config_dir).expect("mkdir");
    let path = config_dir.join("forewarn.toml");
    std::fs::write(&path, format!("{SITE}\n{components}")).expect("write config");
    path
}

pub fn forewarn() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_forewarn"));
    c.env_remove("FOREWARN_LOG")
        .env_remove("FOREWARN_CONFIG")
        .env_remove("FOREWARN_STATE");
    // To look into a failure: FOREWARN_TEST_LOG=debug is every daemon's FOREWARN_LOG.
    if let Ok(filter) = std::env::var("FOREWARN_TEST_LOG") {
        c.env("FOREWARN_LOG", filter);
    }
    c
}

/// Run to completion, but never longer than `limit`.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn forewarn");
    wait_bounded(child, limit)
}

/// Wait for a child, killing it and failing the test after `limit`.
pub fn wait_bounded(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    // Drain pipes on threads so a chatty child never blocks on a full pipe.
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let out_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_end(&mut s);
        }
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_end(&mut s);
        }
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("forewarn did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    }
}

/// Poll `cond` every 20 ms until it holds; fail the test after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Send a signal to a child process.
pub fn signal_pid(pid: u32, sig: i32) {
    // SAFETY: kill(2) with a pid this test started and a valid signal number has no
    // memory effects.
    let rc = unsafe { libc::kill(pid as i32, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig}) failed");
}

pub fn signal(child: &Child, sig: i32) {
    let pid = child.id() as i32;
    // SAFETY: kill(2) with a pid we own and a valid signal number has no memory effects.
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig}) failed");
}

pub mod cut;
pub mod nats;
pub mod nodes;
pub mod peers;
pub mod story;
pub mod tls;
pub mod vendor;

/// `forewarn run` on a config and state folder, its site beside the state, its output
/// captured. `json` asks for JSON logs.
pub fn start_daemon(config: &Path, state: &Path, json: bool) -> Child {
    let mut cmd = forewarn();
    if json {
        cmd.args(["--log-format", "json"]);
    }
    cmd.args(["run", "--config"])
        .arg(config)
        .arg("--state")
        .arg(state)
        .arg("--out")
        .arg(state.with_file_name("site"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn forewarn run")
}

/// `forewarn run`, not started yet, its log appended to `daemon.log` beside the state
/// folder (a pipe nobody drains would stall a chatty daemon) and its site in `site/`
/// there: for a test that sets limits on the process before it starts.
pub fn daemon_command(config: &Path, state: &Path) -> Command {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(state.with_file_name("daemon.log"))
        .expect("log file");
    let mut cmd = forewarn();
    cmd.args(["run", "--config"])
        .arg(config)
        .arg("--state")
        .arg(state)
        .arg("--out")
        .arg(state.with_file_name("site"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    cmd
}

/// `forewarn run` with extra environment variables, logged as [`daemon_command`] does.
pub fn start_daemon_logged(config: &Path, state: &Path, env: &[(&str, &str)]) -> Child {
    daemon_command(config, state)
        .envs(env.iter().copied())
        .spawn()
        .expect("spawn forewarn run")
}

/// What a daemon started with [`start_daemon_logged`] logged.
pub fn daemon_log(state: &Path) -> String {
    std::fs::read_to_string(state.with_file_name("daemon.log")).unwrap_or_default()
}

/// SIGTERM, then wait (bounded) for the daemon to finish.
pub fn stop_daemon(child: Child) -> Output {
    signal(&child, libc::SIGTERM);
    wait_bounded(child, Duration::from_secs(20))
}

/// A daemon that is killed if the test fails before stopping it, so no process
/// outlives its test.
pub struct Running(Option<Child>);

impl Running {
    pub fn new(child: Child) -> Running {
        Running(Some(child))
    }

    /// SIGTERM, then wait (bounded) for it to finish.
    pub fn stop(mut self) -> Output {
        stop_daemon(self.0.take().expect("running"))
    }

    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }

    /// SIGKILL: gone at once, nothing handed over.
    pub fn kill(mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
