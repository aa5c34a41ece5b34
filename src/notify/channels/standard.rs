//! Standard Webhooks: the event as signed JSON, `{"type", "timestamp", "data"}`, where
//! data is the incident or window in the JSON API's shape as it stood then. Pure.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::config::subscribers::decode_secret;
use crate::notify::compose::Composed;

/// The Standard Webhooks body: `{"type", "timestamp", "data"}`; operators' data also
/// shows the components kept from customers.
pub fn body(composed: &Composed, operator: bool) -> Vec<u8> {
    let body = json!({
        "type": composed.kind,
        "timestamp": composed.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": composed.data_for(operator),
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with a `whsec_` secret.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let key = decode_secret(secret)?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key)
        .map_err(|_| "is not a usable key".to_owned())?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let sig = mac.finalize().into_bytes();
    Ok(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(sig)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_standard_webhooks_test_vector() {
        let sig = sign(
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367553,
            br#"{"email":"test@example.com","username":"test_user"}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    }
}
