//! Reference solution of `ex-secure-login` (四.6).

use std::path::Path;

use rdkafka::ClientConfig;

/// Who connects where: the secured listener, the CA certificate (PEM) that
/// signed the broker's certificate, and the SCRAM user with its password.
pub struct Login<'a> {
    pub bootstrap: &'a str,
    pub ca_file: &'a Path,
    pub username: &'a str,
    pub password: &'a str,
}

/// The settings every client (producer, consumer, admin) needs for the
/// secured listener.
pub fn client_config(login: &Login) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", login.bootstrap)
        .set("sasl.username", login.username)
        .set("sasl.password", login.password)
        // TLS for the bytes, SASL for the identity, on one connection.
        .set("security.protocol", "SASL_SSL")
        // librdkafka's default mechanism is GSSAPI (Kerberos).
        .set("sasl.mechanism", "SCRAM-SHA-512")
        // A private CA: trust exactly it (OpenSSL's default store lacks it).
        .set("ssl.ca.location", login.ca_file.to_string_lossy())
        // Already librdkafka's default since 2.0; saying it keeps anyone
        // from "fixing" a certificate error with `none`.
        .set("ssl.endpoint.identification.algorithm", "https");
    config
}
