//! Records to measure with: a known number per partition.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};

/// Writes `counts[p]` records to partition `p` of `topic` and waits for
/// every acknowledgement.
pub async fn fill_partitions(
    bootstrap: &str,
    topic: &str,
    counts: &[usize],
) -> Result<(), KafkaError> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("message.timeout.ms", "30000")
        .create()?;
    let mut sends = Vec::new();
    for (partition, &count) in counts.iter().enumerate() {
        let partition = i32::try_from(partition).unwrap_or(i32::MAX);
        for i in 0..count {
            let payload = format!("record {i} of partition {partition}");
            let producer = &producer;
            sends.push(async move {
                let record = FutureRecord::<(), _>::to(topic)
                    .partition(partition)
                    .payload(&payload);
                producer.send(record, Duration::from_secs(30)).await
            });
        }
    }
    for result in futures::future::join_all(sends).await {
        result.map_err(|(error, _)| error)?;
    }
    Ok(())
}
