//! TCP checks: can a connection be opened to host:port?

use std::net::SocketAddr;

use tokio::net::TcpStream;

use super::Outcome;
use super::reason::io_reason;
use crate::config::TcpTarget;

pub async fn probe(t: &TcpTarget) -> Outcome {
    match connect(&t.host, t.port).await {
        Ok(_) => Outcome::Up,
        Err(reason) => Outcome::Down(reason),
    }
}

/// Resolve `host` and connect to the first address that answers.
pub async fn connect(host: &str, port: u16) -> Result<TcpStream, String> {
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host, port)).await {
        Ok(a) => a.collect(),
        Err(_) => return Err(format!("DNS lookup failed for {host}")),
    };
    if addrs.is_empty() {
        return Err(format!("DNS lookup failed for {host}"));
    }
    let mut last = String::new();
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = io_reason(&e),
        }
    }
    Err(last)
}
