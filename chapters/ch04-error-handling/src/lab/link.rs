//! The cuttable link: the one TCP relay of the lab crate
//! ([`tutorial_lab::relay::Relay`]) between a client and the broker's
//! `PROXIED` listener, which advertises the relay's address — so every
//! connection the client opens, bootstrap and leader alike, goes through it.
//!
//! Cutting the relay closes every open connection and refuses new ones: to
//! the client that is exactly "all brokers are down", while the broker keeps
//! running for everybody else. Restoring it lets the client reconnect.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use tutorial_lab::relay::{Relay, start_when_free};
use tutorial_support::brokers::{proxied_advertised, proxied_listener};

/// The broker's PROXIED listener, where the relay forwards to
/// (`cargo xtask kafka up` and the docker-compose broker provide it).
pub fn proxied_address() -> String {
    proxied_listener()
}
/// The address that listener advertises: where the relay listens, and the
/// bootstrap address of every client that should lose its brokers.
pub fn relay_address() -> String {
    proxied_advertised()
}

/// How long to wait for the relay's port: every lab in front of the
/// `PROXIED` listener shares it, and `cargo xtask test` runs several test
/// binaries at once (the same bound as 二.5's and 四.7's labs).
const PORT_WAIT: Duration = Duration::from_secs(120);

/// Starts the link: `relay_address()` → `proxied_address()`, waiting while
/// another lab holds the port. `cut()` and `restore()` it.
pub async fn start() -> std::io::Result<Relay> {
    let (listen, target) = (relay_address(), proxied_address());
    start_when_free(PORT_WAIT, || Relay::start(&listen, &target)).await
}

/// Whether the broker has the PROXIED listener the link needs.
pub fn proxied_listener_present() -> bool {
    proxied_address()
        .to_socket_addrs()
        .into_iter()
        .flatten()
        .any(|address| TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok())
}
