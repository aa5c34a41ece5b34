//! The demo shop's website over TLS on 127.0.0.1, with a certificate that expires in five
//! days: made when the demo starts (so the demo never depends on the date), by a
//! certificate authority of its own whose certificate the demo's check trusts.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Days left on the website's certificate.
pub const DAYS_LEFT: i64 = 5;

/// Serve TLS for `localhost`; writes the authority's certificate to `ca_file`.
pub async fn start(ca_file: &Path, stop: CancellationToken) -> anyhow::Result<SocketAddr> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Demo Shop certificate authority");
    let issuer = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
    std::fs::write(ca_file, issuer.pem())
        .with_context(|| format!("cannot write {}", ca_file.display()))?;

    let key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()])?;
    let now = time::OffsetDateTime::now_utc();
    leaf.not_before = now - time::Duration::days(85);
    leaf.not_after = now + time::Duration::days(DAYS_LEFT) + time::Duration::hours(1);
    let cert = leaf.signed_by(&key, &issuer)?;
    let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone(), issuer.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                _ = stop.cancelled() => return,
                accepted = listener.accept() => match accepted {
                    Ok((s, _)) => s,
                    Err(_) => {
                        // Out of descriptors, say: wait a little rather than spin.
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(stream).await {
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    Ok(addr)
}
