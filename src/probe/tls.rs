//! TLS checks: how long until the certificate expires, and is it trusted?
//!
//! The handshake accepts any certificate so that an expired or untrusted one can still be
//! read and described ("certificate expired 2 days ago"); nothing is ever sent over the
//! connection. Trust is then checked separately with the same platform verifier the
//! HTTP checks use, plus the check's `ca_file` roots.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::Utc;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio_rustls::TlsConnector;

use super::reason::{Failure, chain_failure, tls_reason};
use super::{CertificateSeen, Outcome};
use crate::config::TlsTarget;

const DAY_SECS: i64 = 86_400;

pub struct TlsProber {
    provider: Arc<CryptoProvider>,
    connector: TlsConnector,
    system: OnceLock<Result<Arc<dyn ServerCertVerifier>, String>>,
    with_roots: Mutex<HashMap<PathBuf, Arc<dyn ServerCertVerifier>>>,
    /// Where connections leave from (`[cluster] probe_from`).
    source: Option<std::net::IpAddr>,
}

impl TlsProber {
    pub fn new(source: Option<std::net::IpAddr>) -> anyhow::Result<TlsProber> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Capture {
                provider: provider.clone(),
            }))
            .with_no_client_auth();
        Ok(TlsProber {
            provider,
            connector: TlsConnector::from(Arc::new(config)),
            system: OnceLock::new(),
            with_roots: Mutex::new(HashMap::new()),
            source,
        })
    }

    fn verifier(&self, t: &TlsTarget) -> Result<Arc<dyn ServerCertVerifier>, String> {
        let Some(path) = &t.ca_file else {
            return self
                .system
                .get_or_init(|| {
                    rustls_platform_verifier::Verifier::new(self.provider.clone())
                        .map(|v| Arc::new(v) as Arc<dyn ServerCertVerifier>)
                        .map_err(|e| format!("cannot load trusted certificates: {e}"))
                })
                .clone();
        };
        let mut cache = self.with_roots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = cache.get(path) {
            return Ok(v.clone());
        }
        let v: Arc<dyn ServerCertVerifier> = Arc::new(
            rustls_platform_verifier::Verifier::new_with_extra_roots(
                t.extra_roots.iter().cloned(),
                self.provider.clone(),
            )
            .map_err(|e| format!("cannot load trusted certificates: {e}"))?,
        );
        cache.insert(path.clone(), v.clone());
        Ok(v)
    }

    /// Probe once: the outcome, and the certificate when one was read. A certificate
    /// nearing expiry still works for customers: it is a warning for operators.
    pub async fn probe(&self, t: &TlsTarget) -> (Outcome, Option<CertificateSeen>) {
        let tcp = match super::tcp::connect(&t.host, t.port, self.source).await {
            Ok(s) => s,
            Err(failure) => return (failure.outcome(), None),
        };
        let Ok(name) = ServerName::try_from(t.server_name.clone()) else {
            return (
                Outcome::Down(format!("\"{}\" is not a valid server name", t.server_name)),
                None,
            );
        };
        let stream = match self.connector.connect(name.clone(), tcp).await {
            Ok(s) => s,
            Err(e) => {
                let failure = chain_failure(&e).map(|why| {
                    if why.starts_with("TLS") {
                        why
                    } else {
                        format!("TLS handshake failed: {why}")
                    }
                });
                return (failure.outcome(), None);
            }
        };
        let certs: Vec<CertificateDer<'static>> = match stream.get_ref().1.peer_certificates() {
            Some(c) if !c.is_empty() => c.iter().map(|c| c.clone().into_owned()).collect(),
            _ => return (Outcome::Down("the server sent no certificate".into()), None),
        };
        drop(stream);
        let not_after = match x509_parser::parse_x509_certificate(&certs[0]) {
            Ok((_, cert)) => cert.validity().not_after.timestamp(),
            Err(_) => {
                return (
                    Outcome::Down("the server sent a certificate that cannot be read".into()),
                    None,
                );
            }
        };
        let expires_at = chrono::DateTime::from_timestamp(not_after, 0).unwrap_or_default();
        let seen = |accepted| {
            Some(CertificateSeen {
                expires_at,
                accepted,
            })
        };
        let when = expires_at.format("%Y-%m-%d %H:%M UTC");
        let remaining = not_after - Utc::now().timestamp();
        if remaining <= 0 {
            let days = -remaining / DAY_SECS;
            return (
                Outcome::Down(match days {
                    0 => format!("certificate expired today ({when})"),
                    1 => format!("certificate expired 1 day ago ({when})"),
                    n => format!("certificate expired {n} days ago ({when})"),
                }),
                seen(false),
            );
        }
        if t.verify {
            let verifier = match self.verifier(t) {
                Ok(v) => v,
                // The trusted roots of this machine could not be read: not the server's fault.
                Err(e) => {
                    return (
                        Failure::Local(format!("could not check: {e}")).outcome(),
                        None,
                    );
                }
            };
            if let Err(e) =
                verifier.verify_server_cert(&certs[0], &certs[1..], &name, &[], UnixTime::now())
            {
                return (Outcome::Down(tls_reason(&e)), seen(false));
            }
        }
        let days = remaining / DAY_SECS;
        if days < i64::from(t.warn_days) {
            return (
                Outcome::Warning(match days {
                    0 => format!("certificate expires in less than a day ({when})"),
                    1 => format!("certificate expires in 1 day ({when})"),
                    n => format!("certificate expires in {n} days ({when})"),
                }),
                seen(true),
            );
        }
        (Outcome::Up, seen(true))
    }
}

/// Accepts any certificate (trust is judged after the handshake) but still checks the
/// handshake signatures properly.
#[derive(Debug)]
struct Capture {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
