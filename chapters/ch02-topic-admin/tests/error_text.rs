//! Where the broker's error text goes. The broker answers CreateTopics with
//! a code *and* a message naming the rejected setting; librdkafka keeps the
//! message (`rd_kafka_topic_result_error_string`, rdkafka.h); rdkafka 0.39's
//! admin wrapper builds its `TopicResult` from the name and the code only
//! (`src/admin.rs`, `build_topic_results`), so the lesson has to find the
//! culprit itself with `validate_only`.
//!
//! The test calls librdkafka's C API directly (unsafe, allowed for this file
//! only), through the client rdkafka created, to show what the wrapper
//! leaves out.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::ptr;

use ch02_topic_admin::admin_client;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::bindings as rd;
use rdkafka::types::RDKafkaErrorCode;
use tutorial_lab::testing::{test_cluster, unique_name};

/// The bad setting both requests carry.
const BAD: (&str, &str) = ("cleanup.policy", "shred");

/// librdkafka's answer to CreateTopics for `topic` with the bad setting:
/// the per-topic error code and error string.
fn librdkafka_answer(admin: &ch02_topic_admin::Admin, topic: &str) -> (i32, Option<String>) {
    let name = CString::new(topic).unwrap();
    let (key, value) = (CString::new(BAD.0).unwrap(), CString::new(BAD.1).unwrap());
    let mut errstr = [0 as std::ffi::c_char; 512];
    // SAFETY: every pointer comes from librdkafka or outlives the call that
    // uses it; the event, queue and NewTopic are destroyed exactly once, and
    // the topic result is read before its event is destroyed.
    unsafe {
        let rk = admin.inner().native_ptr();
        let queue = rd::rd_kafka_queue_new(rk);
        let mut new_topic =
            rd::rd_kafka_NewTopic_new(name.as_ptr(), 1, 1, errstr.as_mut_ptr(), errstr.len());
        assert!(!new_topic.is_null(), "NewTopic_new refused");
        rd::rd_kafka_NewTopic_set_config(new_topic, key.as_ptr(), value.as_ptr());
        rd::rd_kafka_CreateTopics(rk, &mut new_topic, 1, ptr::null(), queue);
        let event = rd::rd_kafka_queue_poll(queue, 20_000);
        assert!(!event.is_null(), "no CreateTopics result within 20 s");
        let result = rd::rd_kafka_event_CreateTopics_result(event);
        let mut count = 0usize;
        let topics = rd::rd_kafka_CreateTopics_result_topics(result, &mut count);
        assert_eq!(count, 1);
        let first = *topics;
        let code = rd::rd_kafka_topic_result_error(first) as i32;
        let text = rd::rd_kafka_topic_result_error_string(first);
        let text = (!text.is_null()).then(|| CStr::from_ptr(text).to_string_lossy().into_owned());
        rd::rd_kafka_event_destroy(event);
        rd::rd_kafka_NewTopic_destroy(new_topic);
        rd::rd_kafka_queue_destroy(queue);
        (code, text)
    }
}

#[tokio::test]
async fn librdkafka_hands_over_the_brokers_error_text_that_rdkafka_admin_results_drop() {
    let cluster = test_cluster();
    let admin = admin_client(cluster.bootstrap_servers()).unwrap();

    // Through rdkafka: a name and a code, nothing else to read.
    let topic = unique_name("ch02-admin-text");
    let new_topic = NewTopic::new(&topic, 1, TopicReplication::Fixed(1)).set(BAD.0, BAD.1);
    let results = admin
        .create_topics([&new_topic], &AdminOptions::new())
        .await
        .unwrap();
    let (name, code) = match results.first() {
        Some(Err((name, code))) => (name.clone(), *code),
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(
        (name.as_str(), code),
        (topic.as_str(), RDKafkaErrorCode::InvalidConfig)
    );

    // Through librdkafka's C API, from the same client: the code and the
    // broker's message, which names the setting.
    let (code, text) = librdkafka_answer(&admin, &topic);
    println!("librdkafka: code {code}, error string {text:?}");
    assert_eq!(code, RDKafkaErrorCode::InvalidConfig as i32);
    let text = text.expect("librdkafka has the broker's error string");
    assert!(
        text.contains(BAD.0) && text.contains(BAD.1),
        "the message names the setting: {text}"
    );
}
