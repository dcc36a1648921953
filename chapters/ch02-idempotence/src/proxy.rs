//! A fault-injecting TCP proxy for the Kafka protocol.
//!
//! It sits between the client and the broker's `PROXIED` listener (which
//! advertises the proxy's port, so the client sends *every* request through
//! it). For the first `faults` Produce requests it forwards the request,
//! waits until the broker's response arrives — so the records really were
//! appended — and then closes both connections instead of relaying it. The
//! client sees a broken connection, cannot know the write succeeded, and
//! retries: the classic way duplicates are born.
//!
//! Kafka framing: every request and response is a 4-byte big-endian length
//! followed by that many bytes. A request header starts with api_key (i16),
//! api_version (i16), correlation_id (i32); a response header starts with
//! the correlation_id. Produce is api_key 0.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const PRODUCE: i16 = 0;

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    dropped: Arc<AtomicU32>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on `listen` and forwards to `broker`, swallowing the
    /// responses of the first `faults` Produce requests.
    pub async fn start(listen: &str, broker: &str, faults: u32) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind(listen).await?;
        let budget = Arc::new(AtomicU32::new(faults));
        let dropped = Arc::new(AtomicU32::new(0));
        let (broker, dropped_in_task) = (broker.to_string(), Arc::clone(&dropped));
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(upstream) = TcpStream::connect(&broker).await else {
                    continue;
                };
                let (budget, dropped) = (Arc::clone(&budget), Arc::clone(&dropped_in_task));
                tokio::spawn(relay(client, upstream, budget, dropped));
            }
        });
        Ok(FaultProxy { dropped, task })
    }

    /// How many Produce responses were swallowed so far.
    pub fn responses_dropped(&self) -> u32 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_frame(reader: &mut OwnedReadHalf) -> std::io::Result<Vec<u8>> {
    let length = reader.read_u32().await? as usize;
    let mut frame = vec![0; length];
    reader.read_exact(&mut frame).await?;
    Ok(frame)
}

async fn write_frame(writer: &mut OwnedWriteHalf, frame: &[u8]) -> std::io::Result<()> {
    writer.write_u32(frame.len() as u32).await?;
    writer.write_all(frame).await
}

// ANCHOR: relay
/// One client connection: requests flow up unchanged; a marked response
/// ends the connection instead of flowing down.
async fn relay(
    client: TcpStream,
    broker: TcpStream,
    budget: Arc<AtomicU32>,
    dropped: Arc<AtomicU32>,
) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut broker_read, mut broker_write) = broker.into_split();
    let doomed: Arc<Mutex<HashSet<i32>>> = Arc::default();

    let marks = Arc::clone(&doomed);
    let upstream = tokio::spawn(async move {
        while let Ok(frame) = read_frame(&mut client_read).await {
            if frame.len() >= 8 {
                let api_key = i16::from_be_bytes([frame[0], frame[1]]);
                let correlation = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
                let take = api_key == PRODUCE
                    && budget
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                if take {
                    marks
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(correlation);
                }
            }
            if write_frame(&mut broker_write, &frame).await.is_err() {
                break;
            }
        }
    });

    while let Ok(frame) = read_frame(&mut broker_read).await {
        let correlation = frame
            .get(..4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .unwrap_or(-1);
        if doomed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&correlation)
        {
            // The broker has written the records; the client will never know.
            dropped.fetch_add(1, Ordering::Relaxed);
            break;
        }
        if write_frame(&mut client_write, &frame).await.is_err() {
            break;
        }
    }
    upstream.abort();
    // Dropping both halves of both sockets closes the connections.
}
// ANCHOR_END: relay
