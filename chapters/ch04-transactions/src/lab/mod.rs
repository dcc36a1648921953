//! The lab of 四.4: what proves the lesson.
//!
//! - [`worker`]: the lesson's loop as a child process that can stop itself
//!   at a chosen point (`ch04-transactions worker …`);
//! - [`drill`]: kill that worker at each point, let a new instance take
//!   over, and count what a `read_committed` reader finds;
//! - [`audit`]: reading a topic to its end at either isolation level;
//! - [`scenes`]: visibility, fencing, the last stable offset, bad input;
//! - [`peers`]: what kafka-go's `Reader` and Java's console consumer return;
//! - [`bench`]: the cost of exactly-once against at-least-once.

pub mod audit;
pub mod bench;
pub mod drill;
pub mod peers;
pub mod scenes;
pub mod worker;
