//! The lab of 二.3: what proves the lesson's claims.
//!
//! - [`reference`]: the three hashes written out from their published
//!   algorithms, to check librdkafka's choices key by key;
//! - [`java`] and [`kafka_go`]: the other clients of the cross-client
//!   comparison (Kafka's Java console producer, a kafka-go program), read
//!   back through [`landed`];
//! - [`Fixed`], [`histogram`], [`switches`]: a probe partitioner and the
//!   counts the experiments report.

pub mod java;
pub mod kafka_go;
pub mod landed;
pub mod reference;

use rdkafka::producer::Partitioner;
use tutorial_lab::process::RunError;

use crate::lesson::Calls;

/// A partitioner that always answers the same partition: the simplest way
/// to see whether a producer really applies a custom partitioner.
#[derive(Debug, Default)]
pub struct Fixed {
    pub partition: i32,
    pub calls: Calls,
}

impl Fixed {
    pub fn new(partition: i32) -> Self {
        Fixed {
            partition,
            calls: Calls::default(),
        }
    }
}

impl Partitioner for Fixed {
    fn partition(&self, _: &str, _: Option<&[u8]>, _: i32, _: impl Fn(i32) -> bool) -> i32 {
        self.calls.record();
        self.partition
    }
}

/// Records per partition: `counts[p]` records went to partition `p`.
pub fn histogram(partitions_of_records: &[i32], partitions: i32) -> Vec<usize> {
    let mut counts = vec![0; partitions.max(0) as usize];
    for &p in partitions_of_records {
        if let Some(count) = usize::try_from(p).ok().and_then(|p| counts.get_mut(p)) {
            *count += 1;
        }
    }
    counts
}

/// How often the partition changed from one record to the next, in send order.
pub fn switches(partitions_of_records: &[i32]) -> usize {
    partitions_of_records
        .windows(2)
        .filter(|w| w[0] != w[1])
        .count()
}

/// Why a peer client gave no answer, as one word for a `summary:` line:
/// `java-unavailable` (no Java 17+ or no Kafka jars), `go-unavailable`
/// (no `go`), or `failed`.
pub fn unavailable_reason(error: &anyhow::Error) -> &'static str {
    if error.downcast_ref::<kafka_layout::JavaError>().is_some() {
        "java-unavailable"
    } else if matches!(
        error.downcast_ref::<RunError>(),
        Some(RunError::Spawn { .. })
    ) {
        "go-unavailable"
    } else {
        "failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_and_switches_count_what_they_say() {
        assert_eq!(histogram(&[0, 0, 2, 1, 2], 3), vec![2, 1, 2]);
        assert_eq!(switches(&[0, 0, 2, 2, 1]), 2);
        assert_eq!(switches(&[1]), 0);
    }
}
