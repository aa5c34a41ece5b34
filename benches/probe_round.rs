//! One probe round of 1,000 and 10,000 HTTP checks (10,000 distinct URLs on one host),
//! as the real `forewarn probe` runs it, side by side with lychee and wrk when they are
//! installed. The target server runs in another process: nginx with one worker when it
//! is installed (the configuration is printed in BENCHMARKS.md), else this benchmark
//! started again as a one-thread server.
//!
//! Every probe opens a fresh connection. lychee keeps its connections alive; wrk with
//! `Connection: close` gives this machine's new-connection rate.
//!
//! Run with: `cargo bench --bench probe_round` (`PROBE_ROUND_RUNS=N`, default 5).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SERVE_ARG: &str = "--serve-health";

/// What one whole process cost.
#[derive(Clone, Copy)]
struct Cost {
    wall: Duration,
    cpu: Duration,
    peak_kib: i64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == SERVE_ARG) {
        return serve();
    }
    let _ = rlimit::increase_nofile_limit(20_000);
    let runs: usize = std::env::var("PROBE_ROUND_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().expect("tempdir");
    let (addr, mut server, what) = start_server(dir.path());
    println!("target: {what} on {addr}");
    let lychee = on_path("lychee");
    for n in [1_000, 10_000] {
        let config = dir.path().join(format!("forewarn-{n}.toml"));
        std::fs::write(&config, config_text(addr, n)).expect("config");
        let urls = dir.path().join(format!("urls-{n}.txt"));
        let list: String = (0..n)
            .map(|i| format!("http://{addr}/health/{i}\n"))
            .collect();
        std::fs::write(&urls, list).expect("urls");
        let (mut ours, mut theirs, mut rates) = (Vec::new(), Vec::new(), Vec::new());
        let log = dir.path().join("forewarn.log");
        // Alternate, after one warm-up each, so both see the same machine.
        for run in 0..=runs {
            let cost = measure(
                Command::new(env!("CARGO_BIN_EXE_forewarn"))
                    .args(["probe", "--config", &config.display().to_string()])
                    .env("FOREWARN_LOG", "debug")
                    .stderr(std::fs::File::create(&log).expect("log")),
            );
            if run > 0 {
                ours.push(cost);
                // The round alone, without starting and reading the configuration.
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                if let Some(rate) = text
                    .split("per_second=")
                    .nth(1)
                    .and_then(|r| r.split_whitespace().next())
                    .and_then(|r| r.parse::<f64>().ok())
                {
                    rates.push(rate);
                }
            }
            if lychee {
                let cost = measure(
                    Command::new("lychee")
                        .args([
                            "--max-concurrency",
                            "128",
                            "--host-concurrency",
                            "128",
                            "--host-request-interval",
                            "0s",
                            "--cache=false",
                            "--no-progress",
                            &urls.display().to_string(),
                        ])
                        .stderr(Stdio::null()),
                );
                if run > 0 {
                    theirs.push(cost);
                }
            }
        }
        report(&format!("forewarn probe, {n} checks"), &ours);
        if !rates.is_empty() {
            println!("  probes a second in the round itself: {}", spread(rates));
        }
        if lychee {
            report(&format!("lychee tuned, {n} URLs"), &theirs);
            let ratio: Vec<f64> = ours
                .iter()
                .zip(&theirs)
                .map(|(a, b)| a.wall.as_secs_f64() / b.wall.as_secs_f64())
                .collect();
            println!("  forewarn/lychee wall, run by run: {}", spread(ratio));
        }
    }
    if on_path("wrk") {
        let out = Command::new("wrk")
            .args(["-t1", "-c64", "-d5s", "-H", "Connection: close"])
            .arg(format!("http://{addr}/health/1"))
            .stdin(Stdio::null())
            .output()
            .expect("wrk");
        let text = String::from_utf8_lossy(&out.stdout);
        if let Some(line) = text.lines().find(|l| l.starts_with("Requests/sec")) {
            println!("wrk -t1 -c64 -H 'Connection: close' (new connections): {line}");
        }
    }
    // SIGTERM: nginx's master then stops its worker too.
    // SAFETY: the pid is our own child's, not waited for yet.
    unsafe { libc::kill(server.id() as libc::pid_t, libc::SIGTERM) };
    let _ = server.wait();
}

/// A configuration of `n` HTTP checks of distinct URLs, at lychee's concurrency.
fn config_text(addr: SocketAddr, n: usize) -> String {
    let mut s = String::from(
        "[site]\ntitle = \"Bench\"\nbase_url = \"https://status.bench.example\"\n[site.contact]\nemail = \"help@bench.example\"\n[monitor]\nmax_concurrency = 128\n",
    );
    for i in 0..n {
        s.push_str(&format!(
            "\n[[component]]\nid = \"c{i}\"\nname = \"Component {i}\"\n[component.check]\nurl = \"http://{addr}/health/{i}\"\nevery = \"60s\"\ntimeout = \"5s\"\nbody_contains = \"ok\"\n"
        ));
    }
    s
}

/// nginx when installed, else this benchmark as a server; with a way to stop it.
fn start_server(dir: &Path) -> (SocketAddr, Child, &'static str) {
    let port = common::free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    if on_path("nginx") {
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, nginx_conf(dir, port)).expect("nginx.conf");
        let child = Command::new("nginx")
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(dir)
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx");
        wait_listening(addr);
        return (addr, child, "nginx, one worker");
    }
    let child = Command::new(std::env::current_exe().expect("this benchmark"))
        .arg(SERVE_ARG)
        .arg(addr.to_string())
        .spawn()
        .expect("server");
    wait_listening(addr);
    (addr, child, "a one-thread axum server in its own process")
}

/// The nginx configuration the side-by-side figures use (BENCHMARKS.md shows it).
fn nginx_conf(dir: &Path, port: u16) -> String {
    format!(
        "worker_processes 1;\ndaemon off;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log crit;\nevents {{ worker_connections 8192; }}\nhttp {{\n  access_log off;\n  server {{\n    listen 127.0.0.1:{port} backlog=4096;\n    location / {{ default_type application/json; return 200 '{{\"status\":\"ok\"}}'; }}\n  }}\n}}\n",
        dir = dir.display()
    )
}

fn wait_listening(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn on_path(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Run a command to its end; its wall time, CPU time and peak memory.
#[allow(clippy::zombie_processes)] // waited for with wait4, which also gives the usage
fn measure(command: &mut Command) -> Cost {
    let started = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child, not waited for yet; both pointers are valid.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4");
    let wall = started.elapsed();
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Cost {
        wall,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        peak_kib: usage.ru_maxrss,
    }
}

fn spread(mut v: Vec<f64>) -> String {
    v.sort_by(f64::total_cmp);
    format!(
        "min {:.2}, median {:.2}, max {:.2}",
        v[0],
        v[v.len() / 2],
        v[v.len() - 1]
    )
}

fn report(what: &str, costs: &[Cost]) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let wall: Vec<f64> = costs.iter().map(|c| ms(c.wall)).collect();
    let cpu: Vec<f64> = costs.iter().map(|c| ms(c.cpu)).collect();
    let peak: Vec<f64> = costs.iter().map(|c| c.peak_kib as f64 / 1024.0).collect();
    println!("{what}:");
    println!("  wall ms: {}", spread(wall));
    println!("  CPU ms:  {}", spread(cpu));
    println!("  peak MiB: {}", spread(peak));
}

/// The fallback target: `/health/...` answers `{"status":"ok"}` on one thread.
fn serve() {
    let addr: SocketAddr = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .expect("an address to serve on");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let app = axum::Router::new().fallback(|| async { "{\"status\":\"ok\"}" });
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.bind(addr).expect("bind");
        let listener = socket.listen(4096).expect("listen");
        axum::serve(listener, app).await.expect("serve");
    });
}
