//! Unguessable links for subscribers: `<subscriber id>.<HMAC>`, signed with a key from
//! `FOREWARN_SECRET` or, when that is not set, from `<state>/secret` (created on first
//! use, readable by its owner only).

use std::io::{Read, Write};
use std::path::Path;

use anyhow::Context;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The environment variable that may hold the signing key.
pub const SECRET_ENV: &str = "FOREWARN_SECRET";
/// The key's file in the state directory when the environment has none.
pub const SECRET_FILE: &str = "secret";
/// The shortest signing key accepted.
pub const MIN_SECRET_LEN: usize = 32;

#[derive(Clone)]
pub struct Keys {
    secret: Vec<u8>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(…)")
    }
}

/// A short, stable, public id for a subscriber key (no address in URLs).
pub fn subscriber_id(key: &str) -> String {
    Sha256::digest(key.as_bytes())[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Keys {
    pub fn from_secret(secret: &[u8]) -> Keys {
        Keys {
            secret: secret.to_vec(),
        }
    }

    /// The key from the environment, or from `<state>/secret`, made if missing.
    pub fn load(state_dir: &Path) -> anyhow::Result<Keys> {
        if let Ok(s) = std::env::var(SECRET_ENV)
            && !s.trim().is_empty()
        {
            anyhow::ensure!(
                s.trim().len() >= MIN_SECRET_LEN,
                "{SECRET_ENV} is too short to sign links: use at least {MIN_SECRET_LEN} random characters"
            );
            return Ok(Keys::from_secret(s.trim().as_bytes()));
        }
        let path = state_dir.join(SECRET_FILE);
        match std::fs::read_to_string(&path) {
            Ok(s) if s.trim().len() >= MIN_SECRET_LEN => {
                return Ok(Keys::from_secret(s.trim().as_bytes()));
            }
            Ok(_) => anyhow::bail!(
                "{} is too short to be a signing key; delete it to have a new one made (links in emails already sent stop working)",
                path.display()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
        std::fs::create_dir_all(state_dir)
            .with_context(|| format!("cannot create {}", state_dir.display()))?;
        let mut bytes = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .context("cannot read random bytes for a signing key")?;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        // Written whole under a temporary name, then linked into place: a crash never
        // leaves a half-written key, and a key made by another process wins.
        let tmp = state_dir.join(format!(".{SECRET_FILE}.{}", std::process::id()));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts
            .open(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        f.write_all(hex.as_bytes())
            .and_then(|()| f.sync_all())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(Keys::from_secret(hex.as_bytes())),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Keys::load(state_dir),
            Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
        }
    }

    fn mac(&self, purpose: &str, key: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret)
            .expect("HMAC takes keys of any length");
        mac.update(purpose.as_bytes());
        mac.update(b"\n");
        mac.update(key.as_bytes());
        let out = mac.finalize().into_bytes();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&out[..18])
    }

    /// The token in a heartbeat check's address (`/heartbeat/<token>`): derived from the
    /// component's id, so it is never stored and stays the same across restarts.
    pub fn heartbeat_token(&self, component: &str) -> String {
        self.mac("heartbeat", component)
    }

    /// The Standard Webhooks secret of a webhook registered through the API: derived,
    /// so it is never stored; shown once, when the webhook is registered.
    pub fn webhook_secret(&self, key: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret)
            .expect("HMAC takes keys of any length");
        mac.update(b"webhook-secret\n");
        mac.update(key.as_bytes());
        format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        )
    }

    /// The token of a subscriber's unsubscribe link. It does not expire.
    pub fn unsubscribe_token(&self, key: &str) -> String {
        format!("{}.{}", subscriber_id(key), self.mac("unsubscribe", key))
    }

    /// The token of a confirmation link, which stops working at `expires`.
    pub fn confirm_token(&self, key: &str, expires: chrono::DateTime<chrono::Utc>) -> String {
        let exp = expires.timestamp();
        format!(
            "{}.{exp}.{}",
            subscriber_id(key),
            self.mac("confirm", &format!("{key}\n{exp}"))
        )
    }

    /// Does `token` confirm `key`, and has it not expired at `now`?
    pub fn check_confirm(
        &self,
        token: &str,
        key: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        let Some(exp) = token
            .split('.')
            .nth(1)
            .and_then(|e| e.parse::<i64>().ok())
            .and_then(|e| chrono::DateTime::from_timestamp(e, 0))
        else {
            return false;
        };
        exp > now && same(&self.confirm_token(key, exp), token)
    }

    /// Does `token` unsubscribe `key`? (Constant-time comparison.)
    pub fn check_unsubscribe(&self, token: &str, key: &str) -> bool {
        same(&self.unsubscribe_token(key), token)
    }
}

/// Equal, compared in constant time.
pub fn same(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stable_per_subscriber_and_key() {
        let k = Keys::from_secret(b"0123456789abcdef0123456789abcdef");
        let t = k.unsubscribe_token("email:a@b.test");
        assert_eq!(t, k.unsubscribe_token("email:a@b.test"));
        assert_ne!(t, k.unsubscribe_token("email:c@b.test"));
        assert!(k.check_unsubscribe(&t, "email:a@b.test"));
        assert!(!k.check_unsubscribe(&t, "email:c@b.test"));
        let other = Keys::from_secret(b"another key entirely, 32 bytes!!");
        assert!(!other.check_unsubscribe(&t, "email:a@b.test"));

        let now = chrono::Utc::now();
        let later = now + chrono::TimeDelta::days(2);
        let c = k.confirm_token("email:a@b.test", later);
        assert!(k.check_confirm(&c, "email:a@b.test", now));
        assert!(!k.check_confirm(&c, "email:a@b.test", later), "expired");
        assert!(!k.check_confirm(&c, "email:c@b.test", now));
        let stretched = c.replace(
            &later.timestamp().to_string(),
            &(later.timestamp() + 9999).to_string(),
        );
        assert!(
            !k.check_confirm(&stretched, "email:a@b.test", now),
            "the expiry is signed"
        );
        assert!(!t.contains('@'), "no address in the link");
    }

    #[test]
    fn a_key_file_is_made_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let a = Keys::load(dir.path()).unwrap();
        let b = Keys::load(dir.path()).unwrap();
        assert_eq!(a.unsubscribe_token("k"), b.unsubscribe_token("k"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SECRET_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
