//! The `/metrics` endpoint Prometheus scrapes.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::metrics::Metrics;

/// Why the endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error(
        "cannot serve /metrics on port {port}: the port is already in use (another exporter, or \
         an earlier run still going); choose another with --metrics-port"
    )]
    PortInUse { port: u16 },
    #[error("cannot serve /metrics on port {port}: {source}")]
    Bind { port: u16, source: std::io::Error },
}

/// The running endpoint; dropping it stops the server.
pub struct MetricsServer {
    pub address: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ANCHOR: serve
/// Serves `metrics` at `http://127.0.0.1:PORT/metrics` (port 0: any free
/// port; the address says which).
pub async fn serve(port: u16, metrics: Metrics) -> Result<MetricsServer, EndpointError> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::AddrInUse => EndpointError::PortInUse { port },
            _ => EndpointError::Bind { port, source },
        })?;
    let address = listener
        .local_addr()
        .map_err(|source| EndpointError::Bind { port, source })?;
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics);
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!("the metrics endpoint stopped: {error}");
        }
    });
    Ok(MetricsServer { address, task })
}

/// One scrape: the text format, or 503 with the reason there is nothing
/// to show (statistics off, or none yet) — never a page of zeros.
async fn scrape(State(metrics): State<Metrics>) -> Response {
    match metrics.render() {
        Ok(text) => ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], text).into_response(),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, reason.to_string()).into_response(),
    }
}
// ANCHOR_END: serve
