//! 四.1 exercise: read the headers before the bytes.
//!
//! Protobuf bytes carry no type name: decoding JSON, Avro or another
//! message type as a `ClickEvent` often "succeeds" and yields garbage. The
//! producers of this topic state the encoding in a `content-type` header;
//! this consumer decodes only what is marked as Protobuf and refuses
//! everything else — including records without the header.

#[allow(unused_imports)] // for the TODO
use ch04_serialization::lesson::headers::{CONTENT_TYPE, PROTOBUF};
#[allow(unused_imports)] // for the TODO
use ch04_serialization::lesson::protobuf::decode_v2;
use ch04_serialization::pb::v2::ClickEvent;
#[allow(unused_imports)] // for the TODO
use rdkafka::message::{Headers, Message};

/// The click event in `message`, or why it was refused.
pub fn decode_click(message: &impl Message) -> Result<ClickEvent, String> {
    // TODO: find the `content-type` header (CONTENT_TYPE; if it repeats,
    // the last one wins), and decode the payload with `decode_v2` only when
    // it says PROTOBUF. A missing header or any other content type is an
    // `Err` with a message saying why.
    let _ = message;
    todo!("decode_click")
}
