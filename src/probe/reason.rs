//! Turning low-level failures into short reasons an operator reads at a glance:
//! "connection refused", "timed out after 5s", "TLS handshake failed"; and telling the
//! service's failures from this machine's own (no file descriptors, no memory), which
//! say nothing about the service.

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use super::Outcome;

/// Why a probe failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The service, or the network to it.
    Remote(String),
    /// This machine: the probe could not run.
    Local(String),
}

impl Failure {
    pub fn outcome(self) -> Outcome {
        match self {
            Failure::Remote(r) => Outcome::Down(r),
            Failure::Local(r) => Outcome::Unknown(r),
        }
    }

    /// The same failure, its words changed (a local one stays local).
    pub fn map(self, f: impl FnOnce(String) -> String) -> Failure {
        match self {
            Failure::Remote(r) => Failure::Remote(f(r)),
            Failure::Local(r) => Failure::Local(r),
        }
    }
}

/// Is this error this machine's own trouble rather than the peer's?
pub fn local_cause(e: &io::Error) -> Option<&'static str> {
    if e.kind() == io::ErrorKind::OutOfMemory {
        return Some("this machine is out of memory");
    }
    match e.raw_os_error() {
        Some(libc::EMFILE) => {
            Some("this process has no file descriptors left (too many open files)")
        }
        Some(libc::ENFILE) => {
            Some("this machine has no file descriptors left (too many open files system-wide)")
        }
        Some(libc::ENOMEM) => Some("this machine is out of memory"),
        Some(libc::ENOBUFS) => Some("this machine has no network buffers left"),
        Some(libc::EADDRNOTAVAIL) => Some(
            "this machine has no free local ports, or no longer has the address probes are sent from",
        ),
        _ => None,
    }
}

/// Longest reason kept; anything longer is cut with an ellipsis.
const MAX_REASON_CHARS: usize = 160;

/// "5s", "1.5s", "250ms", "2m".
pub fn short_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

pub fn truncate(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() <= MAX_REASON_CHARS {
        clean
    } else {
        let cut: String = clean.chars().take(MAX_REASON_CHARS - 1).collect();
        format!("{cut}…")
    }
}

/// A reason for an I/O failure while connecting or talking to a peer.
pub fn io_failure(e: &io::Error) -> Failure {
    match local_cause(e) {
        Some(why) => Failure::Local(format!("could not check: {why}")),
        None => Failure::Remote(io_reason(e)),
    }
}

fn io_reason(e: &io::Error) -> String {
    use io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => "connection refused".into(),
        ConnectionReset => "connection reset by the server".into(),
        ConnectionAborted => "connection aborted".into(),
        UnexpectedEof | BrokenPipe => "connection closed by the server".into(),
        TimedOut => "connection timed out".into(),
        HostUnreachable => "host unreachable".into(),
        NetworkUnreachable => "network unreachable".into(),
        AddrNotAvailable => "address not available".into(),
        _ => match e.raw_os_error() {
            Some(113) => "no route to host".into(),
            _ => truncate(&format!("network error: {e}")),
        },
    }
}

/// Walks an error's sources and picks the most telling reason. The text of reqwest's
/// own error is never matched: it contains the URL, which may say anything.
pub fn chain_failure(err: &(dyn StdError + 'static)) -> Failure {
    // This machine's trouble anywhere in the chain wins: nothing was learnt of the peer.
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        current = e.source();
        // An io::Error may carry another inside it (get_ref), which source() skips.
        let mut io = e.downcast_ref::<io::Error>();
        while let Some(inner) = io {
            if let Some(why) = local_cause(inner) {
                return Failure::Local(format!("could not check: {why}"));
            }
            io = inner.get_ref().and_then(|x| x.downcast_ref::<io::Error>());
        }
    }
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    let mut last_text = String::from("unknown error");
    while let Some(e) = current {
        current = e.source();
        if let Some(io) = e.downcast_ref::<io::Error>() {
            // An io::Error may wrap the real cause (rustls errors arrive this way).
            if let Some(inner) = io.get_ref()
                && let Some(tls) = inner.downcast_ref::<rustls::Error>()
            {
                return Failure::Remote(tls_reason(tls));
            }
            return io_failure(io);
        }
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Failure::Remote(tls_reason(tls));
        }
        if e.is::<reqwest::Error>() {
            continue;
        }
        let text = e.to_string();
        if text.contains("dns error") || text.contains("failed to lookup address") {
            return Failure::Remote("DNS lookup failed".into());
        }
        if text.contains("connection closed before message completed") {
            return Failure::Remote("connection closed before a complete response".into());
        }
        if text.contains("message head is too large") {
            return Failure::Remote("the server sent oversized response headers".into());
        }
        if text.starts_with("invalid HTTP") || text.contains("invalid HTTP") {
            return Failure::Remote("the server sent an invalid HTTP response".into());
        }
        last_text = text;
    }
    Failure::Remote(truncate(&format!("request failed: {last_text}")))
}

/// A reason for a TLS failure, in words (never a library's debug output).
pub fn tls_reason(e: &rustls::Error) -> String {
    use rustls::AlertDescription as A;
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::Expired | C::ExpiredContext { .. } => "certificate expired".into(),
            C::NotValidYet | C::NotValidYetContext { .. } => "certificate not valid yet".into(),
            C::UnknownIssuer => "certificate issued by an unknown authority".into(),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "certificate not valid for this host name".into()
            }
            C::Revoked => "certificate revoked".into(),
            C::BadEncoding => "certificate cannot be read".into(),
            C::BadSignature => "certificate signature is not valid".into(),
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
                "certificate is not meant for a server".into()
            }
            C::UnhandledCriticalExtension => {
                "certificate has a critical extension that cannot be checked".into()
            }
            C::UnknownRevocationStatus
            | C::ExpiredRevocationList
            | C::ExpiredRevocationListContext { .. } => {
                "certificate revocation status cannot be checked".into()
            }
            C::UnsupportedSignatureAlgorithmContext { .. }
            | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
                "certificate is signed with an unsupported algorithm".into()
            }
            C::Other(other)
                if matches!(
                    other.0.downcast_ref::<webpki::Error>(),
                    Some(webpki::Error::CaUsedAsEndEntity)
                ) =>
            {
                "certificate is self-signed (a certificate authority's own certificate sent by the server)".into()
            }
            _ => "certificate not trusted".into(),
        },
        rustls::Error::AlertReceived(a) => match a {
            A::HandshakeFailure => "TLS handshake failed: the server refused the handshake".into(),
            A::ProtocolVersion => "TLS handshake failed: no TLS version in common".into(),
            A::UnrecognisedName => {
                "TLS handshake failed: the server does not know this host name".into()
            }
            A::InternalError => "TLS handshake failed: the server reported an internal error".into(),
            _ => "TLS handshake failed: the server ended it".into(),
        },
        _ => "TLS handshake failed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(short_duration(Duration::from_secs(5)), "5s");
        assert_eq!(short_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(short_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(short_duration(Duration::from_secs(120)), "2m");
    }

    #[test]
    fn long_or_control_text_is_tamed() {
        let long = "x".repeat(500);
        assert_eq!(truncate(&long).chars().count(), MAX_REASON_CHARS);
        assert_eq!(truncate("a\r\nb"), "a  b");
    }

    #[test]
    fn io_errors_become_plain_words() {
        let e = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(io_failure(&e), Failure::Remote("connection refused".into()));
    }

    #[test]
    fn this_machines_own_trouble_is_not_the_services() {
        for errno in [libc::EMFILE, libc::ENFILE, libc::ENOMEM, libc::ENOBUFS] {
            let e = io::Error::from_raw_os_error(errno);
            match io_failure(&e) {
                Failure::Local(why) => assert!(why.starts_with("could not check: this")),
                other => panic!("errno {errno} is local, got {other:?}"),
            }
        }
        let wrapped = io::Error::other(io::Error::from_raw_os_error(libc::EMFILE));
        let outer = std::io::Error::other(wrapped);
        assert!(matches!(chain_failure(&outer), Failure::Local(_)));
    }

    #[test]
    fn certificate_problems_are_sentences() {
        let e = rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature);
        assert_eq!(tls_reason(&e), "certificate signature is not valid");
        let e = rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure);
        assert!(!tls_reason(&e).contains("HandshakeFailure"));
    }
}
