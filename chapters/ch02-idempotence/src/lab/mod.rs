//! The lab of 二.5: duplicates made on purpose, on a real broker.
//!
//! [`proxy::FaultProxy`] stands between the producer and the broker's
//! `PROXIED` listener (which advertises the proxy's address, so every request
//! goes through it) and swallows the answers to batches the broker has just
//! written; [`wire`] reads the batch headers it relays; [`audit`] reads the
//! log back and counts; [`kafka_go`] runs the same experiment with kafka-go.

pub mod audit;
pub mod kafka_go;
pub mod proxy;
pub mod wire;

use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::FutureProducer;
use tutorial_lab::relay::{Relay, start_when_free};
use tutorial_support::brokers::{proxied_advertised, proxied_listener};

use crate::lesson::{REQUEST_TIMEOUT, Sent, producer_config, send_numbered};
use audit::{Audit, RetriedBatch, audit, read_back, retried_batches};
use proxy::{FaultProxy, Faults, ProxyReport};

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
            listen: proxied_advertised(),
            proxied: proxied_listener(),
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

/// [`send_numbered`] with a producer whose context expects the proxy's
/// broken connections.
pub async fn send_through_proxy(
    config: &ClientConfig,
    topic: &str,
    count: usize,
    partitions: i32,
) -> Result<Sent> {
    let producer: FutureProducer<ExpectBrokenConnections> =
        config.create_with_context(ExpectBrokenConnections)?;
    send_numbered(&producer, topic, count, partitions).await
}

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
    let relay = Relay::start(&route.listen, &route.proxied).await.ok();
    let proxied = route.proxied.clone();
    let probed = tokio::task::spawn_blocking(move || {
        tutorial_support::brokers::probe(&proxied, REQUEST_TIMEOUT)
    })
    .await
    .context("the metadata probe stopped")?;
    if let Some(relay) = relay {
        proxy::close(relay).await;
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
            .unwrap_or(false)
            // The metadata can name the leader before that broker serves the
            // partition: a ListOffsets answer says it does. (A first produce
            // refused and retried would reorder a non-idempotent run.)
            && (0..partitions).all(|p| {
                admin
                    .inner()
                    .fetch_watermarks(topic, p, Duration::from_secs(2))
                    .is_ok()
            });
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
pub(crate) async fn topic_behind_proxy(
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

/// How long to wait for the proxy port while another lab holds it.
const PORT_WAIT: Duration = Duration::from_secs(120);

async fn start_proxy(route: &Route, faults: Faults) -> Result<FaultProxy> {
    start_when_free(PORT_WAIT, || {
        FaultProxy::start(&route.listen, &route.proxied, faults)
    })
    .await
    .with_context(|| {
        format!(
            "starting the proxy on {} (still in use after {PORT_WAIT:?}: another run of this \
             chapter, or another lab in front of the PROXIED listener, holds it)",
            route.listen
        )
    })
}

// ANCHOR: trial
/// One run on a fresh topic: the proxy withholds the answers to the first
/// `plan.faults` batches the broker writes; the records go through the
/// proxy and are read back directly from the broker.
pub async fn trial(bootstrap: &str, route: &Route, topic: &str, plan: Plan) -> Result<Outcome> {
    let config = producer_config(route.bootstrap(), plan.idempotent);
    trial_with(bootstrap, route, topic, plan, &config).await
}
// ANCHOR_END: trial

/// [`trial`] with a producer configuration of the caller's (the workshop
/// exercise's); its `bootstrap.servers` must be `route.bootstrap()`.
/// `plan.idempotent` is only reported, the configuration decides.
pub async fn trial_with(
    bootstrap: &str,
    route: &Route,
    topic: &str,
    plan: Plan,
    config: &ClientConfig,
) -> Result<Outcome> {
    let faults = Faults {
        withhold: plan.faults,
        delay: Duration::ZERO,
    };
    let proxy = topic_behind_proxy(bootstrap, route, topic, plan.partitions, faults).await?;
    let sent = send_through_proxy(config, topic, plan.records, plan.partitions).await;
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

// ANCHOR: in_flight
/// One run of the slow-broker experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlowPlan {
    pub idempotent: bool,
    /// Partitions of the topic, all led by the broker behind the proxy (so
    /// one connection carries every request).
    pub partitions: i32,
    /// `batch.num.messages`: the records are enqueued at once, so every
    /// request carries this many (the last one per partition maybe fewer).
    pub batch: usize,
    /// Produce requests each partition needs: `records = requests × batch ×
    /// partitions`.
    pub requests_per_partition: usize,
    /// How long the proxy holds every Produce answer.
    pub delay: Duration,
}

impl SlowPlan {
    pub fn records(&self) -> usize {
        self.requests_per_partition * self.batch * self.partitions.max(1) as usize
    }
}

/// How many Produce requests the producer keeps waiting for an answer when
/// the broker is slow: the proxy holds every answer back for `plan.delay`
/// and counts the requests sent and not yet answered, per connection and
/// per partition.
pub async fn max_in_flight(
    bootstrap: &str,
    route: &Route,
    topic: &str,
    plan: SlowPlan,
) -> Result<ProxyReport> {
    let faults = Faults {
        withhold: 0,
        delay: plan.delay,
    };
    let proxy = topic_behind_proxy(bootstrap, route, topic, plan.partitions, faults).await?;
    // max.in.flight.requests.per.connection stays unset: librdkafka's
    // default, or whatever idempotence makes of it.
    let mut config = producer_config(route.bootstrap(), plan.idempotent);
    config.set("batch.num.messages", plan.batch.to_string());
    let records = plan.records();
    let sent = send_through_proxy(&config, topic, records, plan.partitions).await;
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
