//! A test certificate authority and TLS servers on 127.0.0.1 presenting its
//! certificates, with expiry dates relative to the clock.

use std::net::SocketAddr;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

pub struct Authority {
    pub issuer: CertifiedIssuer<'static, KeyPair>,
    /// Its certificate in PEM, for `ca_file`.
    pub pem_file: tempfile::NamedTempFile,
}

pub fn authority(name: &str) -> Authority {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let issuer =
        CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA");
    let pem_file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(pem_file.path(), issuer.pem()).expect("write CA");
    Authority { issuer, pem_file }
}

/// Serve TLS on 127.0.0.1 with a leaf certificate for `name` expiring `days` (and an
/// hour) from now, inside the caller's tokio runtime.
pub async fn tls_server(ca: &Authority, name: &str, days: i64) -> SocketAddr {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec![name.to_owned()]).expect("params");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(400);
    params.not_after = now + time::Duration::days(days) + time::Duration::hours(1);
    let cert = params.signed_by(&key, &ca.issuer).expect("leaf");
    let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone(), ca.issuer.der().clone()];
    serve(chain, &key).await
}

/// A server presenting a self-signed certificate authority's own certificate for
/// `name` (as a hurried operator might), with that authority to trust.
pub async fn self_signed_server(name: &str) -> (SocketAddr, Authority) {
    let mut params = CertificateParams::new(vec![name.to_owned()]).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let issuer =
        CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA");
    let pem_file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(pem_file.path(), issuer.pem()).expect("write CA");
    let addr = serve(vec![issuer.der().clone()], issuer.key()).await;
    (addr, Authority { issuer, pem_file })
}

async fn serve(chain: Vec<CertificateDer<'static>>, key: &KeyPair) -> SocketAddr {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(stream).await {
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    addr
}
