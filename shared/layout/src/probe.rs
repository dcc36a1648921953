//! Is a Kafka broker there, and how many brokers does it report? A minimal
//! Metadata request over plain TCP, so tools that only start and stop the
//! local cluster (`cargo xtask`) need no Kafka client library.
//!
//! Wire format (Kafka protocol guide, "Metadata API", non-flexible v4):
//! request header v1 (api key 3, version 4, correlation id, client id) and a
//! body of an empty topic array plus `allow_auto_topic_creation`; the answer
//! starts with throttle time and the broker array (node id, host, port, rack).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// One broker as the Metadata answer lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    pub id: i32,
    pub host: String,
    pub port: i32,
}

/// Why no broker list came back.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("`{0}` is not host:port")]
    BadAddress(String),
    #[error("cannot resolve {address}: {error}")]
    Resolve { address: String, error: io::Error },
    /// Every resolved address refused the connection: nothing listens there.
    #[error("connection refused by every address of {}", .0.join(", "))]
    Refused(Vec<String>),
    #[error("{address}: {error}")]
    Io { address: String, error: io::Error },
    #[error("{address}: malformed Metadata answer ({reason})")]
    Malformed { address: String, reason: String },
}

/// Every socket address of every `host:port` in a bootstrap list. `localhost`
/// usually resolves to both `::1` and `127.0.0.1`, and a broker may listen on
/// only one of them, so callers must try them all.
pub fn resolve(bootstrap: &str) -> Result<Vec<(String, SocketAddr)>, ProbeError> {
    let mut out = Vec::new();
    for entry in bootstrap
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let entry = entry
            .strip_prefix("PLAINTEXT://")
            .or_else(|| entry.strip_prefix("plaintext://"))
            .unwrap_or(entry);
        if entry
            .rsplit_once(':')
            .is_none_or(|(_, p)| p.parse::<u16>().is_err())
        {
            return Err(ProbeError::BadAddress(entry.to_string()));
        }
        let addrs = entry
            .to_socket_addrs()
            .map_err(|error| ProbeError::Resolve {
                address: entry.to_string(),
                error,
            })?;
        out.extend(addrs.map(|a| (entry.to_string(), a)));
    }
    if out.is_empty() {
        return Err(ProbeError::BadAddress(bootstrap.to_string()));
    }
    Ok(out)
}

/// `Err(Refused)` when every resolved address of `bootstrap` actively
/// refuses a TCP connection — a broker cannot answer there, so there is no
/// point in waiting. `Ok(())` when one accepts, or when an attempt merely
/// times out (a slow network is still worth the caller's full deadline).
pub fn refused_everywhere(bootstrap: &str, per_address: Duration) -> Result<(), ProbeError> {
    let addrs = resolve(bootstrap)?;
    let mut refused = Vec::new();
    for (_, addr) in &addrs {
        match TcpStream::connect_timeout(addr, per_address) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                refused.push(addr.to_string());
            }
            Err(_) => return Ok(()),
        }
    }
    Err(ProbeError::Refused(refused))
}

/// Asks the first address that accepts for the cluster's brokers.
pub fn brokers(bootstrap: &str, timeout: Duration) -> Result<Vec<Broker>, ProbeError> {
    let deadline = Instant::now() + timeout;
    let mut last = None;
    let mut refused = Vec::new();
    for (name, addr) in resolve(bootstrap)? {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match metadata(&addr, left) {
            Ok(brokers) => return Ok(brokers),
            Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
                refused.push(addr.to_string());
            }
            Err(error) if error.kind() == io::ErrorKind::InvalidData => {
                return Err(ProbeError::Malformed {
                    address: name,
                    reason: error.to_string(),
                });
            }
            Err(error) => last = Some((name, error)),
        }
    }
    match last {
        Some((address, error)) => Err(ProbeError::Io { address, error }),
        None => Err(ProbeError::Refused(refused)),
    }
}

const METADATA: i16 = 3;
const VERSION: i16 = 4;
const CLIENT_ID: &[u8] = b"kafka-layout-probe";

fn metadata(addr: &SocketAddr, timeout: Duration) -> io::Result<Vec<Broker>> {
    let mut stream = TcpStream::connect_timeout(addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut body = Vec::new();
    body.extend_from_slice(&METADATA.to_be_bytes());
    body.extend_from_slice(&VERSION.to_be_bytes());
    body.extend_from_slice(&1i32.to_be_bytes()); // correlation id
    body.extend_from_slice(&(CLIENT_ID.len() as i16).to_be_bytes());
    body.extend_from_slice(CLIENT_ID);
    body.extend_from_slice(&0i32.to_be_bytes()); // topics: none
    body.push(0); // allow_auto_topic_creation = false
    stream.write_all(&(body.len() as i32).to_be_bytes())?;
    stream.write_all(&body)?;

    let mut size = [0u8; 4];
    stream.read_exact(&mut size)?;
    let size = i32::from_be_bytes(size);
    if !(8..=16 << 20).contains(&size) {
        return Err(invalid(format!("frame size {size}")));
    }
    let mut frame = vec![0u8; size as usize];
    stream.read_exact(&mut frame)?;
    parse(&frame)
}

fn invalid(reason: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, reason)
}

/// Parses correlation id, throttle time and the broker array of a Metadata v4 answer.
fn parse(frame: &[u8]) -> io::Result<Vec<Broker>> {
    let mut r = Reader { buf: frame, at: 0 };
    let correlation = r.i32()?;
    if correlation != 1 {
        return Err(invalid(format!("correlation id {correlation}")));
    }
    let _throttle_ms = r.i32()?;
    let count = r.i32()?;
    if !(0..=10_000).contains(&count) {
        return Err(invalid(format!("broker count {count}")));
    }
    (0..count)
        .map(|_| {
            let id = r.i32()?;
            let host = r.string()?.unwrap_or_default();
            let port = r.i32()?;
            let _rack = r.string()?;
            Ok(Broker { id, host, port })
        })
        .collect()
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> io::Result<&[u8]> {
        let end = self.at.checked_add(n).filter(|end| *end <= self.buf.len());
        let end = end.ok_or_else(|| invalid("answer ends early".into()))?;
        let bytes = &self.buf[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn i32(&mut self) -> io::Result<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn string(&mut self) -> io::Result<Option<String>> {
        let b = self.take(2)?;
        let len = i16::from_be_bytes([b[0], b[1]]);
        if len < 0 {
            return Ok(None);
        }
        let bytes = self.take(len as usize)?;
        Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_broker_array_and_rejects_truncation() {
        let mut frame = Vec::new();
        frame.extend_from_slice(&1i32.to_be_bytes());
        frame.extend_from_slice(&0i32.to_be_bytes());
        frame.extend_from_slice(&1i32.to_be_bytes());
        frame.extend_from_slice(&7i32.to_be_bytes());
        frame.extend_from_slice(&9i16.to_be_bytes());
        frame.extend_from_slice(b"localhost");
        frame.extend_from_slice(&9092i32.to_be_bytes());
        frame.extend_from_slice(&(-1i16).to_be_bytes());
        let brokers = parse(&frame).unwrap();
        assert_eq!(
            brokers,
            vec![Broker {
                id: 7,
                host: "localhost".into(),
                port: 9092
            }]
        );
        assert!(parse(&frame[..frame.len() - 3]).is_err());
    }

    #[test]
    fn a_port_nobody_listens_on_is_refused_at_once() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let started = Instant::now();
        let error =
            refused_everywhere(&format!("127.0.0.1:{port}"), Duration::from_secs(5)).unwrap_err();
        assert!(matches!(error, ProbeError::Refused(_)), "{error}");
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(matches!(
            resolve("no-port-here"),
            Err(ProbeError::BadAddress(_))
        ));
    }
}
