//! The Confluent Schema Registry wire format, as framing only.
//!
//! Producers that use Confluent's serializers (Java, Go, Python, .NET …)
//! write `00` + the schema id the registry assigned (4 bytes, big-endian) in
//! front of the value; Protobuf values then carry the *message indexes* (which
//! message of the `.proto` file — `[0]`, the first one, is written as a single
//! `00`), Avro values the plain datum. A consumer parses the frame, asks the
//! registry for schema `id` (cached), and decodes the rest. This module does
//! the framing; it does not talk to a registry.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("value too short for the Confluent wire format ({0} bytes)")]
    TooShort(usize),
    #[error("magic byte {0:#04x}: not the Confluent wire format (expected 0x00)")]
    Magic(u8),
    #[error("malformed protobuf message-index list")]
    MessageIndexes,
}

/// `00` + schema id + (Protobuf only) message indexes + payload.
pub fn frame(schema_id: u32, message_indexes: Option<&[i32]>, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.push(0);
    out.extend_from_slice(&schema_id.to_be_bytes());
    match message_indexes {
        None => {}
        // The common case, the first message in the file: one zero byte.
        Some([0]) => out.push(0),
        // Otherwise: count, then each index, as zigzag varints.
        Some(indexes) => {
            put_zigzag(&mut out, indexes.len() as i64);
            for &i in indexes {
                put_zigzag(&mut out, i64::from(i));
            }
        }
    }
    out.extend_from_slice(payload);
    out
}

/// The schema id and the rest of an Avro value.
pub fn parse_avro(value: &[u8]) -> Result<(u32, &[u8]), FrameError> {
    if value.len() < 5 {
        return Err(FrameError::TooShort(value.len()));
    }
    if value[0] != 0 {
        return Err(FrameError::Magic(value[0]));
    }
    let id = u32::from_be_bytes([value[1], value[2], value[3], value[4]]);
    Ok((id, &value[5..]))
}

/// The schema id, the message indexes and the protobuf payload.
pub fn parse_protobuf(value: &[u8]) -> Result<(u32, Vec<i32>, &[u8]), FrameError> {
    let (id, mut rest) = parse_avro(value)?;
    let count = take_zigzag(&mut rest)?;
    let indexes = if count == 0 {
        vec![0]
    } else {
        (0..count)
            .map(|_| {
                take_zigzag(&mut rest)
                    .and_then(|i| i32::try_from(i).map_err(|_| FrameError::MessageIndexes))
            })
            .collect::<Result<_, _>>()?
    };
    Ok((id, indexes, rest))
}

fn put_zigzag(out: &mut Vec<u8>, value: i64) {
    let mut v = ((value << 1) ^ (value >> 63)) as u64;
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take_zigzag(input: &mut &[u8]) -> Result<i64, FrameError> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = input.split_first().ok_or(FrameError::MessageIndexes)?;
        *input = rest;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(((v >> 1) as i64) ^ -((v & 1) as i64));
        }
    }
    Err(FrameError::MessageIndexes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let framed = frame(7, Some(&[1, 0]), b"xy");
        assert_eq!(framed, [0, 0, 0, 0, 7, 4, 2, 0, b'x', b'y']);
        assert_eq!(parse_protobuf(&framed), Ok((7, vec![1, 0], &b"xy"[..])));
        assert_eq!(frame(1, Some(&[0]), b"p"), [0, 0, 0, 0, 1, 0, b'p']);
        assert_eq!(
            parse_protobuf(&[0, 0, 0, 0, 1, 0, b'p']),
            Ok((1, vec![0], &b"p"[..]))
        );
        assert_eq!(parse_avro(&frame(300, None, b"d")), Ok((300, &b"d"[..])));
    }

    #[test]
    fn other_framings_are_refused() {
        assert_eq!(
            parse_avro(&[0xC3, 1, 2, 3, 4, 5]),
            Err(FrameError::Magic(0xC3))
        );
        assert_eq!(parse_avro(&[0, 1]), Err(FrameError::TooShort(2)));
        assert_eq!(
            parse_protobuf(&[0, 0, 0, 0, 1, 0x80]),
            Err(FrameError::MessageIndexes)
        );
    }
}
