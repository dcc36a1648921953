//! A link with a real round trip, for the `linger.ms` measurements: the
//! numbers of 四.7 otherwise come from one broker over loopback, where a
//! request costs almost nothing to send and answer.
//!
//! [`Link`] is the lab crate's TCP relay in front of the broker's `PROXIED`
//! listener, which advertises the relay's address, so every connection of
//! a client that bootstraps there goes through it. Each direction delivers
//! what it reads `one_way` later, pipelined like packets on a wire (N
//! requests in flight cost one round trip, not N). Requests are relayed
//! whole, so the link also counts the Produce requests that cross it: the
//! records sent divided by that count is the records per request — the
//! batch size the producer really achieved.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tutorial_lab::relay::{Connection, Relay, start_when_free};
use tutorial_support::Cluster;
use tutorial_support::brokers::{probe, proxied_advertised, proxied_listener};
use tutorial_support::topics::{delete_topic, unique_name, wait_for_leaders};

use super::{PAYLOAD_SEED, payload};
use crate::lesson::{Load, Measured, ProducerSettings, run_base};

/// How long to wait for the relay port while another lab holds it.
const PORT_WAIT: Duration = Duration::from_secs(120);
/// Bound for admin requests and metadata.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(15);
/// The Produce request's api key.
const PRODUCE: i16 = 0;

/// A delaying relay in front of the `PROXIED` listener that counts the
/// Produce requests crossing it.
pub struct Link {
    relay: Relay,
    produce_requests: Arc<AtomicU64>,
}

impl Link {
    /// Listens where the `PROXIED` listener says the broker is
    /// ([`proxied_advertised`]) and forwards to it ([`proxied_listener`]),
    /// delaying each direction by `one_way`. Waits (bounded) while another
    /// lab holds the port.
    pub async fn start(one_way: Duration) -> Result<Link> {
        let produce_requests = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&produce_requests);
        let relay = start_when_free(PORT_WAIT, || {
            let counter = Arc::clone(&counter);
            async move {
                Relay::with_handler(&proxied_advertised(), &proxied_listener(), move |c| {
                    serve(c, one_way, Arc::clone(&counter))
                })
                .await
            }
        })
        .await
        .with_context(|| {
            format!(
                "starting the delayed link on {} (still in use after \
                 {PORT_WAIT:?}: another lab in front of the PROXIED listener holds it)",
                proxied_advertised()
            )
        })?;
        Ok(Link {
            relay,
            produce_requests,
        })
    }

    /// What a client bootstraps with to go through the link.
    pub fn bootstrap(&self) -> String {
        proxied_advertised()
    }

    /// Produce requests that crossed the link so far.
    pub fn produce_requests(&self) -> u64 {
        self.produce_requests.load(Ordering::SeqCst)
    }

    /// Closes every connection and stops listening; returns once the port
    /// is free for the next link.
    pub async fn stop(mut self) {
        self.relay.cut_and_wait().await;
    }
}

/// One client connection: requests go up as whole frames (counted), answers
/// come down as bytes; each direction `one_way` late.
async fn serve(connection: Connection, one_way: Duration, produce: Arc<AtomicU64>) {
    let (client_read, client_write) = connection.client.into_split();
    let (server_read, server_write) = connection.server.into_split();
    let (up_sender, up_receiver) = mpsc::unbounded_channel();
    let (down_sender, down_receiver) = mpsc::unbounded_channel();
    // Whichever side ends first (a closed socket) ends the connection.
    tokio::select! {
        () = read_requests(client_read, up_sender, one_way, produce) => {}
        () = deliver(up_receiver, server_write) => {}
        () = read_bytes(server_read, down_sender, one_way) => {}
        () = deliver(down_receiver, client_write) => {}
    }
}

type Due = (Instant, Vec<u8>);

/// Reads length-prefixed request frames, counts the Produce ones, and
/// queues each to be delivered `one_way` after it was read.
async fn read_requests(
    mut from: OwnedReadHalf,
    to: mpsc::UnboundedSender<Due>,
    one_way: Duration,
    produce: Arc<AtomicU64>,
) {
    loop {
        let Ok(length) = from.read_u32().await else {
            return;
        };
        let mut frame = vec![0; 4 + length as usize];
        frame[..4].copy_from_slice(&length.to_be_bytes());
        if from.read_exact(&mut frame[4..]).await.is_err() {
            return;
        }
        // The request header starts with the api key.
        if frame.get(4..6) == Some(&PRODUCE.to_be_bytes()[..]) {
            produce.fetch_add(1, Ordering::SeqCst);
        }
        if to.send((Instant::now() + one_way, frame)).is_err() {
            return;
        }
    }
}

/// Queues whatever arrives to be delivered `one_way` after it was read.
async fn read_bytes(mut from: OwnedReadHalf, to: mpsc::UnboundedSender<Due>, one_way: Duration) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let chunk = buffer.get(..n).unwrap_or_default().to_vec();
                if to.send((Instant::now() + one_way, chunk)).is_err() {
                    return;
                }
            }
        }
    }
}

/// Writes each queued chunk when it is due, in order.
async fn deliver(mut queue: mpsc::UnboundedReceiver<Due>, mut to: OwnedWriteHalf) {
    while let Some((due, bytes)) = queue.recv().await {
        tokio::time::sleep_until(due).await;
        if to.write_all(&bytes).await.is_err() {
            return;
        }
    }
}

/// Creates `topic` with every partition's only replica on the broker behind
/// the `PROXIED` listener (on a three-node cluster the other brokers
/// advertise relay ports nobody listens on) and waits for the leaders.
pub async fn create_topic_behind_link(
    cluster: &Cluster,
    topic: &str,
    partitions: i32,
) -> Result<()> {
    let (listener, advertised) = (proxied_listener(), proxied_advertised());
    let target = listener.clone();
    let brokers = tokio::task::spawn_blocking(move || probe(&target, ADMIN_TIMEOUT))
        .await?
        .with_context(|| {
            format!(
                "the broker's PROXIED listener ({listener}) does not answer: start the \
                 broker with `cargo xtask kafka up` (or `docker compose up -d`), which adds it"
            )
        })?;
    let port = advertised
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<i32>().ok());
    let Some(broker) = brokers.iter().find(|b| Some(b.port) == port) else {
        bail!("no broker behind {listener} advertises {advertised}: {brokers:?}");
    };
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .create()?;
    let replicas = [broker.id];
    let assignment: Vec<&[i32]> = (0..partitions).map(|_| &replicas[..]).collect();
    let new_topic = NewTopic::new(topic, partitions, TopicReplication::Variable(&assignment));
    let options = AdminOptions::new().operation_timeout(Some(ADMIN_TIMEOUT));
    let results = tokio::time::timeout(ADMIN_TIMEOUT, admin.create_topics([&new_topic], &options))
        .await
        .context("CreateTopics did not answer")??;
    if let Some(Err((name, code))) = results.into_iter().next() {
        bail!("creating topic {name}: {code}");
    }
    wait_for_leaders(
        admin.inner(),
        topic,
        Some(partitions as usize),
        ADMIN_TIMEOUT,
    )
    .await?;
    Ok(())
}

/// One run over the link.
#[derive(Debug, Clone)]
pub struct LinkRun {
    pub settings: ProducerSettings,
    pub records: u64,
    /// Records per second (0: as fast as the client takes them).
    pub rate: u64,
}

/// What one run over the link measured.
#[derive(Debug, Clone)]
pub struct LinkMeasured {
    pub run: LinkRun,
    pub measured: Measured,
    /// Produce requests that crossed the link (retries included).
    pub produce_requests: u64,
}

impl LinkMeasured {
    /// Records per Produce request: the batch size actually achieved.
    pub fn records_per_request(&self) -> f64 {
        self.measured.records as f64 / self.produce_requests.max(1) as f64
    }
}

/// Runs the lesson's `BaseProducer` loop ([`run_base`]) over a link with
/// `one_way` delay each way, once per run, each on a fresh topic of
/// `partitions` partitions, with records of `record_size` bytes.
pub async fn over_link(
    cluster: &Cluster,
    one_way: Duration,
    partitions: i32,
    record_size: usize,
    runs: &[LinkRun],
) -> Result<Vec<LinkMeasured>> {
    cluster.require_real("the delayed link (it relays to the broker's PROXIED listener)")?;
    let value = payload(record_size, PAYLOAD_SEED);
    let mut rows = Vec::new();
    for run in runs {
        let topic = unique_name("ch04-link");
        let link = Link::start(one_way).await?;
        let outcome = async {
            create_topic_behind_link(cluster, &topic, partitions).await?;
            let (bootstrap, name) = (link.bootstrap().to_string(), topic.clone());
            let (settings, value) = (run.settings.clone(), value.clone());
            let (records, rate) = (run.records, run.rate);
            // The send loop blocks (poll, flush): off the async runtime.
            tokio::task::spawn_blocking(move || {
                let load = Load {
                    records,
                    payload: &value,
                    rate,
                };
                run_base(&bootstrap, &name, &settings, load)
            })
            .await?
        }
        .await;
        let produce_requests = link.produce_requests();
        link.stop().await;
        let _ = delete_topic(cluster, &topic).await;
        rows.push(LinkMeasured {
            run: run.clone(),
            measured: outcome?,
            produce_requests,
        });
    }
    Ok(rows)
}
