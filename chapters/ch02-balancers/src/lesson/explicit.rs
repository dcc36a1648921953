//! Partitions chosen by the application: the record names its partition and
//! librdkafka runs no partitioner at all — works with every producer.

use anyhow::{Context, Result};
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::builtin::{await_delivery, producer_config};

// ANCHOR: explicit_round_robin
/// Round-robin decided by the application: the record names its partition,
/// and librdkafka runs no partitioner at all. Works with any producer,
/// `FutureProducer` included.
pub async fn send_round_robin(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    count: usize,
) -> Result<Vec<i32>> {
    let producer: FutureProducer = producer_config(bootstrap, "consistent_random").create()?;
    let partitions = partitions.max(1) as usize;
    let mut deliveries = Vec::with_capacity(count);
    for i in 0..count {
        let record = FutureRecord::<(), _>::to(topic)
            .partition((i % partitions) as i32)
            .payload("x");
        deliveries.push(producer.send_result(record).map_err(|(e, _)| e)?);
    }
    let mut placed = Vec::with_capacity(count);
    for delivery in deliveries {
        placed.push(await_delivery(delivery).await?);
    }
    Ok(placed)
}
// ANCHOR_END: explicit_round_robin

// ANCHOR: least_bytes
/// kafka-go's `LeastBytes`: each record goes to the partition that received
/// the fewest bytes so far. A librdkafka partitioner is given the topic, the
/// key and the partition count — never the payload — so this choice is made
/// by the application and written on the record as an explicit partition.
#[derive(Debug, Default)]
pub struct LeastBytes {
    bytes: Vec<u64>,
}

impl LeastBytes {
    pub fn new(partitions: usize) -> Self {
        LeastBytes {
            bytes: vec![0; partitions],
        }
    }

    /// The partition for a record of `size` bytes (ties: the lowest number).
    pub fn choose(&mut self, size: usize) -> i32 {
        let Some((partition, bytes)) = self.bytes.iter_mut().enumerate().min_by_key(|(_, b)| **b)
        else {
            return 0;
        };
        *bytes += size as u64;
        partition as i32
    }

    /// Bytes chosen for each partition so far.
    pub fn bytes(&self) -> &[u64] {
        &self.bytes
    }
}
// ANCHOR_END: least_bytes

/// Sends payloads of the given sizes, each to the partition [`LeastBytes`]
/// chooses; returns the payload bytes per partition as the broker's delivery
/// reports place them.
pub async fn send_least_bytes(
    bootstrap: &str,
    topic: &str,
    partitions: usize,
    sizes: &[usize],
) -> Result<Vec<u64>> {
    let producer: FutureProducer = producer_config(bootstrap, "consistent_random").create()?;
    let mut chooser = LeastBytes::new(partitions);
    let payloads: Vec<Vec<u8>> = sizes.iter().map(|size| vec![b'x'; *size]).collect();
    let mut deliveries = Vec::with_capacity(sizes.len());
    for payload in &payloads {
        let record = FutureRecord::<(), _>::to(topic)
            .partition(chooser.choose(payload.len()))
            .payload(payload);
        deliveries.push((
            payload.len(),
            producer.send_result(record).map_err(|(e, _)| e)?,
        ));
    }
    let mut stored = vec![0u64; partitions];
    for (size, delivery) in deliveries {
        let partition = await_delivery(delivery).await?;
        let total = usize::try_from(partition)
            .ok()
            .and_then(|p| stored.get_mut(p))
            .with_context(|| format!("delivered to partition {partition} of {partitions}"))?;
        *total += size as u64;
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_bytes_fills_the_emptiest_partition_first() {
        let mut chooser = LeastBytes::new(3);
        assert_eq!(chooser.choose(100), 0);
        assert_eq!(chooser.choose(10), 1);
        assert_eq!(chooser.choose(10), 2);
        assert_eq!(
            chooser.choose(10),
            1,
            "partition 1 has 10 bytes, 2 has 10: lowest wins"
        );
        assert_eq!(chooser.choose(500), 2);
        assert_eq!(chooser.bytes(), [100, 20, 510]);
    }
}
