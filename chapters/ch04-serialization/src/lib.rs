//! Chapter 四.1 与 四.2: message formats — the same click event as Protobuf,
//! Avro and JSON.
//!
//! Kafka stores bytes: a record's key and value are opaque to the broker.
//! What those bytes mean is a contract between producers and consumers, and
//! this crate shows two ways to make that contract explicit and typed:
//! Protobuf (`prost`, code generated from `.proto` files at build time) and
//! Avro (`apache-avro`, schemas in `.avsc` files, resolved at read time).
//!
//! [`lesson`] is what the book pages include; [`lab`] is what proves it.

pub mod lab;
pub mod lesson;

pub use lesson::event::{Action, Click, ClickV2, Page};
pub use lesson::protobuf::{FILE_DESCRIPTOR_SET, pb};
