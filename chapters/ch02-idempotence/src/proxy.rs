//! A fault-injecting TCP proxy for the Kafka protocol.
//!
//! It sits between a client and the broker's `PROXIED` listener, which
//! advertises the proxy's address in its metadata: a client that bootstraps
//! through the proxy is told "broker 1 is at localhost:9292" and so sends
//! *every* request through it.
//!
//! Two faults, both on Produce only:
//!
//! - **withhold**: for the first `withhold` Produce responses that report
//!   success, the proxy has forwarded the request, the broker has appended the
//!   batch and answered — and the proxy closes both connections instead of
//!   relaying the answer. The client sees a broken connection, cannot know the
//!   write happened, and retries: the classic way duplicates are born.
//! - **delay**: every Produce response is held back this long before it is
//!   relayed, like a slow broker, so the client has to keep requests in flight.
//!
//! Along the way it records every Produce exchange (the batch header the
//! client sent, what the broker answered, what the client got) and the most
//! Produce requests one connection ever had waiting for an answer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

use crate::wire::{self, PRODUCE, ProduceRequest, ProduceResponse};

/// The faults to inject.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Successful Produce responses to swallow, each by closing the connection.
    pub withhold: u32,
    /// How long to hold back every Produce response before relaying it.
    pub delay: Duration,
}

/// What became of one Produce request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// The broker's answer reached the client.
    Relayed,
    /// The broker answered, and the proxy closed the connection instead of
    /// relaying it: the client never learned the outcome.
    Withheld,
    /// The connection closed before the broker's answer came back.
    Unanswered,
}

/// One Produce request and its answer, in the order the requests arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceExchange {
    /// Which client connection (1, 2, …, in order of arrival) carried it.
    pub connection: u32,
    /// `None` if the request could not be read (the proxy forwards it anyway).
    pub request: Option<ProduceRequest>,
    /// `None` while unanswered.
    pub response: Option<ProduceResponse>,
    pub fate: Fate,
}

/// What the proxy saw and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyReport {
    /// Client connections accepted.
    pub connections: u32,
    /// Successful Produce responses swallowed.
    pub withheld: u32,
    /// The most Produce requests one connection had sent without having
    /// received their answers yet.
    pub max_in_flight: usize,
    pub exchanges: Vec<ProduceExchange>,
}

impl ProxyReport {
    /// Produce requests the client sent (including retries).
    pub fn produce_requests(&self) -> usize {
        self.exchanges.len()
    }

    pub fn with_fate(&self, fate: Fate) -> impl Iterator<Item = &ProduceExchange> {
        self.exchanges.iter().filter(move |e| e.fate == fate)
    }
}

/// State shared by every connection of one proxy.
#[derive(Default)]
struct Shared {
    faults: Faults,
    /// Withhold faults not yet used.
    budget: AtomicU32,
    connections: AtomicU32,
    withheld: AtomicU32,
    max_in_flight: AtomicUsize,
    exchanges: Mutex<Vec<ProduceExchange>>,
}

impl Shared {
    fn exchanges(&self) -> MutexGuard<'_, Vec<ProduceExchange>> {
        // A panicking connection task must not take the report down with it.
        self.exchanges.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes one withhold fault, if any is left.
    fn take_fault(&self) -> bool {
        self.budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// A running proxy. [`FaultProxy::stop`] (or dropping it) closes the
/// listener and every connection.
pub struct FaultProxy {
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on every address `listen` resolves to (`localhost` may be
    /// both 127.0.0.1 and ::1, and a client may try either) and forwards
    /// every connection to `broker`.
    pub async fn start(listen: &str, broker: &str, faults: Faults) -> std::io::Result<FaultProxy> {
        let mut listeners = Vec::new();
        let mut refusal = None;
        for address in tokio::net::lookup_host(listen).await? {
            match TcpListener::bind(address).await {
                Ok(listener) => listeners.push(listener),
                // e.g. ::1 on a host without IPv6: the other address will do.
                Err(error) if error.kind() == std::io::ErrorKind::AddrNotAvailable => {
                    refusal = Some(error);
                }
                // Someone else listens there (another run of this chapter?):
                // half a proxy would let some connections bypass the faults.
                Err(error) => return Err(error),
            }
        }
        if listeners.is_empty() {
            return Err(refusal.unwrap_or_else(|| {
                std::io::Error::other(format!("{listen} resolves to no address"))
            }));
        }
        let shared = Arc::new(Shared {
            faults,
            budget: AtomicU32::new(faults.withhold),
            ..Shared::default()
        });
        let (stop, stopped) = oneshot::channel();
        let (broker, state) = (broker.to_string(), Arc::clone(&shared));
        let task = tokio::spawn(async move {
            let mut accepting = JoinSet::new();
            for listener in listeners {
                accepting.spawn(accept(listener, broker.clone(), Arc::clone(&state)));
            }
            // Until stop() is called or the FaultProxy is dropped.
            let _ = stopped.await;
            // Aborting an accept loop drops its listener and its connections;
            // shutdown() returns once that has happened, so the port is free.
            accepting.shutdown().await;
        });
        Ok(FaultProxy {
            shared,
            stop: Some(stop),
            task,
        })
    }

    /// Everything observed so far.
    pub fn report(&self) -> ProxyReport {
        ProxyReport {
            connections: self.shared.connections.load(Ordering::SeqCst),
            withheld: self.shared.withheld.load(Ordering::SeqCst),
            max_in_flight: self.shared.max_in_flight.load(Ordering::SeqCst),
            exchanges: self.shared.exchanges().clone(),
        }
    }

    /// Closes the listeners and every connection, waits until the port is
    /// free again, and returns the final report.
    pub async fn stop(mut self) -> ProxyReport {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
        self.report()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Dropping the sender wakes the task, which then shuts down.
        self.stop.take();
    }
}

/// Accepts clients on one listener; each gets its own broker connection.
async fn accept(listener: TcpListener, broker: String, shared: Arc<Shared>) {
    // Owning the connection tasks here means that aborting this loop
    // aborts them too: stopping the proxy cuts every connection.
    let mut connections = JoinSet::new();
    while let Ok((client, _)) = listener.accept().await {
        let Ok(upstream) = TcpStream::connect(&broker).await else {
            continue; // the client sees its connection close and retries
        };
        let _ = client.set_nodelay(true);
        let _ = upstream.set_nodelay(true);
        let id = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
        connections.spawn(relay(id, client, upstream, Arc::clone(&shared)));
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
}

async fn read_frame(reader: &mut OwnedReadHalf) -> std::io::Result<Vec<u8>> {
    let length = reader.read_u32().await? as usize;
    let mut frame = vec![0; length];
    reader.read_exact(&mut frame).await?;
    Ok(frame)
}

async fn write_frame(writer: &mut OwnedWriteHalf, frame: &[u8]) -> std::io::Result<()> {
    let length = u32::try_from(frame.len()).map_err(std::io::Error::other)?;
    writer.write_u32(length).await?;
    writer.write_all(frame).await
}

/// A Produce request on its way: its version (needed to read the answer)
/// and where it is recorded.
struct Pending {
    version: i16,
    exchange: usize,
}

// ANCHOR: relay
/// One client connection. Requests flow to the broker unchanged; answers
/// flow back unless the fault plan says otherwise.
async fn relay(connection: u32, client: TcpStream, broker: TcpStream, shared: Arc<Shared>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut broker_read, mut broker_write) = broker.into_split();
    // correlation id → the Produce request it belongs to
    let pending: Arc<Mutex<HashMap<i32, Pending>>> = Arc::default();
    let in_flight = Arc::new(AtomicUsize::new(0));

    // Client → broker: note every Produce request, then forward it.
    let upstream = {
        let (pending, in_flight, shared) = (pending.clone(), in_flight.clone(), shared.clone());
        tokio::spawn(async move {
            while let Ok(frame) = read_frame(&mut client_read).await {
                if let Some(header) = wire::request_header(&frame)
                    && header.api_key == PRODUCE
                {
                    let exchange = {
                        let mut exchanges = shared.exchanges();
                        exchanges.push(ProduceExchange {
                            connection,
                            request: wire::produce_request(&frame),
                            response: None,
                            fate: Fate::Unanswered,
                        });
                        exchanges.len() - 1
                    };
                    let waiting = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    shared.max_in_flight.fetch_max(waiting, Ordering::SeqCst);
                    let entry = Pending {
                        version: header.api_version,
                        exchange,
                    };
                    lock(&pending).insert(header.correlation_id, entry);
                }
                if write_frame(&mut broker_write, &frame).await.is_err() {
                    break;
                }
            }
        })
    };

    // Broker → client: relay answers, except the ones the fault plan swallows.
    while let Ok(frame) = read_frame(&mut broker_read).await {
        let produce = wire::response_correlation_id(&frame)
            .and_then(|correlation| lock(&pending).remove(&correlation));
        if let Some(Pending { version, exchange }) = produce {
            let response = wire::produce_response(&frame, version);
            shared.exchanges()[exchange].response = response;
            // Only a success means the batch is in the log; swallowing an
            // error answer would not create a duplicate.
            let written = response.is_some_and(|r| r.error_code == 0);
            if written && shared.take_fault() {
                shared.exchanges()[exchange].fate = Fate::Withheld;
                shared.withheld.fetch_add(1, Ordering::SeqCst);
                break; // closes both connections, answer unsent
            }
            if !shared.faults.delay.is_zero() {
                tokio::time::sleep(shared.faults.delay).await;
            }
            if write_frame(&mut client_write, &frame).await.is_err() {
                break;
            }
            shared.exchanges()[exchange].fate = Fate::Relayed;
            in_flight.fetch_sub(1, Ordering::SeqCst);
        } else if write_frame(&mut client_write, &frame).await.is_err() {
            break;
        }
    }
    // Dropping the upstream task's halves and ours closes both sockets.
    upstream.abort();
}
// ANCHOR_END: relay

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
