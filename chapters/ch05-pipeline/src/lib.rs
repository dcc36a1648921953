//! Chapter 五 (综合实战): the capstone pipeline.
//!
//! ingest → `events` → transform → `results` → sink → SQLite. Each stage is
//! a process of its own, built from an earlier chapter's lesson: 二.5's
//! idempotent producer, 四.1's Protobuf events, 四.4's transactional
//! read-process-write loop, 四.3's dead-letter topic, 四.5's metrics, and a
//! sink that stores its offsets with its rows.
//!
//! [`lesson`] is what the book page includes; [`lab`] runs, kills, audits
//! and measures it.

pub mod lab;
pub mod lesson;
