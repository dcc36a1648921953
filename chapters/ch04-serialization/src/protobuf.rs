//! Protobuf with `prost`: the generated types, and the conversion between
//! them and the plain [`Click`] model.

use prost::Message;
use prost_types::Timestamp;

use crate::pb::{v1, v2};
use crate::{Action, Click, ClickV2, Page};

// ANCHOR: encode
/// Encodes a v1 event. `encode_to_vec` cannot fail: the buffer grows as needed.
pub fn encode_v1(event: &v1::ClickEvent) -> Vec<u8> {
    event.encode_to_vec()
}

/// Decodes bytes as a v1 event. Unknown field numbers (fields added by a
/// newer writer) are skipped; fields missing from the bytes get their proto3
/// default (`""`, `0`, the first enum value, `None` for `optional`).
pub fn decode_v1(bytes: &[u8]) -> Result<v1::ClickEvent, prost::DecodeError> {
    v1::ClickEvent::decode(bytes)
}
// ANCHOR_END: encode

pub fn encode_v2(event: &v2::ClickEvent) -> Vec<u8> {
    event.encode_to_vec()
}

pub fn decode_v2(bytes: &[u8]) -> Result<v2::ClickEvent, prost::DecodeError> {
    v2::ClickEvent::decode(bytes)
}

fn timestamp(millis: i64) -> Timestamp {
    Timestamp {
        seconds: millis.div_euclid(1000),
        nanos: (millis.rem_euclid(1000) * 1_000_000) as i32,
    }
}

fn millis(ts: Option<&Timestamp>) -> i64 {
    ts.map_or(0, |t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000)
}

fn action_from(value: i32) -> Action {
    // An enum value this reader does not know (added by a newer writer)
    // arrives as its number; prost keeps it as the raw i32.
    match v1::Action::try_from(value) {
        Ok(v1::Action::View) => Action::View,
        Ok(v1::Action::Click) => Action::Click,
        Ok(v1::Action::Purchase) => Action::Purchase,
        Ok(v1::Action::Unspecified) | Err(_) => Action::Unspecified,
    }
}

fn action_to(action: Action) -> i32 {
    (match action {
        Action::Unspecified => v1::Action::Unspecified,
        Action::View => v1::Action::View,
        Action::Click => v1::Action::Click,
        Action::Purchase => v1::Action::Purchase,
    }) as i32
}

// ANCHOR: to_proto
impl From<&Click> for v1::ClickEvent {
    fn from(c: &Click) -> Self {
        v1::ClickEvent {
            event_id: c.event_id.clone(),
            user_id: c.user_id.clone(),
            occurred_at: Some(timestamp(c.occurred_at)),
            action: action_to(c.action),
            page: Some(v1::Page {
                url: c.page.url.clone(),
                title: c.page.title.clone(),
            }),
            tags: c.tags.clone(),
            referrer: c.referrer.clone(),
            duration_ms: c.duration_ms,
        }
    }
}
// ANCHOR_END: to_proto

impl From<&v1::ClickEvent> for Click {
    fn from(e: &v1::ClickEvent) -> Self {
        let page = e.page.clone().unwrap_or_default();
        Click {
            event_id: e.event_id.clone(),
            user_id: e.user_id.clone(),
            occurred_at: millis(e.occurred_at.as_ref()),
            action: action_from(e.action),
            page: Page {
                url: page.url,
                title: page.title,
            },
            tags: e.tags.clone(),
            referrer: e.referrer.clone(),
            duration_ms: e.duration_ms,
        }
    }
}

impl From<&ClickV2> for v2::ClickEvent {
    fn from(c: &ClickV2) -> Self {
        v2::ClickEvent {
            event_id: c.event_id.clone(),
            user_id: c.user_id.clone(),
            occurred_at: Some(timestamp(c.occurred_at)),
            action: action_to(c.action),
            page: Some(v2::Page {
                url: c.page.url.clone(),
                title: c.page.title.clone(),
            }),
            tags: c.tags.clone(),
            duration_ms: c.duration_ms,
            session_id: c.session_id.clone(),
        }
    }
}

impl From<&v2::ClickEvent> for ClickV2 {
    fn from(e: &v2::ClickEvent) -> Self {
        let page = e.page.clone().unwrap_or_default();
        ClickV2 {
            event_id: e.event_id.clone(),
            user_id: e.user_id.clone(),
            occurred_at: millis(e.occurred_at.as_ref()),
            action: action_from(e.action),
            page: Page {
                url: page.url,
                title: page.title,
            },
            tags: e.tags.clone(),
            duration_ms: e.duration_ms,
            session_id: e.session_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{sample_click, sample_click_v2};

    #[test]
    fn v1_round_trip_keeps_every_field() {
        for i in 0..20 {
            let click = sample_click(i);
            let decoded = decode_v1(&encode_v1(&(&click).into())).unwrap();
            assert_eq!(Click::from(&decoded), click);
        }
    }

    #[test]
    fn v2_round_trip_keeps_every_field() {
        let click = sample_click_v2(7);
        let decoded = decode_v2(&encode_v2(&(&click).into())).unwrap();
        assert_eq!(ClickV2::from(&decoded), click);
    }

    #[test]
    fn timestamps_before_1970_round_trip() {
        assert_eq!(millis(Some(&timestamp(-1))), -1);
        assert_eq!(timestamp(-1).nanos, 999_000_000);
    }
}
