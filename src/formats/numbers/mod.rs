//! Files of numbers: plain numbers in and out (`.npy` or JSON Lines), and encrypted numbers (an
//! [`EncryptedArray`] with its exponents, kind and shape).
//!
//! The encrypted-numbers file (what `numbers encrypt` and `linear` write), all integers little-endian:
//!
//! | offset | bytes | field |
//! |-------:|------:|-------|
//! | 0 | 8 | magic `PGPUNUMS` |
//! | 8 | 2 | version, `1` |
//! | 10 | 1 | kind: `0` integers (decrypt to `int64`), `1` floats |
//! | 11 | 1 | exponents: `0` one shared by every element, `1` one per element |
//! | 12 | 4 | ciphertext width in bytes (n²'s: `4·key_len/8`) |
//! | 16 | 4 | dimensions `d` (at most 32) |
//! | 20 | 4 | the shared exponent (i32; 0 when per element) |
//! | 24 | 8 | elements `e` (u64) |
//! | 32 | 32 | the public key's fingerprint |
//! | 64 | 8·d | each dimension (u64), outermost first |
//! | … | 4·e | per element only: each element's exponent (i32) |
//! | … | e·width | the ciphertexts, row-major, each zero-padded to the width |
//!
//! Element `i` decrypts to `mantissa_i · 16^exponent_i` with python-paillier's encoding: a file
//! converts to and from `phe.EncryptedNumber`s (`EncryptedArray.to_phe` / `from_phe` in Python)
//! without re-encrypting.
//!
//! The packed-numbers file (what `numbers encrypt --packed` writes, and `linear` on such a
//! file): a [`PackedArray`], many samples per ciphertext. Little-endian again:
//!
//! | offset | bytes | field |
//! |-------:|------:|-------|
//! | 0 | 8 | magic `PGPUPACK` |
//! | 8 | 2 | version, `1` |
//! | 10 | 1 | kind: `0` integers, `1` floats |
//! | 11 | 1 | reserved, `0` |
//! | 12 | 4 | ciphertext width in bytes (n²'s) |
//! | 16 | 4 | bits per slot, the sign included |
//! | 20 | 4 | the exponent every number shares (i32) |
//! | 24 | 4 | slots per plaintext (what the key's plaintexts hold at that slot width) |
//! | 28 | 4 | `b`: bytes of the slot bound |
//! | 32 | 8 | samples (u64) |
//! | 40 | 8 | columns per sample (u64) |
//! | 48 | 32 | the public key's fingerprint |
//! | 80 | b | the bound on every slot's integer (unsigned) |
//! | … | g·columns·width | the ciphertexts: ciphertext `(g, j)` at `g·columns + j` holds column `j` of samples `g·slots …`, `g < ceil(samples / slots)` |
//!
//! Slot `s` of a plaintext is a signed integer of `slot bits` bits, weighted `2^(s · slot bits)`;
//! a sample's number is that integer times `16^exponent`. These ciphertexts are not
//! python-paillier's: one plaintext holds many numbers.

mod encrypted;
mod header;
mod json;
mod packed;
mod plain;
mod plain_array;

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use crate::error::Result;
use crate::numbers::{EncryptedArray, PackedArray};
use crate::paillier::PublicKey;

pub use encrypted::{
    decode_encrypted_numbers, encode_encrypted_numbers, read_encrypted_numbers,
    write_encrypted_numbers, MAX_DIMENSIONS, NUMBERS_MAGIC, NUMBERS_VERSION,
};
pub use packed::{
    decode_packed_numbers, encode_packed_numbers, read_packed_numbers, write_packed_numbers,
    PACKED_MAGIC, PACKED_VERSION,
};
pub use plain::{
    read_json_numbers, read_jsonl_numbers, read_npy_numbers, read_numbers, write_numbers,
    PlainArray, PlainValues,
};

/// What an encrypted-numbers file holds: one number per ciphertext, or packed samples.
#[derive(Debug)]
pub enum EncryptedNumbersFile {
    /// An encrypted-numbers file (`PGPUNUMS`).
    Array(EncryptedArray),
    /// A packed-numbers file (`PGPUPACK`).
    Packed(PackedArray),
}

/// Reads either kind of encrypted-numbers file, told apart by its magic, made under
/// `public_key` (every check of [`read_encrypted_numbers`] or [`read_packed_numbers`]).
pub fn read_any_encrypted_numbers(
    path: &Path,
    public_key: &Arc<PublicKey>,
) -> Result<EncryptedNumbersFile> {
    let (file, length) = crate::formats::open_input(path)?;
    let mut reader = std::io::BufReader::new(file);
    let mut magic = Vec::with_capacity(8);
    (&mut reader)
        .take(8)
        .read_to_end(&mut magic)
        .map_err(|e| crate::Error::io(path, e))?;
    let whole = std::io::Cursor::new(magic.clone()).chain(reader);
    if magic == PACKED_MAGIC {
        decode_packed_numbers(whole, length, public_key)
            .map(EncryptedNumbersFile::Packed)
            .map_err(|e| e.in_keyed_file(path, "packed numbers file"))
    } else {
        decode_encrypted_numbers(whole, length, public_key)
            .map(EncryptedNumbersFile::Array)
            .map_err(|e| e.in_keyed_file(path, "numbers file"))
    }
}
