//! Just enough of the Kafka wire protocol to watch produce traffic go by.
//!
//! Every request and response is a frame: a 4-byte big-endian length, then
//! that many bytes. A request header starts with api_key (i16), api_version
//! (i16) and correlation_id (i32); a response header starts with the
//! correlation_id, and that is all it says: which request a response answers
//! is known only to whoever saw the request go by. Produce is api_key 0.
//!
//! The proxy reads the Produce request's record batch header, because that is
//! where the idempotent producer's identity travels: producer id, producer
//! epoch and base sequence (record batch format v2, KIP-98). It reads the
//! Produce response's base offset, because that is where the broker says
//! where it stored the batch. librdkafka puts one partition in each Produce
//! request; for requests with several partitions only the first is described.

/// The api_key of Produce requests.
pub const PRODUCE: i16 = 0;

/// From this version on, Produce requests and responses use the "flexible"
/// encoding (KIP-482): compact strings and arrays, tagged fields.
const FIRST_FLEXIBLE_PRODUCE: i16 = 9;
/// From this version on, topics are named by their id (a UUID) instead.
const FIRST_TOPIC_ID_PRODUCE: i16 = 13;

/// The fixed start of every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHeader {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
}

/// Reads the request header fields every request starts with.
pub fn request_header(frame: &[u8]) -> Option<RequestHeader> {
    let mut r = Reader::new(frame);
    Some(RequestHeader {
        api_key: r.i16()?,
        api_version: r.i16()?,
        correlation_id: r.i32()?,
    })
}

/// The correlation id a response starts with.
pub fn response_correlation_id(frame: &[u8]) -> Option<i32> {
    Reader::new(frame).i32()
}

/// What one Produce request carries for its (first) partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceRequest {
    /// `acks` as sent: -1 (all), 0 or 1.
    pub acks: i16,
    /// `None` from Produce v13 on, which names topics by id.
    pub topic: Option<String>,
    pub partition: i32,
    /// -1 unless the producer is idempotent.
    pub producer_id: i64,
    /// -1 unless the producer is idempotent.
    pub producer_epoch: i16,
    /// The sequence number of the batch's first record; -1 unless idempotent.
    pub base_sequence: i32,
    pub record_count: i32,
    /// The first record's value, if the batch is uncompressed.
    pub first_value: Option<Vec<u8>>,
}

/// Describes a Produce request frame; `None` if it is not one or cannot be read.
pub fn produce_request(frame: &[u8]) -> Option<ProduceRequest> {
    let mut r = Reader::new(frame);
    let (api_key, version) = (r.i16()?, r.i16()?);
    if api_key != PRODUCE || version < 3 {
        return None;
    }
    let flexible = version >= FIRST_FLEXIBLE_PRODUCE;
    r.i32()?; // correlation_id
    r.nullable_string()?; // client_id: a classic string even in header v2
    if flexible {
        r.skip_tagged_fields()?;
    }
    // transactional_id
    if flexible {
        r.compact_nullable_string()?;
    } else {
        r.nullable_string()?;
    }
    let acks = r.i16()?;
    r.i32()?; // timeout_ms
    r.array_len(flexible)?; // topics: describe the first
    let topic = read_topic(&mut r, version)?;
    r.array_len(flexible)?; // partitions: describe the first
    let partition = r.i32()?;
    let records = if flexible {
        r.compact_nullable_bytes()?
    } else {
        r.nullable_bytes()?
    }?;
    let batch = record_batch(records)?;
    Some(ProduceRequest {
        acks,
        topic,
        partition,
        producer_id: batch.producer_id,
        producer_epoch: batch.producer_epoch,
        base_sequence: batch.base_sequence,
        record_count: batch.record_count,
        first_value: batch.first_value,
    })
}

/// What the broker answered for the (first) partition of a Produce request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProduceResponse {
    pub partition: i32,
    /// 0 means the batch was appended (or recognised as already appended).
    pub error_code: i16,
    /// Where the batch's first record is (or already was) stored.
    pub base_offset: i64,
}

/// Describes a Produce response frame; the version is the request's, which
/// only the side that saw the request knows.
pub fn produce_response(frame: &[u8], version: i16) -> Option<ProduceResponse> {
    if version < 3 {
        return None;
    }
    let flexible = version >= FIRST_FLEXIBLE_PRODUCE;
    let mut r = Reader::new(frame);
    r.i32()?; // correlation_id
    if flexible {
        r.skip_tagged_fields()?; // response header v1
    }
    r.array_len(flexible)?;
    read_topic(&mut r, version)?;
    r.array_len(flexible)?;
    Some(ProduceResponse {
        partition: r.i32()?,
        error_code: r.i16()?,
        base_offset: r.i64()?,
    })
}

fn read_topic(r: &mut Reader<'_>, version: i16) -> Option<Option<String>> {
    if version >= FIRST_TOPIC_ID_PRODUCE {
        r.take(16)?; // topic id
        Some(None)
    } else if version >= FIRST_FLEXIBLE_PRODUCE {
        Some(r.compact_nullable_string()?)
    } else {
        Some(r.nullable_string()?)
    }
}

/// The record batch header fields the idempotent producer fills in.
struct BatchHeader {
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    record_count: i32,
    first_value: Option<Vec<u8>>,
}

/// Record batch v2: baseOffset i64, batchLength i32, partitionLeaderEpoch
/// i32, magic i8, crc u32, attributes i16, lastOffsetDelta i32,
/// baseTimestamp i64, maxTimestamp i64, producerId i64, producerEpoch i16,
/// baseSequence i32, recordCount i32, then the records.
fn record_batch(bytes: &[u8]) -> Option<BatchHeader> {
    let mut r = Reader::new(bytes);
    r.take(8 + 4 + 4)?;
    if r.i8()? != 2 {
        return None; // only the v2 format has producer ids
    }
    r.take(4)?; // crc
    let attributes = r.i16()?;
    r.take(4 + 8 + 8)?;
    let producer_id = r.i64()?;
    let producer_epoch = r.i16()?;
    let base_sequence = r.i32()?;
    let record_count = r.i32()?;
    // Records are only readable here when the batch is not compressed.
    let first_value = if attributes & 0x07 == 0 && record_count > 0 {
        first_record_value(&mut r)
    } else {
        None
    };
    Some(BatchHeader {
        producer_id,
        producer_epoch,
        base_sequence,
        record_count,
        first_value,
    })
}

/// A record: length, attributes i8, timestampDelta, offsetDelta, key, value,
/// headers; lengths and deltas are zigzag varints.
fn first_record_value(r: &mut Reader<'_>) -> Option<Vec<u8>> {
    r.varint()?; // length
    r.i8()?; // attributes
    r.varint()?; // timestampDelta
    r.varint()?; // offsetDelta
    let key_len = r.varint()?;
    if key_len > 0 {
        r.take(usize::try_from(key_len).ok()?)?;
    }
    let value_len = r.varint()?;
    if value_len < 0 {
        return Some(Vec::new());
    }
    Some(r.take(usize::try_from(value_len).ok()?)?.to_vec())
}

/// A cursor over a frame; every read is bounds-checked and yields `None`
/// past the end, so a malformed frame is simply "not understood".
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.bytes.len() {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }

    fn i8(&mut self) -> Option<i8> {
        Some(i8::from_be_bytes(self.take(1)?.try_into().ok()?))
    }

    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }

    /// Unsigned LEB128, as used by compact lengths and tagged fields.
    fn uvarint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    /// Zigzag-encoded signed varint, as used inside records.
    fn varint(&mut self) -> Option<i64> {
        let raw = self.uvarint()?;
        Some((raw >> 1) as i64 ^ -((raw & 1) as i64))
    }

    fn nullable_string(&mut self) -> Option<Option<String>> {
        let len = self.i16()?;
        if len < 0 {
            return Some(None);
        }
        let bytes = self.take(usize::try_from(len).ok()?)?;
        Some(Some(String::from_utf8_lossy(bytes).into_owned()))
    }

    fn compact_nullable_string(&mut self) -> Option<Option<String>> {
        let Some(bytes) = self.compact_nullable_bytes()? else {
            return Some(None);
        };
        Some(Some(String::from_utf8_lossy(bytes).into_owned()))
    }

    fn nullable_bytes(&mut self) -> Option<Option<&'a [u8]>> {
        let len = self.i32()?;
        if len < 0 {
            return Some(None);
        }
        Some(Some(self.take(usize::try_from(len).ok()?)?))
    }

    /// Compact encodings store length + 1, so that 0 can mean null.
    fn compact_nullable_bytes(&mut self) -> Option<Option<&'a [u8]>> {
        let len_plus_one = self.uvarint()?;
        if len_plus_one == 0 {
            return Some(None);
        }
        Some(Some(self.take(usize::try_from(len_plus_one - 1).ok()?)?))
    }

    fn array_len(&mut self, flexible: bool) -> Option<u64> {
        if flexible {
            self.uvarint()?.checked_sub(1)
        } else {
            u64::try_from(self.i32()?).ok()
        }
    }

    fn skip_tagged_fields(&mut self) -> Option<()> {
        for _ in 0..self.uvarint()? {
            self.uvarint()?; // tag
            let size = self.uvarint()?;
            self.take(usize::try_from(size).ok()?)?;
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_varints_decode_small_and_negative_numbers() {
        // 0 → 0, -1 → 1, 1 → 2, 150 → 300 (0xac 0x02)
        let bytes = [0x00, 0x01, 0x02, 0xac, 0x02];
        let mut r = Reader::new(&bytes);
        let decoded: Vec<i64> = (0..4).map(|_| r.varint().unwrap()).collect();
        assert_eq!(decoded, vec![0, -1, 1, 150]);
    }

    #[test]
    fn a_truncated_frame_is_not_understood_rather_than_a_panic() {
        assert_eq!(request_header(&[0, 0, 0]), None);
        assert_eq!(produce_request(&[0, 0, 0, 9, 0, 0]), None);
        assert_eq!(produce_response(&[0, 0], 9), None);
    }
}
