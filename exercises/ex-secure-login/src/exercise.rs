//! 四.6 exercise: the orders service moves to the secured cluster. Its
//! listener speaks `SASL_SSL`: first TLS — the broker shows a certificate
//! signed by the company's own CA, not by a public one — then a SCRAM
//! login. The client below still has the settings of the plain cluster,
//! plus the user and password it was given.

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
/// secured listener. The check logs in with them three times: as alice,
/// with a wrong password, and at `127.0.0.1` — a name the broker's
/// certificate does not carry.
pub fn client_config(login: &Login) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", login.bootstrap)
        .set("sasl.username", login.username)
        .set("sasl.password", login.password);
    // TODO: this connection speaks TLS and SASL, the login is SCRAM-SHA-512,
    // and the broker's certificate is checked against the CA in
    // `login.ca_file` — including that it names the host we dialled.
    config
}
