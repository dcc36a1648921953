//! The lesson of 四.6, one idea per file:
//!
//! - [`config`]: what a client sets to talk to a `SASL_SSL` listener, with
//!   the secrets taken from the environment, never from the code;
//! - [`login`]: checking the login once, failing fast with librdkafka's own
//!   reason (TLS, authentication, wrong protocol) instead of retrying forever;
//! - [`clients`]: a producer, a consumer and an admin call under ACLs, each
//!   counting what the broker let through.

pub mod clients;
pub mod config;
pub mod login;

pub use clients::{Consumed, Produced, consume_counted, create_topic, produce_counted};
pub use config::{ConfigError, Login, SECURITY_KEYS, secure_config};
pub use login::{LoginError, SecurityContext, check_login};
