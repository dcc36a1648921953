//! Deterministic sample events, and the records a well-behaved producer
//! would never write (for the refusal drills).

use std::time::Duration;

use anyhow::{Context, Result};
use rdkafka::message::{BorrowedMessage, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::lesson::event::{Action, Click, ClickV2, Page};

/// 2026-01-01T00:00:00Z in milliseconds.
const BASE_MILLIS: i64 = 1_767_225_600_000;

/// A realistic, deterministic event number `i`: a UUID-shaped id, one of
/// 50 users, a product page, two or three tags, a referrer on every other event.
pub fn sample_click(i: u64) -> Click {
    let products = [
        ("wireless-headphones", "Wireless Headphones X2"),
        (
            "mechanical-keyboard",
            "Mechanical Keyboard (brown switches)",
        ),
        ("usb-c-hub", "USB-C Hub, 7 ports"),
        ("4k-monitor", "27\" 4K Monitor"),
    ];
    let (slug, title) = products[(i % 4) as usize];
    let mut tags = vec!["web".to_string(), format!("campaign-{}", i % 3)];
    if i.is_multiple_of(5) {
        tags.push("returning-customer".into());
    }
    Click {
        event_id: format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            i.wrapping_mul(2_654_435_761) as u32,
            i % 0xffff,
            i % 0xfff,
            (i * 7) % 0xfff,
            i.wrapping_mul(0x9E37_79B9_7F4A) & 0xffff_ffff_ffff
        ),
        user_id: format!("user-{:04}", i % 50),
        occurred_at: BASE_MILLIS + i as i64 * 37,
        action: [Action::View, Action::Click, Action::Click, Action::Purchase][(i % 4) as usize],
        page: Page {
            url: format!(
                "https://shop.example.com/products/{slug}?ref=home&pos={}",
                i % 12
            ),
            title: title.to_string(),
        },
        tags,
        referrer: i
            .is_multiple_of(2)
            .then(|| format!("https://www.google.com/search?q={slug}")),
        duration_ms: 150 + (i as i64 * 53) % 4000,
    }
}

/// The v2 form of [`sample_click`]: no referrer, a session id.
pub fn sample_click_v2(i: u64) -> ClickV2 {
    let c = sample_click(i);
    ClickV2 {
        event_id: c.event_id,
        session_id: format!("sess-{:06}", i / 10),
        user_id: c.user_id,
        occurred_at: c.occurred_at,
        action: c.action,
        page: c.page,
        tags: c.tags,
        duration_ms: c.duration_ms,
    }
}

/// Sends one record with arbitrary headers (the drills use it for records a
/// well-behaved producer would never write).
pub async fn send_raw(
    producer: &FutureProducer,
    topic: &str,
    key: &str,
    value: &[u8],
    headers: OwnedHeaders,
) -> Result<(i32, i64)> {
    let record = FutureRecord::to(topic)
        .key(key)
        .payload(value)
        .headers(headers);
    let delivery = producer
        .send(record, Duration::from_secs(30))
        .await
        .map_err(|(e, _)| e)
        .context("delivering a record")?;
    Ok((delivery.partition, delivery.offset))
}

/// `key` of a received record as text.
pub fn key_text(message: &BorrowedMessage<'_>) -> String {
    message
        .key()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .unwrap_or_default()
}
