//! The three stages as processes: flags, topics, `/metrics`, Ctrl-C, a
//! progress line every second, a `summary:` line at the end — and, for the
//! drills, a stage that stops itself (SIGSTOP) at a chosen point of a
//! chosen batch so that a SIGKILL lands exactly there.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use ch04_transactions::lesson::batching::Stage;
use ch04_transactions::lesson::producer::{CALL_TIMEOUT, retrying};
use nix::sys::signal::{Signal, raise};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};
use tutorial_support::topics::ensure_topic;
use tutorial_support::{Cluster, print_effective, summary};

use crate::lesson::ingest::{self, IdBlocks, IngestContext, Plan};
use crate::lesson::observe::{Metrics, Observed, context_for, serve, with_statistics};
use crate::lesson::sink;
use crate::lesson::transform::{self, Mode, Options, Transform};
use crate::lesson::windows::Windowing;

/// Topic names and sizes every stage agrees on.
#[derive(Debug, Clone, clap::Args)]
pub struct Topics {
    /// Prefix of the topics: PREFIX-events, PREFIX-results, PREFIX-events.dlq
    #[arg(long, default_value = "ch05")]
    pub prefix: String,
    /// Partitions of the events and results topics (when they are created)
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(i32).range(1..=64))]
    pub partitions: i32,
}

impl Topics {
    pub fn events(&self) -> String {
        format!("{}-events", self.prefix)
    }
    pub fn results(&self) -> String {
        format!("{}-results", self.prefix)
    }
    /// The transform instances' consumer group (and their transactional.id
    /// prefix): one per pipeline, so two pipelines on one broker (two tests,
    /// a test and the tour) never fence each other's static members.
    pub fn transform_group(&self) -> String {
        format!("{}-transform", self.prefix)
    }
    /// The sink's group.id (at-least-once commits to it).
    pub fn sink_group(&self) -> String {
        format!("{}-sink", self.prefix)
    }
    /// 四.3's convention: `<topic>.dlq`.
    pub fn dlq(&self) -> String {
        format!("{}.dlq", self.events())
    }

    /// Creates the three topics unless they exist: replicated three times
    /// on a cluster of three or more (min.insync.replicas=2), once on one broker.
    pub async fn ensure(&self, cluster: &Cluster) -> Result<()> {
        // A stage restarted while a broker is down (the drill does that)
        // must not wait for every partition to have a leader again: if the
        // topics exist, go on — the clients find the new leaders themselves.
        if !cluster.is_mock() && self.exist(cluster.bootstrap_servers()).unwrap_or(false) {
            return Ok(());
        }
        let replication = cluster.brokers().len().min(3) as i32;
        let min_isr = if replication >= 3 { "2" } else { "1" };
        let configs = [("min.insync.replicas", min_isr)];
        for (topic, partitions) in [
            (self.events(), self.partitions),
            (self.results(), self.partitions),
            (self.dlq(), 1),
        ] {
            ensure_topic(cluster, &topic, partitions, replication, &configs)
                .await
                .with_context(|| format!("preparing topic {topic}"))?;
        }
        Ok(())
    }
}

impl Topics {
    /// Whether the three topics are in the cluster's metadata.
    fn exist(&self, bootstrap: &str) -> Result<bool> {
        let client: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .create()?;
        let metadata = client.fetch_metadata(None, Duration::from_secs(5))?;
        let known = |name: &str| {
            metadata
                .topics()
                .iter()
                .any(|t| t.name() == name && t.error().is_none() && !t.partitions().is_empty())
        };
        Ok([self.events(), self.results(), self.dlq()]
            .iter()
            .all(|t| known(t)))
    }
}

/// Exactly-once or at-least-once, for the transform and the sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Guarantee {
    ExactlyOnce,
    AtLeastOnce,
}

/// Where a stage stops itself for the drill's SIGKILL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PauseAt {
    /// Output written (transform: flushed; sink: database committed), offsets not committed.
    Produced,
    /// Offsets committed.
    Committed,
}

#[derive(Debug, Clone, clap::Args)]
pub struct Pause {
    /// Stop itself (SIGSTOP) at this point…
    #[arg(long, value_enum)]
    pub pause_at: Option<PauseAt>,
    /// …of this batch (1 = the first)
    #[arg(long, default_value_t = 3)]
    pub pause_in_batch: u64,
}

/// The line a stage prints before it freezes.
pub const PAUSED: &str = "paused at";

impl Pause {
    /// A stage callback that freezes the process at the chosen point.
    fn hook(&self, who: &'static str) -> impl FnMut(Stage) + use<> {
        let (point, batch) = (self.pause_at, self.pause_in_batch);
        let mut committed = 0;
        move |stage| {
            let here = match (point, stage) {
                (Some(PauseAt::Produced), Stage::Produced) => committed + 1 == batch,
                (Some(PauseAt::Committed), Stage::Committed) => committed + 1 == batch,
                _ => false,
            };
            if stage == Stage::Committed {
                committed += 1;
            }
            if here {
                println!("{who}: {PAUSED} {stage:?} of batch {batch}");
                let _ = std::io::stdout().flush();
                // SIGSTOP freezes every thread, librdkafka's too.
                let _ = raise(Signal::SIGSTOP);
            }
        }
    }
}

/// Runs `work` on a thread of its own (the loops block), with `stop` set
/// on the first SIGINT/SIGTERM, and prints `progress()` every second.
async fn run_stage<T: Send + 'static>(
    name: &'static str,
    stop: Arc<AtomicBool>,
    progress: impl Fn() -> String,
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let token = tutorial_support::shutdown_token();
    let mut worker = tokio::task::spawn_blocking(work);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            done = &mut worker => return done.context("the stage's thread panicked")?,
            () = token.cancelled(), if !stop.load(Ordering::Relaxed) => {
                println!("{name}: stopping (finishing the batch, committing)");
                stop.store(true, Ordering::Relaxed);
            }
            _ = tick.tick() => println!("{name}: {}", progress()),
        }
    }
}

async fn metrics_endpoint(
    port: u16,
    metrics: &Metrics,
    name: &str,
) -> Result<ch04_observability::lesson::endpoint::MetricsServer> {
    let server = serve(port, metrics.clone()).await?;
    println!("{name}: metrics at http://{}/metrics", server.address);
    Ok(server)
}

// ---------------------------------------------------------------- ingest

#[derive(Debug, Clone, clap::Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub topics: Topics,
    /// Events per second (0: flat out)
    #[arg(long, default_value_t = 5000)]
    pub rate: u64,
    /// Stop after this many events (0: run until Ctrl-C)
    #[arg(long, default_value_t = 0)]
    pub events: u64,
    /// Stop before this event id (overrides --events; the drill's restarts use it)
    #[arg(long)]
    pub until_id: Option<u64>,
    /// Distinct users (the key)
    #[arg(long, default_value_t = 1000)]
    pub users: u64,
    /// Every N-th event is a record that does not decode (0: none)
    #[arg(long, default_value_t = 0)]
    pub bad_every: u64,
    /// Where the next free event id is kept
    #[arg(long, default_value = "target/ch05-pipeline/ingest.state")]
    pub state_file: PathBuf,
    /// Event ids reserved per write of the state file
    #[arg(long, default_value_t = 1000)]
    pub id_block: u64,
    /// Port of /metrics (0: any free port)
    #[arg(long, default_value_t = kafka_layout::ports::pipeline_ingest_metrics())]
    pub metrics_port: u16,
}

pub async fn ingest(cluster: &Cluster, args: IngestArgs) -> Result<()> {
    args.topics.ensure(cluster).await?;
    let metrics = Metrics::new();
    let _server = metrics_endpoint(args.metrics_port, &metrics, "ingest").await?;
    if let Some(dir) = args.state_file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut ids = IdBlocks::open(&args.state_file, args.id_block)?;
    let first = ids.first();
    let until_id = args
        .until_id
        .or((args.events > 0).then(|| first + args.events));
    let config = with_statistics(ingest::producer_config(cluster.bootstrap_servers()));
    print_effective(
        "ingest: producer settings",
        &config,
        &[
            "enable.idempotence",
            "acks",
            "max.in.flight.requests.per.connection",
            "linger.ms",
            "compression.type",
        ],
    )?;
    let context = IngestContext {
        stats: context_for(&config, &metrics, "the ingest producer"),
        acked: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        first_error: Default::default(),
    };
    let producer: ThreadedProducer<IngestContext> = config.create_with_context(context)?;
    let producer = Arc::new(producer);
    let plan = Plan {
        topic: args.topics.events(),
        rate: args.rate,
        until_id,
        users: args.users,
        bad_every: args.bad_every,
    };
    println!(
        "ingest: ready, first id {first}, {} events/s, until {}",
        if plan.rate == 0 {
            "flat out".to_string()
        } else {
            plan.rate.to_string()
        },
        until_id.map_or("Ctrl-C".to_string(), |u| format!("id {u}"))
    );
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let (p, s, st) = (Arc::clone(&producer), Arc::clone(&sent), Arc::clone(&stop));
    let progress = {
        let (producer, sent) = (Arc::clone(&producer), Arc::clone(&sent));
        move || {
            format!(
                "sent={} acked={}",
                sent.load(Ordering::Relaxed),
                producer.context().acked.load(Ordering::Relaxed)
            )
        }
    };
    let count = run_stage("ingest", stop, progress, move || {
        ingest::run(&p, &mut ids, &plan, &st, &s)
    })
    .await?;
    summary(
        "ingest",
        &[
            ("sent", count.to_string()),
            (
                "acked",
                producer.context().acked.load(Ordering::Relaxed).to_string(),
            ),
            ("first_id", first.to_string()),
        ],
    );
    Ok(())
}

// ------------------------------------------------------------- transform

#[derive(Debug, Clone, clap::Args)]
pub struct TransformArgs {
    #[command(flatten)]
    pub topics: Topics,
    #[arg(long, value_enum, default_value = "exactly-once")]
    pub mode: Guarantee,
    /// The consumer group of all transform instances (default: PREFIX-transform)
    #[arg(long)]
    pub group: Option<String>,
    /// This instance's name: its group.instance.id and transactional.id suffix
    #[arg(long, default_value = "transform-0")]
    pub instance: String,
    /// Tumbling window size (ms, event time)
    #[arg(long, default_value_t = 1000)]
    pub window_ms: i64,
    /// How long a window waits for late events past its end (ms)
    #[arg(long, default_value_t = 0)]
    pub grace_ms: i64,
    /// End the transaction at least this often (ms)
    #[arg(long, default_value_t = 200)]
    pub commit_every_ms: u64,
    /// A partition without input for this long closes its windows by the clock (ms)
    #[arg(long, default_value_t = 1000)]
    pub idle_close_ms: u64,
    #[command(flatten)]
    pub pause: Pause,
    /// Port of /metrics (0: any free port)
    #[arg(long, default_value_t = kafka_layout::ports::pipeline_transform_metrics())]
    pub metrics_port: u16,
}

pub async fn transform(cluster: &Cluster, args: TransformArgs) -> Result<()> {
    cluster.require_real("Kafka transactions (the transform's transactional producer)")?;
    args.topics.ensure(cluster).await?;
    let metrics = Metrics::new();
    let _server = metrics_endpoint(args.metrics_port, &metrics, "transform").await?;
    let bootstrap = cluster.bootstrap_servers();
    let mode = match args.mode {
        Guarantee::ExactlyOnce => Mode::ExactlyOnce,
        Guarantee::AtLeastOnce => Mode::AtLeastOnce,
    };
    let group = args
        .group
        .clone()
        .unwrap_or_else(|| args.topics.transform_group());
    let transactional_id = format!("{group}-{}", args.instance);
    let producer_config = with_statistics(match mode {
        Mode::ExactlyOnce => {
            ch04_transactions::lesson::producer::producer_config(bootstrap, &transactional_id)
        }
        Mode::AtLeastOnce => ch04_transactions::lesson::at_least_once::producer_config(bootstrap),
    });
    let consumer_config = with_statistics(transform::consumer_config(
        bootstrap,
        &group,
        &args.instance,
    ));
    print_effective(
        "transform: consumer settings",
        &consumer_config,
        &[
            "group.id",
            "group.instance.id",
            "enable.auto.commit",
            "isolation.level",
            "session.timeout.ms",
            "partition.assignment.strategy",
        ],
    )?;
    let keys: &[&str] = match mode {
        Mode::ExactlyOnce => &["transactional.id", "transaction.timeout.ms"],
        Mode::AtLeastOnce => &["enable.idempotence", "acks"],
    };
    print_effective("transform: producer settings", &producer_config, keys)?;
    let producer: BaseProducer<Observed> = producer_config.create_with_context(Observed::new(
        &producer_config,
        &metrics,
        "the transform producer",
    ))?;
    if mode == Mode::ExactlyOnce {
        // 四.4: fences an older instance with the same transactional.id and
        // aborts what it left open.
        retrying(|| producer.init_transactions(CALL_TIMEOUT)).context("init_transactions")?;
    }
    let options = Options {
        mode,
        input: args.topics.events(),
        output: args.topics.results(),
        dlq: args.topics.dlq(),
        windowing: Windowing {
            size_ms: args.window_ms,
            grace_ms: args.grace_ms,
        },
        commit_every: Duration::from_millis(args.commit_every_ms),
        idle_close: Duration::from_millis(args.idle_close_ms),
    };
    let stats = context_for(&consumer_config, &metrics, "the transform consumer");
    let consumer: BaseConsumer<Transform> =
        consumer_config.create_with_context(Transform::new(producer, options.clone(), stats))?;
    consumer.subscribe(&[&options.input])?;
    println!("transform: ready ({:?}, {transactional_id})", args.mode);
    let consumer = Arc::new(consumer);
    let stop = Arc::new(AtomicBool::new(false));
    let (c, st, hook) = (
        Arc::clone(&consumer),
        Arc::clone(&stop),
        args.pause.hook("transform"),
    );
    let progress = {
        let consumer = Arc::clone(&consumer);
        // Never waits for the loop: a progress line that blocked would
        // stall this async task, and with it the reaction to Ctrl-C.
        move || match consumer.context().try_totals() {
            Some(t) => format!(
                "events={} late={} skipped={} dlq={} results={} transactions={} aborts={}",
                t.events, t.late, t.skipped, t.dead_lettered, t.results, t.transactions, t.aborts
            ),
            None => "busy (ending a batch)".to_string(),
        }
    };
    let totals = run_stage("transform", stop, progress, move || {
        transform::run(&c, &st, hook)
    })
    .await?;
    summary(
        "transform",
        &[
            ("events", totals.events.to_string()),
            ("late", totals.late.to_string()),
            ("skipped", totals.skipped.to_string()),
            ("dlq", totals.dead_lettered.to_string()),
            ("results", totals.results.to_string()),
            ("transactions", totals.transactions.to_string()),
            ("aborts", totals.aborts.to_string()),
            ("commit_ms", totals.commit_time.as_millis().to_string()),
        ],
    );
    Ok(())
}

// ------------------------------------------------------------------ sink

#[derive(Debug, Clone, clap::Args)]
pub struct SinkArgs {
    #[command(flatten)]
    pub topics: Topics,
    #[arg(long, value_enum, default_value = "exactly-once")]
    pub mode: Guarantee,
    /// The SQLite database
    #[arg(long, default_value = "target/ch05-pipeline/pipeline.db")]
    pub db: PathBuf,
    /// Also record every counted event id (the audit's ledger)
    #[arg(long)]
    pub ledger: bool,
    /// The consumer group, default PREFIX-sink (exactly-once never joins or commits to it: its offsets are in the database)
    #[arg(long)]
    pub group: Option<String>,
    /// Results per database transaction, at most
    #[arg(long, default_value_t = 5000)]
    pub max_batch: usize,
    /// A database transaction at least this often (ms)
    #[arg(long, default_value_t = 200)]
    pub batch_ms: u64,
    /// How long a write waits for a lock held by another connection (ms)
    #[arg(long, default_value_t = 5000)]
    pub busy_timeout_ms: u64,
    #[command(flatten)]
    pub pause: Pause,
    /// Port of /metrics (0: any free port)
    #[arg(long, default_value_t = kafka_layout::ports::pipeline_sink_metrics())]
    pub metrics_port: u16,
}

pub async fn sink(cluster: &Cluster, args: SinkArgs) -> Result<()> {
    cluster.require_real("the pipeline's topics and read_committed results")?;
    args.topics.ensure(cluster).await?;
    if let Some(dir) = args.db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let busy = Duration::from_millis(args.busy_timeout_ms);
    let mut db = sink::open(&args.db, busy)?;
    let metrics = Metrics::new();
    let _server = metrics_endpoint(args.metrics_port, &metrics, "sink").await?;
    let offsets_in_db = args.mode == Guarantee::ExactlyOnce;
    let group = args
        .group
        .clone()
        .unwrap_or_else(|| args.topics.sink_group());
    let mut config = with_statistics(sink::consumer_config(cluster.bootstrap_servers(), &group));
    if !offsets_in_db {
        config.set("auto.offset.reset", "earliest");
    }
    print_effective(
        "sink: consumer settings",
        &config,
        &["isolation.level", "enable.auto.commit"],
    )?;
    let consumer: BaseConsumer<Observed> =
        config.create_with_context(Observed::new(&config, &metrics, "the sink consumer"))?;
    let topic = args.topics.results();
    if offsets_in_db {
        let partitions = partitions_of(&consumer, &topic)?;
        sink::assign_from_database(&consumer, &db, &topic, partitions)?;
        let stored = sink::stored_offsets(&db, &topic)?;
        println!(
            "sink: ready, {} resuming at the stored offsets {stored:?}",
            args.db.display()
        );
    } else {
        // At-least-once: the same assignment of every partition, but from
        // the offsets committed to the group. Not subscribe(): a killed
        // dynamic member would hold the partitions until its session
        // timed out (45 s by default), stalling the restarted sink.
        // The committed offsets are asked for here, with retries, rather
        // than left to `Offset::Stored`: in a drill librdkafka's own fetch
        // got NotCoordinator right after a broker restart and the sink never
        // started reading.
        let mut wanted = TopicPartitionList::new();
        for partition in 0..partitions_of(&consumer, &topic)? {
            wanted.add_partition(&topic, partition);
        }
        let committed = retrying_fetch(|| consumer.committed_offsets(wanted.clone(), CALL_TIMEOUT))
            .with_context(|| format!("reading group {group}'s committed offsets"))?;
        let mut all = TopicPartitionList::new();
        for element in committed.elements() {
            let offset = match element.offset() {
                Offset::Offset(n) => Offset::Offset(n),
                _ => Offset::Beginning, // nothing committed yet
            };
            all.add_partition_offset(&topic, element.partition(), offset)?;
        }
        consumer.assign(&all)?;
        println!(
            "sink: ready (at-least-once, from group {group}'s committed offsets), {}",
            args.db.display()
        );
    }
    let options = sink::Options {
        topic,
        path: args.db.clone(),
        ledger: args.ledger,
        offsets_in_db,
        max_batch: args.max_batch,
        batch_time: Duration::from_millis(args.batch_ms),
        busy,
        caught_up: Arc::new(AtomicBool::new(false)),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let (st, w, hook) = (
        Arc::clone(&stop),
        Arc::clone(&written),
        args.pause.hook("sink"),
    );
    let mut hook = hook;
    let progress = {
        let written = Arc::clone(&written);
        let caught_up = Arc::clone(&options.caught_up);
        move || {
            format!(
                "batches={} caught_up={}",
                written.load(Ordering::Relaxed),
                caught_up.load(Ordering::Relaxed)
            )
        }
    };
    let totals = run_stage("sink", stop, progress, move || {
        sink::run(&consumer, &mut db, &options, &st, |stage| {
            hook(stage);
            if stage == Stage::Committed {
                w.fetch_add(1, Ordering::Relaxed);
            }
        })
    })
    .await?;
    summary(
        "sink",
        &[
            ("results", totals.results.to_string()),
            ("batches", totals.batches.to_string()),
            ("commit_ms", totals.commit_time.as_millis().to_string()),
        ],
    );
    Ok(())
}

/// Up to 10 attempts, 1 s apart (a coordinator moving after a broker restart).
fn retrying_fetch<T>(
    mut call: impl FnMut() -> rdkafka::error::KafkaResult<T>,
) -> rdkafka::error::KafkaResult<T> {
    let mut attempt = 1;
    loop {
        match call() {
            Err(error) if attempt < 10 => {
                tracing::warn!("attempt {attempt}/10: {error}");
                attempt += 1;
                std::thread::sleep(Duration::from_secs(1));
            }
            outcome => return outcome,
        }
    }
}

/// How many partitions `topic` has.
pub fn partitions_of<C: rdkafka::consumer::ConsumerContext>(
    consumer: &BaseConsumer<C>,
    topic: &str,
) -> Result<i32> {
    let metadata = consumer.fetch_metadata(Some(topic), CALL_TIMEOUT)?;
    let count = metadata
        .topics()
        .first()
        .map_or(0, |t| t.partitions().len());
    anyhow::ensure!(count > 0, "topic {topic} has no partitions");
    Ok(count as i32)
}
