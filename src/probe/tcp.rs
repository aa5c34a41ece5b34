//! TCP checks: can a connection be opened to host:port?

use std::net::{IpAddr, SocketAddr};

use tokio::net::{TcpSocket, TcpStream};

use super::Outcome;
use super::reason::{Failure, io_failure, local_cause};
use crate::config::TcpTarget;

pub async fn probe(t: &TcpTarget, source: Option<IpAddr>) -> Outcome {
    match connect(&t.host, t.port, source).await {
        Ok(_) => Outcome::Up,
        Err(failure) => failure.outcome(),
    }
}

/// Resolve `host` and connect to the first address that answers, from `source` when
/// given (then only to addresses of its family).
pub async fn connect(host: &str, port: u16, source: Option<IpAddr>) -> Result<TcpStream, Failure> {
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
    if let Some(ip) = source
        && !addrs.iter().any(|a| a.is_ipv4() == ip.is_ipv4())
    {
        // The probe's own address cannot reach it: this node's setting, not the service.
        return Err(Failure::Local(format!(
            "could not check: {host} has no {} address to reach from this node's probe_from {ip}",
            if ip.is_ipv4() { "IPv4" } else { "IPv6" }
        )));
    }
    for addr in addrs {
        if source.is_some_and(|ip| ip.is_ipv4() != addr.is_ipv4()) {
            continue;
        }
        match open(addr, source).await {
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

/// One connection to `addr`, from `source` when given.
async fn open(addr: SocketAddr, source: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let Some(ip) = source else {
        return TcpStream::connect(addr).await;
    };
    let socket = if ip.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.bind(SocketAddr::new(ip, 0))?;
    socket.connect(addr).await
}
