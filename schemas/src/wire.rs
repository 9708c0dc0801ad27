//! The Confluent wire format: magic byte 0, the schema id as 4 big-endian bytes, Avro binary.

use crate::error::DecodeError;

/// The first byte of every framed value.
pub const MAGIC: u8 = 0;

/// Length of the frame header (magic byte and schema id).
pub const HEADER_LEN: usize = 5;

/// `datum` framed with `schema_id`.
pub fn frame(schema_id: u32, datum: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + datum.len());
    bytes.push(MAGIC);
    bytes.extend_from_slice(&schema_id.to_be_bytes());
    bytes.extend_from_slice(datum);
    bytes
}

/// The schema id and the Avro datum of framed `bytes`.
pub fn unframe(bytes: &[u8]) -> Result<(u32, &[u8]), DecodeError> {
    let not_framed = |detail: String| DecodeError::NotConfluentFramed { detail };
    let (header, datum) = bytes.split_first_chunk::<HEADER_LEN>().ok_or_else(|| {
        not_framed(format!(
            "{} bytes, shorter than the 5-byte header",
            bytes.len()
        ))
    })?;
    let [magic, id @ ..] = *header;
    if magic != MAGIC {
        return Err(not_framed(format!("magic byte is {magic:#04x}, not 0x00")));
    }
    Ok((u32::from_be_bytes(id), datum))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_magic_then_big_endian_id_then_datum() {
        let framed = frame(0x0102_0304, &[9, 8]);
        assert_eq!(framed, [0, 1, 2, 3, 4, 9, 8]);
        assert_eq!(unframe(&framed).unwrap(), (0x0102_0304, &[9u8, 8][..]));
    }

    #[test]
    fn short_or_unmagical_bytes_are_not_framed() {
        for bytes in [
            &b""[..],
            &[0, 0, 0, 1],
            &[1, 0, 0, 0, 1, 2],
            b"{\"json\":1}",
        ] {
            let error = unframe(bytes).unwrap_err();
            assert!(
                matches!(error, DecodeError::NotConfluentFramed { .. }),
                "{error}"
            );
            assert!(error.is_poison());
        }
    }

    #[test]
    fn an_empty_datum_is_still_framed() {
        assert_eq!(unframe(&[0, 0, 0, 0, 7]).unwrap(), (7, &[][..]));
    }
}
