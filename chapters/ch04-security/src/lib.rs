//! 四.6 安全：TLS、SASL/SCRAM 与 ACL.
//!
//! - [`lesson`]: the client settings for a `SASL_SSL` listener (TLS with our
//!   CA and hostname verification, SCRAM-SHA-512 with secrets from the
//!   environment), a login check that fails fast instead of letting
//!   librdkafka retry, and producing/consuming that counts what got through
//!   under the broker's ACLs — the code the book page shows;
//! - [`lab`]: the secured node's users and CA (from `cargo xtask kafka up
//!   --secure`), ACLs granted with Kafka's own `kafka-acls` tool (rdkafka has
//!   no ACL calls), and the TLS-vs-plaintext benchmark.

pub mod lab;
pub mod lesson;
