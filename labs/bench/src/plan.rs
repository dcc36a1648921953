//! What to run: the matrix of configurations, which clients run each, how
//! many records and rounds.

use ch04_tuning::lesson::{Acks, Compression};
use serde::{Deserialize, Serialize};

use crate::clients::{Client, ConsumerSpec, ProducerSpec, Role};

/// How big a bench to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A few thousand records per run, one run: proves the plumbing (tests)
    Tiny,
    /// The headline comparison: 100 B, 1 KB and 10 KB, acks=all, every client
    Quick,
    /// Everything: record sizes, linger, batch.size, compression, acks,
    /// idempotence, producer types, consumer fetch settings; charts
    Full,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Tiny => "tiny",
            Mode::Quick => "quick",
            Mode::Full => "full",
        }
    }
}

/// Which sweep of the matrix a configuration belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sweep {
    /// Record sizes at the defaults: the headline comparison
    Size,
    /// `fetch.queue.backoff.ms=10` next to the 100 B consumer headline
    Backoff,
    Linger,
    /// linger.ms at a fixed offered load
    Latency,
    Batch,
    Compression,
    Acks,
    Fetch,
}

impl Sweep {
    /// Sweeps in which the peers run too; the others are about our client alone.
    fn with_peers(self) -> bool {
        matches!(
            self,
            Sweep::Size | Sweep::Linger | Sweep::Latency | Sweep::Compression
        )
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// tiny | quick | full
    #[arg(long, value_enum, default_value_t = Mode::Quick)]
    pub mode: Mode,
    /// Measured runs per client and configuration (after one warm-up run)
    #[arg(long)]
    pub runs: Option<usize>,
    /// Skip the warm-up run
    #[arg(long)]
    pub no_warmup: bool,
    /// Partitions of every bench topic (the same for every client)
    #[arg(long, default_value_t = 3)]
    pub partitions: i32,
    /// Multiply the record counts (e.g. 0.5 for a faster, noisier run)
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Leave out the Java perf tools
    #[arg(long)]
    pub no_java: bool,
    /// Leave out kafka-go (and the synchronous-send trap, which needs it)
    #[arg(long, alias = "no-go")]
    pub no_kafka_go: bool,
    /// Leave out franz-go
    #[arg(long)]
    pub no_franz_go: bool,
}

/// A producer configuration of the matrix.
#[derive(Debug, Clone)]
pub struct ProduceCase {
    pub sweep: Sweep,
    pub spec: ProducerSpec,
    pub records: u64,
    pub clients: Vec<Client>,
}

/// A consumer configuration of the matrix.
#[derive(Debug, Clone)]
pub struct ConsumeCase {
    pub sweep: Sweep,
    pub spec: ConsumerSpec,
    pub records: u64,
    pub clients: Vec<Client>,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub mode: Mode,
    pub partitions: i32,
    pub produce: Vec<ProduceCase>,
    pub consume: Vec<ConsumeCase>,
    /// Whether the synchronous-send trap runs (it needs kafka-go).
    pub trap: bool,
    pub runs: usize,
    pub warmup: bool,
}

impl Plan {
    /// Whether any run needs `client`'s program (the trap needs kafka-go's).
    pub fn needs(&self, client: Client) -> bool {
        (self.trap && client == Client::KafkaGo)
            || self
                .produce
                .iter()
                .flat_map(|c| &c.clients)
                .chain(self.consume.iter().flat_map(|c| &c.clients))
                .any(|c| *c == client)
    }

    /// Client runs in all, warm-up included.
    pub fn total_runs(&self) -> usize {
        let rounds = self.runs + usize::from(self.warmup);
        rounds
            * (self.produce.iter().map(|c| c.clients.len()).sum::<usize>()
                + self.consume.iter().map(|c| c.clients.len()).sum::<usize>())
    }
}

/// Records per run for a record size: about 1 GB at 1 KB and 10 KB, 300 MB
/// at 100 B (runs of a few seconds: shorter ones measure start-up, not
/// throughput); half of that for the sweeps of the full run; a few thousand
/// for the tiny plan.
fn records_for(mode: Mode, sweep: Sweep, size: usize, scale: f64) -> u64 {
    let base = match mode {
        Mode::Tiny => 2_000.0,
        Mode::Quick | Mode::Full => match size {
            0..=200 => 3_000_000.0,
            201..=2_000 => 1_000_000.0,
            _ => 100_000.0,
        },
    };
    if sweep == Sweep::Latency {
        // 3 s at 20 000 records/s.
        return ((60_000.0 * scale) as u64).max(100);
    }
    let sweep_factor = if sweep == Sweep::Size { 1.0 } else { 0.5 };
    ((base * scale * sweep_factor) as u64).max(100)
}

/// The matrix for `args` (peers included unless disabled).
pub fn plan(args: &PlanArgs) -> Plan {
    let mode = args.mode;
    let peers_for = |role: Role, producer: Option<&ProducerSpec>| -> Vec<Client> {
        Client::PEERS
            .into_iter()
            .filter(|peer| match peer {
                Client::JavaPerf => !args.no_java,
                Client::KafkaGo => !args.no_kafka_go,
                _ => !args.no_franz_go,
            })
            .filter(|peer| peer.supports(role, producer))
            .collect()
    };
    let case = |sweep: Sweep, spec: ProducerSpec, mut clients: Vec<Client>| {
        if sweep.with_peers() {
            clients.extend(peers_for(Role::Produce, Some(&spec)));
        }
        ProduceCase {
            sweep,
            records: records_for(mode, sweep, spec.record_size, args.scale),
            clients,
            spec,
        }
    };
    let consume_case = |sweep: Sweep, spec: ConsumerSpec| {
        let mut clients = vec![Client::RustBase];
        if sweep.with_peers() {
            // librdkafka's defaults, then the page's recommendation.
            clients.push(Client::RustRecommended);
            clients.extend(peers_for(Role::Consume, None));
        }
        ConsumeCase {
            sweep,
            records: records_for(mode, sweep, spec.record_size, args.scale),
            clients,
            spec,
        }
    };
    // Our producer types with librdkafka's defaults, the async pattern, and
    // the page's recommended settings (the `FutureProducer` window pattern
    // runs by hand: `bench-lab produce --kind future-window`).
    let all_kinds = vec![
        Client::RustBase,
        Client::RustThreaded,
        Client::RustFuture,
        Client::RustPermits,
        Client::RustRecommended,
        Client::RustInstances,
    ];
    let base_only = vec![Client::RustBase];
    let sizes: &[usize] = match mode {
        Mode::Tiny => &[100],
        Mode::Quick | Mode::Full => &[100, 1000, 10_000],
    };
    let mut produce: Vec<ProduceCase> = sizes
        .iter()
        .map(|&record_size| {
            let spec = ProducerSpec {
                record_size,
                ..ProducerSpec::default()
            };
            case(Sweep::Size, spec, all_kinds.clone())
        })
        .collect();
    let mut consume: Vec<ConsumeCase> = sizes
        .iter()
        .map(|&size| consume_case(Sweep::Size, ConsumerSpec::with_record_size(size)))
        .collect();
    if mode == Mode::Full {
        let kb = ProducerSpec::default();
        for linger_ms in [0, 1, 20, 100] {
            let spec = ProducerSpec {
                linger_ms,
                ..kb.clone()
            };
            produce.push(case(Sweep::Linger, spec, base_only.clone()));
        }
        // The same linger values at a fixed offered load of 20 000 records/s,
        // where batches do not fill up and linger.ms shows in the latency.
        for linger_ms in [0, 1, 5, 20, 100] {
            let spec = ProducerSpec {
                linger_ms,
                rate: 20_000,
                ..kb.clone()
            };
            produce.push(case(Sweep::Latency, spec, base_only.clone()));
        }
        for batch_size in [16_384, 65_536, 262_144, kb.batch_size] {
            let spec = ProducerSpec {
                batch_size,
                linger_ms: 100,
                ..kb.clone()
            };
            produce.push(case(Sweep::Batch, spec, base_only.clone()));
        }
        for compression in [
            Compression::Lz4,
            Compression::Zstd,
            Compression::Snappy,
            Compression::Gzip,
        ] {
            let spec = ProducerSpec {
                compression,
                ..kb.clone()
            };
            produce.push(case(Sweep::Compression, spec, base_only.clone()));
        }
        for acks in [Acks::One, Acks::Zero] {
            let spec = ProducerSpec { acks, ..kb.clone() };
            produce.push(case(Sweep::Acks, spec, base_only.clone()));
        }
        let idempotent = ProducerSpec {
            idempotence: true,
            ..kb.clone()
        };
        produce.push(case(Sweep::Acks, idempotent, base_only.clone()));
        let kb_read = ConsumerSpec::with_record_size(1000);
        for spec in [
            ConsumerSpec {
                fetch_min_bytes: 65_536,
                ..kb_read.clone()
            },
            ConsumerSpec {
                fetch_min_bytes: 1_048_576,
                fetch_wait_max_ms: 100,
                ..kb_read.clone()
            },
            ConsumerSpec {
                queued_max_messages_kbytes: 1024,
                ..kb_read.clone()
            },
            ConsumerSpec {
                fetch_queue_backoff_ms: 10,
                ..kb_read.clone()
            },
        ] {
            consume.push(consume_case(Sweep::Fetch, spec));
        }
    }
    let runs = args.runs.unwrap_or(match mode {
        Mode::Tiny => 1,
        Mode::Quick | Mode::Full => 3,
    });
    Plan {
        mode,
        partitions: args.partitions,
        produce,
        consume,
        trap: !args.no_kafka_go,
        runs,
        warmup: !args.no_warmup && mode != Mode::Tiny,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(mode: Mode) -> PlanArgs {
        PlanArgs {
            mode,
            runs: None,
            no_warmup: false,
            partitions: 3,
            scale: 1.0,
            no_java: false,
            no_kafka_go: false,
            no_franz_go: false,
        }
    }

    #[test]
    fn the_quick_plan_is_the_headline_comparison() {
        let plan = plan(&args(Mode::Quick));
        let sizes: Vec<usize> = plan.produce.iter().map(|c| c.spec.record_size).collect();
        assert_eq!(sizes, [100, 1000, 10_000]);
        assert_eq!(plan.produce[0].clients, Client::PRODUCERS);
        assert_eq!(plan.consume.len(), 3);
        assert_eq!(
            plan.consume[0].clients,
            [
                Client::RustBase,
                Client::RustRecommended,
                Client::JavaPerf,
                Client::KafkaGo,
                Client::FranzGo,
            ]
        );
        assert!(plan.trap && plan.warmup && plan.runs == 3);
        assert_eq!(plan.total_runs(), 4 * (3 * 9 + 3 * 5));
    }

    #[test]
    fn peers_run_where_they_can_and_only_in_their_sweeps() {
        let full = plan(&args(Mode::Full));
        for case in &full.produce {
            let go = case.clients.contains(&Client::KafkaGo);
            assert_eq!(
                go,
                case.sweep.with_peers() && !case.spec.idempotence,
                "{case:?}"
            );
        }
        for case in full.consume.iter().filter(|c| c.sweep == Sweep::Fetch) {
            assert_eq!(case.clients, [Client::RustBase]);
        }
        let alone = plan(&PlanArgs {
            no_java: true,
            no_kafka_go: true,
            no_franz_go: true,
            ..args(Mode::Quick)
        });
        assert!(!alone.needs(Client::KafkaGo) && !alone.needs(Client::FranzGo));
        assert!(
            alone
                .produce
                .iter()
                .all(|c| c.clients.iter().all(|client| client.is_ours()))
        );
    }
}
