//! 四 消息格式：Protobuf 与 Avro — the showcase.
//!
//! `cargo run -p ch04-serialization` sends click events through Kafka as
//! Protobuf and as Avro (key = user id, headers = format and schema version),
//! reads them back through the header check, shows which schema changes old
//! and new readers survive, and prints size and speed against JSON.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use ch04_serialization::avro::{self, AvroWriter};
use ch04_serialization::decode::{ClickDecoder, Decoded, Format};
use ch04_serialization::envelope::{self, Envelope};
use ch04_serialization::evolution::{self, Cell};
use ch04_serialization::kafka::{
    CONSUMER_SETTINGS, Outgoing, PRODUCER_SETTINGS, Stop, consume, consumer_config, key_text,
    producer_config, send_all, send_raw, subscribe,
};
use ch04_serialization::{
    Click, ClickV2, FILE_DESCRIPTOR_SET, bench, sample_click, sample_click_v2,
};
use clap::{Args as ClapArgs, Parser, Subcommand};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::FutureProducer;
use tokio_util::sync::CancellationToken;
use tutorial_support::topics::unique_name;
use tutorial_support::topics::{delete_topic, ensure_topic};
use tutorial_support::{BrokerArgs, init_tracing, print_effective, shutdown_token};

/// 四 消息格式: click events as Protobuf and Avro through Kafka, schema evolution, size and speed against JSON
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Events in each round trip
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    records: u64,
    /// Events encoded and decoded for the size/speed table
    #[arg(long, default_value_t = 20_000, value_parser = parse_positive)]
    bench_records: usize,
    /// Only the size/speed table, with 200 000 events (use a --release build)
    #[arg(long)]
    bench: bool,
}

fn parse_positive(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{text:?} is not a positive number of events")),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Produce sample click events (key = user id; headers = format, schema, version)
    Produce(ProduceArgs),
    /// Consume, check headers, decode and print until Ctrl-C/SIGTERM (or --count); commits on exit
    Consume(ConsumeArgs),
    /// Write the compiled .proto files as a serialized FileDescriptorSet (for other languages)
    Descriptor {
        /// Output file
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(ClapArgs)]
struct ProduceArgs {
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Topic to write to (created with 3 partitions if missing)
    #[arg(long)]
    topic: String,
    /// Value encoding
    #[arg(long, value_enum, default_value_t = Format::Protobuf)]
    format: Format,
    /// Schema version to write with (1 or 2)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=2))]
    schema_version: u32,
    /// Number of events
    #[arg(long, default_value_t = 10)]
    count: u64,
}

#[derive(ClapArgs)]
struct ConsumeArgs {
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Topic to read
    #[arg(long)]
    topic: String,
    /// Consumer group (its committed offsets decide where reading starts)
    #[arg(long, default_value = "ch04-consumer")]
    group: String,
    /// The value encoding this consumer accepts (others are refused)
    #[arg(long, value_enum, default_value_t = Format::Protobuf)]
    format: Format,
    /// The schema version this consumer reads as (1 or 2)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=2))]
    reader_version: u32,
    /// Stop after this many records (default: run until Ctrl-C/SIGTERM)
    #[arg(long)]
    count: Option<usize>,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Produce(args)) => produce(args).await,
        Some(Command::Consume(args)) => consume_cmd(args).await,
        Some(Command::Descriptor { out }) => std::fs::write(out, FILE_DESCRIPTOR_SET)
            .with_context(|| format!("writing {}", out.display())),
        None if cli.bench => print_table(200_000),
        None => showcase(&cli).await,
    };
    tutorial_support::exit_code(result)
}

async fn showcase(cli: &Cli) -> Result<()> {
    let cluster = cli.brokers.connect()?;
    let bootstrap = cluster.bootstrap_servers();
    print_effective(
        "Producer settings:",
        &producer_config(bootstrap),
        PRODUCER_SETTINGS,
    )?;
    print_effective(
        "Consumer settings:",
        &consumer_config(bootstrap, "example-group"),
        CONSUMER_SETTINGS,
    )?;
    let producer: FutureProducer = producer_config(bootstrap).create()?;
    // Ctrl-C/SIGTERM: the running consumer commits and leaves, then we stop.
    let stop = shutdown_token();
    let interrupted = || anyhow::anyhow!("interrupted (what was read has been committed)");

    // ANCHOR: protobuf_round_trip
    println!(
        "\n① Protobuf through Kafka: key = user id, value = prost bytes, headers say how to read it"
    );
    let topic = unique_name("ch04-clicks-protobuf");
    ensure_topic(&cluster, &topic, 3, 1, &[]).await?;
    let clicks: Vec<Click> = (0..cli.records).map(sample_click).collect();
    let records: Vec<Outgoing> = clicks.iter().map(Outgoing::protobuf_v1).collect();
    send_all(&producer, &topic, &records).await?;
    // A record from a producer that did not get the memo: JSON, same key.
    let stray = serde_json::to_vec(&clicks[0])?;
    let stray_headers = Envelope::new(envelope::JSON, 1).to_headers();
    send_raw(&producer, &topic, &clicks[0].user_id, &stray, stray_headers).await?;
    read_and_print(
        bootstrap,
        &topic,
        Format::Protobuf,
        records.len() + 1,
        &stop,
    )
    .await?;
    // ANCHOR_END: protobuf_round_trip
    delete_topic(&cluster, &topic).await?;
    if stop.is_cancelled() {
        return Err(interrupted());
    }

    // ANCHOR: avro_round_trip
    println!(
        "\n② Avro through Kafka: single-object encoding, C3 01 + writer-schema fingerprint {} + datum",
        avro::hex(&avro::fingerprint(&avro::V1))
    );
    let topic = unique_name("ch04-clicks-avro");
    ensure_topic(&cluster, &topic, 3, 1, &[]).await?;
    let writer = AvroWriter::new(&avro::V1)?;
    let records = clicks
        .iter()
        .map(|c| Outgoing::avro(&writer, 1, &c.user_id, c))
        .collect::<Result<Vec<_>>>()?;
    send_all(&producer, &topic, &records).await?;
    read_and_print(bootstrap, &topic, Format::Avro, records.len(), &stop).await?;
    // ANCHOR_END: avro_round_trip
    delete_topic(&cluster, &topic).await?;
    if stop.is_cancelled() {
        return Err(interrupted());
    }

    println!(
        "\n③ Schema evolution through Kafka: v2 removes `referrer` and adds `session_id` (default \"\").\n   \
         Event 0 written once with v1 and once with v2, read by a v1 and a v2 consumer:"
    );
    let mut v1_values = Vec::new();
    for format in [Format::Protobuf, Format::Avro] {
        let topic = unique_name(&format!("ch04-evolution-{}", format.name()));
        ensure_topic(&cluster, &topic, 1, 1, &[]).await?;
        let cells = evolution::matrix(bootstrap, &topic, format).await?;
        for cell in &cells {
            println!("  {:<8} {}", format.name(), describe_cell(cell));
        }
        v1_values.push(
            cells
                .iter()
                .find(|c| c.writer == 1)
                .map(|c| c.value.clone())
                .context("no v1 record read back")?,
        );
        delete_topic(&cluster, &topic).await?;
    }
    print_incompatible(&v1_values[0], &v1_values[1][10..]);

    println!(
        "\n④ Size and speed: {} events, each format from typed value to bytes and back",
        cli.bench_records
    );
    print_table(cli.bench_records)?;
    producer_flush(&producer)?;
    Ok(())
}

fn producer_flush(producer: &FutureProducer) -> Result<()> {
    use rdkafka::producer::Producer;
    producer
        .flush(Duration::from_secs(30))
        .context("flushing the producer")
}

// ANCHOR: read_and_print
/// Reads `count` records with a fresh group, checks headers, decodes as v1.
async fn read_and_print(
    bootstrap: &str,
    topic: &str,
    format: Format,
    count: usize,
    stop: &CancellationToken,
) -> Result<()> {
    let consumer = subscribe(bootstrap, topic, &unique_name("ch04-reader"))?;
    let decoder = ClickDecoder::new(format, 1)?;
    consume(
        &consumer,
        Stop::After(count),
        Duration::from_secs(30),
        stop,
        |m| {
            let place = format!("  p{}@{} key={:<9}", m.partition(), m.offset(), key_text(m));
            match decoder.decode(m) {
                Ok((envelope, decoded)) => println!(
                    "{place} {:>3} B  {} v{} -> {}",
                    m.payload_len(),
                    format.name(),
                    envelope.version,
                    short(&decoded)
                ),
                // Refused before decoding: reported, offset stored, not retried
                // (ch04-error-handling sends such records to a dead-letter topic).
                Err(error) => println!("{place} refused: {error}"),
            }
        },
    )
    .await?;
    Ok(())
}
// ANCHOR_END: read_and_print

fn short(decoded: &Decoded) -> String {
    match decoded {
        Decoded::V1(c) => format!(
            "{:?} {:?}, {} tags, referrer {}",
            c.action,
            c.page.title,
            c.tags.len(),
            if c.referrer.is_some() { "set" } else { "none" }
        ),
        Decoded::V2(c) => format!(
            "{:?} {:?}, {} tags, session {:?}",
            c.action,
            c.page.title,
            c.tags.len(),
            c.session_id
        ),
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

fn describe_cell(cell: &Cell) -> String {
    let outcome = match &cell.result {
        Ok(Decoded::V1(c)) => format!(
            "ok, referrer = {:?}",
            c.referrer.as_deref().map(|r| truncate(r, 30))
        ),
        Ok(Decoded::V2(c)) => format!("ok, session_id = {:?}", c.session_id),
        Err(e) => format!("FAILED: {e}"),
    };
    format!(
        "writer v{} -> reader v{}: {outcome}",
        cell.writer, cell.reader
    )
}

/// What the incompatible "v2"s make of a real v1 record from the broker.
fn print_incompatible(protobuf_v1: &[u8], avro_v1_datum: &[u8]) {
    println!("  Incompatible changes, applied to the v1 records read back above:");
    let line = |what: &str, outcome: String| println!("  {what:<60} {outcome}");
    line(
        "protobuf: field 7 reused as `string campaign`",
        match evolution::protobuf_reused_number(protobuf_v1) {
            Ok(e) => format!(
                "NO error, campaign = {:?}  (silently wrong)",
                truncate(&e.campaign, 30)
            ),
            Err(e) => format!("error: {e}"),
        },
    );
    line(
        "protobuf: field 8 int64 -> string",
        match evolution::protobuf_changed_type(protobuf_v1) {
            Ok(e) => format!("NO error, duration = {:?}", e.duration),
            Err(e) => format!("error: {e}"),
        },
    );
    line(
        "avro: reader adds `session_id` without a default",
        match evolution::avro_new_field_without_default(avro_v1_datum) {
            Ok(c) => format!("NO error: {c:?}"),
            Err(e) => format!("error: {e}"),
        },
    );
    line(
        "avro: reader changes `duration_ms` long -> string",
        match evolution::avro_type_change(avro_v1_datum) {
            Ok(v) => format!("NO error: {v}"),
            Err(e) => format!("error: {e}"),
        },
    );
    line(
        "avro: v2 reader ignores the fingerprint, assumes v2 wrote it",
        match evolution::avro_assumed_writer_schema(avro_v1_datum) {
            Ok(c) => format!(
                "NO error, duration_ms = {}, session_id = {:?}  (silently wrong)",
                c.duration_ms,
                truncate(&c.session_id, 30)
            ),
            Err(e) => format!("error: {e}"),
        },
    );
}

// ANCHOR: table
fn print_table(records: usize) -> Result<()> {
    if cfg!(debug_assertions) {
        println!(
            "  (debug build: sizes are exact, speeds are not representative — \
             `cargo run --release -p ch04-serialization -- --bench`)"
        );
    }
    let rows = bench::measure(records)?;
    print!("{}", bench::render(&rows));
    Ok(())
}
// ANCHOR_END: table

async fn produce(args: &ProduceArgs) -> Result<()> {
    let cluster = args.brokers.connect()?;
    // The broker may not create topics on first use; create it (3 partitions) if missing.
    ensure_topic(&cluster, &args.topic, 3, 1, &[]).await?;
    let producer: FutureProducer = producer_config(cluster.bootstrap_servers()).create()?;
    let records = (0..args.count)
        .map(|i| match (args.format, args.schema_version) {
            (Format::Protobuf, 1) => Ok(Outgoing::protobuf_v1(&sample_click(i))),
            (Format::Protobuf, _) => Ok(Outgoing::protobuf_v2(&sample_click_v2(i))),
            (Format::Avro, 1) => {
                let c = sample_click(i);
                Outgoing::avro(&AvroWriter::new(&avro::V1)?, 1, &c.user_id, &c)
            }
            (Format::Avro, _) => {
                let c: ClickV2 = sample_click_v2(i);
                Outgoing::avro(&AvroWriter::new(&avro::V2)?, 2, &c.user_id, &c)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let delivered = send_all(&producer, &args.topic, &records).await?;
    producer_flush(&producer)?;
    println!(
        "produced {} {} v{} records to {}",
        delivered.len(),
        args.format.name(),
        args.schema_version,
        args.topic
    );
    Ok(())
}

async fn consume_cmd(args: &ConsumeArgs) -> Result<()> {
    let cluster = args.brokers.connect()?;
    let consumer = subscribe(cluster.bootstrap_servers(), &args.topic, &args.group)?;
    let decoder = ClickDecoder::new(args.format, args.reader_version)?;
    let stop = shutdown_token();
    let (mut ok, mut refused) = (0, 0);
    let until = args.count.map_or(Stop::OnSignal, Stop::After);
    let handled = consume(
        &consumer,
        until,
        Duration::from_secs(30),
        &stop,
        |m| match decoder.decode(m) {
            Ok((envelope, decoded)) => {
                ok += 1;
                let headers = m.headers().map_or(0, |h| h.count());
                println!(
                    "p{}@{} key={} headers={headers} writer v{} -> {}",
                    m.partition(),
                    m.offset(),
                    key_text(m),
                    envelope.version,
                    serde_json_line(&decoded)
                );
            }
            Err(error) => {
                refused += 1;
                println!("p{}@{} refused: {error}", m.partition(), m.offset());
            }
        },
    )
    .await?;
    println!(
        "consumer stopped: {handled} records, {ok} decoded, {refused} refused; offsets committed"
    );
    Ok(())
}

fn serde_json_line(decoded: &Decoded) -> String {
    match decoded {
        Decoded::V1(c) => serde_json::to_string(c),
        Decoded::V2(c) => serde_json::to_string(c),
    }
    .unwrap_or_default()
}
