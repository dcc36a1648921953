//! A network link we can cut: a plain TCP relay between a client and the
//! broker's `PROXIED` listener (which advertises the relay's port, so every
//! connection the client opens goes through it).
//!
//! Cutting the link closes every open connection and refuses new ones —
//! to the client that is exactly "all brokers are down" — while the broker
//! itself keeps running for everybody else. Restoring it lets the client
//! reconnect.

use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A relay from `listen` to `upstream` that can be cut and restored.
pub struct Link {
    listen: String,
    upstream: String,
    up: Arc<watch::Sender<bool>>,
    task: Option<JoinHandle<()>>,
}

impl Link {
    /// Starts relaying `listen` → `upstream`.
    pub async fn start(listen: &str, upstream: &str) -> std::io::Result<Link> {
        let mut link = Link {
            listen: listen.to_string(),
            upstream: upstream.to_string(),
            up: Arc::new(watch::channel(true).0),
            task: None,
        };
        link.restore().await?;
        Ok(link)
    }

    /// Closes every relayed connection and stops listening: new connection
    /// attempts are refused.
    pub fn cut(&mut self) {
        self.up.send_replace(false);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Listens again; the client reconnects on its own.
    pub async fn restore(&mut self) -> std::io::Result<()> {
        if self.task.is_some() {
            return Ok(());
        }
        let listener = TcpListener::bind(&self.listen).await?;
        self.up.send_replace(true);
        let (upstream, up) = (self.upstream.clone(), Arc::clone(&self.up));
        self.task = Some(tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                tokio::spawn(relay(client, server, up.subscribe()));
            }
        }));
        Ok(())
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.cut();
    }
}

/// Copies bytes both ways until either side closes or the link is cut.
async fn relay(mut client: TcpStream, mut server: TcpStream, mut up: watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = up.wait_for(|up| !up) => {}
    }
}
