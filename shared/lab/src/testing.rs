//! Test support: a real cluster or a clear failure, unique names, bounded
//! waits, produce-and-collect helpers, and child processes to kill.
//!
//! Integration tests never skip. If no broker answers, [`test_cluster`]
//! panics with the same actionable message the binaries print, so a missing
//! broker is a red test, not a silent green one.

use std::future::Future;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use futures::StreamExt;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use tutorial_support::Cluster;
use tutorial_support::brokers::{BROKERS_ENV, MOCK, default_brokers};

/// The offsets `group` committed for `partitions` of `topic`, asked from
/// outside the group (OffsetFetch, without joining it). Partitions without
/// a committed offset are left out.
pub fn committed_offsets(
    bootstrap: &str,
    topic: &str,
    group: &str,
    partitions: impl IntoIterator<Item = i32>,
) -> Result<std::collections::BTreeMap<i32, i64>, rdkafka::error::KafkaError> {
    let client: rdkafka::consumer::BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .create()?;
    let mut list = TopicPartitionList::new();
    for partition in partitions {
        list.add_partition(topic, partition);
    }
    let committed = client.committed_offsets(list, STEP_TIMEOUT)?;
    Ok(committed
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(offset) => Some((e.partition(), offset)),
            _ => None,
        })
        .collect())
}

/// The offset `group` committed for partition 0 of `topic`; `None` if it
/// committed nothing. Panics if the broker cannot be asked (tests only).
pub fn committed_offset(bootstrap: &str, topic: &str, group: &str) -> Option<i64> {
    committed_offsets(bootstrap, topic, group, [0])
        .unwrap_or_else(|e| panic!("committed offsets of {group} on {topic}: {e}"))
        .get(&0)
        .copied()
}

/// Runs a chapter binary against an address where no broker listens
/// (`KAFKA_BROKERS=localhost:1`) and checks what every chapter promises: a
/// non-zero exit within 15 s, no panic, and an error naming the address and
/// how to start a broker. Returns the output for further checks.
pub fn assert_fails_fast_without_broker(mut command: Command) -> String {
    command.env(BROKERS_ENV, "localhost:1");
    let started = Instant::now();
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(15));
    let output = child.transcript();
    assert!(!status.success(), "must exit non-zero:\n{output}");
    assert!(started.elapsed() < Duration::from_secs(15), "{output}");
    for needle in ["error:", "localhost:1", "cargo xtask kafka up"] {
        assert!(output.contains(needle), "missing {needle:?} in:\n{output}");
    }
    assert!(
        !output.contains("panicked"),
        "no panic as user interface:\n{output}"
    );
    output
}

/// Default bound for one step of a test that talks to the broker.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// The cluster named by `KAFKA_BROKERS` (default `localhost:9092`).
///
/// Panics, with instructions, if it does not answer within ~10 s or if it is
/// the mock cluster: integration tests prove claims about Apache Kafka.
pub fn test_cluster() -> Cluster {
    tutorial_support::init_tracing();
    let spec = std::env::var(BROKERS_ENV).unwrap_or_else(|_| default_brokers());
    assert!(
        !spec.trim().eq_ignore_ascii_case(MOCK),
        "{BROKERS_ENV}=mock: integration tests run against a real Apache Kafka broker; \
         unset it or start one with `cargo xtask kafka up`"
    );
    match Cluster::connect(&spec) {
        Ok(cluster) => cluster,
        Err(error) => panic!(
            "integration tests need a running Apache Kafka broker (the mock cluster is not accepted for them).\n{error}"
        ),
    }
}

/// [`test_cluster`], and at least `needed` brokers in it. A broker that a
/// test before this one killed and restarted takes some seconds to register
/// again (the JVM starts, the controller unfences it), so when the local
/// cluster (`cargo xtask kafka up --nodes N`) has enough nodes, a cluster
/// short of brokers gets 120 s before the test fails (under load a
/// restarted node took 45 s).
pub fn test_cluster_with_brokers(needed: usize) -> Cluster {
    let local_nodes = crate::nodes().map(|n| n.len()).unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut waited = false;
    loop {
        let cluster = test_cluster();
        match cluster.require_brokers(needed) {
            Ok(()) => return cluster,
            Err(error) if local_nodes < needed || Instant::now() >= deadline => panic!("{error}"),
            Err(error) => {
                if !waited {
                    eprintln!("{error}\nwaiting up to 120 s: a broker may be restarting");
                    waited = true;
                }
                thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

pub use tutorial_support::topics::unique_name;

/// Awaits `future`, panicking with `what` if it takes longer than `limit`.
pub async fn within<T>(limit: Duration, what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {limit:?} waiting for {what}"),
    }
}

/// A topic created for one test and deleted (best effort) when dropped.
pub struct TestTopic {
    pub name: String,
    pub partitions: i32,
    admin: AdminClient<DefaultClientContext>,
}

impl TestTopic {
    /// Creates a uniquely named topic and waits until every partition has a leader.
    pub async fn create(
        cluster: &Cluster,
        prefix: &str,
        partitions: i32,
        replication: i32,
    ) -> TestTopic {
        let name = unique_name(prefix);
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .create()
            .expect("admin client");
        if let Some(mock) = cluster.mock() {
            mock.create_topic(&name, partitions, replication)
                .expect("mock create_topic");
        } else {
            let topic = NewTopic::new(&name, partitions, TopicReplication::Fixed(replication));
            let options = AdminOptions::new().operation_timeout(Some(STEP_TIMEOUT));
            let results = within(
                STEP_TIMEOUT,
                "CreateTopics",
                admin.create_topics([&topic], &options),
            )
            .await
            .expect("CreateTopics request");
            for result in results {
                match result {
                    Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                    Err((topic, code)) => panic!("creating test topic {topic}: {code}"),
                }
            }
        }
        let topic = TestTopic {
            name,
            partitions,
            admin,
        };
        topic.wait_for_leaders().await;
        topic
    }

    async fn wait_for_leaders(&self) {
        let partitions = Some(self.partitions as usize);
        if let Err(error) = tutorial_support::topics::wait_for_leaders(
            self.admin.inner(),
            &self.name,
            partitions,
            STEP_TIMEOUT,
        )
        .await
        {
            panic!("{error}");
        }
    }
}

impl Drop for TestTopic {
    fn drop(&mut self) {
        let options = AdminOptions::new()
            .operation_timeout(Some(Duration::from_secs(5)))
            .request_timeout(Some(Duration::from_secs(5)));
        // The admin client's futures are completed by its own thread, so
        // blocking on them here does not need (or stall) a tokio runtime.
        let _ = futures::executor::block_on(self.admin.delete_topics(&[&self.name], &options));
    }
}

/// A record as a test sees it: owned, UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub payload: String,
    pub timestamp_ms: Option<i64>,
}

/// Produces `records` (key, payload) in order with acks=all and returns each
/// record's (partition, offset). Panics on any delivery failure.
pub async fn produce(
    cluster: &Cluster,
    topic: &str,
    records: impl IntoIterator<Item = (Option<String>, String)>,
) -> Vec<(i32, i64)> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("acks", "all")
        .set("message.timeout.ms", "30000")
        .create()
        .expect("test producer");
    let sends = records.into_iter().map(|(key, payload)| {
        let producer = &producer;
        async move {
            let mut record = FutureRecord::to(topic).payload(&payload);
            if let Some(key) = key.as_deref() {
                record = record.key(key);
            }
            producer.send(record, Duration::from_secs(30)).await
        }
    });
    // `join_all` polls the sends together, so they are queued in order and
    // batched, but awaited as a group.
    let results = within(
        STEP_TIMEOUT * 2,
        "test records to be delivered",
        futures::future::join_all(sends),
    )
    .await;
    results
        .into_iter()
        .map(|r| match r {
            Ok(d) => (d.partition, d.offset),
            Err((error, _)) => panic!("test record not delivered: {error}"),
        })
        .collect()
}

/// Reads every partition of `topic` from the beginning, without a consumer
/// group, until `expected` records arrived; panics after `limit`.
pub async fn read_all(
    cluster: &Cluster,
    topic: &str,
    expected: usize,
    limit: Duration,
) -> Vec<Record> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("group.id", unique_name("test-reader"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("test consumer");
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata for read_all");
    let mut assignment = TopicPartitionList::new();
    for partition in metadata.topics()[0].partitions() {
        assignment
            .add_partition_offset(topic, partition.id(), Offset::Beginning)
            .expect("assignment");
    }
    consumer.assign(&assignment).expect("assign");
    let mut records = Vec::with_capacity(expected);
    let mut stream = consumer.stream();
    let outcome = tokio::time::timeout(limit, async {
        while records.len() < expected {
            let Some(message) = stream.next().await else {
                break;
            };
            let message = message.expect("fetch");
            records.push(to_record(&message));
        }
    })
    .await;
    drop(stream);
    if outcome.is_err() {
        panic!(
            "read {} of {expected} records from {topic} in {limit:?}",
            records.len()
        );
    }
    records
}

/// Converts a borrowed message into an owned [`Record`].
pub fn to_record(message: &impl Message) -> Record {
    Record {
        partition: message.partition(),
        offset: message.offset(),
        key: message
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned()),
        payload: message
            .payload()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default(),
        timestamp_ms: message.timestamp().to_millis(),
    }
}

/// A child process whose output a test watches and which it can signal or kill.
pub struct ChildProcess {
    child: Child,
    lines: Receiver<String>,
    transcript: Arc<Mutex<String>>,
}

/// Why a watched child process did not do what was expected.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    #[error("starting {command}: {error}")]
    Spawn {
        command: String,
        error: std::io::Error,
    },
    #[error("no line containing {needle:?} within {limit:?}; output so far:\n{output}")]
    NoLine {
        needle: String,
        limit: Duration,
        output: String,
    },
    #[error("the child exited before printing {needle:?}; output:\n{output}")]
    ExitedFirst { needle: String, output: String },
    #[error("the child did not exit within {limit:?} and was killed; output:\n{output}")]
    Timeout { limit: Duration, output: String },
    #[error("the child failed ({status}); output:\n{output}")]
    Failed { status: ExitStatus, output: String },
    #[error("waiting for the child: {0}")]
    Io(#[from] std::io::Error),
}

impl ChildProcess {
    /// Spawns `command` with stdout and stderr captured (both streams are
    /// merged, line by line, into one transcript). Panics if it cannot start.
    pub fn spawn(command: Command) -> ChildProcess {
        Self::try_spawn(command).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`ChildProcess::spawn`], returning an error instead of panicking (for
    /// lab drills that a showcase runs too).
    pub fn try_spawn(mut command: Command) -> Result<ChildProcess, ChildError> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| ChildError::Spawn {
                command: format!("{command:?}"),
                error,
            })?;
        let (sender, lines) = mpsc::channel();
        let transcript = Arc::new(Mutex::new(String::new()));
        let streams: [Option<Box<dyn Read + Send>>; 2] = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ];
        for stream in streams.into_iter().flatten() {
            let sender = sender.clone();
            let transcript = Arc::clone(&transcript);
            thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Ok(mut t) = transcript.lock() {
                        t.push_str(&line);
                        t.push('\n');
                    }
                    let _ = sender.send(line);
                }
            });
        }
        Ok(ChildProcess {
            child,
            lines,
            transcript,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the child printed so far.
    pub fn transcript(&self) -> String {
        self.transcript
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default()
    }

    /// Waits for an output line containing `needle` and returns it. Panics,
    /// showing the transcript, on timeout or if the child's output ends first.
    pub fn wait_for_line(&mut self, needle: &str, limit: Duration) -> String {
        self.try_wait_for_line(needle, limit)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`ChildProcess::wait_for_line`], returning an error instead of panicking.
    pub fn try_wait_for_line(
        &mut self,
        needle: &str,
        limit: Duration,
    ) -> Result<String, ChildError> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return Ok(line),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(ChildError::NoLine {
                        needle: needle.into(),
                        limit,
                        output: self.transcript(),
                    });
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(ChildError::ExitedFirst {
                        needle: needle.into(),
                        output: self.transcript(),
                    });
                }
            }
        }
    }

    /// Sends `signal` (e.g. SIGTERM, SIGINT) to the child.
    pub fn signal(&self, signal: Signal) {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).expect("pid fits i32"));
        kill(pid, signal).expect("signal the child");
    }

    /// SIGKILL: the child gets no chance to flush or commit (it also ends a
    /// stopped process).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The exit status if the child has exited, without waiting (and
    /// without killing it).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for the child to exit; kills it and panics after `limit`.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        self.try_wait(limit).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`ChildProcess::wait`], returning an error (after killing the child)
    /// instead of panicking.
    pub fn try_wait(&mut self, limit: Duration) -> Result<ExitStatus, ChildError> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait()? {
                // Give the reader threads a moment to drain the pipes.
                thread::sleep(Duration::from_millis(50));
                return Ok(status);
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(ChildError::Timeout {
                    limit,
                    output: self.transcript(),
                });
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for a successful exit within `limit` and returns the transcript.
    pub fn finish(&mut self, limit: Duration) -> Result<String, ChildError> {
        let status = self.try_wait(limit)?;
        let output = self.transcript();
        if status.success() {
            Ok(output)
        } else {
            Err(ChildError::Failed { status, output })
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// CRC-32 (IEEE 802.3, the zlib one), bit by bit: the hash of librdkafka's
/// default partitioner, small enough to check by eye.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The `key=value` fields of the `summary: STEP` line a showcase printed
/// (see `tutorial_support::summary`); panics, showing the output, if the
/// line is missing.
pub fn summary_of(output: &str, step: &str) -> std::collections::BTreeMap<String, String> {
    tutorial_support::parse_summary(output, step)
        .unwrap_or_else(|| panic!("no `summary: {step}` line in the output:\n{output}"))
}

/// Runs a chapter on librdkafka's mock cluster (`KAFKA_BROKERS=mock`) and
/// checks that it stops the way `cargo xtask tour` expects when a step
/// needs Apache Kafka: exit code `EXIT_NEEDS_REAL_BROKER`, a
/// `needs a real broker` line, no panic, within `limit`. Returns the output.
pub fn assert_needs_real_broker_on_mock(mut command: Command, limit: Duration) -> String {
    command.env(BROKERS_ENV, MOCK);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(limit);
    let output = child.transcript();
    assert_eq!(
        status.code(),
        Some(i32::from(tutorial_support::EXIT_NEEDS_REAL_BROKER)),
        "on the mock cluster the chapter must stop with exit code 3:\n{output}"
    );
    assert!(output.contains("needs a real broker"), "{output}");
    assert!(
        !output.contains("panicked"),
        "no panic as user interface:\n{output}"
    );
    output
}
