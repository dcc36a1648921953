//! What every chapter binary needs at run time, and nothing else.
//!
//! What lives here is the part a reader should *not* have to re-read in every
//! chapter: where the brokers are, whether they answer, how to print the
//! settings a chapter is about, how to stop on Ctrl-C, how to end `main`.
//! The Kafka calls a chapter teaches (`ClientConfig`, `send`, `recv`,
//! `commit`, admin requests) stay in the chapter's lesson. Test and lab
//! machinery lives in `tutorial-lab`; the local cluster's layout (ports,
//! paths, Java) in `kafka-layout`.

pub mod brokers;
pub mod error;
pub mod settings;
pub mod shutdown;
pub mod telemetry;
pub mod topics;

pub use brokers::{BrokerArgs, Cluster};
pub use error::SupportError;
pub use settings::print_effective;
pub use shutdown::shutdown_token;
pub use telemetry::init_tracing;

/// The exit code of a chapter that stopped because it needs a real broker
/// (it ran on librdkafka's mock cluster): not a failure of the chapter, and
/// `cargo xtask tour` reports it as "needs a real broker".
pub const EXIT_NEEDS_REAL_BROKER: u8 = 3;

/// The end of every chapter's `main`: success; or the error (with its
/// causes) on one `error:` line and exit code 1 — never a panic backtrace;
/// or, when a step needs a real broker, one `needs a real broker:` line and
/// [`EXIT_NEEDS_REAL_BROKER`].
pub fn exit_code(result: anyhow::Result<()>) -> std::process::ExitCode {
    let Err(error) = result else {
        return std::process::ExitCode::SUCCESS;
    };
    let needs_real = error.chain().find_map(|cause| match cause.downcast_ref() {
        Some(SupportError::NeedsRealBroker { what }) => Some(what.clone()),
        _ => None,
    });
    match needs_real {
        Some(what) => {
            eprintln!(
                "needs a real broker: {what} (librdkafka's mock cluster lacks it). \
                 Start one with `cargo xtask kafka up` and run again without KAFKA_BROKERS=mock."
            );
            std::process::ExitCode::from(EXIT_NEEDS_REAL_BROKER)
        }
        None => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Prints one machine-readable line, `summary: STEP key=value key=value`,
/// after a showcase step. Tests assert on these lines rather than on the
/// prose around them, so the prose can improve without breaking tests.
/// Values must not contain spaces (they are replaced by `_`).
pub fn summary(step: &str, fields: &[(&str, String)]) {
    println!("{}", summary_line(step, fields));
}

/// The text [`summary`] prints.
pub fn summary_line(step: &str, fields: &[(&str, String)]) -> String {
    let mut line = format!("summary: {step}");
    for (key, value) in fields {
        line.push_str(&format!(
            " {key}={}",
            value.replace(char::is_whitespace, "_")
        ));
    }
    line
}

/// Parses the `key=value` pairs of the first `summary: STEP` line in `output`.
pub fn parse_summary(
    output: &str,
    step: &str,
) -> Option<std::collections::BTreeMap<String, String>> {
    let prefix = format!("summary: {step}");
    let line = output.lines().find(|l| {
        l.strip_prefix(&prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
    })?;
    Some(
        line[prefix.len()..]
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lines_round_trip() {
        let line = summary_line(
            "crash",
            &[("lost", "0".into()), ("note", "two words".into())],
        );
        assert_eq!(line, "summary: crash lost=0 note=two_words");
        let text = format!("prose\n{line}\nsummary: crash-2 lost=9\n");
        let fields = parse_summary(&text, "crash").unwrap();
        assert_eq!(fields["lost"], "0");
        assert_eq!(parse_summary(&text, "crash-2").unwrap()["lost"], "9");
        assert!(parse_summary(&text, "cras").is_none());
    }

    #[test]
    fn needs_real_broker_exits_with_its_own_code() {
        let error = anyhow::Error::new(SupportError::NeedsRealBroker { what: "x".into() })
            .context("step 3");
        assert_eq!(
            exit_code(Err(error)),
            std::process::ExitCode::from(EXIT_NEEDS_REAL_BROKER)
        );
        assert_eq!(
            exit_code(Err(anyhow::anyhow!("boom"))),
            std::process::ExitCode::FAILURE
        );
    }
}
