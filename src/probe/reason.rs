//! Turning low-level failures into short reasons an operator reads at a glance:
//! "connection refused", "timed out after 5s", "TLS handshake failed".

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

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
pub fn io_reason(e: &io::Error) -> String {
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
pub fn chain_reason(err: &(dyn StdError + 'static)) -> String {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    let mut last_text = String::from("unknown error");
    while let Some(e) = current {
        current = e.source();
        if let Some(io) = e.downcast_ref::<io::Error>() {
            // An io::Error may wrap the real cause (rustls errors arrive this way).
            if let Some(inner) = io.get_ref()
                && let Some(tls) = inner.downcast_ref::<rustls::Error>()
            {
                return tls_reason(tls);
            }
            return io_reason(io);
        }
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return tls_reason(tls);
        }
        if e.is::<reqwest::Error>() {
            continue;
        }
        let text = e.to_string();
        if text.contains("dns error") || text.contains("failed to lookup address") {
            return "DNS lookup failed".into();
        }
        if text.contains("connection closed before message completed") {
            return "connection closed before a complete response".into();
        }
        if text.contains("message head is too large") {
            return "the server sent oversized response headers".into();
        }
        if text.starts_with("invalid HTTP") || text.contains("invalid HTTP") {
            return "the server sent an invalid HTTP response".into();
        }
        last_text = text;
    }
    truncate(&format!("request failed: {last_text}"))
}

/// A reason for a TLS failure.
pub fn tls_reason(e: &rustls::Error) -> String {
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
            other => truncate(&format!("certificate rejected: {other:?}")),
        },
        rustls::Error::AlertReceived(a) => {
            truncate(&format!("TLS handshake failed: server sent {a:?}"))
        }
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
        assert_eq!(io_reason(&e), "connection refused");
    }
}
