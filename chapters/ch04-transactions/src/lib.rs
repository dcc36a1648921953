//! Chapter 四.4 (transactions): exactly-once read-process-write.
//!
//! A transactional producer writes the output records *and* the consumer's
//! offsets in one transaction: either both become visible to
//! `read_committed` readers, or neither does. A crash at any point is
//! repaired by the next instance with the same `transactional.id`.
//!
//! [`lesson`] is what the book page includes; [`lab`] is what proves it.

pub mod lab;
pub mod lesson;
