//! The JSON Lines form (`.jsonl`): the SDK's wire form, one JSON array of base64 chunks per line.

use std::io::BufRead;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::Value;

use super::{check_chunks, chunk_bytes, malformed, CiphertextShape};
use crate::error::{Error, Result};
use crate::hamming::EncryptedVector;
use crate::paillier::{Ciphertext, CiphertextBatch, PublicKey};

/// JSON Lines bytes for `vectors`.
pub fn encode_jsonl(vectors: &[EncryptedVector], shape: CiphertextShape) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for (i, vector) in vectors.iter().enumerate() {
        check_chunks(vector, shape, i)?;
        let chunks = vector
            .chunks
            .iter()
            .map(|c| Ok(Value::String(BASE64.encode(chunk_bytes(c, shape, i)?))))
            .collect::<Result<Vec<_>>>()?;
        serde_json::to_writer(&mut out, &Value::Array(chunks))
            .map_err(|e| malformed(e.to_string()))?;
        out.push(b'\n');
    }
    Ok(out)
}

/// Parses one chunk given as base64 little-endian bytes (shorter than the width is accepted and
/// zero-padded, as the SDK does; longer only when the extra bytes are zero).
pub fn decode_chunk(encoded: &str, shape: CiphertextShape, index: usize) -> Result<Ciphertext> {
    decode_chunk_bytes(encoded, shape, index).map(|bytes| Ciphertext::from_le_bytes(&bytes))
}

/// [`decode_chunk`]'s bytes, before they become an integer.
fn decode_chunk_bytes(encoded: &str, shape: CiphertextShape, index: usize) -> Result<Vec<u8>> {
    let bytes = BASE64
        .decode(encoded.trim())
        .map_err(|e| malformed(format!("vector {index}: chunk is not base64: {e}")))?;
    if bytes.iter().skip(shape.chunk_bytes).any(|&b| b != 0) {
        return Err(Error::InvalidCiphertext {
            index,
            reason: format!("{} bytes, wider than {}", bytes.len(), shape.chunk_bytes),
        });
    }
    Ok(bytes)
}

/// The longest line a JSON Lines file of `shape` can need: base64 of every chunk plus quoting.
/// Bounded, so that a huge line is an error, not an allocation.
fn max_jsonl_line(shape: CiphertextShape) -> u64 {
    (shape.chunks * (shape.chunk_bytes.div_ceil(3) * 4 + 8) + 1024) as u64
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
                Value::String(s) => decode_chunk(s, shape, index),
                _ => Err(malformed(format!(
                    "line {line_number}: a chunk is not a string"
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        let vector = EncryptedVector::new(chunks);
        check_chunks(&vector, shape, index)?;
        vectors.push(vector);
        Ok(())
    })?;
    Ok(vectors)
}

/// Reads JSON Lines ciphertexts into one batch under `public_key`, each checked once
/// (`0 < c < n²`). Blank lines are skipped; errors name the vector (0-based) or the line.
pub fn read_jsonl_batch(
    reader: impl BufRead,
    shape: CiphertextShape,
    public_key: &PublicKey,
) -> Result<CiphertextBatch> {
    let mut batch = CiphertextBatch::new(public_key, shape.chunks)?;
    crate::formats::read_json_lines(
        reader,
        max_jsonl_line(shape),
        "ciphertexts",
        |line_number, value| {
            let index = batch.records();
            let Value::Array(items) = value else {
                return Err(malformed(format!("line {line_number}: not a JSON array")));
            };
            if items.len() != shape.chunks {
                return Err(Error::InvalidCiphertext {
                    index,
                    reason: format!("{} chunks where {} are expected", items.len(), shape.chunks),
                });
            }
            for item in &items {
                let Value::String(encoded) = item else {
                    return Err(malformed(format!(
                        "line {line_number}: a chunk is not a string"
                    )));
                };
                let bytes = decode_chunk_bytes(encoded, shape, index)?;
                batch.push_le_chunk(public_key, &bytes, index)?;
            }
            Ok(())
        },
    )?;
    Ok(batch)
}

/// JSON Lines bytes for every record of `batch`.
pub fn encode_jsonl_batch(batch: &CiphertextBatch, shape: CiphertextShape) -> Result<Vec<u8>> {
    let chunk_text = shape.chunk_bytes.div_ceil(3) * 4 + 3;
    let mut out = Vec::with_capacity(batch.records() * (shape.chunks * chunk_text + 3));
    let mut bytes = Vec::with_capacity(batch.chunks_per_record() * shape.chunk_bytes);
    for record in 0..batch.records() {
        bytes.clear();
        batch.write_record_le_bytes(record, shape.chunk_bytes, &mut bytes)?;
        out.push(b'[');
        for (c, chunk) in bytes.chunks_exact(shape.chunk_bytes).enumerate() {
            if c > 0 {
                out.push(b',');
            }
            out.push(b'"');
            let start = out.len();
            out.resize(start + shape.chunk_bytes.div_ceil(3) * 4, 0);
            let written = BASE64
                .encode_slice(chunk, &mut out[start..])
                .map_err(|e| malformed(e.to_string()))?;
            out.truncate(start + written);
            out.push(b'"');
        }
        out.extend_from_slice(b"]\n");
    }
    Ok(out)
}
