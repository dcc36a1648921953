//! The click event as plain Rust data.
//!
//! Both formats carry the same event: the Protobuf types are generated from
//! `proto/*.proto` (see [`super::protobuf`]); Avro and JSON serialize these
//! structs through serde — apache-avro checks them against the `.avsc`
//! schema as it writes. This is also the neutral form in which the tests
//! compare what each language decoded.

use serde::{Deserialize, Serialize};

// ANCHOR: event
/// Version 1 of the event, field for field `click_v1.proto` / `click_v1.avsc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "ClickEvent")] // Avro's typed reader checks the record name
pub struct Click {
    pub event_id: String,
    pub user_id: String,
    /// Milliseconds since the Unix epoch (Avro `timestamp-millis`).
    pub occurred_at: i64,
    pub action: Action,
    pub page: Page,
    pub tags: Vec<String>,
    pub referrer: Option<String>,
    pub duration_ms: i64,
}

/// Avro enum symbols and JSON strings; the order matches the schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Action {
    Unspecified,
    View,
    Click,
    Purchase,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub url: String,
    pub title: String,
}

/// Version 2 of the event: `referrer` removed, `session_id` added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "ClickEvent")]
pub struct ClickV2 {
    pub event_id: String,
    pub user_id: String,
    pub occurred_at: i64,
    pub action: Action,
    pub page: Page,
    pub tags: Vec<String>,
    pub duration_ms: i64,
    pub session_id: String,
}
// ANCHOR_END: event
