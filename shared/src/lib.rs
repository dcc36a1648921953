//! Plumbing shared by every chapter of "Rust 与 Kafka 实战".
//!
//! What lives here is the part a reader should *not* have to re-read in every
//! chapter: where the brokers are, whether they answer, how to print the
//! settings a chapter is about, how to stop on Ctrl-C, and test support.
//! The Kafka calls a chapter teaches (`ClientConfig`, `send`, `recv`,
//! `commit`, admin requests) stay in the chapter itself.

pub mod brokers;
pub mod error;
pub mod kafka_tools;
pub mod local_cluster;
pub mod settings;
pub mod shutdown;
pub mod telemetry;
pub mod testing;
pub mod topics;

pub use brokers::{BrokerArgs, Cluster};
pub use error::SupportError;
pub use settings::print_effective;
pub use shutdown::shutdown_token;
pub use telemetry::init_tracing;

/// The end of every chapter's `main`: success, or the error (with its
/// causes) on one `error:` line and exit code 1 — never a panic backtrace.
pub fn exit_code<E: std::fmt::Display>(result: Result<(), E>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
