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
//! Produce requests that were waiting for an answer at once: on one
//! connection, and for one partition on one connection.
//!
//! Accepting, connecting upstream and cutting every connection on stop is
//! the one TCP relay of the lab crate ([`tutorial_lab::relay::Relay`]); this
//! module is the per-connection handler that reads and withholds frames.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::task::JoinHandle;
use tutorial_lab::relay::{Connection, Relay};

use super::wire::{self, PRODUCE, ProduceRequest, ProduceResponse};

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
    /// The same, counted for each partition of each connection: the most
    /// requests one partition had waiting at once.
    pub max_in_flight_per_partition: usize,
    pub exchanges: Vec<ProduceExchange>,
}

impl ProxyReport {
    /// Produce requests the client sent (including retries).
    pub fn produce_requests(&self) -> usize {
        self.exchanges.len()
    }

    /// The fewest and the most records one Produce request carried
    /// (`None` if no request could be read).
    pub fn records_per_request(&self) -> Option<(i32, i32)> {
        let counts = self
            .exchanges
            .iter()
            .filter_map(|e| e.request.as_ref().map(|r| r.record_count));
        counts.fold(None, |range, n| match range {
            None => Some((n, n)),
            Some((low, high)) => Some((low.min(n), high.max(n))),
        })
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
    withheld: AtomicU32,
    max_in_flight: AtomicUsize,
    max_in_flight_per_partition: AtomicUsize,
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
/// listeners and every connection.
pub struct FaultProxy {
    shared: Arc<Shared>,
    relay: Relay,
}

impl FaultProxy {
    /// Listens on every address `listen` resolves to (`localhost` may be
    /// both 127.0.0.1 and ::1, and a client may try either) and forwards
    /// every connection to `broker`. Fails if another process listens there:
    /// half a proxy would let some connections bypass the faults.
    pub async fn start(listen: &str, broker: &str, faults: Faults) -> std::io::Result<FaultProxy> {
        let shared = Arc::new(Shared {
            faults,
            budget: AtomicU32::new(faults.withhold),
            ..Shared::default()
        });
        let state = Arc::clone(&shared);
        let relay = Relay::with_handler(listen, broker, move |connection| {
            serve(connection, Arc::clone(&state))
        })
        .await?;
        Ok(FaultProxy { shared, relay })
    }

    /// Everything observed so far.
    pub fn report(&self) -> ProxyReport {
        ProxyReport {
            connections: self.relay.connections(),
            withheld: self.shared.withheld.load(Ordering::SeqCst),
            max_in_flight: self.shared.max_in_flight.load(Ordering::SeqCst),
            max_in_flight_per_partition: self
                .shared
                .max_in_flight_per_partition
                .load(Ordering::SeqCst),
            exchanges: self.shared.exchanges().clone(),
        }
    }

    /// Closes the listeners and every connection, waits until the port is
    /// free again, and returns the final report.
    pub async fn stop(self) -> ProxyReport {
        let FaultProxy { shared, relay } = self;
        let relay = cut_and_wait(relay).await;
        FaultProxy { shared, relay }.report()
    }
}

/// Cuts a relay and waits until its addresses can be bound again, so the
/// next relay on the same port (the next experiment) does not find it taken.
pub async fn close(relay: Relay) {
    drop(cut_and_wait(relay).await);
}

async fn cut_and_wait(mut relay: Relay) -> Relay {
    relay.cut_and_wait().await;
    relay
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

/// A Produce request on its way: its version (needed to read the answer),
/// its partition (librdkafka puts one partition in each request; `None` if
/// the request could not be read) and where it is recorded.
struct Pending {
    version: i16,
    partition: Option<i32>,
    exchange: usize,
}

/// Produce requests waiting for an answer on one connection: in all, and
/// per partition.
#[derive(Default)]
struct Waiting {
    all: usize,
    per_partition: HashMap<i32, usize>,
}

impl Waiting {
    /// Counts a request sent; returns the new counts (all, its partition).
    fn sent(&mut self, partition: Option<i32>) -> (usize, usize) {
        self.all += 1;
        let mine = partition.map_or(0, |p| {
            let n = self.per_partition.entry(p).or_default();
            *n += 1;
            *n
        });
        (self.all, mine)
    }

    /// Counts a request answered.
    fn answered(&mut self, partition: Option<i32>) {
        self.all = self.all.saturating_sub(1);
        if let Some(n) = partition.and_then(|p| self.per_partition.get_mut(&p)) {
            *n = n.saturating_sub(1);
        }
    }
}

/// Aborts the task when dropped: the relay drops a connection's handler
/// when it is cut, and the handler's upstream half must end with it.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

// ANCHOR: relay
/// One client connection. Requests flow to the broker unchanged; answers
/// flow back unless the fault plan says otherwise.
async fn serve(connection: Connection, shared: Arc<Shared>) {
    let Connection {
        id: connection,
        client,
        server: broker,
    } = connection;
    let (mut client_read, mut client_write) = client.into_split();
    let (mut broker_read, mut broker_write) = broker.into_split();
    // correlation id → the Produce request it belongs to
    let pending: Arc<Mutex<HashMap<i32, Pending>>> = Arc::default();
    let waiting: Arc<Mutex<Waiting>> = Arc::default();

    // Client → broker: note every Produce request, then forward it.
    let _upstream = {
        let (pending, waiting, shared) = (pending.clone(), waiting.clone(), shared.clone());
        AbortOnDrop(tokio::spawn(async move {
            while let Ok(frame) = read_frame(&mut client_read).await {
                if let Some(header) = wire::request_header(&frame)
                    && header.api_key == PRODUCE
                {
                    let request = wire::produce_request(&frame);
                    let partition = request.as_ref().map(|r| r.partition);
                    let exchange = {
                        let mut exchanges = shared.exchanges();
                        exchanges.push(ProduceExchange {
                            connection,
                            request,
                            response: None,
                            fate: Fate::Unanswered,
                        });
                        exchanges.len() - 1
                    };
                    let (all, mine) = lock(&waiting).sent(partition);
                    shared.max_in_flight.fetch_max(all, Ordering::SeqCst);
                    let per_partition = &shared.max_in_flight_per_partition;
                    per_partition.fetch_max(mine, Ordering::SeqCst);
                    let entry = Pending {
                        version: header.api_version,
                        partition,
                        exchange,
                    };
                    lock(&pending).insert(header.correlation_id, entry);
                }
                if write_frame(&mut broker_write, &frame).await.is_err() {
                    break;
                }
            }
        }))
    };

    // Broker → client: relay answers, except the ones the fault plan swallows.
    while let Ok(frame) = read_frame(&mut broker_read).await {
        let produce = wire::response_correlation_id(&frame)
            .and_then(|correlation| lock(&pending).remove(&correlation));
        if let Some(Pending {
            version,
            partition,
            exchange,
        }) = produce
        {
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
            // Counted as answered before the client can read the answer: a
            // client that sends its next request the moment it has the
            // answer must not find this one still counted.
            lock(&waiting).answered(partition);
            if write_frame(&mut client_write, &frame).await.is_err() {
                break;
            }
            shared.exchanges()[exchange].fate = Fate::Relayed;
        } else if write_frame(&mut client_write, &frame).await.is_err() {
            break;
        }
    }
    // Returning drops our halves and (through `_upstream`) aborts the
    // upstream task with its halves: both sockets close.
}
// ANCHOR_END: relay

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
