//! `cargo xtask`: the project's own commands.
//!
//! - `kafka up|down|status|logs|tool`: a real Apache Kafka broker (or three),
//!   run with `java` from Maven Central artifacts; no Docker needed;
//!   `kafka up --secure`: the separate TLS + SCRAM + ACL node of 四.6.
//! - `test`: every check the project makes, ending in a pass/fail summary.
//! - `tour`: run the chapters in order against a broker.
//! - `book`: build (or serve) the mdBook.
//! - `bench`: the benchmark lab (labs/bench, 附录 E): rdkafka against the Java client and kafka-go.

mod bench;
mod book;
mod book_checks;
mod doctor;
mod exercise;
mod kafka;
mod paths;
mod quickstart;
mod runner;
mod secure;
mod test;
mod tour;
mod workshop;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Tasks for the Rust + Kafka tutorial",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a local Apache Kafka cluster from Maven Central artifacts
    #[command(subcommand)]
    Kafka(kafka::KafkaCommand),
    /// fmt + clippy + single-node tests + the quickstart + three-node tests + book checks, with a summary
    Test(test::TestArgs),
    /// Run every chapter in order against a broker (starting one if none answers)
    Tour(tour::TourArgs),
    /// Build the mdBook (installing the pinned mdbook if needed); --serve to read it locally
    Book(book::BookArgs),
    /// The benchmark lab (labs/bench, 附录 E): our client against Kafka's Java perf tools and kafka-go
    Bench(bench::BenchArgs),
    /// Workshop exercises: list, check, solve, reset, verify
    #[command(subcommand)]
    Exercise(exercise::ExerciseCommand),
    /// The offline room kit: `prepare` fetches everything once, `offline` proves the course runs without network
    #[command(subcommand)]
    Workshop(workshop::WorkshopCommand),
    /// Check this machine before a workshop: tools, ports, disk, caches; prints the fix for each miss
    Doctor(doctor::DoctorArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Every port and the broker's data directory follow KAFKA_PORT_BASE:
    // refuse a bad value before anything binds or starts.
    if let Err(error) = kafka_layout::ports::try_base() {
        eprintln!("error: {error}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Kafka(command) => kafka::run(command),
        Command::Test(args) => test::run(&args),
        Command::Tour(args) => tour::run(&args),
        Command::Book(args) => book::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Doctor(args) => doctor::run(&args),
        Command::Exercise(command) => exercise::run(command),
        Command::Workshop(command) => workshop::run(command),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
