use std::sync::OnceLock;

use super::*;

const ISSUER: &str = "https://auth.leaky-tokens.test";

/// Key generation is slow in debug builds: one signer for every test.
fn signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| Signer::generate().unwrap())
}

fn verifier() -> Verifier {
    Verifier::from_jwks(&signer().jwks(), ISSUER).unwrap()
}

fn claims(exp_from_now: i64) -> Claims {
    let now = chrono_free_now();
    Claims {
        iss: ISSUER.into(),
        sub: "alice".into(),
        role: Role::Pro,
        orgs: vec![],
        iat: now,
        exp: now + exp_from_now,
    }
}

fn chrono_free_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `token` with its payload swapped for one claiming ADMIN, the signature kept.
fn tampered(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let forged_payload = URL_SAFE_NO_PAD.encode(
        serde_json::to_vec(&Claims {
            role: Role::Admin,
            ..claims(600)
        })
        .unwrap(),
    );
    format!("{}.{}.{}", parts[0], forged_payload, parts[2])
}

/// `token`'s payload under an `alg: none` header, unsigned.
fn unsigned(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    format!("{none_header}.{payload}.")
}

#[test]
fn a_signed_token_verifies_to_its_claims() {
    let token = signer().sign(&claims(600)).unwrap();
    assert_eq!(verifier().verify(&token).unwrap(), claims(600));
}

#[test]
fn tampered_expired_foreign_and_unsigned_tokens_are_refused() {
    let verifier = verifier();
    let token = signer().sign(&claims(600)).unwrap();
    assert!(verifier.verify(&tampered(&token)).is_err(), "tampered");

    let expired = signer().sign(&claims(-120)).unwrap();
    assert!(verifier.verify(&expired).is_err(), "expired");

    let foreign = signer()
        .sign(&Claims {
            iss: "https://evil.test".into(),
            ..claims(600)
        })
        .unwrap();
    assert!(verifier.verify(&foreign).is_err(), "wrong issuer");

    assert!(verifier.verify(&unsigned(&token)).is_err(), "alg none");

    let hmac = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(600),
        &EncodingKey::from_secret(signer().jwks().to_string().as_bytes()),
    )
    .unwrap();
    assert!(
        verifier.verify(&hmac).is_err(),
        "HS256 with the public key as secret"
    );

    let other = Signer::generate().unwrap().sign(&claims(600)).unwrap();
    assert!(verifier.verify(&other).is_err(), "another key");
}

#[test]
fn a_remembered_token_admits_no_variant_of_itself() {
    let verifier = verifier();
    let token = signer().sign(&claims(600)).unwrap();
    let genuine = verifier.verify(&token).expect("verified, and remembered");
    assert!(verifier.verify(&tampered(&token)).is_err(), "tampered");
    assert!(verifier.verify(&unsigned(&token)).is_err(), "alg none");
    assert_eq!(verifier.verify(&token).unwrap(), genuine, "still itself");
}

#[test]
fn a_rotated_signer_publishes_the_retired_key_so_its_tokens_still_verify() {
    let old = signer();
    let new = Signer::generate()
        .unwrap()
        .with_retired(std::slice::from_ref(old));
    let jwks = new.jwks();
    assert_eq!(
        jwks["keys"][0]["kid"],
        new.kid(),
        "the signing key comes first"
    );
    let verifier = Verifier::from_jwks(&jwks, ISSUER).unwrap();
    assert!(verifier.knows(old.kid()) && verifier.knows(new.kid()));
    let before = old.sign(&claims(600)).unwrap();
    let after = new.sign(&claims(600)).unwrap();
    assert_eq!(Verifier::kid_of(&after).as_deref(), Some(new.kid()));
    assert!(
        verifier.verify(&before).is_ok(),
        "signed before the rotation"
    );
    assert!(verifier.verify(&after).is_ok(), "signed after it");
}

#[test]
fn a_token_naming_a_key_the_jwks_does_not_have_is_refused() {
    let genuine = signer().sign(&claims(600)).unwrap();
    let parts: Vec<&str> = genuine.split('.').collect();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT","kid":"not-ours"}"#);
    let wrong_kid = format!("{header}.{}.{}", parts[1], parts[2]);
    let error = verifier().verify(&wrong_kid).unwrap_err();
    assert!(error.0.contains("unknown key"), "{error}");
}
