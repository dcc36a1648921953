//! The lesson of 四.1 (Protobuf and headers) and 四.2 (Avro and schema
//! evolution), one idea per file:
//!
//! - [`event`]: the click event as plain Rust data;
//! - [`protobuf`]: prost's generated types, encode and decode;
//! - [`headers`]: what travels next to the bytes, checked before decoding;
//! - [`kafka`]: producer and consumer settings, send with headers, the read loop;
//! - [`avro`]: single-object encoding, writer → reader schema resolution;
//! - [`decoder`]: one consumer, one reader version, any writer version.

pub mod avro;
pub mod decoder;
pub mod event;
pub mod headers;
pub mod kafka;
pub mod protobuf;
