//! The lab of 四.1 and 四.2: what proves the lesson.
//!
//! - [`samples`]: deterministic sample events, records no well-behaved
//!   producer would write;
//! - [`evolution`]: the evolution matrix through the broker and the
//!   incompatible-change drills;
//! - [`apache_avro`]: where apache-avro's own fingerprint differs;
//! - [`confluent`]: the Confluent Schema Registry wire format (framing only),
//!   checked against Confluent's own serializers;
//! - [`python`]: the Python peer (protobuf, fastavro, confluent-kafka);
//! - [`bench`]: size and speed against JSON.

pub mod apache_avro;
pub mod bench;
pub mod confluent;
pub mod evolution;
pub mod python;
pub mod samples;
