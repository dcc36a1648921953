//! 四.1 消息格式：Protobuf 与消息头 and 四.2 Avro 与 Schema 演进 — the showcase.
//!
//! `cargo run -p ch04-serialization` sends click events through Kafka as
//! Protobuf and as Avro (key = user id, headers = format and schema version),
//! reads them back through the header check, shows which schema changes old
//! and new readers survive, and prints size and speed against JSON. After
//! each step it prints one `summary:` line for the tests.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use ch04_serialization::lab::bench;
use ch04_serialization::lab::evolution::{self, Cell};
use ch04_serialization::lab::samples::{key_text, sample_click, sample_click_v2, send_raw};
use ch04_serialization::lesson::avro::{self, AvroWriter, split_single_object};
use ch04_serialization::lesson::decoder::{ClickDecoder, DecodeError, Decoded, Format};
use ch04_serialization::lesson::event::{Click, ClickV2};
use ch04_serialization::lesson::headers::{self, Envelope, EnvelopeError};
use ch04_serialization::lesson::kafka::{
    CONSUMER_SETTINGS, Outgoing, PRODUCER_SETTINGS, Stop, consume, consumer_config, flush,
    producer_config, send_all, subscribe,
};
use ch04_serialization::lesson::protobuf::FILE_DESCRIPTOR_SET;
use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::FutureProducer;
use tokio_util::sync::CancellationToken;
use tutorial_lab::unique_name;
use tutorial_support::settings::effective;
use tutorial_support::topics::{delete_topic, ensure_topic};
use tutorial_support::{BrokerArgs, init_tracing, print_effective, shutdown_token, summary};

/// 四.1 与 四.2 消息格式: click events as Protobuf and Avro through Kafka, schema evolution, size and speed against JSON
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

/// The value encoding, as the command line spells it.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Protobuf,
    Avro,
}

impl From<FormatArg> for Format {
    fn from(format: FormatArg) -> Format {
        match format {
            FormatArg::Protobuf => Format::Protobuf,
            FormatArg::Avro => Format::Avro,
        }
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
    #[arg(long, value_enum, default_value_t = FormatArg::Protobuf)]
    format: FormatArg,
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
    #[arg(long, value_enum, default_value_t = FormatArg::Protobuf)]
    format: FormatArg,
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
    let idempotence = effective(&producer_config(bootstrap), &["enable.idempotence"])?;
    summary(
        "settings",
        &[(
            "enable.idempotence",
            idempotence
                .first()
                .map_or_else(String::new, |s| s.value.clone()),
        )],
    );
    let producer: FutureProducer = producer_config(bootstrap).create()?;
    // Ctrl-C/SIGTERM: the running consumer commits and leaves, then we stop.
    let stop = shutdown_token();
    let interrupted = || anyhow::anyhow!("interrupted (what was read has been committed)");

    println!(
        "\n① Protobuf through Kafka: key = user id, value = prost bytes, headers say how to read it"
    );
    let topic = unique_name("ch04-clicks-protobuf");
    ensure_topic(&cluster, &topic, 3, 1, &[]).await?;
    let clicks: Vec<Click> = (0..cli.records).map(sample_click).collect();
    let records: Vec<Outgoing> = clicks.iter().map(Outgoing::protobuf_v1).collect();
    send_all(&producer, &topic, &records).await?;
    // A record from a producer that did not get the memo: JSON, same key.
    let first = clicks.first().context("--records is at least 1")?;
    let stray = serde_json::to_vec(first)?;
    let stray_headers = Envelope::new(headers::JSON, 1).to_headers();
    send_raw(&producer, &topic, &first.user_id, &stray, stray_headers).await?;
    let tally = read_and_print(
        bootstrap,
        &topic,
        Format::Protobuf,
        records.len() + 1,
        &stop,
    )
    .await?;
    tally.summary("protobuf-round-trip", records.len());
    delete_topic(&cluster, &topic).await?;
    if stop.is_cancelled() {
        return Err(interrupted());
    }

    let fingerprint = avro::hex(&avro::fingerprint(&avro::V1));
    println!(
        "\n② Avro through Kafka: single-object encoding, C3 01 + writer-schema fingerprint {fingerprint} + datum",
    );
    let topic = unique_name("ch04-clicks-avro");
    ensure_topic(&cluster, &topic, 3, 1, &[]).await?;
    let writer = AvroWriter::new(&avro::V1)?;
    let records = clicks
        .iter()
        .map(|c| Outgoing::avro(&writer, 1, &c.user_id, c))
        .collect::<Result<Vec<_>>>()?;
    send_all(&producer, &topic, &records).await?;
    let tally = read_and_print(bootstrap, &topic, Format::Avro, records.len(), &stop).await?;
    tally.summary("avro-round-trip", records.len());
    summary("avro-fingerprint", &[("v1", fingerprint)]);
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
        summarize_matrix(format, &cells);
        v1_values.push(
            cells
                .iter()
                .find(|c| c.writer == 1)
                .map(|c| c.value.clone())
                .context("no v1 record read back")?,
        );
        delete_topic(&cluster, &topic).await?;
    }
    let [protobuf_v1, avro_v1] = v1_values.as_slice() else {
        anyhow::bail!("expected one v1 record per format");
    };
    let (_, avro_v1_datum) = split_single_object(avro_v1)?;
    print_incompatible(protobuf_v1, avro_v1_datum);

    println!(
        "\n④ Size and speed: {} events, each format from typed value to bytes and back",
        cli.bench_records
    );
    print_table(cli.bench_records)?;
    flush(&producer).await?;
    Ok(())
}

/// What a read-back step saw.
#[derive(Debug, Default)]
struct Tally {
    decoded: usize,
    refused: Vec<String>,
    /// Size of the value of event 0 (user-0000's first record).
    first_bytes: Option<usize>,
}

impl Tally {
    fn summary(&self, step: &str, sent: usize) {
        summary(
            step,
            &[
                ("sent", sent.to_string()),
                ("decoded", self.decoded.to_string()),
                ("refused", self.refused.len().to_string()),
                ("refused_content_types", self.refused.join(",")),
                (
                    "event0_bytes",
                    self.first_bytes.map_or(0, |b| b).to_string(),
                ),
            ],
        );
    }
}

/// Reads `count` records with a fresh group, checks headers, decodes as v1.
async fn read_and_print(
    bootstrap: &str,
    topic: &str,
    format: Format,
    count: usize,
    stop: &CancellationToken,
) -> Result<Tally> {
    let consumer = subscribe(bootstrap, topic, &unique_name("ch04-reader"))?;
    let decoder = ClickDecoder::new(format, 1)?;
    let first_event = sample_click(0).event_id;
    let mut tally = Tally::default();
    consume(
        &consumer,
        Stop::After(count),
        Duration::from_secs(30),
        stop,
        |m| {
            let place = format!("  p{}@{} key={:<9}", m.partition(), m.offset(), key_text(m));
            match decoder.decode(m) {
                Ok((envelope, decoded)) => {
                    tally.decoded += 1;
                    if matches!(&decoded, Decoded::V1(c) if c.event_id == first_event) {
                        tally.first_bytes = Some(m.payload_len());
                    }
                    println!(
                        "{place} {:>3} B  {} v{} -> {}",
                        m.payload_len(),
                        format.name(),
                        envelope.version,
                        short(&decoded)
                    );
                }
                // Refused before decoding: reported, offset stored, not retried
                // (四.3 sends such records to a dead-letter topic).
                Err(error) => {
                    tally.refused.push(match &error {
                        DecodeError::Envelope(EnvelopeError::WrongContentType {
                            found, ..
                        }) => found.clone(),
                        other => other.to_string(),
                    });
                    println!("{place} refused: {error}");
                }
            }
        },
    )
    .await?;
    Ok(tally)
}

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

/// `summary: evolution-<format> w1r1=ok … w2r1_referrer=… w1r2_session_id=…`
fn summarize_matrix(format: Format, cells: &[Cell]) {
    let mut fields = Vec::new();
    for cell in cells {
        let key = format!("w{}r{}", cell.writer, cell.reader);
        let outcome = if cell.result.is_ok() { "ok" } else { "failed" };
        fields.push((key.clone(), outcome.to_string()));
        match &cell.result {
            Ok(Decoded::V1(c)) if cell.writer == 2 => fields.push((
                format!("{key}_referrer"),
                c.referrer.as_deref().unwrap_or("none").to_string(),
            )),
            Ok(Decoded::V2(c)) if cell.writer == 1 => {
                fields.push((format!("{key}_session_id"), format!("{:?}", c.session_id)))
            }
            _ => {}
        }
    }
    let fields: Vec<(&str, String)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    summary(&format!("evolution-{}", format.name()), &fields);
}

/// What the incompatible "v2"s make of a real v1 record from the broker.
fn print_incompatible(protobuf_v1: &[u8], avro_v1_datum: &[u8]) {
    println!("  Incompatible changes, applied to the v1 records read back above:");
    let line = |what: &str, outcome: String| println!("  {what:<60} {outcome}");
    let referrer = sample_click(0).referrer.unwrap_or_default();
    let reused = evolution::protobuf_reused_number(protobuf_v1);
    line(
        "protobuf: field 7 reused as `string campaign`",
        match &reused {
            Ok(e) => format!(
                "NO error, campaign = {:?}  (silently wrong)",
                truncate(&e.campaign, 30)
            ),
            Err(e) => format!("error: {e}"),
        },
    );
    let changed = evolution::protobuf_changed_type(protobuf_v1);
    line(
        "protobuf: field 8 int64 -> string",
        match &changed {
            Ok(e) => format!("NO error, duration = {:?}", e.duration),
            Err(e) => format!("error: {e}"),
        },
    );
    let no_default = evolution::avro_new_field_without_default(avro_v1_datum);
    line(
        "avro: reader adds `session_id` without a default",
        match &no_default {
            Ok(c) => format!("NO error: {c:?}"),
            Err(e) => format!("error: {e}"),
        },
    );
    let type_change = evolution::avro_type_change(avro_v1_datum);
    line(
        "avro: reader changes `duration_ms` long -> string",
        match &type_change {
            Ok(v) => format!("NO error: {v}"),
            Err(e) => format!("error: {e}"),
        },
    );
    let assumed = evolution::avro_assumed_writer_schema(avro_v1_datum);
    line(
        "avro: v2 reader ignores the fingerprint, assumes v2 wrote it",
        match &assumed {
            Ok(c) => format!(
                "NO error, duration_ms = {}, session_id = {:?}  (silently wrong)",
                c.duration_ms,
                truncate(&c.session_id, 30)
            ),
            Err(e) => format!("error: {e}"),
        },
    );
    let outcome = |ok: bool| if ok { "no-error" } else { "error" }.to_string();
    summary(
        "incompatible",
        &[
            ("protobuf_reused_number", outcome(reused.is_ok())),
            (
                "campaign_is_referrer",
                reused
                    .as_ref()
                    .is_ok_and(|e| e.campaign == referrer)
                    .to_string(),
            ),
            ("protobuf_changed_type", outcome(changed.is_ok())),
            ("avro_no_default", outcome(no_default.is_ok())),
            (
                "avro_no_default_missing_field",
                no_default
                    .as_ref()
                    .err()
                    .is_some_and(|e| {
                        e.to_string()
                            .contains("Missing field in record: \"session_id\"")
                    })
                    .to_string(),
            ),
            ("avro_type_change", outcome(type_change.is_ok())),
            ("avro_assumed_writer", outcome(assumed.is_ok())),
            (
                "assumed_writer_duration_ms",
                assumed
                    .as_ref()
                    .map_or_else(|_| "-".to_string(), |c| c.duration_ms.to_string()),
            ),
            (
                "assumed_writer_session_is_referrer",
                assumed
                    .as_ref()
                    .is_ok_and(|c| c.session_id == referrer)
                    .to_string(),
            ),
        ],
    );
}

fn print_table(records: usize) -> Result<()> {
    if cfg!(debug_assertions) {
        println!(
            "  (debug build: sizes are exact, speeds are not representative — \
             `cargo run --release -p ch04-serialization -- --bench`)"
        );
    }
    let rows = bench::measure(records)?;
    print!("{}", bench::render(&rows));
    let mut fields = vec![
        ("records", records.to_string()),
        ("formats", rows.len().to_string()),
    ];
    for (key, prefix) in [
        ("protobuf_bytes", "protobuf"),
        ("avro_bytes", "avro (single-object"),
        ("json_bytes", "json"),
    ] {
        if let Some(row) = rows.iter().find(|r| r.format.starts_with(prefix)) {
            fields.push((key, format!("{:.1}", row.bytes_per_record())));
        }
    }
    summary("bench", &fields);
    Ok(())
}

async fn produce(args: &ProduceArgs) -> Result<()> {
    let cluster = args.brokers.connect()?;
    // The broker may not create topics on first use; create it (3 partitions) if missing.
    ensure_topic(&cluster, &args.topic, 3, 1, &[]).await?;
    let producer: FutureProducer = producer_config(cluster.bootstrap_servers()).create()?;
    let format = Format::from(args.format);
    let records = (0..args.count)
        .map(|i| match (format, args.schema_version) {
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
    flush(&producer).await?;
    println!(
        "produced {} {} v{} records to {}",
        delivered.len(),
        format.name(),
        args.schema_version,
        args.topic
    );
    summary(
        "produce",
        &[
            ("records", delivered.len().to_string()),
            ("format", format.name().to_string()),
            ("version", args.schema_version.to_string()),
        ],
    );
    Ok(())
}

async fn consume_cmd(args: &ConsumeArgs) -> Result<()> {
    let cluster = args.brokers.connect()?;
    let consumer = subscribe(cluster.bootstrap_servers(), &args.topic, &args.group)?;
    let decoder = ClickDecoder::new(args.format.into(), args.reader_version)?;
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
    summary(
        "consume",
        &[
            ("records", handled.to_string()),
            ("decoded", ok.to_string()),
            ("refused", refused.to_string()),
            ("committed", "true".to_string()),
        ],
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
