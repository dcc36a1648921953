//! The lesson of 五 综合实战, one stage or idea per file — each built from
//! an earlier chapter's lesson:
//!
//! - [`events`]: the input, 四.1's click event (Protobuf + headers);
//! - [`ingest`]: an idempotent producer (二.5) that never reuses an event id;
//! - [`windows`]: tumbling event-time windows and the checkpoint that makes
//!   them exactly-once;
//! - [`results`]: the transform's output record;
//! - [`transform`]: 四.4's read-process-write loop around the windows, bad
//!   records to 四.3's dead-letter topic inside the same transaction;
//! - [`sink`]: SQLite rows and the consumed offsets in one database
//!   transaction;
//! - [`observe`]: 四.5's statistics and `/metrics` for every stage.

pub mod events;
pub mod ingest;
pub mod observe;
pub mod results;
pub mod sink;
pub mod transform;
pub mod windows;
