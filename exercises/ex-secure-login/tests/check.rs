//! Decides `ex-secure-login` on the secured node of `cargo xtask kafka up
//! --secure`. Each test logs in with the participant's settings through
//! 四.6's `check_login`, which returns the first error librdkafka reports
//! (a failed handshake or login is otherwise retried forever, silently).

use std::time::Duration;

use ch04_security::lab::SecureNode;
use ch04_security::lesson::{LoginError, check_login};
use ex_secure_login::{Login, client_config};
use kafka_layout::secure::{ALICE, password};

/// Far above the ~1 s a refusal takes.
const LIMIT: Duration = Duration::from_secs(30);

fn node() -> SecureNode {
    SecureNode::find().unwrap_or_else(|missing| panic!("{missing}"))
}

fn alices_password() -> String {
    password(ALICE).expect("alice's generated password (written by `kafka up --secure`)")
}

#[test]
fn alice_logs_in_over_tls_with_scram() {
    let node = node();
    let password = alices_password();
    let login = Login {
        bootstrap: &node.bootstrap,
        ca_file: &node.ca,
        username: ALICE,
        password: &password,
    };
    match check_login(&client_config(&login), LIMIT) {
        Ok(brokers) => assert_eq!(brokers, 1, "the secured node is one broker"),
        Err(error) => panic!("alice could not log in at {}: {error}", node.bootstrap),
    }
}

#[test]
fn a_wrong_password_is_refused_by_the_login() {
    let node = node();
    let login = Login {
        bootstrap: &node.bootstrap,
        ca_file: &node.ca,
        username: ALICE,
        password: "not-alices-password",
    };
    match check_login(&client_config(&login), LIMIT) {
        Err(LoginError::Authentication(reason)) => {
            assert!(reason.contains("SCRAM-SHA-512"), "{reason}");
        }
        Ok(_) => panic!("logged in with a wrong password: is sasl.password the one given?"),
        Err(other) => panic!(
            "expected the broker to refuse the password (SASL authentication failed); \
             the connection failed before any login: {other}"
        ),
    }
}

#[test]
fn the_certificate_must_name_the_host_dialled() {
    let node = node();
    let password = alices_password();
    // The same socket, another name: the certificate says `localhost` only.
    let by_ip = node.bootstrap.replace("localhost", "127.0.0.1");
    let login = Login {
        bootstrap: &by_ip,
        ca_file: &node.ca,
        username: ALICE,
        password: &password,
    };
    match check_login(&client_config(&login), LIMIT) {
        Err(LoginError::Tls(reason)) if reason.contains("certificate verify failed") => {}
        Ok(_) => panic!(
            "logged in at {by_ip} although the broker's certificate names only localhost: \
             this client does not verify certificates (ssl.endpoint.identification.algorithm=none \
             or enable.ssl.certificate.verification=false?)"
        ),
        Err(other) => panic!(
            "expected the TLS handshake to fail at {by_ip} (\"certificate verify failed\"), got: {other}"
        ),
    }
}
