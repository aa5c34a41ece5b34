//! A TCP proxy on 127.0.0.1 in front of other servers, which a test can cut: every
//! connection through it is closed at once and new ones are refused until it is
//! mended. One node's link to NATS, broken while the rest of the cluster goes on.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct CutProxy {
    pub addr: SocketAddr,
    cut: Arc<AtomicBool>,
    /// Bumped at each cut: connections made before it end.
    generation: watch::Sender<u64>,
}

impl CutProxy {
    /// Start inside the caller's runtime; each connection goes to the next of
    /// `targets` that answers.
    pub async fn start(targets: Vec<SocketAddr>) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let cut = Arc::new(AtomicBool::new(false));
        let (generation, _) = watch::channel(0u64);
        let next = Arc::new(AtomicUsize::new(0));
        let (c, g) = (cut.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if c.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let mut ended = g.subscribe();
                let targets = targets.clone();
                let next = next.clone();
                tokio::spawn(async move {
                    let mut upstream = None;
                    for _ in 0..targets.len() {
                        let i = next.fetch_add(1, Ordering::SeqCst) % targets.len();
                        if let Ok(s) = TcpStream::connect(targets[i]).await {
                            upstream = Some(s);
                            break;
                        }
                    }
                    let Some(mut upstream) = upstream else {
                        return;
                    };
                    let mut client = client;
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
                        _ = ended.changed() => {}
                    }
                });
            }
        });
        CutProxy {
            addr,
            cut,
            generation,
        }
    }

    /// Close every connection through the proxy and refuse new ones.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Take connections again.
    pub fn mend(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}
