//! The binary form: a header naming the shape and the key, then fixed-width records (the table
//! is in the parent module's docs).

use std::io::{Read, Write};

use super::{
    check_pieces, malformed, piece_le_bytes, CiphertextShape, COUNT_OFFSET, FINGERPRINT_OFFSET,
    HEADER_BYTES, MAGIC, V1_HEADER_BYTES, VERSION,
};
use crate::error::{Error, Result};
use crate::hamming::EncryptedVector;
use crate::paillier::{Ciphertext, CiphertextBatch, KeyFingerprint, PublicKey};

/// Binary-form bytes for `vectors`.
pub fn encode_binary(vectors: &[EncryptedVector], shape: CiphertextShape) -> Result<Vec<u8>> {
    let mut out =
        Vec::with_capacity(shape.header_bytes() + vectors.len() * shape.pieces * shape.piece_bytes);
    out.extend_from_slice(&binary_header(shape, vectors.len() as u64)?);
    out.extend(encode_binary_records(vectors, shape, 0)?);
    Ok(out)
}

/// The binary form's header for `count` records of `shape` ([`CiphertextShape::header_bytes`]
/// long: version 2 with the key's fingerprint, or version 1 when the shape names no key).
pub fn binary_header(shape: CiphertextShape, count: u64) -> Result<Vec<u8>> {
    let width = u32::try_from(shape.piece_bytes)
        .map_err(|_| Error::InvalidParameter("chunk width does not fit the header".into()))?;
    let chunks = u32::try_from(shape.pieces)
        .map_err(|_| Error::InvalidParameter("chunk count does not fit the header".into()))?;
    let mut header = vec![0u8; shape.header_bytes()];
    header[..8].copy_from_slice(MAGIC);
    let version: u16 = if shape.key.is_some() { VERSION } else { 1 };
    header[8..10].copy_from_slice(&version.to_le_bytes());
    header[12..16].copy_from_slice(&width.to_le_bytes());
    header[16..20].copy_from_slice(&chunks.to_le_bytes());
    header[COUNT_OFFSET..COUNT_OFFSET + 8].copy_from_slice(&count.to_le_bytes());
    if let Some(key) = shape.key {
        header[FINGERPRINT_OFFSET..HEADER_BYTES].copy_from_slice(key.as_bytes());
    }
    Ok(header)
}

/// The binary form's records for `vectors` (no header); errors name `first_index + i`.
pub fn encode_binary_records(
    vectors: &[EncryptedVector],
    shape: CiphertextShape,
    first_index: usize,
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(vectors.len() * shape.pieces * shape.piece_bytes);
    for (i, vector) in vectors.iter().enumerate() {
        check_pieces(vector, shape, first_index + i)?;
        for c in &vector.chunks {
            out.write_all(&piece_le_bytes(c, shape, first_index + i)?)
                .map_err(|e| malformed(e.to_string()))?;
        }
    }
    Ok(out)
}

/// Reads the binary form, checking the header against `shape` (its key included, for version 2
/// files) and the length against the header before reading any record.
pub fn read_binary(reader: impl Read, shape: CiphertextShape) -> Result<Vec<EncryptedVector>> {
    let body = read_binary_body(reader, shape, None)?;
    let record_bytes = (shape.piece_bytes * shape.pieces).max(1);
    Ok(body
        .chunks_exact(record_bytes)
        .map(|record| {
            EncryptedVector::new(
                record
                    .chunks_exact(shape.piece_bytes)
                    .map(Ciphertext::from_le_bytes)
                    .collect(),
            )
        })
        .collect())
}

/// The records of a binary file, after checking its header against `shape`.
fn read_binary_body(
    mut reader: impl Read,
    shape: CiphertextShape,
    legacy: Option<KeyFingerprint>,
) -> Result<Vec<u8>> {
    let (count, expected) = read_binary_header(&mut reader, shape, legacy)?;
    let mut body = Vec::new();
    // Read at most one byte more than the header promises: a lying count cannot make us allocate.
    reader
        .take(expected.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| malformed(e.to_string()))?;
    if body.len() as u64 != expected {
        return Err(malformed(format!(
            "the header promises {count} records ({expected} bytes) but {} bytes follow",
            if body.len() as u64 > expected {
                "more".to_string()
            } else {
                body.len().to_string()
            }
        )));
    }
    Ok(body)
}

/// Checks a binary ciphertext file's header against `shape` and `public_key` (its fingerprint,
/// or the key's legacy one) and its length against the header, without reading the records:
/// returns the record count. For deciding whether an existing output is this key's.
pub fn check_binary_file(
    path: &std::path::Path,
    shape: CiphertextShape,
    public_key: &PublicKey,
) -> Result<u64> {
    let mut file = std::fs::File::open(path).map_err(|e| crate::Error::io(path, e))?;
    let length = file
        .metadata()
        .map_err(|e| crate::Error::io(path, e))?
        .len();
    let legacy = KeyFingerprint::legacy_v1(public_key);
    let checked = read_binary_header(&mut file, shape, Some(legacy))
        .and_then(|(count, body)| check_body_length(length, count, body).map(|()| count));
    checked.map_err(|e| super::name_file(e, path))
}

/// An error unless a file of `length` bytes is a header (of either version) and the `body`
/// bytes that its `count` records need.
pub(super) fn check_body_length(length: u64, count: u64, body: u64) -> Result<()> {
    let header = length.saturating_sub(body);
    if length >= body && (header == HEADER_BYTES as u64 || header == V1_HEADER_BYTES as u64) {
        Ok(())
    } else {
        Err(malformed(format!(
            "the header promises {count} records ({body} bytes) but the file holds {length} bytes"
        )))
    }
}

/// The header of a binary file, checked against `shape`: the record count and the body's length.
pub(super) fn read_binary_header(
    mut reader: impl Read,
    shape: CiphertextShape,
    legacy: Option<KeyFingerprint>,
) -> Result<(u64, u64)> {
    let mut header = [0u8; HEADER_BYTES];
    reader
        .read_exact(&mut header[..V1_HEADER_BYTES])
        .map_err(|_| malformed(format!("shorter than its {V1_HEADER_BYTES}-byte header")))?;
    if &header[..8] != MAGIC {
        return Err(malformed(
            "bad magic: not a paillier-gpu ciphertext file".into(),
        ));
    }
    let version = u16::from_le_bytes([header[8], header[9]]);
    match version {
        1 => {}
        VERSION => {
            reader
                .read_exact(&mut header[V1_HEADER_BYTES..])
                .map_err(|_| malformed(format!("shorter than its {HEADER_BYTES}-byte header")))?;
            let mut stored = [0u8; 32];
            stored.copy_from_slice(&header[FINGERPRINT_OFFSET..HEADER_BYTES]);
            let stored = KeyFingerprint::from_bytes(stored);
            if let Some(expected) = &shape.key {
                if Some(stored) != legacy {
                    stored.expect_context_key(expected, "this ciphertext file")?;
                }
            }
        }
        _ => {
            return Err(malformed(format!(
                "version {version} (this build reads 1 and {VERSION})"
            )))
        }
    }
    let u32_at =
        |o: usize| u32::from_le_bytes([header[o], header[o + 1], header[o + 2], header[o + 3]]);
    let width = u32_at(12) as usize;
    let chunks = u32_at(16) as usize;
    if width != shape.piece_bytes || chunks != shape.pieces {
        return Err(malformed(format!(
            "records of {chunks} chunk(s) of {width} bytes; the context needs {} of {}",
            shape.pieces, shape.piece_bytes
        )));
    }
    let mut count_bytes = [0u8; 8];
    count_bytes.copy_from_slice(&header[24..32]);
    let count = u64::from_le_bytes(count_bytes);
    let record_bytes = (width * chunks) as u64;
    let expected = count
        .checked_mul(record_bytes)
        .ok_or_else(|| malformed(format!("record count {count} overflows")))?;
    Ok((count, expected))
}

/// Binary-form bytes (header and records) for `batch`.
pub fn encode_binary_batch(batch: &CiphertextBatch, shape: CiphertextShape) -> Result<Vec<u8>> {
    let mut out = binary_header(shape, batch.records() as u64)?;
    batch.write_le_bytes(shape.piece_bytes, &mut out)?;
    Ok(out)
}
