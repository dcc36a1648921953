//! Chapter 三.1: consumers, consumer groups and the read loop.
//!
//! [`lesson`] is what the book page shows: group settings, the read loop and
//! its clean exit, reading from an offset or a point in time without a
//! group. [`lab`] produces records and runs several members at once.

pub mod lab;
pub mod lesson;
