//! The install's first ADMIN, made from a secret rather than a name.
//!
//! The operator gives a bootstrap password at install (`LEAKY_AUTH__BOOTSTRAP_ADMIN_PASSWORD`
//! or a file `ops/up` writes with mode 0600). At start, if the log has never had a bootstrap
//! ADMIN, the service registers `bootstrap_admin` with that password and records
//! `RoleChanged { ADMIN, by: system:auth-bootstrap }` — once per log: a bootstrap ADMIN that
//! another ADMIN demotes stays demoted. If the name is already taken, it is promoted only
//! if its password is the bootstrap password, so whoever squatted the name gains nothing.

use domain::{Role, Timestamp, UserId};

use crate::AuthSettings;
use crate::directory::{AuthEvent, Bootstrap, bootstrap_actor};
use crate::log::{Appender, DirectoryView};
use crate::secrets::{self, Secret};

/// The shortest bootstrap password accepted (as for every password).
const MIN_LENGTH: usize = 12;

/// Why the bootstrap could not run.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The password file could not be read.
    #[error("auth.bootstrap_admin_password_file {path}: {error}")]
    File {
        /// The configured path.
        path: String,
        /// What went wrong.
        error: std::io::Error,
    },
    /// The password is too short to guard ADMIN rights.
    #[error("the bootstrap admin password must have at least {MIN_LENGTH} characters")]
    TooShort,
    /// The ADMIN name is not a valid user id.
    #[error("auth.bootstrap_admin: {0}")]
    Name(String),
    /// The change could not be recorded.
    #[error("cannot record the bootstrap admin: {0}")]
    Log(String),
}

/// The bootstrap password `settings` give (inline, else from its file), if any.
pub fn password(settings: &AuthSettings) -> Result<Option<Secret>, BootstrapError> {
    let secret = match (
        &settings.bootstrap_admin_password,
        &settings.bootstrap_admin_password_file,
    ) {
        (Some(secret), _) => secret.clone(),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|error| BootstrapError::File {
                path: path.clone(),
                error,
            })?;
            Secret::new(text.trim_end_matches(['\n', '\r']))
        }
        (None, None) => return Ok(None),
    };
    // An empty setting (e.g. `LEAKY_AUTH__BOOTSTRAP_ADMIN_PASSWORD=`) means none.
    if secret.expose().is_empty() {
        return Ok(None);
    }
    if secret.expose().chars().count() < MIN_LENGTH {
        return Err(BootstrapError::TooShort);
    }
    Ok(Some(secret))
}

/// Makes the bootstrap ADMIN if the settings give a password and the log needs one.
pub async fn run(
    settings: &AuthSettings,
    view: &DirectoryView,
    appender: &Appender,
) -> Result<(), BootstrapError> {
    let Some(password) = password(settings)? else {
        if view.read(|d| d.bootstrap(&placeholder())) != Bootstrap::Done {
            tracing::warn!(
                "no bootstrap admin password and no ADMIN yet: set \
                 LEAKY_AUTH__BOOTSTRAP_ADMIN_PASSWORD to make one"
            );
        }
        return Ok(());
    };
    let admin = UserId::parse(&settings.bootstrap_admin)
        .map_err(|e| BootstrapError::Name(e.to_string()))?;
    let now = Timestamp::from_system_time(std::time::SystemTime::now());
    let mut events = Vec::new();
    match view.read(|d| d.bootstrap(&admin)) {
        Bootstrap::Done => return Ok(()),
        Bootstrap::Register => {
            let secret = password.clone();
            let password_hash =
                tokio::task::spawn_blocking(move || secrets::hash_password(secret.expose()))
                    .await
                    .map_err(|e| BootstrapError::Log(e.to_string()))?
                    .map_err(BootstrapError::Log)?;
            events.push(AuthEvent::UserRegistered {
                user: admin.clone(),
                password_hash,
                role: Role::User,
                at: now,
            });
        }
        Bootstrap::PromoteIfPasswordMatches(hash) => {
            let secret = password.clone();
            let matches = tokio::task::spawn_blocking(move || {
                secrets::password_matches(secret.expose(), &hash)
            })
            .await
            .unwrap_or(false);
            if !matches {
                tracing::error!(
                    admin = %admin,
                    "the bootstrap admin name is registered with another password: it is \
                     NOT made ADMIN; choose another auth.bootstrap_admin"
                );
                return Ok(());
            }
        }
    }
    events.push(AuthEvent::RoleChanged {
        user: admin.clone(),
        role: Role::Admin,
        by: bootstrap_actor(),
        at: now,
    });
    let mut last = 0;
    for event in &events {
        last = appender
            .append(event)
            .await
            .map_err(|e| BootstrapError::Log(e.to_string()))?;
    }
    if !view.caught_up_to(last).await {
        return Err(BootstrapError::Log("not read back in time".into()));
    }
    tracing::info!(admin = %admin, "made the bootstrap ADMIN");
    Ok(())
}

/// Any valid name: whether the log is bootstrapped does not depend on it.
fn placeholder() -> UserId {
    UserId::parse("admin").expect("a valid user id")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_comes_inline_or_from_a_file_and_must_be_long() {
        let mut settings = AuthSettings::default();
        assert!(password(&settings).unwrap().is_none());
        settings.bootstrap_admin_password = Some(Secret::new("short"));
        assert!(matches!(password(&settings), Err(BootstrapError::TooShort)));
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "a long bootstrap password\n").unwrap();
        settings.bootstrap_admin_password = None;
        settings.bootstrap_admin_password_file = Some(file.path().display().to_string());
        assert_eq!(
            password(&settings).unwrap().unwrap().expose(),
            "a long bootstrap password"
        );
    }
}
