//! The chapter's small lab: the payload every client sends, the codecs
//! librdkafka was built with, and the steps of the demonstration —
//! `linger.ms` under full load, one record per synchronous send, and
//! `linger.ms` over a link with a real round trip ([`link`]). The full
//! comparison (Java, kafka-go, CPU, charts) is `labs/bench`.

pub mod link;

use anyhow::Result;
use rdkafka::ClientConfig;
use tutorial_support::Cluster;
use tutorial_support::topics::{delete_topic, ensure_topic, unique_name};

use crate::lesson::{Load, Measured, ProducerSettings, run_base, sync_sends};

/// The payload every client sends, like Kafka's `ProducerPerformance`:
/// `size` random upper-case letters, generated once and reused for every
/// record (so compressors see the same record over and over).
pub fn payload(size: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..size)
        .map(|_| {
            // xorshift64: enough randomness for letters, no dependency.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            b'A' + (state % 26) as u8
        })
        .collect()
}

/// The seed of every benchmark payload.
pub const PAYLOAD_SEED: u64 = 0x5eed;

/// The builtin features librdkafka was compiled with (`builtin.features`),
/// e.g. to check that zstd is there.
pub fn builtin_features() -> Result<String> {
    let native = ClientConfig::new().create_native_config()?;
    Ok(native.get("builtin.features")?)
}

/// ① `records` records of 1000 B with `BaseProducer`, once per `linger.ms`
/// value, each on a fresh 3-partition topic.
pub async fn linger_sweep(
    cluster: &Cluster,
    records: u64,
    lingers: &[u64],
) -> Result<Vec<(u64, Measured)>> {
    let value = payload(1000, PAYLOAD_SEED);
    let mut rows = Vec::new();
    for &linger_ms in lingers {
        let topic = unique_name("ch04-demo");
        ensure_topic(cluster, &topic, 3, 1, &[]).await?;
        let bootstrap = cluster.bootstrap_servers().to_string();
        let settings = ProducerSettings {
            linger_ms,
            ..ProducerSettings::default()
        };
        let (name, value) = (topic.clone(), value.clone());
        // The send loop blocks (poll, flush): off the async runtime.
        let measured = tokio::task::spawn_blocking(move || {
            let load = Load {
                records,
                payload: &value,
                rate: 0,
            };
            run_base(&bootstrap, &name, &settings, load)
        })
        .await??;
        delete_topic(cluster, &topic).await?;
        rows.push((linger_ms, measured));
    }
    Ok(rows)
}

/// ② One record per synchronous `send().await`, for each `(sends,
/// linger.ms)`, on one fresh single-partition topic.
pub async fn sync_trap(cluster: &Cluster, runs: &[(u64, u64)]) -> Result<Vec<(u64, Measured)>> {
    let topic = unique_name("ch04-demo-sync");
    ensure_topic(cluster, &topic, 1, 1, &[]).await?;
    let mut rows = Vec::new();
    for &(sends, linger_ms) in runs {
        let measured = sync_sends(cluster.bootstrap_servers(), &topic, sends, linger_ms).await?;
        rows.push((linger_ms, measured));
    }
    delete_topic(cluster, &topic).await?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_upper_case_letters_of_the_requested_size() {
        let p = payload(1000, 7);
        assert_eq!(p.len(), 1000);
        assert!(p.iter().all(u8::is_ascii_uppercase));
        assert!(p.iter().collect::<std::collections::HashSet<_>>().len() > 20);
    }

    #[test]
    fn every_codec_in_the_matrix_is_compiled_into_librdkafka() {
        let features = builtin_features().unwrap();
        for codec in ["gzip", "snappy", "zstd", "lz4"] {
            assert!(features.contains(codec), "{codec} missing from {features}");
        }
    }
}
