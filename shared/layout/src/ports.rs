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

/// Highest node number of the local cluster.
pub const MAX_NODES: u8 = 3;

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
        match self {
            Purpose::Client => 9092 + offset,
            Purpose::Controller => 9093 + offset,
            Purpose::Proxied => 9192 + offset,
            Purpose::Proxy => 9292 + offset,
        }
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

/// Ports that are not per node: (port, who listens). 9464 is the port
/// Prometheus' exporter convention assigns to client metrics endpoints.
pub const SINGLE: &[(u16, &str)] = &[(METRICS, "四.5 metrics endpoint (/metrics)")];

/// Where the observability chapter serves `/metrics` by default.
pub const METRICS: u16 = 9464;

/// Node 1's `PROXIED` listener, as a bootstrap address.
pub const PROXIED_LISTENER: &str = "localhost:9192";
/// Where node 1's `PROXIED` listener says the broker is: a lab's relay.
pub const PROXIED_ADVERTISED: &str = "localhost:9292";

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
        ports.extend(SINGLE.iter().map(|(p, _)| *p));
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 13, "every port distinct: {ports:?}");
        assert_eq!(bootstrap(3), "localhost:9092,localhost:9094,localhost:9096");
    }

    #[test]
    fn named_addresses_match_node_one() {
        assert_eq!(PROXIED_LISTENER, format!("localhost:{}", proxied_port(1)));
        assert_eq!(PROXIED_ADVERTISED, format!("localhost:{}", proxy_port(1)));
    }
}
