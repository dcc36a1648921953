//! Every TCP port this project uses, in one place.
//!
//! Node `n` (1-based) of the local cluster listens for clients on
//! 9092 + 2(n-1) and for the controller quorum on the port after it
//! (9092/9093, 9094/9095, 9096/9097). A second client listener, `PROXIED`,
//! on 9192 + 2(n-1) advertises the proxy port 9292 + 2(n-1) instead of its
//! own, so a client that bootstraps there sends every request through
//! whatever relay a chapter's lab runs on the proxy port (fault injection,
//! a cuttable link). Nothing listens on a proxy port unless such a lab runs.
//!
//! A chapter that needs a new port adds it here, in [`ALL`], so
//! `cargo xtask kafka up` and the port checks know about it.
//!
//! **A second cluster on the same machine**: `KAFKA_PORT_BASE` (default 9092)
//! moves every port of this list by `KAFKA_PORT_BASE - 9092`, and the
//! cluster's data to `target/kafka-<base>` (see `kafka_state`). Two checkouts,
//! CI next to a running tutorial broker, or two test sessions can then each
//! run their own cluster. Stay below 32768 (where Linux hands out ephemeral
//! client ports): e.g. 19092, 21092, 23092, 25092.

/// Highest node number of the local cluster.
pub const MAX_NODES: u8 = 3;

/// The environment variable that moves every port (see the module docs).
pub const PORT_BASE_ENV: &str = "KAFKA_PORT_BASE";
/// Node 1's client port when `KAFKA_PORT_BASE` is not set.
pub const DEFAULT_BASE: u16 = 9092;
/// Highest `KAFKA_PORT_BASE` accepted: every port stays below 32768.
pub const MAX_BASE: u16 = 32_000;

/// Why `KAFKA_PORT_BASE` cannot be used. The message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "KAFKA_PORT_BASE={value:?} is not a port base: use a number from 1024 to {MAX_BASE} \
     (node 1's client port; every other port moves with it), or unset it for 9092"
)]
pub struct PortBaseError {
    pub value: String,
}

/// Parses a `KAFKA_PORT_BASE` value.
pub fn parse_base(value: &str) -> Result<u16, PortBaseError> {
    value
        .trim()
        .parse::<u16>()
        .ok()
        .filter(|base| (1024..=MAX_BASE).contains(base))
        .ok_or_else(|| PortBaseError {
            value: value.to_string(),
        })
}

/// `KAFKA_PORT_BASE`, checked; 9092 when unset.
pub fn try_base() -> Result<u16, PortBaseError> {
    match std::env::var(PORT_BASE_ENV) {
        Ok(value) => parse_base(&value),
        Err(_) => Ok(DEFAULT_BASE),
    }
}

/// `KAFKA_PORT_BASE`, or 9092 when unset. An invalid value is reported once
/// on stderr and ignored (callers that can stop, like `cargo xtask`, check
/// [`try_base`] first and refuse to start).
pub fn base() -> u16 {
    try_base().unwrap_or_else(|error| {
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| eprintln!("warning: {error}; using {DEFAULT_BASE}"));
        DEFAULT_BASE
    })
}

/// Moves a default port (as documented, for base 9092) to the current base.
pub fn shifted(default_port: u16) -> u16 {
    let base = base();
    if base >= DEFAULT_BASE {
        default_port + (base - DEFAULT_BASE)
    } else {
        default_port - (DEFAULT_BASE - base)
    }
}

/// What a port is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Clients (`PLAINTEXT`): what `KAFKA_BROKERS` points to.
    Client,
    /// The KRaft controller quorum (`CONTROLLER`).
    Controller,
    /// The broker's `PROXIED` listener (advertises the proxy port).
    Proxied,
    /// Where a lab's relay listens in front of the `PROXIED` listener.
    Proxy,
}

/// Every kind of port, in the order they are documented.
pub const ALL: [Purpose; 4] = [
    Purpose::Client,
    Purpose::Controller,
    Purpose::Proxied,
    Purpose::Proxy,
];

impl Purpose {
    /// The port of this kind for `node` (1-based).
    pub fn port(self, node: u8) -> u16 {
        let offset = 2 * (u16::from(node.max(1)) - 1);
        shifted(match self {
            Purpose::Client => 9092 + offset,
            Purpose::Controller => 9093 + offset,
            Purpose::Proxied => 9192 + offset,
            Purpose::Proxy => 9292 + offset,
        })
    }

    /// Whether `cargo xtask kafka up` binds it (the proxy ports belong to labs).
    pub fn bound_by_broker(self) -> bool {
        !matches!(self, Purpose::Proxy)
    }

    pub fn label(self) -> &'static str {
        match self {
            Purpose::Client => "client (PLAINTEXT)",
            Purpose::Controller => "controller (KRaft)",
            Purpose::Proxied => "PROXIED listener",
            Purpose::Proxy => "lab relay (proxy)",
        }
    }
}

pub fn client_port(node: u8) -> u16 {
    Purpose::Client.port(node)
}

pub fn controller_port(node: u8) -> u16 {
    Purpose::Controller.port(node)
}

pub fn proxied_port(node: u8) -> u16 {
    Purpose::Proxied.port(node)
}

pub fn proxy_port(node: u8) -> u16 {
    Purpose::Proxy.port(node)
}

/// Ports that are not per node: (port, who listens), at the current base.
/// 9464 is the port Prometheus' exporter convention assigns to client
/// metrics endpoints; 9392/9393 are the secured node of `kafka up --secure`.
pub fn single() -> Vec<(u16, &'static str)> {
    vec![
        (metrics(), "四.5 metrics endpoint (/metrics)"),
        (pipeline_ingest_metrics(), "五 pipeline: ingest's /metrics"),
        (
            pipeline_transform_metrics(),
            "五 pipeline: transform's /metrics",
        ),
        (pipeline_sink_metrics(), "五 pipeline: sink's /metrics"),
        (secure_client(), "secured node: SASL_SSL listener"),
        (secure_controller(), "secured node: controller (KRaft)"),
    ]
}

/// Where the observability chapter serves `/metrics` by default (9464).
pub fn metrics() -> u16 {
    shifted(9464)
}

/// The capstone pipeline's ingest stage serves `/metrics` here (9465).
pub fn pipeline_ingest_metrics() -> u16 {
    shifted(9465)
}

/// The pipeline's transform stage (9466; a second instance needs its own port).
pub fn pipeline_transform_metrics() -> u16 {
    shifted(9466)
}

/// The pipeline's sink stage (9467).
pub fn pipeline_sink_metrics() -> u16 {
    shifted(9467)
}

/// The secured node's `SASL_SSL` client listener (9392).
pub fn secure_client() -> u16 {
    shifted(9392)
}

/// The secured node's controller listener (9393, loopback only).
pub fn secure_controller() -> u16 {
    shifted(9393)
}

/// Node 1's client listener, as a bootstrap address (`localhost:9092`).
pub fn default_brokers() -> String {
    format!("localhost:{}", client_port(1))
}

/// Node 1's `PROXIED` listener, as a bootstrap address (`localhost:9192`).
pub fn proxied_listener() -> String {
    format!("localhost:{}", proxied_port(1))
}

/// Where node 1's `PROXIED` listener says the broker is: a lab's relay
/// (`localhost:9292`).
pub fn proxied_advertised() -> String {
    format!("localhost:{}", proxy_port(1))
}

/// The bootstrap list for a local cluster of `nodes` nodes.
pub fn bootstrap(nodes: u8) -> String {
    (1..=nodes)
        .map(|n| format!("localhost:{}", client_port(n)))
        .collect::<Vec<_>>()
        .join(",")
}

/// Every port of a cluster of `nodes` nodes: (node, purpose, port).
pub fn every_port(nodes: u8) -> Vec<(u8, Purpose, u16)> {
    (1..=nodes)
        .flat_map(|node| ALL.iter().map(move |p| (node, *p, p.port(node))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_do_not_collide_between_nodes() {
        let mut ports: Vec<u16> = every_port(MAX_NODES).iter().map(|(_, _, p)| *p).collect();
        ports.extend(single().iter().map(|(p, _)| *p));
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 18, "every port distinct: {ports:?}");
    }

    // Tests run with whatever KAFKA_PORT_BASE the caller set, so they check
    // relative positions, plus the defaults through the pure functions.
    #[test]
    fn every_port_moves_with_the_base() {
        // Node 1's client port is the base itself; every other port keeps
        // its documented distance from it.
        let at = |default: u16| base() + (default - DEFAULT_BASE);
        assert_eq!(client_port(1), base());
        assert_eq!(controller_port(3), at(9097));
        assert_eq!(proxy_port(2), at(9294));
        assert_eq!(metrics(), at(9464));
        assert_eq!(pipeline_sink_metrics(), at(9467));
        assert_eq!(secure_client(), at(9392));
        assert_eq!(
            bootstrap(3),
            format!(
                "localhost:{},localhost:{},localhost:{}",
                at(9092),
                at(9094),
                at(9096)
            )
        );
        assert_eq!(proxied_listener(), format!("localhost:{}", at(9192)));
        assert_eq!(proxied_advertised(), format!("localhost:{}", at(9292)));
        assert_eq!(default_brokers(), format!("localhost:{}", at(9092)));
        assert!(every_port(MAX_NODES).iter().all(|(_, _, p)| *p < 32_768));
    }

    #[test]
    fn base_is_checked() {
        assert_eq!(parse_base("19092"), Ok(19092));
        assert_eq!(parse_base(" 9092 "), Ok(9092));
        for bad in ["", "abc", "80", "40000", "-1"] {
            let error = parse_base(bad).unwrap_err().to_string();
            assert!(
                error.contains("KAFKA_PORT_BASE") && error.contains("1024"),
                "{error}"
            );
        }
    }
}
