//! The packed-numbers file: a [`PackedArray`] with its layout (the table is in the parent
//! module's docs).

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use num_bigint::BigUint;

use crate::error::{Error, Result};
use crate::formats::{write_atomic, Visibility};
use crate::numbers::encoding::NumberRange;
use crate::numbers::{NumberKind, PackedArray, PackedLayout};
use crate::paillier::ciphertext_batch::write_items_le_bytes;
use crate::paillier::{CiphertextBatch, KeyFingerprint, PublicKey};

/// The magic bytes of a packed-numbers file.
pub const PACKED_MAGIC: &[u8; 8] = b"PGPUPACK";
/// The version written now.
pub const PACKED_VERSION: u16 = 1;
/// The fixed part of the header.
const FIXED_HEADER: usize = 80;

fn malformed(detail: String) -> Error {
    Error::MalformedFile {
        kind: "packed numbers",
        detail,
    }
}

/// The bytes of a packed-numbers file holding `array`.
pub fn encode_packed_numbers(array: &PackedArray) -> Result<Vec<u8>> {
    let key = array.public_key();
    let width = key.ciphertext_bytes();
    let layout = array.layout();
    let bound = layout.bound().to_bytes_le();
    let count = array.ciphertexts().len();
    let mut out = Vec::with_capacity(FIXED_HEADER + bound.len() + count * width);
    out.extend_from_slice(PACKED_MAGIC);
    out.extend_from_slice(&PACKED_VERSION.to_le_bytes());
    out.push(match array.kind() {
        NumberKind::Integer => 0,
        NumberKind::Float => 1,
    });
    out.push(0);
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&layout.slot_bits().to_le_bytes());
    out.extend_from_slice(&layout.exponent().to_le_bytes());
    out.extend_from_slice(&(layout.slots() as u32).to_le_bytes());
    out.extend_from_slice(&(bound.len() as u32).to_le_bytes());
    out.extend_from_slice(&(array.samples() as u64).to_le_bytes());
    out.extend_from_slice(&(array.columns() as u64).to_le_bytes());
    out.extend_from_slice(array.fingerprint().as_bytes());
    out.extend_from_slice(&bound);
    write_items_le_bytes(array.ciphertexts(), width, &mut out)?;
    Ok(out)
}

/// Writes `array` to a packed-numbers file, atomically (ciphertexts are safe to share: the
/// umask decides who reads it).
pub fn write_packed_numbers(path: &Path, array: &PackedArray) -> Result<()> {
    let bytes = encode_packed_numbers(array)?;
    write_atomic(path, &bytes, Visibility::Shared)
}

/// Reads a packed-numbers file made under `public_key`: the header is checked (the key's
/// fingerprint, and the layout against what this key's plaintexts hold) and the length against
/// it before anything large is allocated, and every ciphertext is checked to be one of this key
/// (`0 < c < n²`).
pub fn read_packed_numbers(path: &Path, public_key: &Arc<PublicKey>) -> Result<PackedArray> {
    let (file, length) = crate::formats::open_input(path)?;
    decode_packed_numbers(std::io::BufReader::new(file), length, public_key)
        .map_err(|e| e.in_keyed_file(path, "packed numbers file"))
}

/// [`read_packed_numbers`] from any reader; `length`, when known, is checked against the header
/// first.
pub fn decode_packed_numbers(
    mut reader: impl Read,
    length: Option<u64>,
    public_key: &Arc<PublicKey>,
) -> Result<PackedArray> {
    let mut header = [0u8; FIXED_HEADER];
    reader
        .read_exact(&mut header)
        .map_err(|_| malformed(format!("shorter than its {FIXED_HEADER}-byte header")))?;
    if &header[..8] != PACKED_MAGIC {
        return Err(malformed("bad magic: not a packed-numbers file".into()));
    }
    let u32_at =
        |o: usize| u32::from_le_bytes([header[o], header[o + 1], header[o + 2], header[o + 3]]);
    let u64_at = |o: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&header[o..o + 8]);
        u64::from_le_bytes(b)
    };
    let version = u16::from_le_bytes([header[8], header[9]]);
    if version != PACKED_VERSION {
        return Err(malformed(format!(
            "version {version} (this build reads {PACKED_VERSION})"
        )));
    }
    let kind = match header[10] {
        0 => NumberKind::Integer,
        1 => NumberKind::Float,
        k => return Err(malformed(format!("number kind {k} (0 integers, 1 floats)"))),
    };
    if header[11] != 0 {
        return Err(malformed(format!(
            "reserved byte {} (must be 0)",
            header[11]
        )));
    }
    let width = u32_at(12) as usize;
    let slot_bits = u32_at(16);
    let exponent = u32_at(20) as i32;
    let slots = u32_at(24) as usize;
    let bound_bytes = u32_at(28) as usize;
    let (samples, columns) = (u64_at(32), u64_at(40));
    let mut stored = [0u8; 32];
    stored.copy_from_slice(&header[48..80]);
    KeyFingerprint::from_bytes(stored)
        .expect_context_key(&public_key.fingerprint(), "this packed numbers file")?;
    if width != public_key.ciphertext_bytes() {
        return Err(malformed(format!(
            "ciphertexts of {width} bytes; the key's are {}",
            public_key.ciphertext_bytes()
        )));
    }
    // A slot's bound is below 2^(slot_bits − 1) and a slot fits the key: the bound's bytes are
    // few, and the layout is rebuilt below from this key's plaintexts and checked.
    if bound_bytes == 0 || bound_bytes > public_key.ciphertext_bytes() {
        return Err(malformed(format!(
            "a slot bound of {bound_bytes} bytes (1 to {})",
            public_key.ciphertext_bytes()
        )));
    }
    if slots == 0 || samples == 0 || columns == 0 {
        return Err(malformed(format!(
            "{samples} samples of {columns} columns in {slots} slots (at least one of each)"
        )));
    }
    let count = samples
        .div_ceil(slots as u64)
        .checked_mul(columns)
        .ok_or_else(|| malformed(format!("{samples} samples of {columns} columns overflow")))?;
    let body = count
        .checked_mul(width as u64)
        .and_then(|b| b.checked_add(bound_bytes as u64))
        .ok_or_else(|| malformed(format!("{count} ciphertexts overflow")))?;
    if let Some(length) = length {
        if length != FIXED_HEADER as u64 + body {
            return Err(malformed(format!(
                "the header promises {count} ciphertexts ({} bytes) but the file holds {length} \
                 bytes",
                FIXED_HEADER as u64 + body
            )));
        }
    }
    let mut rest = Vec::new();
    reader
        .take(body.saturating_add(1))
        .read_to_end(&mut rest)
        .map_err(|e| malformed(e.to_string()))?;
    if rest.len() as u64 != body {
        return Err(malformed(format!(
            "the header promises {count} ciphertexts ({body} bytes) but {} bytes follow the \
             header",
            rest.len()
        )));
    }
    let (bound, ciphertexts) = rest.split_at(bound_bytes);
    let range = NumberRange::new(public_key.n());
    let layout = PackedLayout::new(&range, slot_bits, exponent, BigUint::from_bytes_le(bound))
        .map_err(|e| malformed(format!("its layout does not fit this key: {e}")))?;
    if layout.slots() != slots {
        return Err(malformed(format!(
            "{slots} slots of {slot_bits} bits; this key's plaintexts hold {}",
            layout.slots()
        )));
    }
    let samples = usize::try_from(samples).map_err(|_| malformed("too many samples".into()))?;
    let columns = usize::try_from(columns).map_err(|_| malformed("too many columns".into()))?;
    let batch = CiphertextBatch::from_le_bytes(public_key, 1, width, ciphertexts, 0)?;
    PackedArray::from_parts(public_key, batch, layout, samples, columns, kind)
}
