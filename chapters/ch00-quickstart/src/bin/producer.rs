//! Quickstart producer: makes sure the topic exists, sends five keyed records,
//! waits for the broker to confirm each one and prints where it was stored.

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

#[tokio::main]
async fn main() -> ExitCode {
    let brokers = std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "localhost:9092".into());
    let topic = std::env::var("QUICKSTART_TOPIC").unwrap_or_else(|_| "quickstart".into());
    match run(&brokers, &topic).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            eprintln!(
                "Is a Kafka broker running at {brokers}? In the tutorial's repository, start \
                 one with `cargo xtask kafka up` or `docker compose up -d`; or set KAFKA_BROKERS."
            );
            ExitCode::FAILURE
        }
    }
}

async fn run(brokers: &str, topic: &str) -> Result<(), Box<dyn Error>> {
    create_topic(brokers, topic).await?;

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        // How long librdkafka may try to deliver a record, retries included.
        // The default is 5 minutes of silent retrying when no broker answers;
        // 10 s turns a missing broker into an error while you are watching.
        .set("message.timeout.ms", "10000")
        .create()?;

    // Records with the same key go to the same partition, in the order sent.
    for (key, value) in [
        ("user-1", "signed-up"),
        ("user-2", "signed-up"),
        ("user-1", "added-to-cart"),
        ("user-3", "signed-up"),
        ("user-1", "checked-out"),
    ] {
        let record = FutureRecord::to(topic).key(key).payload(value);
        // `send` resolves when the broker has stored the record, or when it
        // failed for good. The 5 s is how long to wait for room while
        // librdkafka's local queue is full; any other error is returned as is.
        match producer.send(record, Duration::from_secs(5)).await {
            Ok(delivery) => println!(
                "sent     key={key} value={value} partition={} offset={}",
                delivery.partition, delivery.offset
            ),
            Err((error, _record)) => return Err(format!("sending key={key}: {error}").into()),
        }
    }

    // Every send above was awaited, so nothing is left in the queue; flush
    // anyway, because dropping a producer discards what is still queued.
    // flush blocks, so it runs on tokio's blocking pool, not on the runtime.
    tokio::task::spawn_blocking(move || producer.flush(Duration::from_secs(10))).await??;
    Ok(())
}

/// Creates the topic with three partitions; "already exists" is fine.
/// A broker with Kafka's default `auto.create.topics.enable=true` would create
/// it on the first record (with `num.partitions`, 1 by default), but many
/// clusters, this tutorial's included, turn that off so that a typo cannot
/// create a topic. Creating it explicitly works on both.
async fn create_topic(brokers: &str, topic: &str) -> Result<(), Box<dyn Error>> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()?;
    let new_topic = NewTopic::new(topic, 3, TopicReplication::Fixed(1));
    // Without a request timeout an unreachable broker would keep us waiting.
    let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    let results = admin.create_topics([&new_topic], &options).await;
    for result in results.map_err(|e| format!("creating topic {topic}: {e}"))? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => return Err(format!("creating topic {name}: {code}").into()),
        }
    }
    Ok(())
}
