//! Chapter 三.2: offsets that mean "processed".
//!
//! [`lesson`] is what the book page shows: the three commit patterns, each
//! a complete read loop, the commit on the way out, and deduplication by
//! offset. [`lab`] runs those loops as a worker, crashes it on purpose,
//! audits what was lost and repeated, and measures what each pattern costs.

pub mod lab;
pub mod lesson;
