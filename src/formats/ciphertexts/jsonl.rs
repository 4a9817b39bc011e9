//! The JSON Lines form (`.jsonl`): the SDK's wire form, one JSON array of base64 pieces per line.

use std::io::BufRead;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::Value;

use super::{check_pieces, malformed, piece_le_bytes, CiphertextShape};
use crate::error::{Error, Result};
use crate::hamming::EncryptedVector;
use crate::paillier::{Ciphertext, CiphertextBatch};

/// JSON Lines bytes for `vectors`.
pub fn encode_jsonl(vectors: &[EncryptedVector], shape: CiphertextShape) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for (i, vector) in vectors.iter().enumerate() {
        check_pieces(vector, shape, i)?;
        let chunks = vector
            .chunks
            .iter()
            .map(|c| Ok(Value::String(BASE64.encode(piece_le_bytes(c, shape, i)?))))
            .collect::<Result<Vec<_>>>()?;
        serde_json::to_writer(&mut out, &Value::Array(chunks))
            .map_err(|e| malformed(e.to_string()))?;
        out.push(b'\n');
    }
    Ok(out)
}

/// Parses one piece given as base64 little-endian bytes (shorter than the width is accepted and
/// zero-padded, as the SDK does; longer only when the extra bytes are zero).
pub fn decode_piece(encoded: &str, shape: CiphertextShape, index: usize) -> Result<Ciphertext> {
    let mut bytes = Vec::new();
    decode_piece_into(encoded, shape, index, &mut bytes)?;
    Ok(Ciphertext::from_le_bytes(&bytes))
}

/// [`decode_piece`]'s bytes into `bytes` (replacing what it held), for a reader that reuses one
/// buffer.
pub(super) fn decode_piece_into(
    encoded: &str,
    shape: CiphertextShape,
    index: usize,
    bytes: &mut Vec<u8>,
) -> Result<()> {
    bytes.clear();
    BASE64
        .decode_vec(encoded.trim(), bytes)
        .map_err(|e| malformed(format!("vector {index}: chunk is not base64: {e}")))?;
    if bytes.iter().skip(shape.piece_bytes).any(|&b| b != 0) {
        return Err(Error::InvalidCiphertext {
            index,
            reason: format!("{} bytes, wider than {}", bytes.len(), shape.piece_bytes),
        });
    }
    Ok(())
}

/// The longest line a JSON Lines file of `shape` can need: base64 of every piece plus quoting.
/// Bounded, so that a huge line is an error, not an allocation.
pub(super) fn max_jsonl_line(shape: CiphertextShape) -> u64 {
    (shape.pieces * (shape.piece_bytes.div_ceil(3) * 4 + 8) + 1024) as u64
}

/// Reads JSON Lines ciphertexts. Blank lines are skipped.
pub fn read_jsonl(reader: impl BufRead, shape: CiphertextShape) -> Result<Vec<EncryptedVector>> {
    let max_line = max_jsonl_line(shape);
    let mut vectors = Vec::new();
    crate::formats::read_json_lines(reader, max_line, "ciphertexts", |line_number, value| {
        let index = vectors.len();
        let Value::Array(items) = value else {
            return Err(malformed(format!("line {line_number}: not a JSON array")));
        };
        let chunks = items
            .iter()
            .map(|item| match item {
                Value::String(s) => decode_piece(s, shape, index),
                _ => Err(malformed(format!(
                    "line {line_number}: a chunk is not a string"
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        let vector = EncryptedVector::new(chunks);
        check_pieces(&vector, shape, index)?;
        vectors.push(vector);
        Ok(())
    })?;
    Ok(vectors)
}

/// JSON Lines bytes for every record of `batch`.
pub fn encode_jsonl_batch(batch: &CiphertextBatch, shape: CiphertextShape) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    append_jsonl_records(batch, shape, &mut out, &mut Vec::new())?;
    Ok(out)
}

/// Appends one JSON Lines line per record of `batch` to `out`; `scratch` is a buffer the caller
/// may reuse between calls.
pub(super) fn append_jsonl_records(
    batch: &CiphertextBatch,
    shape: CiphertextShape,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> Result<()> {
    let chunk_text = shape.piece_bytes.div_ceil(3) * 4;
    out.reserve(batch.records() * (shape.pieces * (chunk_text + 3) + 3));
    for record in 0..batch.records() {
        scratch.clear();
        batch.write_record_le_bytes(record, shape.piece_bytes, scratch)?;
        out.push(b'[');
        for (c, chunk) in scratch.chunks_exact(shape.piece_bytes).enumerate() {
            if c > 0 {
                out.push(b',');
            }
            out.push(b'"');
            let start = out.len();
            out.resize(start + chunk_text, 0);
            let written = BASE64
                .encode_slice(chunk, &mut out[start..])
                .map_err(|e| malformed(e.to_string()))?;
            out.truncate(start + written);
            out.push(b'"');
        }
        out.extend_from_slice(b"]\n");
    }
    Ok(())
}
