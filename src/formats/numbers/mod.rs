//! Files of numbers: plain numbers in and out (`.npy` or JSON Lines), and encrypted numbers (an
//! [`EncryptedArray`](crate::numbers::EncryptedArray) with its exponents, kind and shape).
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

mod encrypted;
mod plain;

pub use encrypted::{
    decode_encrypted_numbers, encode_encrypted_numbers, read_encrypted_numbers,
    write_encrypted_numbers, MAX_DIMENSIONS, NUMBERS_MAGIC, NUMBERS_VERSION,
};
pub use plain::{
    read_jsonl_numbers, read_npy_numbers, read_numbers, write_numbers, PlainArray, PlainValues,
};
