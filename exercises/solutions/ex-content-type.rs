//! 四.1 exercise: read the headers before the bytes.
//!
//! Protobuf bytes carry no type name: decoding JSON, Avro or another
//! message type as a `ClickEvent` often "succeeds" and yields garbage. The
//! producers of this topic state the encoding in a `content-type` header;
//! this consumer decodes only what is marked as Protobuf and refuses
//! everything else — including records without the header.

use ch04_serialization::lesson::headers::{CONTENT_TYPE, PROTOBUF};
use ch04_serialization::lesson::protobuf::decode_v2;
use ch04_serialization::pb::v2::ClickEvent;
use rdkafka::message::{Headers, Message};

/// The click event in `message`, or why it was refused.
pub fn decode_click(message: &impl Message) -> Result<ClickEvent, String> {
    // Headers may repeat; the last one wins (as in 四.1's lesson).
    let content_type = message
        .headers()
        .and_then(|headers| headers.iter().filter(|h| h.key == CONTENT_TYPE).last())
        .and_then(|header| header.value)
        .map(|value| String::from_utf8_lossy(value).into_owned());
    match content_type.as_deref() {
        Some(PROTOBUF) => decode_v2(message.payload().unwrap_or_default())
            .map_err(|e| format!("not a valid ClickEvent: {e}")),
        Some(other) => Err(format!(
            "content-type {other:?}: only {PROTOBUF:?} is decoded here"
        )),
        None => Err(format!("no {CONTENT_TYPE:?} header: refusing to guess")),
    }
}
