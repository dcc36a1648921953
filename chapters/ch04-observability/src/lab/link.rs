//! A slow network between the producer and the broker: the lab crate's
//! delaying relay ([`Relay::delayed`]) on the proxy port, in front of the
//! broker's `PROXIED` listener, which advertises the proxy port — so every
//! connection of a client that bootstraps there goes through the delay.
//!
//! Other chapters' labs (二.5, 四.3) use the same port; only one relay can
//! listen at a time, so starting waits (bounded) while the port is taken.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use tutorial_lab::relay::Relay;
use tutorial_support::brokers::{proxied_advertised, proxied_listener};

/// Where a client bootstraps to go through the relay.
pub fn relay_address() -> String {
    proxied_advertised()
}
/// Where the relay forwards to.
pub fn proxied_address() -> String {
    proxied_listener()
}

/// A started delayed link, and how many times the port was busy first.
pub struct DelayedLink {
    pub relay: Relay,
    pub busy_retries: u32,
}

/// Starts a link with `one_way` latency, retrying every 2 s for up to
/// `patience` while another lab holds the proxy port.
pub async fn start_delayed(one_way: Duration, patience: Duration) -> std::io::Result<DelayedLink> {
    let deadline = tokio::time::Instant::now() + patience;
    let mut busy_retries = 0;
    loop {
        match Relay::delayed(&relay_address(), &proxied_address(), one_way).await {
            Ok(relay) => {
                return Ok(DelayedLink {
                    relay,
                    busy_retries,
                });
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrInUse
                    && tokio::time::Instant::now() < deadline =>
            {
                busy_retries += 1;
                tracing::warn!(
                    "{} is in use by another lab; retrying in 2 s ({e})",
                    relay_address()
                );
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether the broker has the PROXIED listener the link needs.
pub fn proxied_listener_present() -> bool {
    proxied_address()
        .to_socket_addrs()
        .into_iter()
        .flatten()
        .any(|address| TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok())
}
