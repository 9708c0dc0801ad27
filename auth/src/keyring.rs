//! The signing keys: the current one (persisted, created on first start with mode 0600)
//! and the retired ones that still verify tokens they signed until those expire.
//!
//! Rotation: generate a new key file (or let the service create it), move the old file's
//! path from `signing_key_file` to `retired_signing_key_files`, restart. New tokens carry
//! the new `kid`; every verifier fetches the JWKS again when it meets a `kid` it does not
//! know, and the old key stays in the JWKS, so no valid token is refused on the way.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use rsa::pkcs8::EncodePrivateKey;

use crate::AuthSettings;
use crate::tokens::Signer;

/// The signer `settings` describe: the current key (created if its file does not exist
/// yet, generated for this process if no file is configured) and the retired ones.
pub async fn signer(settings: &AuthSettings) -> anyhow::Result<Signer> {
    let current = match settings.signing_key_file.clone() {
        Some(path) => {
            tokio::task::spawn_blocking(move || load_or_create(Path::new(&path))).await??
        }
        None => {
            tracing::warn!(
                "no auth.signing_key_file: signing with a key generated for this process \
                 (tokens die with it; tests only)"
            );
            tokio::task::spawn_blocking(Signer::generate).await??
        }
    };
    let mut retired = Vec::new();
    for path in &settings.retired_signing_key_files {
        let pem = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("retired signing key {path}: {e}"))?;
        retired.push(Signer::from_pem(&pem)?);
    }
    Ok(current.with_retired(&retired))
}

/// The key in `path`, or a new one written there (mode 0600) if there is none yet.
///
/// Two instances starting together may both generate one: each writes a private temporary
/// file and links it into place, which fails for all but the first; the others read it.
pub fn load_or_create(path: &Path) -> anyhow::Result<Signer> {
    match std::fs::read_to_string(path) {
        Ok(pem) => {
            warn_if_readable_by_others(path);
            return Signer::from_pem(&pem);
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => anyhow::bail!("signing key {}: {error}", path.display()),
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)?;
    let pem = key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)?;
    let partial = path.with_extension(format!("{}.partial", uuid::Uuid::new_v4().simple()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)?;
    file.write_all(pem.as_bytes())?;
    file.sync_all()?;
    let linked = std::fs::hard_link(&partial, path);
    let _ = std::fs::remove_file(&partial);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "created the signing key");
            Signer::from_pem(&pem)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            Signer::from_pem(&std::fs::read_to_string(path)?)
        }
        Err(error) => Err(error.into()),
    }
}

fn warn_if_readable_by_others(path: &Path) {
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "the signing key is readable by others: chmod 600 it");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_key_file_is_created_private_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/signing.pem");
        let first = load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = load_or_create(&path).unwrap();
        assert_eq!(first.kid(), again.kid(), "the same key after a restart");
    }
}
