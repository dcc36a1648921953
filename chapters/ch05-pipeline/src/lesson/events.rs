//! The pipeline's input: chapter 四.1's click event (`ClickEvent`, Protobuf
//! v1, with its `content-type`/`schema`/`schema-version` headers), keyed by
//! user. Event ids are decimal numbers, unique across restarts of ingest.

use ch04_serialization::lesson::headers::{self, Envelope};
use ch04_serialization::lesson::protobuf::{decode_v1, encode_v1};
use ch04_serialization::pb::v1;
use prost_types::Timestamp;
use rdkafka::message::{BorrowedMessage, Message, OwnedHeaders};

/// The pages the generator clicks on.
pub const PAGES: [&str; 20] = [
    "/",
    "/search",
    "/cart",
    "/checkout",
    "/login",
    "/account",
    "/help",
    "/blog",
    "/about",
    "/pricing",
    "/p/1",
    "/p/2",
    "/p/3",
    "/p/4",
    "/p/5",
    "/c/books",
    "/c/music",
    "/c/games",
    "/c/garden",
    "/c/tools",
];

/// One click as the transform sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: u64,
    pub user: String,
    pub page: String,
    /// Event time: when the click happened (Unix milliseconds).
    pub time_ms: i64,
}

/// Why a record is not an event (it goes to the dead-letter topic).
#[derive(Debug, thiserror::Error)]
pub enum BadEvent {
    #[error("headers: {0}")]
    Envelope(#[from] headers::EnvelopeError),
    #[error("not a ClickEvent: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("event_id {0:?} is not a number")]
    Id(String),
    #[error("the event has no occurred_at timestamp")]
    NoTime,
}

/// splitmix64: spreads event ids over users and pages reproducibly.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

// ANCHOR: generate
/// The event with id `id`: its user and page follow from the id (so a run
/// can be reproduced), its event time is `now_ms`.
pub fn generate(id: u64, users: u64, now_ms: i64) -> Event {
    let h = mix(id);
    Event {
        id,
        user: format!("user-{:05}", h % users.max(1)),
        page: PAGES[((h >> 32) % PAGES.len() as u64) as usize].to_string(),
        time_ms: now_ms,
    }
}

/// Key, value and headers of `event`, as 四.1 writes a click.
pub fn encode(event: &Event) -> (Vec<u8>, OwnedHeaders) {
    let click = v1::ClickEvent {
        event_id: event.id.to_string(),
        user_id: event.user.clone(),
        occurred_at: Some(Timestamp {
            seconds: event.time_ms.div_euclid(1000),
            nanos: (event.time_ms.rem_euclid(1000) * 1_000_000) as i32,
        }),
        action: v1::Action::View as i32,
        page: Some(v1::Page {
            url: event.page.clone(),
            title: String::new(),
        }),
        ..Default::default()
    };
    let value = encode_v1(&click);
    (value, Envelope::new(headers::PROTOBUF, 1).to_headers())
}
// ANCHOR_END: generate

/// A value that passes the header check but is not a ClickEvent (field 1
/// announces 255 bytes that are not there): the generator's bad input.
pub fn poison() -> (Vec<u8>, OwnedHeaders) {
    (
        vec![0x0a, 0xff, 0x01],
        Envelope::new(headers::PROTOBUF, 1).to_headers(),
    )
}

// ANCHOR: decode
/// Checks the headers (四.1: refuse what we cannot read), then decodes.
pub fn decode(message: &BorrowedMessage<'_>) -> Result<Event, BadEvent> {
    Envelope::check(message.headers(), headers::PROTOBUF)?;
    decode_value(message.payload().unwrap_or_default())
}
// ANCHOR_END: decode

/// The value part of [`decode`] (the audit reads owned messages).
pub fn decode_value(value: &[u8]) -> Result<Event, BadEvent> {
    let click = decode_v1(value)?;
    let id = click
        .event_id
        .parse()
        .map_err(|_| BadEvent::Id(click.event_id.clone()))?;
    let time = click.occurred_at.ok_or(BadEvent::NoTime)?;
    Ok(Event {
        id,
        user: click.user_id,
        page: click.page.map(|p| p.url).unwrap_or_default(),
        time_ms: time.seconds * 1000 + i64::from(time.nanos) / 1_000_000,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_poison_does_not_decode() {
        let event = generate(42, 1000, 1_700_000_000_123);
        let (value, _) = encode(&event);
        assert_eq!(decode_value(&value).unwrap(), event);
        assert!(matches!(
            decode_value(&poison().0),
            Err(BadEvent::Decode(_))
        ));
        assert_eq!(generate(42, 1000, 0).user, event.user, "reproducible");
    }
}
