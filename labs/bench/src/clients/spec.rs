//! The settings of one configuration of the matrix, as data: what the bench
//! plans with, hands to every child process (inside a [`super::RunSpec`]),
//! saves in its JSON report, and what `bench-lab produce|consume` take as
//! flags. The chapter's lesson types carry no serde or clap; these do, and
//! convert to them with [`ProducerSpec::settings`] / [`ConsumerSpec::settings`].

use ch04_tuning::lesson::{Acks, Compression, ConsumerSettings, ProducerSettings};
use serde::{Deserialize, Serialize};

/// The producer side of one configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash, clap::Args, Serialize, Deserialize)]
pub struct ProducerSpec {
    /// Bytes of payload per record (no key)
    #[arg(long, default_value_t = 1000)]
    pub record_size: usize,
    /// linger.ms: how long a partition's batch may wait for more records
    #[arg(long, default_value_t = 5)]
    pub linger_ms: u64,
    /// batch.size: the most bytes in one partition's batch
    #[arg(long, default_value_t = 1_000_000)]
    pub batch_size: u64,
    /// batch.num.messages: the most records in one batch (librdkafka only)
    #[arg(long, default_value_t = 10_000)]
    pub batch_num_messages: u64,
    /// compression.type: none, lz4, zstd, snappy or gzip
    #[arg(long, default_value = "none", value_parser = parse_name::<Compression>)]
    #[serde(with = "by_name")]
    pub compression: Compression,
    /// acks: all, 1 or 0
    #[arg(long, default_value = "all", value_parser = parse_name::<Acks>)]
    #[serde(with = "by_name")]
    pub acks: Acks,
    /// enable.idempotence (forces acks=all)
    #[arg(long)]
    pub idempotence: bool,
    /// Offered load in records/s (0 = as fast as possible); for latency at a given rate
    #[arg(long, default_value_t = 0)]
    #[serde(default)]
    pub rate: u64,
    /// Any other librdkafka property, e.g. --set socket.send.buffer.bytes=4194304 (repeatable; ours only)
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = property)]
    #[serde(default)]
    pub extra: Vec<String>,
}

impl Default for ProducerSpec {
    fn default() -> Self {
        let lesson = ProducerSettings::default();
        ProducerSpec {
            record_size: 1000,
            linger_ms: lesson.linger_ms,
            batch_size: lesson.batch_size,
            batch_num_messages: lesson.batch_num_messages,
            compression: lesson.compression,
            acks: lesson.acks,
            idempotence: lesson.idempotence,
            rate: 0,
            extra: Vec::new(),
        }
    }
}

impl ProducerSpec {
    /// The lesson's settings for these knobs.
    pub fn settings(&self) -> ProducerSettings {
        ProducerSettings {
            linger_ms: self.linger_ms,
            batch_size: self.batch_size,
            batch_num_messages: self.batch_num_messages,
            compression: self.compression,
            acks: self.acks,
            idempotence: self.idempotence,
            extra: pairs(&self.extra),
        }
    }

    /// Whether a result can be checked against the topic: nothing confirms
    /// acks=0 records.
    pub fn acknowledged(&self) -> bool {
        self.acks != Acks::Zero
    }

    /// A short name, e.g. `1000 B linger=5 batch=1000000 none acks=all`.
    pub fn label(&self) -> String {
        format!(
            "{} B linger={} batch={} {} acks={}{}{}{}",
            self.record_size,
            self.linger_ms,
            self.batch_size,
            self.compression.name(),
            self.acks.name(),
            if self.idempotence { " idempotent" } else { "" },
            if self.rate > 0 {
                format!(" rate={}/s", self.rate)
            } else {
                String::new()
            },
            self.extra
                .iter()
                .map(|e| format!(" {e}"))
                .collect::<String>()
        )
    }
}

/// The consumer side of one configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash, clap::Args, Serialize, Deserialize)]
pub struct ConsumerSpec {
    /// Bytes per record in the topic (for MiB/s of clients that count records only)
    #[arg(long, default_value_t = 1000)]
    pub record_size: usize,
    /// fetch.min.bytes: the broker holds a fetch until it has this much
    #[arg(long, default_value_t = 1)]
    pub fetch_min_bytes: u64,
    /// fetch.wait.max.ms: …or until this long has passed
    #[arg(long, default_value_t = 500)]
    pub fetch_wait_max_ms: u64,
    /// queued.max.messages.kbytes: how much the client prefetches
    #[arg(long, default_value_t = 65536)]
    pub queued_max_messages_kbytes: u64,
    /// queued.min.messages: records per partition the prefetch aims for
    #[arg(long, default_value_t = 100_000)]
    pub queued_min_messages: u64,
    /// fetch.queue.backoff.ms: pause of a partition's fetching once the prefetch is full
    #[arg(long, default_value_t = 1000)]
    pub fetch_queue_backoff_ms: u64,
    /// Any other librdkafka property (repeatable; ours only)
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = property)]
    #[serde(default)]
    pub extra: Vec<String>,
}

impl Default for ConsumerSpec {
    fn default() -> Self {
        ConsumerSpec::with_record_size(1000)
    }
}

impl ConsumerSpec {
    /// librdkafka's defaults, for a topic of `record_size`-byte records.
    pub fn with_record_size(record_size: usize) -> Self {
        let lesson = ConsumerSettings::default();
        ConsumerSpec {
            record_size,
            fetch_min_bytes: lesson.fetch_min_bytes,
            fetch_wait_max_ms: lesson.fetch_wait_max_ms,
            queued_max_messages_kbytes: lesson.queued_max_messages_kbytes,
            queued_min_messages: lesson.queued_min_messages,
            fetch_queue_backoff_ms: lesson.fetch_queue_backoff_ms,
            extra: Vec::new(),
        }
    }

    /// The lesson's settings for these knobs.
    pub fn settings(&self) -> ConsumerSettings {
        ConsumerSettings {
            fetch_min_bytes: self.fetch_min_bytes,
            fetch_wait_max_ms: self.fetch_wait_max_ms,
            queued_max_messages_kbytes: self.queued_max_messages_kbytes,
            queued_min_messages: self.queued_min_messages,
            fetch_queue_backoff_ms: self.fetch_queue_backoff_ms,
            extra: pairs(&self.extra),
        }
    }

    /// The settings that differ from librdkafka's defaults, or `defaults`.
    pub fn label(&self) -> String {
        let default = ConsumerSettings::default();
        let mut parts = Vec::new();
        if self.fetch_min_bytes != default.fetch_min_bytes {
            parts.push(format!("fetch.min.bytes={}", self.fetch_min_bytes));
        }
        if self.fetch_wait_max_ms != default.fetch_wait_max_ms {
            parts.push(format!("fetch.wait.max.ms={}", self.fetch_wait_max_ms));
        }
        if self.queued_max_messages_kbytes != default.queued_max_messages_kbytes {
            parts.push(format!(
                "queued.max.messages.kbytes={}",
                self.queued_max_messages_kbytes
            ));
        }
        if self.queued_min_messages != default.queued_min_messages {
            parts.push(format!("queued.min.messages={}", self.queued_min_messages));
        }
        if self.fetch_queue_backoff_ms != default.fetch_queue_backoff_ms {
            parts.push(format!(
                "fetch.queue.backoff.ms={}",
                self.fetch_queue_backoff_ms
            ));
        }
        parts.extend(self.extra.iter().cloned());
        if parts.is_empty() {
            "defaults".into()
        } else {
            parts.join(" ")
        }
    }
}

/// `KEY=VALUE` strings as the lesson's `(key, value)` pairs.
fn pairs(extra: &[String]) -> Vec<(String, String)> {
    extra
        .iter()
        .filter_map(|item| item.split_once('='))
        .map(|(key, value)| (key.trim().to_string(), value.trim().to_string()))
        .collect()
}

/// Checks a `--set KEY=VALUE` argument.
fn property(text: &str) -> Result<String, String> {
    match text.split_once('=') {
        Some((key, _)) if !key.trim().is_empty() => Ok(text.to_string()),
        _ => Err(format!(
            "`{text}` is not KEY=VALUE (for example socket.send.buffer.bytes=4194304)"
        )),
    }
}

/// The lesson's enums travel by the names librdkafka uses (`lz4`, `all`, `1`).
pub trait Named: Copy + 'static {
    const WHAT: &'static str;
    fn all() -> &'static [Self];
    fn name(self) -> &'static str;
}

impl Named for Compression {
    const WHAT: &'static str = "compression.type";
    fn all() -> &'static [Self] {
        &Compression::ALL
    }
    fn name(self) -> &'static str {
        Compression::name(self)
    }
}

impl Named for Acks {
    const WHAT: &'static str = "acks";
    fn all() -> &'static [Self] {
        &Acks::ALL
    }
    fn name(self) -> &'static str {
        Acks::name(self)
    }
}

/// The value named `text`, or an error listing the valid names.
pub fn parse_name<T: Named>(text: &str) -> Result<T, String> {
    T::all()
        .iter()
        .copied()
        .find(|value| value.name() == text)
        .ok_or_else(|| {
            let names: Vec<&str> = T::all().iter().map(|v| v.name()).collect();
            format!(
                "unknown {} `{text}`: use one of {}",
                T::WHAT,
                names.join(", ")
            )
        })
}

/// `#[serde(with = "by_name")]` for [`Named`] fields.
mod by_name {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use super::{Named, parse_name};

    pub fn serialize<T: Named, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value.name())
    }

    pub fn deserialize<'de, T: Named, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<T, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_name(&text).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip_as_json_with_librdkafka_names() {
        let spec = ProducerSpec {
            compression: Compression::Zstd,
            acks: Acks::One,
            extra: vec!["socket.send.buffer.bytes=4194304".into()],
            ..ProducerSpec::default()
        };
        let json = serde_json::to_string(&spec).unwrap();
        assert!(
            json.contains(r#""compression":"zstd""#) && json.contains(r#""acks":"1""#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<ProducerSpec>(&json).unwrap(), spec);
        assert_eq!(
            spec.settings().extra,
            [(
                "socket.send.buffer.bytes".to_string(),
                "4194304".to_string()
            )]
        );
        assert!(serde_json::from_str::<ProducerSpec>(&json.replace("zstd", "brotli")).is_err());
    }

    #[test]
    fn defaults_are_the_lessons() {
        assert_eq!(
            ProducerSpec::default().settings(),
            ProducerSettings::default()
        );
        assert_eq!(
            ConsumerSpec::default().settings(),
            ConsumerSettings::default()
        );
        assert_eq!(ConsumerSpec::default().label(), "defaults");
    }
}
