//! Client settings for a `SASL_SSL` listener.
//!
//! Two layers, two questions. TLS answers "is this really my broker, and
//! can anyone read the bytes?": the client checks the broker's certificate
//! against a CA it trusts (`ssl.ca.location`) and checks that the
//! certificate names the host it dialled
//! (`ssl.endpoint.identification.algorithm=https`). SASL answers "who is
//! this client?": with SCRAM-SHA-512 the client proves it knows the password
//! without sending it. The broker then authorizes every request of that
//! principal (`User:<name>`) against its ACLs.

use std::path::PathBuf;

use rdkafka::ClientConfig;

// ANCHOR: env
/// Where the secured listener is (`host:port[,host:port…]`).
pub const BROKERS_ENV: &str = "KAFKA_SECURE_BROKERS";
/// The CA certificate (PEM) that signed the brokers' certificates.
pub const CA_ENV: &str = "KAFKA_SSL_CA_LOCATION";
/// The SCRAM user name.
pub const USERNAME_ENV: &str = "KAFKA_SASL_USERNAME";
/// The SCRAM password itself…
pub const PASSWORD_ENV: &str = "KAFKA_SASL_PASSWORD";
/// …or a file holding it (a Docker/Kubernetes secret mounted as a file).
pub const PASSWORD_FILE_ENV: &str = "KAFKA_SASL_PASSWORD_FILE";
// ANCHOR_END: env

/// The settings 四.6 is about, printed with their effective values
/// (`sasl.password` is deliberately not in the list).
pub const SECURITY_KEYS: &[&str] = &[
    "bootstrap.servers",
    "security.protocol",
    "ssl.ca.location",
    "ssl.endpoint.identification.algorithm",
    "sasl.mechanism",
    "sasl.username",
];

/// Why the login settings are incomplete. The message names the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set: {1}")]
    Missing(&'static str, &'static str),
    #[error("cannot read the password file {path} ({PASSWORD_FILE_ENV}): {error}")]
    PasswordFile {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// Who connects where. `Debug` never shows the password.
#[derive(Clone)]
pub struct Login {
    pub bootstrap: String,
    /// `None`: let OpenSSL use the system's CA store (fine for a public CA,
    /// wrong for a private one such as the secured node's).
    pub ca_location: Option<PathBuf>,
    pub username: String,
    password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("bootstrap", &self.bootstrap)
            .field("ca_location", &self.ca_location)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Login {
    pub fn new(
        bootstrap: impl Into<String>,
        ca_location: Option<PathBuf>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Login {
        Login {
            bootstrap: bootstrap.into(),
            ca_location,
            username: username.into(),
            password: password.into(),
        }
    }

    // ANCHOR: from_env
    /// The login from the environment: the secret comes from outside the
    /// program (an environment variable or a mounted file), never from code.
    pub fn from_env() -> Result<Login, ConfigError> {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        let bootstrap = var(BROKERS_ENV).ok_or(ConfigError::Missing(
            BROKERS_ENV,
            "the SASL_SSL listener, e.g. localhost:9392",
        ))?;
        let username =
            var(USERNAME_ENV).ok_or(ConfigError::Missing(USERNAME_ENV, "the SCRAM user name"))?;
        let password = match (var(PASSWORD_ENV), var(PASSWORD_FILE_ENV)) {
            (Some(password), _) => password,
            (None, Some(path)) => std::fs::read_to_string(&path)
                .map(|text| text.trim_end_matches(['\r', '\n']).to_string())
                .map_err(|error| ConfigError::PasswordFile {
                    path: path.into(),
                    error,
                })?,
            (None, None) => {
                return Err(ConfigError::Missing(
                    PASSWORD_ENV,
                    "set it, or KAFKA_SASL_PASSWORD_FILE to a file holding it",
                ));
            }
        };
        Ok(Login {
            bootstrap,
            ca_location: var(CA_ENV).map(PathBuf::from),
            username,
            password,
        })
    }
    // ANCHOR_END: from_env
}

// ANCHOR: secure_config
/// The settings every client (producer, consumer, admin) needs for a
/// `SASL_SSL` listener with SCRAM-SHA-512.
pub fn secure_config(login: &Login) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &login.bootstrap)
        // TLS for the bytes, SASL for the identity, on one listener.
        .set("security.protocol", "SASL_SSL")
        // Spelled exactly so: "SCRAM-SHA-512" (librdkafka's default is GSSAPI).
        .set("sasl.mechanism", "SCRAM-SHA-512")
        .set("sasl.username", &login.username)
        .set("sasl.password", &login.password)
        // librdkafka's default since 2.0 is already `https` (check the
        // certificate names the host we dialled); saying it keeps anyone from
        // "fixing" a certificate error with `none`.
        .set("ssl.endpoint.identification.algorithm", "https");
    if let Some(ca) = &login.ca_location {
        // A private CA: trust exactly it. Without this, OpenSSL's default
        // store is used and our broker's certificate does not verify.
        config.set("ssl.ca.location", ca.to_string_lossy());
    }
    config
}
// ANCHOR_END: secure_config
