//! The packed-numbers file: a [`PackedArray`] with its layout (the table is in the parent
//! module's docs).

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use num_bigint::BigUint;

use crate::error::{Error, Result};
use crate::formats::Destination;
use crate::numbers::encoding::NumberRange;
use crate::numbers::{PackedArray, PackedLayout};
use crate::paillier::ciphertext_bytes::write_items_le_bytes;
use crate::paillier::{CiphertextBatch, PublicKey};

use super::header::{u32_at, u64_at, Format};

/// The magic bytes of a packed-numbers file.
pub const PACKED_MAGIC: &[u8; 8] = b"PGPUPACK";
/// The version written now.
pub const PACKED_VERSION: u16 = 1;
/// The fixed part of the header.
const FIXED_HEADER: usize = 80;

const FORMAT: Format = Format {
    name: "packed numbers",
    magic: PACKED_MAGIC,
    version: PACKED_VERSION,
};

fn malformed(detail: String) -> Error {
    FORMAT.malformed(detail)
}

/// The bytes of a packed-numbers file holding `array`.
pub fn encode_packed_numbers(array: &PackedArray) -> Result<Vec<u8>> {
    let key = array.public_key();
    let width = key.ciphertext_bytes();
    let layout = array.layout();
    let bound = layout.bound().to_bytes_le();
    let count = array.ciphertexts().len();
    let mut out = Vec::with_capacity(FIXED_HEADER + bound.len() + count * width);
    FORMAT.write_opening(&mut out, array.kind(), 0, key);
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
pub fn write_packed_numbers(output: impl Destination, array: &PackedArray) -> Result<()> {
    let bytes = encode_packed_numbers(array)?;
    output.write_bytes(&bytes)
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
    let (header, kind, reserved) = FORMAT.read_header::<FIXED_HEADER>(&mut reader)?;
    if reserved != 0 {
        return Err(malformed(format!("reserved byte {reserved} (must be 0)")));
    }
    let width = public_key.ciphertext_bytes();
    let slot_bits = u32_at(&header, 16);
    let exponent = u32_at(&header, 20) as i32;
    let slots = u32_at(&header, 24) as usize;
    let bound_bytes = u32_at(&header, 28) as usize;
    let (samples, columns) = (u64_at(&header, 32), u64_at(&header, 40));
    FORMAT.check_key(&header, 48, public_key)?;
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
    let rest = FORMAT.read_body(
        reader,
        length,
        FIXED_HEADER,
        body,
        &format!("{count} ciphertexts"),
    )?;
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
