//! The one TCP relay every lab builds on: the cuttable link of 四.3, the
//! fault-injecting proxy of 二.5, and any delaying link.
//!
//! A [`Relay`] listens on every address its host resolves to (`localhost` is
//! both `::1` and `127.0.0.1`, and a client may try either first), connects
//! each accepted client to `upstream`, and hands both streams to a handler:
//! by default a plain byte copy both ways, or a lab's own (which may parse
//! Kafka frames, hold answers back, or close connections on purpose).
//! [`Relay::cut`] closes every relayed connection and stops listening — to
//! the client, all brokers are gone — and [`Relay::restore`] listens again.
//!
//! A relay on a fixed port also *reserves* it for its whole life (an
//! exclusive lock on a file named after the address): while it is cut, the
//! port is free, and without the reservation another lab's relay — another
//! test binary, run at the same time by `cargo xtask test` — could bind it,
//! and the first lab's clients would reconnect through the wrong relay
//! (四.3's outage test once saw its commit succeed "through the cut link").

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// One relayed connection, handed to the handler.
pub struct Connection {
    /// 1, 2, … in order of arrival.
    pub id: u32,
    pub client: TcpStream,
    pub server: TcpStream,
}

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
type Handler = Arc<dyn Fn(Connection) -> BoxFuture + Send + Sync>;

/// A relay from `listen` to `upstream` that can be cut and restored.
pub struct Relay {
    listen: String,
    upstream: String,
    handler: Handler,
    connections: Arc<AtomicU32>,
    bound: Vec<SocketAddr>,
    up: CancellationToken,
    accept: Vec<JoinHandle<()>>,
    /// The lock that reserves a fixed port while this relay lives.
    _reservation: Option<Flock<std::fs::File>>,
}

/// Locks the file that stands for `listen`'s port, or fails with
/// `AddrInUse` if another relay (in any process) holds it; `None` for
/// port 0 (a port of the system's choosing is never shared).
fn reserve(listen: &str) -> io::Result<Option<Flock<std::fs::File>>> {
    if listen.ends_with(":0") {
        return Ok(None);
    }
    let name: String = listen
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let path = std::env::temp_dir().join(format!("tutorial-relay-{name}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => Ok(Some(lock)),
        Err((_, Errno::EWOULDBLOCK)) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!(
                "{listen} is reserved by another relay ({} is locked)",
                path.display()
            ),
        )),
        Err((_, errno)) => Err(io::Error::from(errno)),
    }
}

impl Relay {
    /// A plain relay: bytes copied both ways, unchanged.
    pub async fn start(listen: &str, upstream: &str) -> io::Result<Relay> {
        Self::with_handler(listen, upstream, |mut c: Connection| async move {
            let _ = tokio::io::copy_bidirectional(&mut c.client, &mut c.server).await;
        })
        .await
    }

    /// A link with a network's latency: every chunk of bytes, in each
    /// direction, is delivered `one_way` after it arrived. Chunks are
    /// pipelined like packets on a wire — N requests in flight cost one
    /// round trip, not N — which is what a real link does and what a slow
    /// broker (answers held back one after another) does not.
    pub async fn delayed(listen: &str, upstream: &str, one_way: Duration) -> io::Result<Relay> {
        Self::with_handler(listen, upstream, move |c: Connection| async move {
            let (client_read, client_write) = c.client.into_split();
            let (server_read, server_write) = c.server.into_split();
            tokio::join!(
                delay_pipe(client_read, server_write, one_way),
                delay_pipe(server_read, client_write, one_way),
            );
        })
        .await
    }

    /// A relay whose connections are served by `handler`. The handler's
    /// future is dropped (closing both streams) when the relay is cut.
    pub async fn with_handler<F, Fut>(listen: &str, upstream: &str, handler: F) -> io::Result<Relay>
    where
        F: Fn(Connection) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |c| Box::pin(handler(c)) as BoxFuture);
        let reservation = reserve(listen)?;
        let mut relay = Relay {
            listen: listen.to_string(),
            upstream: upstream.to_string(),
            handler,
            connections: Arc::new(AtomicU32::new(0)),
            bound: Vec::new(),
            up: CancellationToken::new(),
            accept: Vec::new(),
            _reservation: reservation,
        };
        relay.restore().await?;
        Ok(relay)
    }

    /// The socket addresses the relay listens on while it is up.
    pub fn bound(&self) -> &[SocketAddr] {
        &self.bound
    }

    /// Client connections accepted so far.
    pub fn connections(&self) -> u32 {
        self.connections.load(Ordering::Relaxed)
    }

    pub fn is_up(&self) -> bool {
        !self.accept.is_empty()
    }

    /// Closes every relayed connection and stops listening: new connection
    /// attempts are refused.
    pub fn cut(&mut self) {
        self.up.cancel();
        for task in self.accept.drain(..) {
            task.abort();
        }
        self.bound.clear();
    }

    /// [`Relay::cut`], and returns only once every listener is closed, so
    /// the next relay on the same port (the next experiment) can bind it.
    pub async fn cut_and_wait(&mut self) {
        self.up.cancel();
        for task in self.accept.drain(..) {
            task.abort();
            // An aborted task drops its listener before its handle resolves.
            let _ = task.await;
        }
        self.bound.clear();
    }

    /// Listens again on every address of `listen`; clients reconnect on
    /// their own. Fails, naming the address, if none can be bound.
    pub async fn restore(&mut self) -> io::Result<()> {
        if self.is_up() {
            return Ok(());
        }
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host(&self.listen).await?.collect();
        let mut listeners = Vec::new();
        let mut last_error = None;
        for addr in addrs {
            match TcpListener::bind(addr).await {
                Ok(listener) => listeners.push(listener),
                // No IPv6 on this machine: the IPv4 address is enough.
                Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable => last_error = Some(e),
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("relay cannot listen on {addr} ({}): {e}", self.listen),
                    ));
                }
            }
        }
        if listeners.is_empty() {
            return Err(last_error.unwrap_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{} resolves to nothing", self.listen),
                )
            }));
        }
        self.up = CancellationToken::new();
        for listener in listeners {
            self.bound.push(listener.local_addr()?);
            let upstream = self.upstream.clone();
            let handler = Arc::clone(&self.handler);
            let connections = Arc::clone(&self.connections);
            let up = self.up.clone();
            self.accept.push(tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let _ = client.set_nodelay(true);
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        continue; // the client sees its connection closed
                    };
                    let _ = server.set_nodelay(true);
                    let id = connections.fetch_add(1, Ordering::Relaxed) + 1;
                    let serve = handler(Connection { id, client, server });
                    let up = up.clone();
                    tokio::spawn(async move {
                        tokio::select! {
                            () = serve => {}
                            () = up.cancelled() => {}
                        }
                    });
                }
            }));
        }
        Ok(())
    }
}

/// Copies `from` → `to`, each chunk released `delay` after it was read.
async fn delay_pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, delay: Duration) {
    let (sender, mut receiver) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sender
                        .send((Instant::now() + delay, buffer[..n].to_vec()))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    };
    let writer = async move {
        while let Some((due, bytes)) = receiver.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
    }
}

/// Starts a relay with `start`, retrying while its address is in use — the
/// relay port (`proxied_advertised()`) is shared by every lab and test that
/// stands in front of the `PROXIED` listener, and another one may hold it
/// for a while. Gives up after `limit`, returning the last error; any other
/// error is returned at once.
pub async fn start_when_free<T, F, Fut>(limit: Duration, mut start: F) -> io::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        match start().await {
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn echo_server() -> (String, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = socket.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        (address, task)
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[tokio::test]
    async fn relays_on_every_localhost_address_and_can_be_cut_and_restored() {
        let (echo, _server) = echo_server().await;
        let listen = format!("localhost:{}", free_port());
        let mut relay = Relay::start(&listen, &echo).await.unwrap();
        let resolved = tokio::net::lookup_host(&listen).await.unwrap().count();
        assert!(!relay.bound().is_empty() && relay.bound().len() <= resolved);

        let mut client = TcpStream::connect(&listen).await.unwrap();
        client.write_all(b"ping").await.unwrap();
        let mut answer = [0u8; 4];
        client.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"ping");

        relay.cut_and_wait().await;
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            client.read_to_end(&mut rest),
        )
        .await;
        assert!(closed.is_ok(), "cut must close relayed connections");
        assert!(
            TcpStream::connect(&listen).await.is_err(),
            "cut must refuse new connections"
        );

        relay.restore().await.unwrap();
        let mut again = TcpStream::connect(&listen).await.unwrap();
        again.write_all(b"pong").await.unwrap();
        again.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"pong");
        assert_eq!(relay.connections(), 2);
    }

    #[tokio::test]
    async fn a_delayed_link_costs_one_round_trip_however_many_requests_are_in_flight() {
        let (echo, _server) = echo_server().await;
        let listen = format!("localhost:{}", free_port());
        let one_way = Duration::from_millis(100);
        let _relay = Relay::delayed(&listen, &echo, one_way).await.unwrap();
        let mut client = TcpStream::connect(&listen).await.unwrap();

        let started = std::time::Instant::now();
        client.write_all(b"x").await.unwrap();
        let mut one = [0u8; 1];
        client.read_exact(&mut one).await.unwrap();
        let round_trip = started.elapsed();
        assert!(
            round_trip >= 2 * one_way,
            "one round trip is two one-way delays: {round_trip:?}"
        );

        // Ten requests sent back to back: a link delivers them all after
        // about one round trip; a server answering one after another would
        // need ten.
        let started = std::time::Instant::now();
        for _ in 0..10 {
            client.write_all(b"y").await.unwrap();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let mut ten = [0u8; 10];
        client.read_exact(&mut ten).await.unwrap();
        let elapsed = started.elapsed();
        assert!(elapsed >= 2 * one_way, "{elapsed:?}");
        assert!(
            elapsed < 5 * one_way,
            "pipelined, not one after another: {elapsed:?}"
        );
    }

    #[tokio::test]
    async fn starting_a_relay_waits_while_its_address_is_in_use_within_a_bound() {
        let (echo, _server) = echo_server().await;
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let holder = Relay::start(&listen, &echo).await.unwrap();

        // Held for longer than the bound: the caller gets "address in use".
        let bound = Duration::from_millis(600);
        let started = std::time::Instant::now();
        let refused = start_when_free(bound, || Relay::start(&listen, &echo)).await;
        assert_eq!(
            refused.err().map(|e| e.kind()),
            Some(io::ErrorKind::AddrInUse)
        );
        assert!(started.elapsed() >= bound, "{:?}", started.elapsed());

        // Freed meanwhile: the relay starts once the holder is gone.
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let mut holder = holder;
            holder.cut();
            tokio::time::sleep(Duration::from_millis(50)).await;
        });
        let relay = start_when_free(Duration::from_secs(10), || Relay::start(&listen, &echo)).await;
        release.await.unwrap();
        assert!(relay.is_ok(), "{:?}", relay.err());
    }

    #[tokio::test]
    async fn a_cut_relay_keeps_its_port_from_other_relays_until_it_is_dropped() {
        let (echo, _server) = echo_server().await;
        let listen = format!("127.0.0.1:{}", free_port());
        let mut first = Relay::start(&listen, &echo).await.unwrap();
        first.cut_and_wait().await;
        // The port is free, but reserved: another relay may not take it…
        let second = Relay::start(&listen, &echo).await;
        assert_eq!(
            second.err().map(|e| e.kind()),
            Some(io::ErrorKind::AddrInUse)
        );
        // …and the first one gets it back.
        first.restore().await.unwrap();
        drop(first);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(Relay::start(&listen, &echo).await.is_ok());
    }
}
