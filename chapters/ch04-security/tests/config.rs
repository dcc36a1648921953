//! Settings mistakes that need no broker: librdkafka refuses them when the
//! client is created. And what this workspace's librdkafka was built with.

use ch04_security::lesson::{Login, secure_config};
use rdkafka::ClientConfig;
use rdkafka::producer::BaseProducer;

fn login() -> Login {
    Login::new("localhost:9392", None, "alice", "s3cret-Value")
}

fn create_error(config: &ClientConfig) -> String {
    match config.create::<BaseProducer>() {
        Ok(_) => panic!("the client was created"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn librdkafka_is_built_with_tls_and_scram() {
    // `builtin.features` lists what librdkafka was compiled with (rdkafka's
    // `ssl` feature: `--enable-ssl`, which brings SASL/SCRAM along).
    let native = ClientConfig::new()
        .create_native_config()
        .expect("native config");
    let features = native.get("builtin.features").expect("builtin.features");
    for feature in ["ssl", "sasl_scram", "zstd"] {
        assert!(
            features.split(',').any(|f| f == feature),
            "{feature} missing in {features}"
        );
    }
}

#[test]
fn a_misspelled_mechanism_fails_at_client_creation() {
    let mut config = secure_config(&login());
    config.set("sasl.mechanism", "SCRAM-SHA512");
    let error = create_error(&config);
    assert!(
        error.contains("Unsupported SASL mechanism: SCRAM-SHA512"),
        "{error}"
    );
}

#[test]
fn a_forgotten_mechanism_means_gssapi_which_this_build_lacks() {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", "localhost:9392")
        .set("security.protocol", "SASL_SSL")
        .set("sasl.username", "alice")
        .set("sasl.password", "x");
    let error = create_error(&config);
    assert!(
        error.contains("No provider for SASL mechanism GSSAPI"),
        "{error}"
    );
}

#[test]
fn hostname_verification_is_on_by_default() {
    let native = ClientConfig::new()
        .create_native_config()
        .expect("native config");
    assert_eq!(
        native.get("ssl.endpoint.identification.algorithm").unwrap(),
        "https"
    );
}

#[test]
fn the_password_never_shows_in_debug_output() {
    let text = format!("{:?}", login());
    assert!(!text.contains("s3cret-Value"), "{text}");
    assert!(text.contains("<redacted>"), "{text}");
}
