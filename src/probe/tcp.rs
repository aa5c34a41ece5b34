//! TCP checks: can a connection be opened to host:port?

use std::net::SocketAddr;

use tokio::net::TcpStream;

use super::Outcome;
use super::reason::{Failure, io_failure, local_cause};
use crate::config::TcpTarget;

pub async fn probe(t: &TcpTarget) -> Outcome {
    match connect(&t.host, t.port).await {
        Ok(_) => Outcome::Up,
        Err(failure) => failure.outcome(),
    }
}

/// Resolve `host` and connect to the first address that answers.
pub async fn connect(host: &str, port: u16) -> Result<TcpStream, Failure> {
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host, port)).await {
        Ok(a) => a.collect(),
        Err(e) => {
            return Err(match local_cause(&e) {
                Some(why) => Failure::Local(format!("could not check: {why}")),
                None => Failure::Remote(format!("DNS lookup failed for {host}")),
            });
        }
    };
    if addrs.is_empty() {
        return Err(Failure::Remote(format!("DNS lookup failed for {host}")));
    }
    let mut last = Failure::Remote("no address to connect to".into());
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            // This machine's trouble stops the attempts: nothing more would be learnt.
            Err(e) => match io_failure(&e) {
                local @ Failure::Local(_) => return Err(local),
                remote => last = remote,
            },
        }
    }
    Err(last)
}
