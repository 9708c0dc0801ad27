//! Passwords (Argon2id) and API keys (random, shown once, stored as SHA-256: a key has
//! 256 bits of entropy, so a fast hash is enough and keeps per-request checks cheap).

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Prefix of every raw API key, so leaked keys are recognisable.
pub const KEY_PREFIX: &str = "lt_";

/// Prefix of every raw invitation.
pub const INVITATION_PREFIX: &str = "inv_";

/// A secret from the configuration: kept out of `Debug` output (and so out of logs).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps `secret`.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The Argon2id hash login checks a password against when the user does not exist, so an
/// unknown user costs the same work (and time) as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_password("no user has this password; it only costs the same work")
            .expect("hashing a constant")
    })
}

/// The Argon2id PHC string of `password`.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt_bytes = random_bytes();
    let salt = SaltString::encode_b64(&salt_bytes[..16]).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches `phc`.
pub fn password_matches(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// A new raw invitation (shown once to the ADMIN who issued it).
pub fn new_invitation() -> String {
    format!(
        "{INVITATION_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(random_bytes())
    )
}

/// A new raw key and its id.
pub fn new_api_key() -> (String, String) {
    let id = uuid::Uuid::now_v7().simple().to_string();
    let secret = URL_SAFE_NO_PAD.encode(random_bytes());
    (id, format!("{KEY_PREFIX}{secret}"))
}

/// Hex SHA-256 of a raw key (or invitation).
pub fn key_hash(raw: &str) -> String {
    Sha256::digest(raw.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 32 bytes from the OS generator (two v4 UUIDs: 244 random bits, drawn from getrandom).
fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_matches_its_hash_only() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(password_matches("correct horse", &hash));
        assert!(!password_matches("wrong horse", &hash));
        assert!(!password_matches("correct horse", "not a hash"));
    }

    #[test]
    fn the_dummy_hash_is_a_real_argon2id_hash_that_no_password_matches() {
        assert!(dummy_hash().starts_with("$argon2id$"));
        assert_eq!(
            PasswordHash::new(dummy_hash()).unwrap().params,
            PasswordHash::new(&hash_password("x").unwrap())
                .unwrap()
                .params,
            "the same parameters, so the same work as a real user's hash"
        );
        assert!(!password_matches("", dummy_hash()));
    }

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let secret = Secret::new("hunter2 hunter2");
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert_eq!(secret.expose(), "hunter2 hunter2");
    }

    #[test]
    fn keys_are_fresh_and_hashed_deterministically() {
        let (_, first) = new_api_key();
        let (_, second) = new_api_key();
        assert!(first.starts_with(KEY_PREFIX));
        assert_ne!(first, second);
        assert_eq!(key_hash(&first), key_hash(&first));
        assert_eq!(key_hash(&first).len(), 64);
    }
}
