//! Shared pieces of the benchmarks: a loopback HTTP server and configuration text.
#![allow(dead_code)] // each benchmark uses its own subset

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;

/// An HTTP server on 127.0.0.1 answering `/health` with `{"status":"ok"}`, on a runtime
/// of its own so it does not share worker threads with what is measured.
pub fn health_server() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let app = Router::new().route("/health", get(|| async { "{\"status\":\"ok\"}" }));
            // A deep accept queue: a probe round opens a thousand connections at once.
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket
                .bind("127.0.0.1:0".parse().expect("addr"))
                .expect("bind");
            let listener = socket.listen(4096).expect("listen");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("server address")
}

/// A configuration with `n` HTTP components probing `addr`.
pub fn config_text(addr: SocketAddr, n: usize, every: &str) -> String {
    let mut s = String::from(
        "[site]\ntitle = \"Bench\"\nbase_url = \"https://status.bench.example\"\n[site.contact]\nemail = \"help@bench.example\"\n",
    );
    for i in 0..n {
        s.push_str(&format!(
            "\n[[component]]\nid = \"c{i}\"\nname = \"Component {i}\"\n[component.check]\nurl = \"http://{addr}/health\"\nevery = \"{every}\"\ntimeout = \"5s\"\nbody_contains = \"ok\"\n"
        ));
    }
    s
}

/// min / median / max of some durations, in milliseconds.
pub fn summary(mut d: Vec<Duration>) -> String {
    d.sort();
    let ms = |x: Duration| x.as_secs_f64() * 1000.0;
    format!(
        "min {:.1} ms, median {:.1} ms, max {:.1} ms over {} runs",
        ms(d[0]),
        ms(d[d.len() / 2]),
        ms(d[d.len() - 1]),
        d.len()
    )
}

/// A `/proc/<pid>/status` field in KiB (`VmRSS:`, `VmHWM:`); 0 if it cannot be read.
pub fn proc_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A free port on 127.0.0.1 (bound, then released) for the daemon's front.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
