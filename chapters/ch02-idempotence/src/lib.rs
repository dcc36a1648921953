//! Chapter 二.5: the idempotent producer.
//!
//! A producer that does not hear back from the broker cannot tell "my
//! request was lost" from "the answer was lost", so it sends the batch again.
//! If only the answer was lost, the broker already has the batch and, unless
//! it can recognise the repeat, stores it twice. With `enable.idempotence=true`
//! every batch carries the producer's id, epoch and a per-partition sequence
//! number, and the broker answers a repeat with the offset of the copy it
//! already has instead of appending it again.
//!
//! The chapter makes this happen on a real broker: [`proxy::FaultProxy`]
//! stands between the producer and the broker's `PROXIED` listener and
//! swallows the answers to batches the broker has just written.

pub mod proxy;
pub mod wire;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, FutureProducer, FutureRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tutorial_support::brokers::{PROXIED_ADVERTISED, PROXIED_LISTENER};

use crate::proxy::{Fate, FaultProxy, Faults, ProxyReport};

/// Bound for every request this chapter makes outside the producer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long librdkafka may keep retrying a record before it reports it failed.
pub const MESSAGE_TIMEOUT: Duration = Duration::from_secs(20);

/// Where the proxy listens and where it forwards to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The proxy's address. It must be the address the `PROXIED` listener
    /// advertises, or clients would leave the proxy after their first
    /// metadata answer.
    pub listen: String,
    /// The broker's `PROXIED` listener.
    pub proxied: String,
}

impl Default for Route {
    /// The layout of `cargo xtask kafka up` (node 1) and docker-compose.yml:
    /// `PROXIED` on 9192, advertising 9292.
    fn default() -> Self {
        Self {
            listen: PROXIED_ADVERTISED.into(),
            proxied: PROXIED_LISTENER.into(),
        }
    }
}

impl Route {
    /// What clients bootstrap with to go through the proxy.
    pub fn bootstrap(&self) -> &str {
        &self.listen
    }

    fn listen_port(&self) -> Result<u16> {
        self.listen
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse().ok())
            .with_context(|| format!("no port in the proxy address {:?}", self.listen))
    }
}

// ---------------------------------------------------------------------------
// The producer
// ---------------------------------------------------------------------------

// ANCHOR: producer_config
/// The producer of both runs; they differ in `enable.idempotence` only.
pub fn producer_config(bootstrap: &str, idempotent: bool) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", idempotent.to_string())
        // Both runs wait for all in-sync replicas: acks decides when the
        // broker answers, not how often a retried batch is written.
        .set("acks", "all")
        // Small batches, so several requests are on the wire at once.
        .set("batch.num.messages", "100")
        // Every record is settled (delivered or failed) within 20 s instead
        // of librdkafka's default of 5 minutes of retrying.
        .set(
            "message.timeout.ms",
            MESSAGE_TIMEOUT.as_millis().to_string(),
        );
    config
}
// ANCHOR_END: producer_config

/// The settings the chapter prints.
pub const SHOWN_SETTINGS: &[&str] = &[
    "enable.idempotence",
    "acks",
    "max.in.flight.requests.per.connection",
    "retries",
    "batch.num.messages",
    "message.timeout.ms",
];

// ANCHOR: incompatible
/// Settings that contradict idempotence: fewer acknowledgements than all,
/// more than 5 requests in flight per connection, no retries.
pub const INCOMPATIBLE: &[(&str, &str)] = &[
    ("acks", "1"),
    ("acks", "0"),
    ("max.in.flight.requests.per.connection", "6"),
    ("retries", "0"),
];

/// Creates a producer with `key=value` added to [`producer_config`] and
/// returns librdkafka's refusal, or `None` if the producer was created.
pub fn creation_error(idempotent: bool, key: &str, value: &str) -> Option<String> {
    let mut config = producer_config("localhost:9092", idempotent);
    config.set(key, value);
    config
        .create::<BaseProducer>()
        .err()
        .map(|error| error.to_string())
}
// ANCHOR_END: incompatible

/// The proxy breaks connections on purpose, and librdkafka reports each
/// break through the error callback ("Disconnected", "all brokers down")
/// before it reconnects and retries. Here that is the expected course of
/// events, so the reports go to the debug log instead of the screen.
pub struct ExpectBrokenConnections;

impl rdkafka::ClientContext for ExpectBrokenConnections {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        tracing::debug!("expected while the proxy cuts connections: {error}: {reason}");
    }
}

/// What the producer was told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub records: usize,
    /// Delivery reports that said "stored".
    pub acknowledged: usize,
    /// Delivery reports that said "failed", with the first error.
    pub failed: usize,
    pub first_error: Option<String>,
}

// ANCHOR: send_numbered
/// Sends records `0..count` in order, record `n` to partition
/// `n % partitions` with payload `n`, and waits for every delivery report.
pub async fn send_numbered(
    config: &ClientConfig,
    topic: &str,
    count: usize,
    partitions: i32,
) -> Result<Sent> {
    let producer: FutureProducer<ExpectBrokenConnections> =
        config.create_with_context(ExpectBrokenConnections)?;
    let mut deliveries = Vec::with_capacity(count);
    for n in 0..count {
        let payload = n.to_string();
        let partition = i32::try_from(n)? % partitions;
        let record = FutureRecord::<(), _>::to(topic)
            .partition(partition)
            .payload(&payload);
        // `send_result` enqueues now, so the queue holds the records in
        // exactly this order; the future resolves with the delivery report.
        let delivery = producer.send_result(record).map_err(|(e, _)| e)?;
        deliveries.push(delivery);
    }
    // librdkafka settles every record within message.timeout.ms, so this
    // bound is only hit if something is badly wrong.
    let reports = tokio::time::timeout(
        MESSAGE_TIMEOUT + REQUEST_TIMEOUT,
        futures::future::join_all(deliveries),
    )
    .await
    .context("delivery reports did not arrive within message.timeout.ms")?;
    // Every record is settled; flushing confirms nothing is left queued.
    tokio::task::spawn_blocking(move || producer.flush(REQUEST_TIMEOUT)).await??;

    let mut sent = Sent {
        records: count,
        acknowledged: 0,
        failed: 0,
        first_error: None,
    };
    for report in reports {
        match report {
            Ok(Ok(_)) => sent.acknowledged += 1,
            Ok(Err((error, _))) => {
                sent.failed += 1;
                sent.first_error.get_or_insert_with(|| error.to_string());
            }
            Err(_canceled) => bail!("the producer went away before reporting a delivery"),
        }
    }
    Ok(sent)
}
// ANCHOR_END: send_numbered

// ---------------------------------------------------------------------------
// The broker behind the proxy
// ---------------------------------------------------------------------------

// ANCHOR: check_proxied
/// Checks that the broker's `PROXIED` listener answers and advertises the
/// proxy's port; returns the id of the broker behind it.
pub async fn check_proxied_listener(route: &Route) -> Result<i32> {
    let start_it = "start the broker with `cargo xtask kafka up` (or `docker compose up -d`), \
                    which adds the PROXIED listener this chapter's proxy forwards to";
    let reachable = route
        .proxied
        .to_socket_addrs()
        .ok()
        .into_iter()
        .flatten()
        .any(|address| TcpStream::connect_timeout(&address, Duration::from_secs(3)).is_ok());
    if !reachable {
        bail!(
            "nothing answers on {}, the broker's PROXIED listener: {start_it}",
            route.proxied
        );
    }
    // Ask that listener for metadata: it describes each broker by the
    // address it advertises, which must be where the proxy listens. The
    // probe's client connects to that address next, so relay it straight
    // through while we ask (unless a proxy already listens there).
    let clean = Faults {
        withhold: 0,
        delay: Duration::ZERO,
    };
    let relay = FaultProxy::start(&route.listen, &route.proxied, clean)
        .await
        .ok();
    let proxied = route.proxied.clone();
    let probed = tokio::task::spawn_blocking(move || {
        tutorial_support::brokers::probe(&proxied, REQUEST_TIMEOUT)
    })
    .await
    .context("the metadata probe stopped")?;
    if let Some(relay) = relay {
        relay.stop().await;
    }
    let brokers = probed
        .with_context(|| format!("{} does not answer like a Kafka listener", route.proxied))?;
    let port = i32::from(route.listen_port()?);
    match brokers.iter().find(|b| b.port == port) {
        Some(broker) => Ok(broker.id),
        None => bail!(
            "the listener at {} advertises {}, not port {port} where the proxy listens; {start_it}",
            route.proxied,
            brokers
                .iter()
                .map(|b| format!("broker {} at {}:{}", b.id, b.host, b.port))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
// ANCHOR_END: check_proxied

/// Creates `topic` with every partition's only replica on `broker`, the one
/// behind the proxy (on a three-node cluster the other brokers advertise
/// proxy ports nobody listens on), and waits until every partition has it
/// as leader.
pub async fn create_topic(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    broker: i32,
) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let replicas = [broker];
    let assignment: Vec<&[i32]> = (0..partitions).map(|_| &replicas[..]).collect();
    let new_topic = NewTopic::new(topic, partitions, TopicReplication::Variable(&assignment));
    let options = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT));
    let results =
        tokio::time::timeout(REQUEST_TIMEOUT, admin.create_topics([&new_topic], &options))
            .await
            .context("CreateTopics did not answer")??;
    if let Some(Err((name, code))) = results.into_iter().next() {
        bail!("creating topic {name}: {code}");
    }
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    loop {
        let ready = admin
            .inner()
            .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
            .ok()
            .and_then(|m| {
                m.topics().first().map(|t| {
                    t.error().is_none()
                        && t.partitions().len() == partitions as usize
                        && t.partitions().iter().all(|p| p.leader() == broker)
                })
            })
            .unwrap_or(false);
        if ready {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("topic {topic} has no leader for every partition after {REQUEST_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Deletes a scratch topic.
pub async fn delete_topic(bootstrap: &str, topic: &str) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let options = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT));
    tokio::time::timeout(REQUEST_TIMEOUT, admin.delete_topics(&[topic], &options))
        .await
        .context("DeleteTopics did not answer")??;
    Ok(())
}

// ---------------------------------------------------------------------------
// Reading back and counting
// ---------------------------------------------------------------------------

// ANCHOR: read_back
/// Reads every partition of `topic` from the beginning to its end, directly
/// from the broker (not through the proxy): the record numbers in log order.
pub async fn read_back(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
) -> Result<BTreeMap<i32, Vec<u64>>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "ch02-idempotence-audit") // required by librdkafka, never joined
        .set("enable.auto.commit", "false")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    let mut end = BTreeMap::new();
    for partition in 0..partitions {
        let (_, high) = consumer.fetch_watermarks(topic, partition, REQUEST_TIMEOUT)?;
        end.insert(partition, high);
        assignment.add_partition_offset(topic, partition, Offset::Beginning)?;
    }
    consumer.assign(&assignment)?;
    let mut log: BTreeMap<i32, Vec<u64>> = (0..partitions).map(|p| (p, Vec::new())).collect();
    let mut next: BTreeMap<i32, i64> = (0..partitions).map(|p| (p, 0)).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while next.iter().any(|(p, offset)| *offset < end[p]) {
        if Instant::now() > deadline {
            bail!("read {next:?} of {end:?} records of {topic} within 30 s");
        }
        match consumer.poll(Duration::ZERO) {
            Some(message) => {
                let message = message?;
                let number = std::str::from_utf8(message.payload().unwrap_or_default())?
                    .parse()
                    .context("a record that this chapter did not write")?;
                log.entry(message.partition()).or_default().push(number);
                next.insert(message.partition(), message.offset() + 1);
            }
            // `poll` would block the async runtime; yield instead.
            None => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
    Ok(log)
}
// ANCHOR_END: read_back

/// How the stored records compare with what was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    pub stored: usize,
    /// Different record numbers stored.
    pub distinct: usize,
    /// Stored copies beyond the first of each record.
    pub duplicates: usize,
    /// Records sent but not stored at all.
    pub missing: usize,
    /// In every partition the first copies of the records are in send order.
    pub order_kept: bool,
    /// Every partition holds exactly its records, once each, in send order.
    pub exact: bool,
}

// ANCHOR: audit
/// Compares the log with what was sent: records `0..sent`, record `n` in
/// partition `n % partitions`.
pub fn audit(sent: usize, partitions: i32, log: &BTreeMap<i32, Vec<u64>>) -> Audit {
    let expected = |p: i32| -> Vec<u64> {
        (0..sent as u64)
            .filter(|n| *n % partitions as u64 == p as u64)
            .collect()
    };
    let mut audit = Audit {
        stored: 0,
        distinct: 0,
        duplicates: 0,
        missing: 0,
        order_kept: true,
        exact: true,
    };
    for p in 0..partitions {
        let stored = log.get(&p).map(Vec::as_slice).unwrap_or_default();
        let mut seen = BTreeSet::new();
        let first_copies: Vec<u64> = stored.iter().copied().filter(|n| seen.insert(*n)).collect();
        audit.stored += stored.len();
        audit.distinct += first_copies.len();
        audit.order_kept &= first_copies.windows(2).all(|w| w[0] < w[1]);
        audit.exact &= stored == expected(p).as_slice();
    }
    audit.duplicates = audit.stored - audit.distinct;
    audit.missing = sent.saturating_sub(audit.distinct);
    audit
}
// ANCHOR_END: audit

// ---------------------------------------------------------------------------
// What the wire showed
// ---------------------------------------------------------------------------

/// One attempt to deliver a batch, as the proxy saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub connection: u32,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records: i32,
    pub fate: Fate,
    /// Where the broker said the batch is stored (if it answered, success).
    pub stored_at: Option<i64>,
}

/// A batch whose answer the proxy withheld, and every attempt to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetriedBatch {
    pub partition: i32,
    /// The number of the batch's first record.
    pub first_record: u64,
    pub attempts: Vec<Attempt>,
}

// ANCHOR: retried_batches
/// Follows each batch whose answer was withheld through its retries: the
/// later Produce requests for the same partition that start with the same
/// record.
pub fn retried_batches(report: &ProxyReport) -> Vec<RetriedBatch> {
    let first_record = |e: &proxy::ProduceExchange| {
        let request = e.request.as_ref()?;
        let value = std::str::from_utf8(request.first_value.as_deref()?).ok()?;
        Some((request.partition, value.parse::<u64>().ok()?))
    };
    let mut batches: Vec<RetriedBatch> = Vec::new();
    for exchange in &report.exchanges {
        let (Some((partition, first)), Some(request)) = (first_record(exchange), &exchange.request)
        else {
            continue;
        };
        let attempt = Attempt {
            connection: exchange.connection,
            producer_id: request.producer_id,
            producer_epoch: request.producer_epoch,
            base_sequence: request.base_sequence,
            records: request.record_count,
            fate: exchange.fate,
            stored_at: exchange
                .response
                .filter(|r| r.error_code == 0)
                .map(|r| r.base_offset),
        };
        let known = batches
            .iter_mut()
            .find(|b| b.partition == partition && b.first_record == first);
        match known {
            Some(batch) => batch.attempts.push(attempt),
            None => batches.push(RetriedBatch {
                partition,
                first_record: first,
                attempts: vec![attempt],
            }),
        }
    }
    batches.retain(|b| b.attempts.iter().any(|a| a.fate == Fate::Withheld));
    batches
}
// ANCHOR_END: retried_batches

// ---------------------------------------------------------------------------
// The experiments
// ---------------------------------------------------------------------------

/// One run's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub idempotent: bool,
    pub records: usize,
    pub partitions: i32,
    /// Successful Produce answers the proxy withholds.
    pub faults: u32,
}

/// Everything one run observed.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub plan: Plan,
    pub sent: Sent,
    pub audit: Audit,
    pub proxy: ProxyReport,
    pub retried: Vec<RetriedBatch>,
}

/// A fresh topic whose partitions live on the broker behind the proxy, and
/// the proxy in front of it, injecting `faults`.
async fn topic_behind_proxy(
    bootstrap: &str,
    route: &Route,
    topic: &str,
    partitions: i32,
    faults: Faults,
) -> Result<FaultProxy> {
    let broker = check_proxied_listener(route).await?;
    create_topic(bootstrap, topic, partitions, broker).await?;
    start_proxy(route, faults).await
}

async fn start_proxy(route: &Route, faults: Faults) -> Result<FaultProxy> {
    FaultProxy::start(&route.listen, &route.proxied, faults)
        .await
        .with_context(|| {
            format!(
                "starting the proxy on {} (if the address is in use, another run of this \
                 chapter or of its tests holds it: wait until it has finished)",
                route.listen
            )
        })
}

// ANCHOR: trial
/// One run on a fresh topic: the proxy withholds the answers to the first
/// `plan.faults` batches the broker writes; the records go through the
/// proxy and are read back directly from the broker.
pub async fn trial(bootstrap: &str, route: &Route, topic: &str, plan: Plan) -> Result<Outcome> {
    let faults = Faults {
        withhold: plan.faults,
        delay: Duration::ZERO,
    };
    let proxy = topic_behind_proxy(bootstrap, route, topic, plan.partitions, faults).await?;
    let config = producer_config(route.bootstrap(), plan.idempotent);
    let sent = send_numbered(&config, topic, plan.records, plan.partitions).await;
    let report = proxy.stop().await;
    let sent = sent?;
    let log = read_back(bootstrap, topic, plan.partitions).await?;
    Ok(Outcome {
        plan,
        sent,
        audit: audit(plan.records, plan.partitions, &log),
        retried: retried_batches(&report),
        proxy: report,
    })
}
// ANCHOR_END: trial

// ANCHOR: in_flight
/// How many Produce requests the producer keeps waiting for an answer when
/// the broker is slow: the proxy holds every answer back for `delay`, and
/// batches of 10 records make `records / 10` requests.
pub async fn max_in_flight(
    bootstrap: &str,
    route: &Route,
    topic: &str,
    idempotent: bool,
    records: usize,
    delay: Duration,
) -> Result<ProxyReport> {
    let faults = Faults { withhold: 0, delay };
    let proxy = topic_behind_proxy(bootstrap, route, topic, 1, faults).await?;
    // max.in.flight.requests.per.connection stays unset: librdkafka's
    // default, or whatever idempotence makes of it.
    let mut config = producer_config(route.bootstrap(), idempotent);
    config.set("batch.num.messages", "10");
    let sent = send_numbered(&config, topic, records, 1).await;
    let report = proxy.stop().await;
    let sent = sent?;
    if sent.acknowledged != records {
        bail!(
            "{} of {records} records acknowledged: {sent:?}",
            sent.acknowledged
        );
    }
    Ok(report)
}
// ANCHOR_END: in_flight

// ---------------------------------------------------------------------------
// kafka-go, through the same proxy
// ---------------------------------------------------------------------------

/// The chapter's Go program (`go/main.go`): a kafka-go `Writer`.
pub fn go_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("go")
}

/// Whether `go` can be run at all (the kafka-go comparison needs it).
pub fn go_available() -> bool {
    std::process::Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What the kafka-go run did.
#[derive(Debug, Clone)]
pub struct GoOutcome {
    /// `WriteMessages` returned without an error.
    pub succeeded: bool,
    /// What the Go program printed.
    pub output: String,
    pub audit: Audit,
    pub proxy: ProxyReport,
    pub retried: Vec<RetriedBatch>,
}

// ANCHOR: kafka_go_trial
/// [`trial`] with a kafka-go `Writer` instead of librdkafka: the same
/// records, topic layout and faults.
pub async fn kafka_go_trial(
    bootstrap: &str,
    route: &Route,
    topic: &str,
    plan: Plan,
) -> Result<GoOutcome> {
    let faults = Faults {
        withhold: plan.faults,
        delay: Duration::ZERO,
    };
    let proxy = topic_behind_proxy(bootstrap, route, topic, plan.partitions, faults).await?;
    let records = plan.records.to_string();
    let run = run_go(&[
        "-brokers",
        route.bootstrap(),
        "-topic",
        topic,
        "-records",
        &records,
    ])
    .await;
    let report = proxy.stop().await;
    let (succeeded, output) = run?;
    let log = read_back(bootstrap, topic, plan.partitions).await?;
    Ok(GoOutcome {
        succeeded,
        output,
        audit: audit(plan.records, plan.partitions, &log),
        retried: retried_batches(&report),
        proxy: report,
    })
}
// ANCHOR_END: kafka_go_trial

/// Runs `go run . ARGS…` in [`go_dir`]: (exited successfully, stdout+stderr).
async fn run_go(args: &[&str]) -> Result<(bool, String)> {
    let child = tokio::process::Command::new("go")
        .arg("run")
        .arg(".")
        .args(args)
        .current_dir(go_dir())
        .kill_on_drop(true)
        .output();
    // The first run compiles kafka-go; later runs come from Go's build cache.
    let output = tokio::time::timeout(Duration::from_secs(180), child)
        .await
        .context("the kafka-go program did not finish within 180 s")?
        .map_err(|error| {
            anyhow::anyhow!(
                "cannot run `go` ({error}): the kafka-go comparison runs the Go program in {}; \
                 install Go 1.23 or newer (https://go.dev/dl/) and make sure `go` is on the PATH",
                go_dir().display()
            )
        })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok((output.status.success(), text.trim().to_string()))
}
