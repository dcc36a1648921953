//! The crash drill's child process: `ch04-transactions worker …` runs the
//! lesson's loop (exactly-once or at-least-once) and, when asked, stops
//! *itself* at a chosen point of a chosen batch — prints
//! `worker: paused at POINT` and sends itself SIGSTOP — so that the drill's
//! SIGKILL lands at a known point, not wherever a timer happens to hit.
//!
//! Three of the points are the loop's [`Stage`]s. The fourth, `during-commit`,
//! is inside `commit_transaction`: the worker turns on librdkafka's `eos`
//! debug log, serves it from a second thread while the loop's thread is
//! blocked in the commit, and freezes at the state change `BeginCommit ->
//! CommittingTransaction` — the EndTxn(commit) request is handed to the
//! coordinator's connection, its answer not yet received. Whether the
//! request left the process before the freeze is up to the scheduler; the
//! drill reports which way it went (both must end exactly once).
//!
//! (rust-rdkafka routes librdkafka's log lines through the client's main
//! queue, `log.queue=true`: they surface only when someone polls, hence the
//! second thread.)

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Result;
use nix::sys::signal::{Signal, raise};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::BaseProducer;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::lesson::batching::{Options, Stage, Totals};
use crate::lesson::exactly_once::{self, Pipeline};
use crate::lesson::{at_least_once, producer};

/// Where the worker stops itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PausePoint {
    /// Output flushed (in the log, not committed), offsets not sent.
    AfterProduce,
    /// Offsets sent into the transaction, commit not called.
    AfterOffsets,
    /// Inside `commit_transaction`: EndTxn(commit) on its way to the
    /// coordinator, no answer yet.
    DuringCommit,
    /// Committed; the next batch not begun.
    AfterCommit,
}

impl PausePoint {
    pub fn name(self) -> &'static str {
        match self {
            PausePoint::AfterProduce => "after-produce",
            PausePoint::AfterOffsets => "after-offsets",
            PausePoint::DuringCommit => "during-commit",
            PausePoint::AfterCommit => "after-commit",
        }
    }

    fn stage(self) -> Option<Stage> {
        match self {
            PausePoint::AfterProduce => Some(Stage::Produced),
            PausePoint::AfterOffsets => Some(Stage::OffsetsSent),
            PausePoint::AfterCommit => Some(Stage::Committed),
            PausePoint::DuringCommit => None,
        }
    }
}

/// Exactly-once (a transaction per batch) or at-least-once (commit after produce).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    ExactlyOnce,
    AtLeastOnce,
}

/// `ch04-transactions worker`: the lesson's loop as a child process.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    #[arg(long)]
    pub input: String,
    #[arg(long)]
    pub output: String,
    #[arg(long)]
    pub group: String,
    /// The transactional.id (exactly-once only)
    #[arg(long, default_value = "ch04-transactions-worker")]
    pub transactional_id: String,
    #[arg(long, value_enum, default_value = "exactly-once")]
    pub mode: Mode,
    /// Records per batch (transaction)
    #[arg(long, default_value_t = 50)]
    pub max_batch: u64,
    /// Commit at least this often (ms)
    #[arg(long, default_value_t = 1000)]
    pub commit_every_ms: u64,
    /// Exit after this long without input (ms)
    #[arg(long, default_value_t = 3000)]
    pub idle_exit_ms: u64,
    /// Stop itself (SIGSTOP) at this point…
    #[arg(long, value_enum)]
    pub pause_at: Option<PausePoint>,
    /// …of this batch (1 = the first)
    #[arg(long, default_value_t = 2)]
    pub pause_in_batch: u64,
}

/// The line the worker prints before it freezes.
pub const PAUSED: &str = "worker: paused at";

fn pause_here(point: PausePoint) {
    println!("{PAUSED} {}", point.name());
    let _ = std::io::stdout().flush();
    // SIGSTOP freezes every thread, librdkafka's too: nothing more is sent.
    let _ = raise(Signal::SIGSTOP);
}

/// Freezes the process when librdkafka logs the transaction state change
/// into `CommittingTransaction` while `armed`.
struct CommitWatch {
    armed: Arc<AtomicBool>,
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for CommitWatch {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if !self.armed.load(Ordering::SeqCst) {
            return;
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        if message.0.contains("-> CommittingTransaction") {
            pause_here(PausePoint::DuringCommit);
        }
    }
}

/// Runs the worker; prints `summary: worker records=… transactions=… aborts=…`.
pub fn run(bootstrap: &str, args: &WorkerArgs) -> Result<()> {
    let armed = Arc::new(AtomicBool::new(false));
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,librdkafka=off,rdkafka=warn"));
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(filter),
        )
        .with(CommitWatch {
            armed: Arc::clone(&armed),
        })
        .try_init();

    let options = Options {
        output: args.output.clone(),
        commit_every: Duration::from_millis(args.commit_every_ms),
        max_batch: args.max_batch,
        idle_exit: Some(Duration::from_millis(args.idle_exit_ms)),
    };
    let commits = AtomicU64::new(0);
    let on_stage = |stage: Stage| {
        let batch = commits.load(Ordering::SeqCst) + 1;
        if stage == Stage::Committed {
            commits.fetch_add(1, Ordering::SeqCst);
        }
        let Some(point) = args.pause_at else { return };
        if batch != args.pause_in_batch {
            return;
        }
        if point == PausePoint::DuringCommit && stage == Stage::OffsetsSent {
            armed.store(true, Ordering::SeqCst);
        }
        if point.stage() == Some(stage) {
            pause_here(point);
        }
    };
    let stop = AtomicBool::new(false);
    let consumer_config = exactly_once::consumer_config(bootstrap, &args.group);
    let totals: Totals = match args.mode {
        Mode::ExactlyOnce => {
            let mut config = producer::producer_config(bootstrap, &args.transactional_id);
            if args.pause_at == Some(PausePoint::DuringCommit) {
                // The transaction state changes are logged at debug level.
                config
                    .set("debug", "eos")
                    .set_log_level(RDKafkaLogLevel::Debug);
            }
            let pipeline = Pipeline::new(producer::create(&config)?);
            let consumer: BaseConsumer<Pipeline> = consumer_config.create_with_context(pipeline)?;
            consumer.subscribe(&[&args.input])?;
            println!("worker: ready (exactly-once, {})", args.transactional_id);
            let done = AtomicBool::new(false);
            std::thread::scope(|scope| {
                if args.pause_at == Some(PausePoint::DuringCommit) {
                    let producer = &consumer.context().producer;
                    scope.spawn(|| {
                        while !done.load(Ordering::SeqCst) {
                            producer.poll(Duration::from_millis(50));
                        }
                    });
                }
                let totals = exactly_once::run(&consumer, &options, &stop, on_stage);
                done.store(true, Ordering::SeqCst);
                totals
            })?
        }
        Mode::AtLeastOnce => {
            let producer: BaseProducer = at_least_once::producer_config(bootstrap).create()?;
            let consumer: BaseConsumer = consumer_config.create()?;
            consumer.subscribe(&[&args.input])?;
            println!("worker: ready (at-least-once)");
            at_least_once::run(&consumer, &producer, &options, &stop, on_stage)?
        }
    };
    tutorial_support::summary(
        "worker",
        &[
            ("records", totals.records.to_string()),
            ("transactions", totals.transactions.to_string()),
            ("aborts", totals.aborts.to_string()),
        ],
    );
    Ok(())
}
