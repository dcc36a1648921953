//! The "processing" of this chapter and its audit: each processed record is
//! one line `partition:offset:payload` in a file. A line in the file is a
//! record that was processed; a record that appears twice was processed
//! twice; a produced offset that never appears was lost.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use rdkafka::message::{BorrowedMessage, Message};

use crate::lesson::Deduplicator;

/// The file the worker appends to.
pub struct Sink {
    file: File,
}

impl Sink {
    pub fn open(path: &Path) -> Result<Sink> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Sink { file })
    }

    /// One `write` per record: once it returns, the line survives even a
    /// SIGKILL of this process (it is in the kernel, not in our buffers).
    pub fn process(&mut self, message: &BorrowedMessage<'_>) -> Result<()> {
        let payload = String::from_utf8_lossy(message.payload().unwrap_or_default());
        let line = format!("{}:{}:{payload}\n", message.partition(), message.offset());
        self.file.write_all(line.as_bytes())?;
        Ok(())
    }
}

/// What the sink file says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    /// Produced records never processed.
    pub lost: BTreeSet<i64>,
    /// Records processed more than once, and how many extra times in total.
    pub duplicated: BTreeSet<i64>,
    pub extra_deliveries: usize,
    pub processed_lines: usize,
}

/// The (partition, offset) of every line of the sink file, in order.
fn lines(sink: &Path) -> Result<Vec<(i32, i64)>> {
    let mut records = Vec::new();
    for line in BufReader::new(File::open(sink)?).lines() {
        let line = line?;
        let mut fields = line.splitn(3, ':');
        let (Some(partition), Some(offset)) = (fields.next(), fields.next()) else {
            bail!("malformed sink line {line:?}");
        };
        records.push((partition.parse()?, offset.parse()?));
    }
    Ok(records)
}

/// Compares the sink (partition 0) with the `produced` offsets 0..produced.
pub fn audit(sink: &Path, produced: i64) -> Result<Audit> {
    let records = lines(sink)?;
    let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
    for (_, offset) in &records {
        *seen.entry(*offset).or_default() += 1;
    }
    Ok(Audit {
        lost: (0..produced).filter(|o| !seen.contains_key(o)).collect(),
        duplicated: seen
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(o, _)| *o)
            .collect(),
        extra_deliveries: seen.values().map(|n| n - 1).sum(),
        processed_lines: records.len(),
    })
}

/// Replays the sink file through the lesson's [`Deduplicator`]: the records
/// an idempotent consumer would have applied, each once.
pub fn apply_deduplicated(sink: &Path) -> Result<Vec<(i32, i64)>> {
    let mut dedupe = Deduplicator::default();
    Ok(lines(sink)?
        .into_iter()
        .filter(|&(partition, offset)| dedupe.first_time(partition, offset))
        .collect())
}
