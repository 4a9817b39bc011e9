//! Ciphertext files.
//!
//! * JSON Lines (`.jsonl`): one JSON array per vector, each element the base64 of one piece's
//!   little-endian bytes, zero-padded to the ciphertext width (the SDK's wire form). It names no
//!   key: decoding's response checks are what catch a file made under another key.
//! * Binary (any other name): a 64-byte header, then fixed-width records.
//!
//! | offset | bytes | field |
//! |-------:|------:|-------|
//! | 0 | 8 | magic `PGPUCTXT` |
//! | 8 | 2 | version, `2` (u16 little-endian) |
//! | 10 | 2 | reserved, 0 |
//! | 12 | 4 | piece width in bytes, `4·key_len/8` (u32 LE) |
//! | 16 | 4 | pieces per vector (u32 LE) |
//! | 20 | 4 | reserved, 0 |
//! | 24 | 8 | number of vectors (u64 LE) |
//! | 32 | 32 | the public key's [`KeyFingerprint`] |
//! | 64 | … | vectors × pieces × width bytes: each piece little-endian, zero-padded |
//!
//! Version 1 files (a 32-byte header without the fingerprint, written before it existed) are
//! still read; they cannot be checked against a key.

mod binary;
mod jsonl;
mod reader;
mod writer;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

pub use binary::{
    binary_header, check_binary_file, encode_binary, encode_binary_batch, encode_binary_records,
    read_binary,
};
pub use jsonl::{decode_piece, encode_jsonl, encode_jsonl_batch, read_jsonl};
pub use reader::CiphertextReader;
pub use writer::CiphertextWriter;

use super::{Destination, StreamedOutput};
use crate::error::{Error, Result};
use crate::hamming::EncryptedVector;
use crate::paillier::{Ciphertext, CiphertextBatch, KeyFingerprint, PublicKey};

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

pub(super) fn malformed(detail: String) -> Error {
    Error::MalformedFile {
        kind: "ciphertexts",
        detail,
    }
}

/// The shape every ciphertext in a file must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CiphertextShape {
    /// Bytes per piece: `4·key_len/8`.
    pub piece_bytes: usize,
    /// Pieces per vector.
    pub pieces: usize,
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

/// The two file forms of ciphertexts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CiphertextForm {
    /// The binary form: a header, then fixed-width records.
    Binary,
    /// JSON Lines of base64 pieces (the SDK's wire form).
    JsonLines,
}

impl CiphertextForm {
    /// The form a file's name says: JSON Lines for `.jsonl`, binary for any other name.
    pub fn of_path(path: &Path) -> Self {
        if is_jsonl(path) {
            CiphertextForm::JsonLines
        } else {
            CiphertextForm::Binary
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
        read_binary(reader, shape)
    }
    .map_err(|e| name_file(e, path))
}

/// An error found in a file names the file (a key mismatch says it in its own words).
pub(super) fn name_file(e: Error, path: &Path) -> Error {
    e.in_keyed_file(path, "ciphertext file")
}

/// Writes a ciphertext file through `output` (atomically), in the form its name says.
pub fn write_ciphertexts(
    output: impl Destination,
    vectors: &[EncryptedVector],
    shape: CiphertextShape,
) -> Result<()> {
    // Encode first so that a bad vector fails before the target is touched.
    let bytes = if is_jsonl(output.requested()) {
        encode_jsonl(vectors, shape)?
    } else {
        encode_binary(vectors, shape)?
    };
    output.write_bytes(&bytes)
}

pub(super) fn piece_le_bytes(
    c: &Ciphertext,
    shape: CiphertextShape,
    index: usize,
) -> Result<Vec<u8>> {
    c.to_le_bytes(shape.piece_bytes)
        .ok_or_else(|| Error::InvalidCiphertext {
            index,
            reason: format!("wider than {} bytes", shape.piece_bytes),
        })
}

pub(super) fn check_pieces(
    vector: &EncryptedVector,
    shape: CiphertextShape,
    index: usize,
) -> Result<()> {
    if vector.chunks.len() != shape.pieces {
        return Err(Error::InvalidCiphertext {
            index,
            reason: format!(
                "{} chunks where {} are expected",
                vector.chunks.len(),
                shape.pieces
            ),
        });
    }
    Ok(())
}

/// Reads a ciphertext file into one batch under `public_key`, in the form its name says.
pub fn read_ciphertext_batch(
    path: &Path,
    shape: CiphertextShape,
    public_key: &PublicKey,
) -> Result<CiphertextBatch> {
    CiphertextReader::open(path, shape, public_key)?.read_all()
}

/// Writes `batch` to a ciphertext file through `output` (atomically), in the form its name
/// says.
pub fn write_ciphertext_batch(
    output: impl Destination,
    batch: &CiphertextBatch,
    shape: CiphertextShape,
) -> Result<()> {
    let named = output.requested().to_path_buf();
    let form = CiphertextForm::of_path(&named);
    let records = Some(batch.records() as u64);
    output.write_with(|out| match out {
        StreamedOutput::File(file) => {
            let mut writer = CiphertextWriter::new(file, &named, form, shape, records)?;
            writer.write_batch(batch)?;
            writer.finish().map(drop)
        }
        StreamedOutput::Stream(stream) => {
            let mut writer = CiphertextWriter::new(stream, &named, form, shape, records)?;
            writer.write_batch(batch)?;
            writer.finish().map(drop)
        }
    })
}

/// Reads the binary form into one batch under `public_key`, each ciphertext checked once
/// (`0 < c < n²`); the header is checked as [`read_binary`] does, and a file written before
/// fingerprint version 2 is accepted when its header carries this key's
/// [legacy fingerprint](KeyFingerprint::legacy_v1).
pub fn read_binary_batch(
    reader: impl Read,
    shape: CiphertextShape,
    public_key: &PublicKey,
) -> Result<CiphertextBatch> {
    CiphertextReader::binary(BufReader::new(reader), shape, public_key)?.read_all()
}

/// Reads JSON Lines ciphertexts into one batch under `public_key`, each checked once
/// (`0 < c < n²`). Blank lines are skipped; errors name the vector (0-based) or the line.
pub fn read_jsonl_batch(
    reader: impl BufRead,
    shape: CiphertextShape,
    public_key: &PublicKey,
) -> Result<CiphertextBatch> {
    CiphertextReader::json_lines(reader, shape, public_key)?.read_all()
}
