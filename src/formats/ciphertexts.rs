//! Ciphertext files.
//!
//! * JSON Lines (`.jsonl`): one JSON array per vector, each element the base64 of one chunk's
//!   little-endian bytes, zero-padded to the ciphertext width (the SDK's wire form). It names no
//!   key: decoding's response checks are what catch a file made under another key.
//! * Binary (any other name): a 64-byte header, then fixed-width records.
//!
//! | offset | bytes | field |
//! |-------:|------:|-------|
//! | 0 | 8 | magic `PGPUCTXT` |
//! | 8 | 2 | version, `2` (u16 little-endian) |
//! | 10 | 2 | reserved, 0 |
//! | 12 | 4 | chunk width in bytes, `4·key_len/8` (u32 LE) |
//! | 16 | 4 | chunks per vector (u32 LE) |
//! | 20 | 4 | reserved, 0 |
//! | 24 | 8 | number of vectors (u64 LE) |
//! | 32 | 32 | the public key's [`KeyFingerprint`] |
//! | 64 | … | vectors × chunks × width bytes: each chunk little-endian, zero-padded |
//!
//! Version 1 files (a 32-byte header without the fingerprint, written before it existed) are
//! still read; they cannot be checked against a key.

use std::io::{BufRead, Read, Write};
use std::path::Path;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::hamming::EncryptedVector;
use crate::paillier::{Ciphertext, KeyFingerprint};

/// The binary form's magic bytes.
pub const MAGIC: &[u8; 8] = b"PGPUCTXT";
/// The binary form's version written now.
pub const VERSION: u16 = 2;
/// The header length of the version written now.
pub const HEADER_BYTES: usize = 64;
/// The header length of version 1 (no key fingerprint).
pub const V1_HEADER_BYTES: usize = 32;
/// Where the header keeps the record count.
pub const COUNT_OFFSET: usize = 24;
/// Where the header keeps the key fingerprint (version 2).
pub const FINGERPRINT_OFFSET: usize = 32;

fn malformed(detail: String) -> Error {
    Error::MalformedFile {
        kind: "ciphertexts",
        detail,
    }
}

/// The shape every ciphertext in a file must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CiphertextShape {
    /// Bytes per chunk: `4·key_len/8`.
    pub chunk_bytes: usize,
    /// Chunks per vector.
    pub chunks: usize,
    /// The key the ciphertexts belong to: written into binary headers, and checked against the
    /// fingerprint of every binary file read (None: neither; for tools without a key).
    pub key: Option<KeyFingerprint>,
}

impl CiphertextShape {
    /// The binary header's length for this shape: version 2 with a key, version 1 without.
    pub fn header_bytes(&self) -> usize {
        if self.key.is_some() {
            HEADER_BYTES
        } else {
            V1_HEADER_BYTES
        }
    }
}

/// True when `path` names a JSON Lines file (`.jsonl`).
pub fn is_jsonl(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl"))
}

/// Reads a ciphertext file in the form its name says.
pub fn read_ciphertexts(path: &Path, shape: CiphertextShape) -> Result<Vec<EncryptedVector>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = std::io::BufReader::new(file);
    if is_jsonl(path) {
        read_jsonl(reader, shape)
    } else {
        read_binary(reader, shape).map_err(|e| match e {
            Error::KeyMismatch {
                found, expected, ..
            } => Error::KeyMismatch {
                what: format!("the ciphertext file {}", path.display()),
                found,
                expected,
            },
            other => other,
        })
    }
}

/// Writes a ciphertext file, atomically, in the form its name says.
pub fn write_ciphertexts(
    path: &Path,
    vectors: &[EncryptedVector],
    shape: CiphertextShape,
) -> Result<()> {
    // Encode first so that a bad vector fails before the target is touched.
    let bytes = if is_jsonl(path) {
        encode_jsonl(vectors, shape)?
    } else {
        encode_binary(vectors, shape)?
    };
    super::write_atomic(path, &bytes, super::Visibility::Shared)
}

fn chunk_bytes(c: &Ciphertext, shape: CiphertextShape, index: usize) -> Result<Vec<u8>> {
    c.to_le_bytes(shape.chunk_bytes)
        .ok_or_else(|| Error::InvalidCiphertext {
            index,
            reason: format!("wider than {} bytes", shape.chunk_bytes),
        })
}

fn check_chunks(vector: &EncryptedVector, shape: CiphertextShape, index: usize) -> Result<()> {
    if vector.chunks.len() != shape.chunks {
        return Err(Error::InvalidCiphertext {
            index,
            reason: format!(
                "{} chunks where {} are expected",
                vector.chunks.len(),
                shape.chunks
            ),
        });
    }
    Ok(())
}

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
    let bytes = BASE64
        .decode(encoded.trim())
        .map_err(|e| malformed(format!("vector {index}: chunk is not base64: {e}")))?;
    if bytes.iter().skip(shape.chunk_bytes).any(|&b| b != 0) {
        return Err(Error::InvalidCiphertext {
            index,
            reason: format!("{} bytes, wider than {}", bytes.len(), shape.chunk_bytes),
        });
    }
    Ok(Ciphertext::from_le_bytes(&bytes))
}

/// Reads JSON Lines ciphertexts. Blank lines are skipped.
pub fn read_jsonl(reader: impl BufRead, shape: CiphertextShape) -> Result<Vec<EncryptedVector>> {
    // base64 of every chunk plus quoting: bounded, so a huge line is an error, not an allocation.
    let max_line = (shape.chunks * (shape.chunk_bytes.div_ceil(3) * 4 + 8) + 1024) as u64;
    let mut vectors = Vec::new();
    super::read_json_lines(reader, max_line, "ciphertexts", |line_number, value| {
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

/// Binary-form bytes for `vectors`.
pub fn encode_binary(vectors: &[EncryptedVector], shape: CiphertextShape) -> Result<Vec<u8>> {
    let mut out =
        Vec::with_capacity(shape.header_bytes() + vectors.len() * shape.chunks * shape.chunk_bytes);
    out.extend_from_slice(&binary_header(shape, vectors.len() as u64)?);
    out.extend(encode_binary_records(vectors, shape, 0)?);
    Ok(out)
}

/// The binary form's header for `count` records of `shape` ([`CiphertextShape::header_bytes`]
/// long: version 2 with the key's fingerprint, or version 1 when the shape names no key).
pub fn binary_header(shape: CiphertextShape, count: u64) -> Result<Vec<u8>> {
    let width = u32::try_from(shape.chunk_bytes)
        .map_err(|_| Error::InvalidParameter("chunk width does not fit the header".into()))?;
    let chunks = u32::try_from(shape.chunks)
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
    let mut out = Vec::with_capacity(vectors.len() * shape.chunks * shape.chunk_bytes);
    for (i, vector) in vectors.iter().enumerate() {
        check_chunks(vector, shape, first_index + i)?;
        for c in &vector.chunks {
            out.write_all(&chunk_bytes(c, shape, first_index + i)?)
                .map_err(|e| malformed(e.to_string()))?;
        }
    }
    Ok(out)
}

/// Reads the binary form, checking the header against `shape` (its key included, for version 2
/// files) and the length against the header before reading any record.
pub fn read_binary(mut reader: impl Read, shape: CiphertextShape) -> Result<Vec<EncryptedVector>> {
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
            if let Some(expected) = &shape.key {
                KeyFingerprint::from_bytes(stored).expect(expected, "this ciphertext file")?;
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
    if width != shape.chunk_bytes || chunks != shape.chunks {
        return Err(malformed(format!(
            "records of {chunks} chunk(s) of {width} bytes; the context needs {} of {}",
            shape.chunks, shape.chunk_bytes
        )));
    }
    let mut count_bytes = [0u8; 8];
    count_bytes.copy_from_slice(&header[24..32]);
    let count = u64::from_le_bytes(count_bytes);
    let record_bytes = (width * chunks) as u64;
    let expected = count
        .checked_mul(record_bytes)
        .ok_or_else(|| malformed(format!("record count {count} overflows")))?;
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
    Ok(body
        .chunks_exact(record_bytes.max(1) as usize)
        .map(|record| {
            EncryptedVector::new(
                record
                    .chunks_exact(width)
                    .map(Ciphertext::from_le_bytes)
                    .collect(),
            )
        })
        .collect())
}
