//! The secured node of `cargo xtask kafka up --secure` (chapter 四.6): where
//! its CA certificate, its users' passwords and its admin client settings
//! are, so the chapter, its tests and the Kafka tools find them without
//! anybody typing a secret.
//!
//! Everything here is generated at `up` time under
//! `target/kafka/secure/` (moved with `KAFKA_PORT_BASE` like the rest of
//! [`crate::kafka_state`]); nothing secret is committed. The node listens on
//! [`crate::ports::secure_client`] (`SASL_SSL`) and
//! [`crate::ports::secure_controller`], both on localhost only.

use std::path::PathBuf;

/// The super user: `super.users` names it; the Kafka tools use it to create
/// topics and ACLs.
pub const ADMIN: &str = "admin";
/// An application user that starts with no ACLs (the chapter grants them).
pub const ALICE: &str = "alice";
/// A user that is only ever allowed to read one topic.
pub const BOB: &str = "bob";
/// Every SCRAM user created when the node's storage is formatted.
pub const USERS: &[&str] = &[ADMIN, ALICE, BOB];
/// The SASL mechanism of the node (and the SCRAM credentials it stores).
pub const MECHANISM: &str = "SCRAM-SHA-512";

/// Why the secured node's files cannot be used. The message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum SecureError {
    #[error(
        "the secured Kafka node's {what} is not at {path}: start the node with \
         `cargo xtask kafka up --secure` (it generates its CA, certificate and passwords)"
    )]
    NotStarted { what: &'static str, path: PathBuf },
    #[error("{path} has no password for user `{user}` (users: {known})")]
    UnknownUser {
        user: String,
        path: PathBuf,
        known: String,
    },
}

/// The secured node's state: configuration, certificates, credentials, data.
pub fn dir() -> PathBuf {
    crate::kafka_state().join("secure")
}

/// The CA certificate (PEM) that signed the broker's certificate: what a
/// client gives as `ssl.ca.location`.
pub fn ca_pem() -> PathBuf {
    dir().join("ca.pem")
}

/// `user=password` lines, one per SCRAM user, mode 0600, regenerated on
/// every `up --secure`.
pub fn credentials_file() -> PathBuf {
    dir().join("credentials.properties")
}

/// A Kafka client properties file for the admin user, for the Kafka tools'
/// `--command-config` (e.g. `kafka-acls`).
pub fn admin_properties() -> PathBuf {
    dir().join("admin.properties")
}

/// The secured listener as a bootstrap address (`localhost:9392`).
pub fn bootstrap() -> String {
    format!("localhost:{}", crate::ports::secure_client())
}

/// The CA file, checked to exist.
pub fn require_ca() -> Result<PathBuf, SecureError> {
    let path = ca_pem();
    if path.exists() {
        Ok(path)
    } else {
        Err(SecureError::NotStarted {
            what: "CA certificate",
            path,
        })
    }
}

/// The password `up --secure` generated for `user`.
pub fn password(user: &str) -> Result<String, SecureError> {
    let path = credentials_file();
    let text = std::fs::read_to_string(&path).map_err(|_| SecureError::NotStarted {
        what: "credentials file",
        path: path.clone(),
    })?;
    parse_credentials(&text)
        .into_iter()
        .find(|(name, _)| name == user)
        .map(|(_, password)| password)
        .ok_or_else(|| SecureError::UnknownUser {
            user: user.to_string(),
            path,
            known: USERS.join(", "),
        })
}

/// Parses `user=password` lines (`#` comments and blank lines ignored).
pub fn parse_credentials(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(user, password)| (user.trim().to_string(), password.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_parsed_and_unknown_users_named() {
        let parsed = parse_credentials("# generated\nadmin=abc\n\nalice = d=ef\n");
        assert_eq!(
            parsed,
            vec![
                ("admin".to_string(), "abc".to_string()),
                ("alice".to_string(), "d=ef".to_string())
            ]
        );
        assert!(ca_pem().ends_with("secure/ca.pem"));
        assert!(bootstrap().starts_with("localhost:"));
    }
}
