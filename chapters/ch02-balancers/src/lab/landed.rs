//! Where another client's records landed: remember each partition's end
//! offset before it writes, then read from there.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// Bound for every single request to the cluster in this lab.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound for reading another client's records back.
const READ_LIMIT: Duration = Duration::from_secs(30);

/// The end offset (high watermark) of every partition: where the records
/// written from now on will start. Right after a topic was created a broker
/// may still answer "not leader" for a moment, so this retries briefly.
pub async fn end_offsets(bootstrap: &str, topic: &str) -> Result<BTreeMap<i32, i64>> {
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    loop {
        match query_end_offsets(&client, topic) {
            Ok(ends) => return Ok(ends),
            Err(error) if Instant::now() > deadline => {
                return Err(error.context(format!("end offsets of {topic}")));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

fn query_end_offsets(client: &BaseConsumer, topic: &str) -> Result<BTreeMap<i32, i64>> {
    let metadata = client.fetch_metadata(Some(topic), REQUEST_TIMEOUT)?;
    let Some(topic_metadata) = metadata.topics().first() else {
        bail!("no metadata for topic {topic}");
    };
    let mut ends = BTreeMap::new();
    for p in topic_metadata.partitions() {
        let (_, high) = client.fetch_watermarks(topic, p.id(), REQUEST_TIMEOUT)?;
        ends.insert(p.id(), high);
    }
    if ends.is_empty() {
        bail!("topic {topic} has no partitions (does it exist?)");
    }
    Ok(ends)
}

/// A record written by another client, read back: its key, its position in
/// the order it was written (the value), and the partition it landed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landed {
    pub key: String,
    pub index: usize,
    pub partition: i32,
}

/// Reads `count` records starting at `from` (per partition), without joining
/// a consumer group, and returns them in the order they were written (their
/// value is their index). A consumer reads partition by partition, so the
/// order it sees is not the write order.
pub async fn read_landed(
    bootstrap: &str,
    topic: &str,
    from: &BTreeMap<i32, i64>,
    count: usize,
) -> Result<Vec<Landed>> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        // librdkafka wants a group.id even for assign(), which never joins it.
        .set("group.id", "ch02-balancers-reader")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    for (&partition, &offset) in from {
        assignment.add_partition_offset(topic, partition, Offset::Offset(offset))?;
    }
    consumer.assign(&assignment)?;
    let deadline = tokio::time::Instant::now() + READ_LIMIT;
    let mut landed = Vec::with_capacity(count);
    while landed.len() < count {
        let Ok(message) = tokio::time::timeout_at(deadline, consumer.recv()).await else {
            bail!(
                "read {} of {count} records from {topic} within {READ_LIMIT:?}",
                landed.len()
            );
        };
        let message = message?;
        let value = String::from_utf8_lossy(message.payload().unwrap_or_default());
        landed.push(Landed {
            key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
            index: value
                .parse()
                .with_context(|| format!("unexpected value {value:?} in {topic}"))?,
            partition: message.partition(),
        });
    }
    landed.sort_by_key(|l| l.index);
    Ok(landed)
}

/// Distinct keys' records as a key → partition map.
pub fn into_map(landed: Vec<Landed>) -> BTreeMap<String, i32> {
    landed.into_iter().map(|l| (l.key, l.partition)).collect()
}
