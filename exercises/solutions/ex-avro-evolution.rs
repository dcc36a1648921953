//! 四.2 exercise: a new field, and the records already on the topic.
//!
//! The topic holds click events written with schema v1 and v2 (四.2). The
//! team adds the visitor's country in v3 and builds the consumer against
//! it. Avro resolves every old record into the reader schema: fields are
//! matched by name, and a field the writer did not have takes the reader
//! schema's default — if it has one.

use std::sync::LazyLock;

use apache_avro::Schema;

/// Version 3 of the click event: version 2 plus the visitor's country.
pub const V3_JSON: &str = r#"{
  "type": "record",
  "name": "ClickEvent",
  "namespace": "tutorial.clicks",
  "doc": "Version 3: version 2 plus the visitor's country.",
  "fields": [
    {"name": "event_id", "type": "string"},
    {"name": "user_id", "type": "string", "doc": "Also the Kafka key."},
    {"name": "occurred_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "action", "type": {
      "type": "enum", "name": "Action",
      "symbols": ["UNSPECIFIED", "VIEW", "CLICK", "PURCHASE"],
      "default": "UNSPECIFIED"
    }},
    {"name": "page", "type": {
      "type": "record", "name": "Page",
      "fields": [
        {"name": "url", "type": "string"},
        {"name": "title", "type": "string"}
      ]
    }},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
    {"name": "duration_ms", "type": "long"},
    {"name": "session_id", "type": "string", "default": ""},
    {"name": "country", "type": "string", "default": ""}
  ]
}"#;

/// The consumer's reader schema.
pub static V3: LazyLock<Schema> =
    LazyLock::new(|| Schema::parse_str(V3_JSON).expect("V3_JSON must be a valid Avro schema"));
