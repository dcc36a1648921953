//! Where apache-avro's own single-object encoding differs from the
//! specification (and from fastavro, Java, …): only in the fingerprint of
//! schemas with logical types. The tests here and in
//! `tests/python_interop.rs` pin that down.

use apache_avro::Schema;
use apache_avro::rabin::Rabin;

/// What apache-avro itself computes (`Schema::fingerprint::<Rabin>`), for
/// the tests that show where it differs from [`crate::lesson::avro::fingerprint`].
pub fn apache_avro_fingerprint(schema: &Schema) -> [u8; 8] {
    let bytes = schema.fingerprint::<Rabin>().bytes;
    // Rabin is a 64-bit fingerprint; anything else would be a different hash.
    let mut out = [0; 8];
    for (slot, byte) in out.iter_mut().zip(bytes) {
        *slot = byte;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::samples::sample_click;
    use crate::lesson::avro::{
        AvroWriter, SINGLE_OBJECT_HEADER_LEN, V1, crc64_avro, fingerprint, parsing_canonical_form,
        split_single_object,
    };

    #[test]
    fn same_hash_as_apache_avro_but_a_different_canonical_form_with_logical_types() {
        // Over apache-avro's own canonical form, our CRC-64-AVRO gives its bytes…
        let theirs = crc64_avro(V1.canonical_form().as_bytes()).to_le_bytes();
        assert_eq!(theirs, apache_avro_fingerprint(&V1));
        // …but its form keeps {"type":"long"} for timestamp-millis, the spec's is "long".
        assert!(V1.canonical_form().contains(r#""type":{"type":"long"}"#));
        assert!(parsing_canonical_form(&V1).contains(r#""name":"occurred_at","type":"long""#));
        assert_ne!(fingerprint(&V1), apache_avro_fingerprint(&V1));
        // Without logical types the two agree.
        let plain = Schema::parse_str(
            r#"{"type":"record","name":"P","fields":[{"name":"a","type":"long"}]}"#,
        )
        .unwrap();
        assert_eq!(fingerprint(&plain), apache_avro_fingerprint(&plain));
    }

    #[test]
    fn apache_avros_single_object_writer_differs_only_in_the_fingerprint() {
        let ours = AvroWriter::new(&V1)
            .unwrap()
            .encode(&sample_click(3))
            .unwrap();
        let value = apache_avro::to_value(sample_click(3))
            .unwrap()
            .resolve(&V1)
            .unwrap();
        let mut theirs = Vec::new();
        apache_avro::GenericSingleObjectWriter::new_with_capacity(&V1, 1024)
            .unwrap()
            .write_value(value, &mut theirs)
            .unwrap();
        let (our_fingerprint, our_datum) = split_single_object(&ours).unwrap();
        let (their_fingerprint, their_datum) = split_single_object(&theirs).unwrap();
        assert_eq!(theirs.len(), ours.len());
        assert!(
            ours.len() > SINGLE_OBJECT_HEADER_LEN,
            "C3 01, fingerprint, datum"
        );
        assert_eq!(their_fingerprint, apache_avro_fingerprint(&V1));
        assert_eq!(our_fingerprint, fingerprint(&V1));
        assert_eq!(our_datum, their_datum, "the datum itself is identical");
    }
}
