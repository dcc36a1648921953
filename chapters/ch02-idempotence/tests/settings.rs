//! What `enable.idempotence=true` demands of the other settings. librdkafka
//! checks them when the producer is created, before it contacts any broker,
//! so these tests need none.

use ch02_idempotence::{INCOMPATIBLE, creation_error, producer_config};
use tutorial_support::settings::effective;

#[test]
fn idempotence_refuses_each_contradicting_explicit_setting_when_the_producer_is_created() {
    for (key, value) in INCOMPATIBLE {
        let error = creation_error(true, key, value)
            .unwrap_or_else(|| panic!("{key}={value} with idempotence must be refused"));
        println!("{key}={value}: {error}");
        // librdkafka names the setting by its short alias (`max.in.flight`).
        let named = key.trim_end_matches(".requests.per.connection");
        assert!(
            error.contains(named) && error.contains("enable.idempotence"),
            "{key}={value}: {error}"
        );
        assert_eq!(
            creation_error(false, key, value),
            None,
            "{key}={value} is fine without idempotence"
        );
    }
}

#[test]
fn the_configuration_shows_the_values_as_set_not_as_librdkafka_adjusts_them() {
    // Read before creation, an idempotent config still holds librdkafka's
    // generic defaults; the cap of 5 is applied when the producer is
    // created (the in-flight test in duplicates.rs measures it on the wire).
    let settings = effective(
        &producer_config("localhost:9092", true),
        &["max.in.flight.requests.per.connection", "retries", "acks"],
    )
    .unwrap();
    let values: Vec<&str> = settings.iter().map(|s| s.value.as_str()).collect();
    assert_eq!(values, vec!["1000000", "2147483647", "-1"]);
}
