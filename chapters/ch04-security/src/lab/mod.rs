//! The lab of 四.6: the secured node's users ([`node`]), ACLs through
//! Kafka's own tool ([`acls`]) and the cost of TLS ([`bench`]).

pub mod acls;
pub mod bench;
pub mod node;

pub use node::{NodeMissing, SecureNode};
