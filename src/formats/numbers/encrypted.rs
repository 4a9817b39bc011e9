//! The encrypted-numbers file: an [`EncryptedArray`] with its shape, kind and exponents (the
//! layout is in the parent module's docs).

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::formats::Destination;
use crate::numbers::{ElementExponents, EncryptedArray};
use crate::paillier::ciphertext_bytes::write_items_le_bytes;
use crate::paillier::{CiphertextBatch, PublicKey};

use super::header::{u32_at, u64_at, Format};

/// The magic bytes of an encrypted-numbers file.
pub const NUMBERS_MAGIC: &[u8; 8] = b"PGPUNUMS";
/// The version written now.
pub const NUMBERS_VERSION: u16 = 1;
/// The fixed part of the header.
const FIXED_HEADER: usize = 64;
/// Most dimensions a file may declare (NumPy's own limit is 64; 32 is plenty and bounds the
/// header).
pub const MAX_DIMENSIONS: usize = 32;

const FORMAT: Format = Format {
    name: "encrypted numbers",
    magic: NUMBERS_MAGIC,
    version: NUMBERS_VERSION,
};

fn malformed(detail: String) -> Error {
    FORMAT.malformed(detail)
}

/// The bytes of an encrypted-numbers file holding `array`.
pub fn encode_encrypted_numbers(array: &EncryptedArray) -> Result<Vec<u8>> {
    let key = array.public_key();
    let width = key.ciphertext_bytes();
    let shape = array.shape();
    if shape.len() > MAX_DIMENSIONS {
        return Err(Error::ShapeMismatch(format!(
            "{} dimensions; a file holds at most {MAX_DIMENSIONS}",
            shape.len()
        )));
    }
    let (flag, shared) = match array.exponents() {
        ElementExponents::Shared(e) => (0u8, *e),
        ElementExponents::PerElement(_) => (1u8, 0),
    };
    let mut out = Vec::with_capacity(FIXED_HEADER + 8 * shape.len() + array.len() * (width + 4));
    FORMAT.write_opening(&mut out, array.kind(), flag, key);
    out.extend_from_slice(&(shape.len() as u32).to_le_bytes());
    out.extend_from_slice(&shared.to_le_bytes());
    out.extend_from_slice(&(array.len() as u64).to_le_bytes());
    out.extend_from_slice(array.fingerprint().as_bytes());
    for &d in shape {
        out.extend_from_slice(&(d as u64).to_le_bytes());
    }
    if let ElementExponents::PerElement(exponents) = array.exponents() {
        for e in exponents {
            out.extend_from_slice(&e.to_le_bytes());
        }
    }
    write_items_le_bytes(array.ciphertexts(), width, &mut out)?;
    Ok(out)
}

/// Writes `array` to an encrypted-numbers file, atomically (ciphertexts are safe to share: the
/// umask decides who reads it).
pub fn write_encrypted_numbers(output: impl Destination, array: &EncryptedArray) -> Result<()> {
    let bytes = encode_encrypted_numbers(array)?;
    output.write_bytes(&bytes)
}

/// Reads an encrypted-numbers file made under `public_key`: the header is checked (the key's
/// fingerprint included) and the length against it before anything large is allocated, and
/// every ciphertext is checked to be one of this key (`0 < c < n²`).
pub fn read_encrypted_numbers(path: &Path, public_key: &Arc<PublicKey>) -> Result<EncryptedArray> {
    let (file, length) = crate::formats::open_input(path)?;
    decode_encrypted_numbers(std::io::BufReader::new(file), length, public_key)
        .map_err(|e| e.in_keyed_file(path, "numbers file"))
}

/// [`read_encrypted_numbers`] from any reader; `length`, when known, is checked against the
/// header first.
pub fn decode_encrypted_numbers(
    mut reader: impl Read,
    length: Option<u64>,
    public_key: &Arc<PublicKey>,
) -> Result<EncryptedArray> {
    let (header, kind, per_element) = FORMAT.read_header::<FIXED_HEADER>(&mut reader)?;
    let per_element = match per_element {
        0 => false,
        1 => true,
        f => {
            return Err(malformed(format!(
                "exponent layout {f} (0 shared, 1 per element)"
            )))
        }
    };
    let width = public_key.ciphertext_bytes();
    let dimensions = u32_at(&header, 16) as usize;
    let shared = u32_at(&header, 20) as i32;
    let count = u64_at(&header, 24);
    FORMAT.check_key(&header, 32, public_key)?;
    if dimensions > MAX_DIMENSIONS {
        return Err(malformed(format!(
            "{dimensions} dimensions (at most {MAX_DIMENSIONS})"
        )));
    }
    // Everything after the fixed header, checked against the file before it is read.
    let exponent_bytes = if per_element { 4 } else { 0 };
    let body = count
        .checked_mul(width as u64 + exponent_bytes)
        .and_then(|b| b.checked_add(8 * dimensions as u64))
        .ok_or_else(|| malformed(format!("{count} elements overflow")))?;
    let rest = FORMAT.read_body(
        reader,
        length,
        FIXED_HEADER,
        body,
        &format!("{count} elements"),
    )?;
    let (dims, rest) = rest.split_at(8 * dimensions);
    let shape: Vec<usize> = dims
        .chunks_exact(8)
        .map(|d| {
            let mut b = [0u8; 8];
            b.copy_from_slice(d);
            usize::try_from(u64::from_le_bytes(b))
                .map_err(|_| malformed("a dimension is too large".into()))
        })
        .collect::<Result<_>>()?;
    let elements = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .ok_or_else(|| malformed(format!("shape {shape:?} overflows")))?;
    if elements != count {
        return Err(malformed(format!(
            "shape {shape:?} has {elements} elements; the header says {count}"
        )));
    }
    let (exponents, ciphertexts) = rest.split_at(count as usize * exponent_bytes as usize);
    let exponents = if per_element {
        ElementExponents::PerElement(
            exponents
                .chunks_exact(4)
                .map(|e| i32::from_le_bytes([e[0], e[1], e[2], e[3]]))
                .collect(),
        )
    } else {
        ElementExponents::Shared(shared)
    };
    let batch = CiphertextBatch::from_le_bytes(public_key, 1, width, ciphertexts, 0)?;
    EncryptedArray::from_batch(public_key, batch, exponents, kind, shape)
}
