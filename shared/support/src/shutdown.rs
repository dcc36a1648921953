//! Graceful shutdown on SIGINT (Ctrl-C) and SIGTERM.
//!
//! The first signal cancels the token: loops stop taking new work, producers
//! flush, consumers commit what they processed and leave the group. A second
//! signal exits at once, for the impatient.

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// Returns a token that is cancelled on the first SIGINT or SIGTERM.
/// Must be called inside a tokio runtime.
pub fn shutdown_token() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            tracing::warn!("cannot listen for SIGTERM; only Ctrl-C stops this program gracefully");
            return;
        };
        let name = tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        };
        eprintln!("received {name}: finishing in-flight work (press Ctrl-C again to exit at once)");
        cancel.cancel();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
        eprintln!("second signal: exiting without cleanup");
        std::process::exit(130);
    });
    token
}
