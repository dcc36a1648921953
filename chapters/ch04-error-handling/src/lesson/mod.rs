//! The lesson of 四.3 错误处理, one idea per file:
//!
//! - [`classify`]: what to retry and what to fail fast on; a full queue
//!   waited out, every other send error returned;
//! - [`dead_letter`]: poison records to `<topic>.dlq` after bounded attempts;
//! - [`retry_topic`]: failures time may cure, retried later through `<topic>.retry`;
//! - [`shutdown`]: commit and close within a limit the caller chose.

pub mod classify;
pub mod dead_letter;
pub mod retry_topic;
pub mod shutdown;
