//! One connection to the NATS servers of `[cluster]`.

use std::time::Duration;

use async_nats::{Client, ConnectOptions, ServerAddr};

use super::ClusterError;
use crate::config::ClusterSettings;

/// How long the first connection may take before a command gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connect as `name` (shown in the servers' connection lists). The client reconnects
/// by itself afterwards, to any server of the cluster it learns of.
pub async fn connect(settings: &ClusterSettings, name: &str) -> Result<Client, ClusterError> {
    let servers = settings.nats.join(", ");
    let failed = |problem: String| ClusterError::Connect {
        servers: servers.clone(),
        problem,
    };
    let mut options = ConnectOptions::new()
        .name(name)
        .connection_timeout(CONNECT_TIMEOUT)
        .ping_interval(Duration::from_secs(10));
    if let Some(creds) = &settings.credentials {
        options = options.credentials(&creds.0).map_err(|_| {
            failed(
                "the credentials in credentials_env are not a NATS credentials file's contents"
                    .into(),
            )
        })?;
    }
    if let Some(token) = &settings.token {
        options = options.token(token.0.clone());
    }
    if settings.tls.required {
        options = options.require_tls(true);
    }
    if let Some(ca) = &settings.tls.ca_file {
        options = options.add_root_certificates(ca.clone());
    }
    if let (Some(cert), Some(key)) = (&settings.tls.cert_file, &settings.tls.key_file) {
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    let addrs: Vec<ServerAddr> = settings
        .nats
        .iter()
        .map(|u| u.parse::<ServerAddr>())
        .collect::<Result<_, _>>()
        .map_err(|e| failed(format!("an address cannot be used: {e}")))?;
    options
        .connect(addrs)
        .await
        .map_err(|e| failed(e.to_string()))
}
