use std::time::Duration;

/// Errors from the shared plumbing. Each message says what went wrong *and*
/// what the reader can do about it, because these lines are the user interface.
#[derive(Debug, thiserror::Error)]
pub enum SupportError {
    #[error(
        "no Kafka broker answered at {address} after {waited:.1?} ({reason})\n\
         \n\
         Start a local broker and try again:\n\
         \x20   cargo xtask kafka up            # Apache Kafka from Maven Central, needs Java 17+ and Maven\n\
         \x20   docker compose up -d            # or the same Kafka version with Docker\n\
         or point to another cluster with --brokers host:port (or KAFKA_BROKERS=host:port),\n\
         or use librdkafka's in-process mock cluster with KAFKA_BROKERS=mock."
    )]
    Unreachable {
        address: String,
        waited: Duration,
        reason: String,
    },

    #[error(
        "this step needs a real Kafka broker: {what}.\n\
         librdkafka's mock cluster does not implement it. Start one with `cargo xtask kafka up` \
         (or `docker compose up -d`) and run again without KAFKA_BROKERS=mock."
    )]
    NeedsRealBroker { what: String },

    #[error(
        "this needs {needed} brokers but the cluster at {address} has {found}.\n\
         Start a three-node cluster with `cargo xtask kafka down && cargo xtask kafka up --nodes 3` \
         (or `docker compose --profile cluster up -d kafka-1 kafka-2 kafka-3`)."
    )]
    NotEnoughBrokers {
        address: String,
        needed: usize,
        found: usize,
    },

    #[error("could not start librdkafka's mock cluster: {0}")]
    Mock(rdkafka::error::KafkaError),

    #[error("invalid client setting: {0}")]
    Config(rdkafka::error::KafkaError),
}
