//! Quickstart consumer: reads the topic from the beginning as a member of a
//! consumer group, prints every record, commits what it printed, and stops by
//! itself after 10 s without new records (or at Ctrl-C).

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{ClientConfig, Message};
use tokio::time::Instant;

const IDLE: Duration = Duration::from_secs(10);

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
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        // The group remembers how far it has read (its committed offsets).
        .set("group.id", format!("{topic}-group"))
        // Where a group without a committed offset starts: librdkafka's
        // default is the end of the partition (only records produced from now
        // on); "earliest" also shows what the producer sent before we started.
        .set("auto.offset.reset", "earliest")
        // Commits: librdkafka commits in the background every 5 s (default).
        // With the automatic store off, only offsets we store *after*
        // printing a record get committed, so a crash repeats records rather
        // than losing them (at-least-once). Section 三.2 compares the options.
        .set("enable.auto.offset.store", "false")
        .create()?;
    consumer.subscribe(&[topic])?;

    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let mut idle_until = Instant::now() + IDLE;
    let (mut received, mut last_error) = (0, None);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            _ = tokio::time::sleep_until(idle_until) => {
                println!("no new records for {} s: stopping", IDLE.as_secs());
                break;
            }
            result = consumer.recv() => match result {
                Ok(message) => {
                    let key = String::from_utf8_lossy(message.key().unwrap_or_default());
                    let value = String::from_utf8_lossy(message.payload().unwrap_or_default());
                    println!(
                        "received key={key} value={value} partition={} offset={}",
                        message.partition(),
                        message.offset()
                    );
                    consumer.store_offset_from_message(&message)?;
                    received += 1;
                    idle_until = Instant::now() + IDLE;
                }
                // Errors such as "broker down" are reported here while
                // librdkafka keeps retrying; remember the last one.
                Err(error) => last_error = Some(error),
            },
        }
    }

    // Nothing came and the client reported errors: most likely no broker.
    if let (0, Some(error)) = (received, last_error) {
        return Err(format!("no records, and the last error was: {error}").into());
    }
    // Before leaving, commit what the background timer has not committed yet
    // (NoOffset: nothing new to commit). The synchronous commit blocks, and so
    // does leaving the group when the consumer is dropped: both run on tokio's
    // blocking pool.
    let commit =
        tokio::task::spawn_blocking(move || consumer.commit_consumer_state(CommitMode::Sync));
    match commit.await? {
        Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
        Err(error) => return Err(format!("committing: {error}").into()),
    }
    println!("received {received} new record(s) from {topic}, offsets committed");
    Ok(())
}
