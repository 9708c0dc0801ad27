//! Access tokens: RS256 JWTs signed by the auth service, verified anywhere from its JWKS.
//!
//! Verification accepts exactly RS256 with a known key id and the configured issuer, and an
//! unexpired `exp`: `alg: none`, HMAC tokens (the classic key-confusion attack), tampered
//! payloads, foreign issuers and expired tokens are all refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::directory::Role;

/// What an access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// The user id.
    pub sub: String,
    /// Their role (its tier follows).
    pub role: Role,
    /// Orgs they may spend for.
    #[serde(default)]
    pub orgs: Vec<String>,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
}

/// Signs access tokens with one RSA key, and publishes it (with the retired keys whose
/// tokens may still be in use) as a JWKS.
#[derive(Clone)]
pub struct Signer {
    encoding: EncodingKey,
    kid: String,
    jwk: Value,
    /// Public keys of retired signing keys: verify only.
    retired: Vec<Value>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TokenError(pub String);

impl Signer {
    /// A signer with a fresh 2048-bit key (a key that lives as long as the process).
    pub fn generate() -> anyhow::Result<Self> {
        let mut rng = rsa::rand_core::OsRng;
        Self::from_key(RsaPrivateKey::new(&mut rng, 2048)?)
    }

    /// A signer with the PKCS#8 PEM key `pem`.
    pub fn from_pem(pem: &str) -> anyhow::Result<Self> {
        Self::from_key(RsaPrivateKey::from_pkcs8_pem(pem)?)
    }

    fn from_key(key: RsaPrivateKey) -> anyhow::Result<Self> {
        let pem = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)?;
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes())?;
        let n = key.n().to_bytes_be();
        let e = key.e().to_bytes_be();
        let kid: String = Sha256::digest(&n)[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let jwk = json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(&n), "e": URL_SAFE_NO_PAD.encode(&e),
        });
        Ok(Self {
            encoding,
            kid,
            jwk,
            retired: Vec::new(),
        })
    }

    /// This signer, also publishing the keys of `retired` (which it never signs with).
    pub fn with_retired(mut self, retired: &[Signer]) -> Self {
        self.retired = retired
            .iter()
            .filter(|r| r.kid != self.kid)
            .map(|r| r.jwk.clone())
            .collect();
        self
    }

    /// The id of the key that signs (`kid` of every token it signs).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The signed token of `claims`.
    pub fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| TokenError(e.to_string()))
    }

    /// The JWKS document (`/.well-known/jwks.json`): the signing key first, then the retired.
    pub fn jwks(&self) -> Value {
        let keys: Vec<&Value> = std::iter::once(&self.jwk).chain(&self.retired).collect();
        json!({ "keys": keys })
    }
}

/// Verifies access tokens against a JWKS and an issuer.
///
/// A client sends the same token with every request for its lifetime, and an RSA check of
/// each is a large share of a busy API's CPU: tokens already verified are remembered, by
/// their exact text (a changed byte is another token, checked in full), until they expire.
#[derive(Clone)]
pub struct Verifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
    verified: Arc<Mutex<HashMap<String, Claims>>>,
}

/// Tokens remembered as verified at most; beyond, the memory starts over.
const REMEMBERED_TOKENS: usize = 10_000;

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("kids", &self.keys.keys())
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier of tokens from `issuer` signed by a key of `jwks`.
    pub fn from_jwks(jwks: &Value, issuer: &str) -> Result<Self, TokenError> {
        let mut keys = HashMap::new();
        for key in jwks["keys"].as_array().into_iter().flatten() {
            let (Some(kid), Some(n), Some(e)) =
                (key["kid"].as_str(), key["n"].as_str(), key["e"].as_str())
            else {
                continue;
            };
            let decoding =
                DecodingKey::from_rsa_components(n, e).map_err(|e| TokenError(e.to_string()))?;
            keys.insert(kid.to_owned(), decoding);
        }
        if keys.is_empty() {
            return Err(TokenError("the JWKS has no RSA key".into()));
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        Ok(Self {
            keys,
            validation,
            verified: Arc::default(),
        })
    }

    /// Whether `kid` is one of the keys this verifier knows.
    pub fn knows(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// The `kid` a token's header names, if it has a readable header naming one.
    pub fn kid_of(token: &str) -> Option<String> {
        jsonwebtoken::decode_header(token).ok()?.kid
    }

    /// The claims of `token`, if it is genuine, current and ours.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let now = jsonwebtoken::get_current_timestamp() as i64;
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(claims) = verified.get(token) {
            if claims.exp + self.validation.leeway as i64 > now {
                return Ok(claims.clone());
            }
            verified.remove(token);
        }
        drop(verified);
        let claims = self.verify_signed(token)?;
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if verified.len() >= REMEMBERED_TOKENS {
            verified.clear();
        }
        verified.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }

    fn verify_signed(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| TokenError(e.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(TokenError(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| TokenError("the token names no key".into()))?;
        let key = self
            .keys
            .get(&kid)
            .ok_or_else(|| TokenError(format!("unknown key {kid}")))?;
        jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| TokenError(e.to_string()))
    }
}

#[cfg(test)]
#[path = "tokens_tests.rs"]
mod tests;
