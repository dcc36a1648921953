//! Chapter 四.3 (errors): what goes wrong, and what to do about it.
//!
//! Most errors a producer meets are retried by librdkafka on its own; the
//! application's job is to bound that (timeouts), to fail fast on the ones
//! retrying cannot fix, and — on the consumer side — to keep one bad record
//! from stopping the partition: the dead-letter topic.
//!
//! [`lesson`] is what the book page includes; [`lab`] is what proves it.

pub mod lab;
pub mod lesson;
