//! Passwords (Argon2id) and API keys (random, shown once, stored as SHA-256: a key has
//! 256 bits of entropy, so a fast hash is enough and keeps per-request checks cheap).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Prefix of every raw API key, so leaked keys are recognisable.
pub const KEY_PREFIX: &str = "lt_";

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

/// A new raw key and its id.
pub fn new_api_key() -> (String, String) {
    let id = uuid::Uuid::now_v7().simple().to_string();
    let secret = URL_SAFE_NO_PAD.encode(random_bytes());
    (id, format!("{KEY_PREFIX}{secret}"))
}

/// Hex SHA-256 of a raw key.
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
    fn keys_are_fresh_and_hashed_deterministically() {
        let (_, first) = new_api_key();
        let (_, second) = new_api_key();
        assert!(first.starts_with(KEY_PREFIX));
        assert_ne!(first, second);
        assert_eq!(key_hash(&first), key_hash(&first));
        assert_eq!(key_hash(&first).len(), 64);
    }
}
