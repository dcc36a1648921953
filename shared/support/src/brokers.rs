//! Where the brokers are, and whether they answer.
//!
//! The ladder (DESIGN.md §3): `--brokers` / `KAFKA_BROKERS` as given, else
//! `localhost:9092`; the word `mock` starts librdkafka's in-process mock
//! cluster. Whatever the address, we ask for metadata with a deadline first,
//! because librdkafka itself never gives up: a producer pointed at a dead
//! address queues messages and retries silently until `message.timeout.ms`
//! (five minutes by default), and a consumer simply waits forever.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::message::DeliveryResult;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, DefaultProducerContext, Producer, ProducerContext};

use crate::SupportError;

/// The environment variable every binary and test reads.
pub const BROKERS_ENV: &str = "KAFKA_BROKERS";
/// What `cargo xtask kafka up` and `docker compose up -d` both listen on
/// (`localhost:9092`, moved by `KAFKA_PORT_BASE`; see `kafka_layout::ports`).
pub use kafka_layout::ports::default_brokers;
/// The value of `KAFKA_BROKERS` that selects librdkafka's mock cluster.
pub const MOCK: &str = "mock";
/// The local broker's `PROXIED` listener and the relay address it
/// advertises (see `kafka_layout::ports`).
pub use kafka_layout::ports::{proxied_advertised, proxied_listener};
/// How long the reachability check waits for a metadata answer.
pub const REACHABILITY_TIMEOUT: Duration = Duration::from_secs(10);
/// Brokers in the mock cluster: three, so replicated topics can be created.
const MOCK_BROKERS: i32 = 3;

/// The `--brokers` flag every chapter accepts.
#[derive(Debug, Clone, clap::Args)]
pub struct BrokerArgs {
    /// Kafka bootstrap servers (host:port[,host:port...]); `mock` starts librdkafka's in-process mock cluster
    #[arg(long, env = BROKERS_ENV, default_value_t = default_brokers(), value_name = "HOST:PORT")]
    pub brokers: String,
}

impl BrokerArgs {
    /// Resolves the address and checks that a cluster answers there.
    pub fn connect(&self) -> Result<Cluster, SupportError> {
        Cluster::connect(&self.brokers)
    }
}

/// One broker as the cluster metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    pub id: i32,
    pub host: String,
    pub port: i32,
}

/// A cluster that answered: its bootstrap address, the brokers it reported,
/// and, for `mock`, the in-process mock cluster (kept alive as long as this
/// value lives).
pub struct Cluster {
    bootstrap: String,
    brokers: Vec<BrokerInfo>,
    mock: Option<MockCluster<'static, DefaultProducerContext>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("bootstrap", &self.bootstrap)
            .field("brokers", &self.brokers)
            .field("mock", &self.mock.is_some())
            .finish()
    }
}

impl Cluster {
    /// `spec` is a bootstrap list or the word `mock`.
    pub fn connect(spec: &str) -> Result<Self, SupportError> {
        let spec = spec.trim();
        if spec.eq_ignore_ascii_case(MOCK) {
            return Self::start_mock();
        }
        if spec.is_empty() {
            return Err(SupportError::Unreachable {
                address: "(empty)".into(),
                waited: Duration::ZERO,
                reason: "no bootstrap address given".into(),
            });
        }
        let brokers = probe(spec, REACHABILITY_TIMEOUT)?;
        Ok(Self {
            bootstrap: spec.to_string(),
            brokers,
            mock: None,
        })
    }

    fn start_mock() -> Result<Self, SupportError> {
        let mock = MockCluster::new(MOCK_BROKERS).map_err(SupportError::Mock)?;
        let bootstrap = mock.bootstrap_servers();
        print_mock_banner(&bootstrap);
        let brokers = probe(&bootstrap, REACHABILITY_TIMEOUT)?;
        Ok(Self {
            bootstrap,
            brokers,
            mock: Some(mock),
        })
    }

    /// The value for `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// The brokers the cluster reported when we connected.
    pub fn brokers(&self) -> &[BrokerInfo] {
        &self.brokers
    }

    pub fn is_mock(&self) -> bool {
        self.mock.is_some()
    }

    /// The mock cluster, for the few steps that must use its own API
    /// (for example creating a topic, which the mock's Admin API lacks).
    pub fn mock(&self) -> Option<&MockCluster<'static, DefaultProducerContext>> {
        self.mock.as_ref()
    }

    /// Fails with a clear message if this is the mock cluster.
    pub fn require_real(&self, what: &str) -> Result<(), SupportError> {
        if self.is_mock() {
            return Err(SupportError::NeedsRealBroker { what: what.into() });
        }
        Ok(())
    }

    /// Fails with a clear message if the cluster has fewer than `needed` brokers.
    pub fn require_brokers(&self, needed: usize) -> Result<(), SupportError> {
        if self.brokers.len() < needed {
            return Err(SupportError::NotEnoughBrokers {
                address: self.bootstrap.clone(),
                needed,
                found: self.brokers.len(),
            });
        }
        Ok(())
    }
}

/// Records the last error librdkafka reported while we probe, so the failure
/// message can say *why* ("Connection refused", "Name resolution failure").
#[derive(Default)]
struct ProbeContext {
    last_error: Mutex<Option<String>>,
}

impl ProbeContext {
    fn remember(&self, text: String) {
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(text);
        }
    }
}

impl ClientContext for ProbeContext {
    /// Connection failures ("Connection refused", "Failed to resolve") arrive
    /// as log lines with facility FAIL; keep the last one for our message
    /// instead of letting librdkafka repeat it on stderr every second.
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        let severe = (level as i32) <= (RDKafkaLogLevel::Error as i32);
        if fac == "FAIL" || severe {
            // Drop librdkafka's "[thrd:…]: " prefix.
            let text = log_message
                .split_once("]: ")
                .filter(|(head, _)| head.starts_with("[thrd:"))
                .map_or(log_message, |(_, rest)| rest);
            self.remember(text.to_string());
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let text = if reason.is_empty() {
            error.to_string()
        } else {
            reason.to_string()
        };
        self.remember(text);
    }
}

// A producer handle is the lightest client whose `poll` serves the main
// event queue, which is where librdkafka reports connection errors.
impl ProducerContext for ProbeContext {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &DeliveryResult<'_>, _: Self::DeliveryOpaque) {}
}

/// Asks `bootstrap` for cluster metadata and gives up after `timeout` —
/// or at once when every address it resolves to refuses the connection:
/// librdkafka knows "Connection refused" after a millisecond but would keep
/// retrying until the deadline, and a reader should not wait 10 s for that.
pub fn probe(bootstrap: &str, timeout: Duration) -> Result<Vec<BrokerInfo>, SupportError> {
    let started = Instant::now();
    let unreachable = |reason: String| SupportError::Unreachable {
        address: bootstrap.to_string(),
        waited: started.elapsed(),
        reason,
    };
    // `localhost` resolves to ::1 and 127.0.0.1 and a broker may listen on
    // one of them only, so "refused" must hold for every resolved address.
    // An address that does not answer at all (a firewall dropping packets)
    // is not refused: then the metadata request below is bounded by `timeout`.
    use kafka_layout::probe::{ProbeError, refused_everywhere};
    match refused_everywhere(bootstrap, Duration::from_secs(2)) {
        Err(error @ ProbeError::Refused(_)) => return Err(unreachable(error.to_string())),
        Err(error @ (ProbeError::BadAddress(_) | ProbeError::Resolve { .. })) => {
            return Err(unreachable(error.to_string()));
        }
        _ => {}
    }
    let client: BaseProducer<ProbeContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        // Fail each connection attempt quickly so the deadline below is what
        // bounds the wait, not librdkafka's 30 s connection-setup default.
        .set("socket.connection.setup.timeout.ms", "5000")
        .set_log_level(RDKafkaLogLevel::Warning)
        .create_with_context(ProbeContext::default())
        .map_err(|e| unreachable(format!("invalid bootstrap address: {e}")))?;
    match client.client().fetch_metadata(None, timeout) {
        Ok(metadata) if !metadata.brokers().is_empty() => Ok(metadata
            .brokers()
            .iter()
            .map(|b| BrokerInfo {
                id: b.id(),
                host: b.host().to_string(),
                port: b.port(),
            })
            .collect()),
        Ok(_) => Err(unreachable("the cluster reported no brokers".into())),
        Err(error) => {
            // Run the error callbacks queued while we waited.
            client.poll(Duration::ZERO);
            let seen = client
                .context()
                .last_error
                .lock()
                .ok()
                .and_then(|last| last.clone());
            Err(unreachable(seen.unwrap_or_else(|| error.to_string())))
        }
    }
}

fn print_mock_banner(bootstrap: &str) {
    eprintln!(
        "\n\
         ================================ MOCK CLUSTER ================================\n\
         KAFKA_BROKERS=mock: librdkafka's in-process mock cluster ({MOCK_BROKERS} brokers at {bootstrap}).\n\
         It is NOT Apache Kafka: no Admin API (CreateTopics, DescribeConfigs), no real\n\
         replication or acks semantics, and the first group rebalance is delayed ~3 s.\n\
         Good for exploring; every claim in the book is proven on a real broker.\n\
         ==============================================================================\n"
    );
}
