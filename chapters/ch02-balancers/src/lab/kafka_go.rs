//! The kafka-go side of the comparison: the chapter's Go program
//! (`go/main.go`, kafka-go pinned in `go.mod`), run through
//! [`tutorial_lab::go::GoProgram`].

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use tutorial_lab::go::{FIRST_BUILD_LIMIT, GoProgram};

use super::landed::{Landed, end_offsets, into_map, read_landed};

/// The chapter's Go program.
pub fn program() -> GoProgram {
    GoProgram::new(concat!(env!("CARGO_MANIFEST_DIR"), "/go"))
}

/// `go run . ARGS…`: what it printed, or why it did not run. The first run
/// compiles kafka-go; later runs come from Go's build cache.
async fn run(args: &[&str]) -> Result<String> {
    let captured = program().run(args, FIRST_BUILD_LIMIT).await?;
    if !captured.success() {
        bail!(
            "the kafka-go program failed ({}): {}",
            captured.status,
            captured.text()
        );
    }
    Ok(captured.stdout)
}

/// A kafka-go balancer that hashes the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoHashBalancer {
    /// `&kafka.Hash{}`: FNV-1a.
    Hash,
    /// `kafka.Murmur2Balancer{}`
    Murmur2,
    /// `kafka.CRC32Balancer{}`
    Crc32,
}

// ANCHOR: kafka_go_hash
/// A kafka-go balancer, asked directly: the chapter's Go program
/// (`go/main.go`) calls `balancer.Balance(kafka.Message{Key: ...}, 0, 1, …)`
/// for each key and prints the partition — no broker involved.
pub async fn kafka_go_balance(
    balancer: GoHashBalancer,
    keys: &[&str],
    partitions: i32,
) -> Result<BTreeMap<String, i32>> {
    let name = match balancer {
        GoHashBalancer::Hash => "hash",
        GoHashBalancer::Murmur2 => "murmur2",
        GoHashBalancer::Crc32 => "crc32",
    };
    let partitions = partitions.to_string();
    let mut args = vec!["hash", "-balancer", name, "-partitions", &partitions];
    args.extend_from_slice(keys);
    run(&args)
        .await?
        .lines()
        .map(|line| {
            let (key, partition) = line
                .rsplit_once(' ')
                .with_context(|| format!("malformed line {line:?}"))?;
            Ok((key.to_string(), partition.parse()?))
        })
        .collect()
}
// ANCHOR_END: kafka_go_hash

/// kafka-go's `Hash` balancer (FNV-1a) for each key.
pub async fn kafka_go_hash(keys: &[&str], partitions: i32) -> Result<BTreeMap<String, i32>> {
    kafka_go_balance(GoHashBalancer::Hash, keys, partitions).await
}

/// Which `Balancer` the Go program's `kafka.Writer` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoBalancer {
    /// `Balancer: &kafka.Hash{}`
    Hash,
    /// `Balancer` left nil: the Writer's default.
    WriterDefault,
}

// ANCHOR: kafka_go_write
/// A real kafka-go `Writer` writes one record per entry of `keys` (in this
/// order, value = index) to the broker; we read back where each one landed.
pub async fn kafka_go_write(
    bootstrap: &str,
    topic: &str,
    balancer: GoBalancer,
    keys: &[&str],
) -> Result<Vec<Landed>> {
    let from = end_offsets(bootstrap, topic).await?;
    let balancer_name = match balancer {
        GoBalancer::Hash => "hash",
        GoBalancer::WriterDefault => "default",
    };
    let mut args = vec!["write", "-brokers", bootstrap, "-topic", topic];
    args.extend_from_slice(&["-balancer", balancer_name]);
    args.extend_from_slice(keys);
    run(&args).await?;
    read_landed(bootstrap, topic, &from, keys.len()).await
}
// ANCHOR_END: kafka_go_write

/// [`kafka_go_write`] for distinct keys, as a key → partition map.
pub async fn kafka_go_placements(
    bootstrap: &str,
    topic: &str,
    balancer: GoBalancer,
    keys: &[&str],
) -> Result<BTreeMap<String, i32>> {
    Ok(into_map(
        kafka_go_write(bootstrap, topic, balancer, keys).await?,
    ))
}
