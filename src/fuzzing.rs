//! Entry points for the fuzz targets (`fuzz/`) and for the corpus replay in the test suite.
//!
//! Each feeds arbitrary bytes to one parser or loader. Any result is fine; a panic, an abort or
//! an unbounded allocation is a bug. Not part of the stable API.

use std::io::Cursor;
use std::sync::{Arc, OnceLock};

use crate::context::{DataKey, LookupTables, RawKeyProvider};
use crate::formats::numbers::{
    decode_encrypted_numbers, decode_packed_numbers, read_jsonl_numbers, read_npy_numbers,
};
use crate::formats::{ciphertexts, vectors};
use crate::paillier::{KeyFingerprint, PublicKey};
use crate::{ExecutionContext, PublicContext};

/// A fixed data key: the fuzzer can reach the secret-key parser through the `raw` provider
/// without paying scrypt on every input.
fn raw_provider() -> Arc<RawKeyProvider> {
    static PROVIDER: OnceLock<Arc<RawKeyProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(RawKeyProvider::new(DataKey::new([7; 32]))))
        .clone()
}

/// Shape of the fuzzed ciphertext files: key_len 512 (256-byte pieces), 2 pieces per vector.
const SHAPE: ciphertexts::CiphertextShape = ciphertexts::CiphertextShape {
    piece_bytes: 256,
    pieces: 2,
    key: Some(KeyFingerprint::from_bytes([7; 32])),
};

/// Context files: the public loader, the encrypted forms, and the plaintext form.
pub fn context_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = PublicContext::from_public_json(text);
    let provider = raw_provider();
    let _ = ExecutionContext::from_json(text, provider.as_ref());
    let _ = ExecutionContext::from_encrypted_dict(text, provider.clone());
    let _ = ExecutionContext::from_plain_json(text, provider);
}

/// JSON Lines ciphertext files.
pub fn ciphertexts_jsonl(data: &[u8]) {
    let _ = ciphertexts::read_jsonl(Cursor::new(data), SHAPE);
}

/// Binary ciphertext files (the first byte picks pieces per vector, so shapes vary too).
pub fn ciphertexts_binary(data: &[u8]) {
    let _ = ciphertexts::read_binary(Cursor::new(data), SHAPE);
    if let Some((&chunks, rest)) = data.split_first() {
        let shape = ciphertexts::CiphertextShape {
            piece_bytes: 8,
            pieces: usize::from(chunks % 4),
            key: None,
        };
        let _ = ciphertexts::read_binary(Cursor::new(rest), shape);
    }
}

/// JSON Lines vector files (embed_len taken from the first byte).
pub fn vectors_jsonl(data: &[u8]) {
    if let Some((&embed_len, rest)) = data.split_first() {
        let _ = vectors::read_jsonl(Cursor::new(rest), usize::from(embed_len));
    }
}

/// `.npy` vector files (embed_len taken from the first byte).
pub fn vectors_npy(data: &[u8]) {
    if let Some((&embed_len, rest)) = data.split_first() {
        let _ = vectors::read_npy(rest, usize::from(embed_len));
    }
}

/// The `tables` field of a lookup context, checked against a fixed small public key.
pub fn lookup_tables(data: &[u8]) {
    static KEY: OnceLock<Option<PublicContext>> = OnceLock::new();
    let Some(public) = KEY.get_or_init(|| {
        PublicContext::from_public_json(include_str!("../fuzz/lookup_context.json")).ok()
    }) else {
        return;
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let _ = LookupTables::parse(
        &value,
        public.public_key(),
        public.config().message_chunks(),
    );
}

/// The classic public key the numbers files are read under: `n` of `fuzz/lookup_context.json`
/// (any n serves `g = n + 1`).
pub fn numbers_key() -> Option<Arc<PublicKey>> {
    static KEY: OnceLock<Option<Arc<PublicKey>>> = OnceLock::new();
    KEY.get_or_init(|| {
        let public =
            PublicContext::from_public_json(include_str!("../fuzz/lookup_context.json")).ok()?;
        let key = public.public_key();
        PublicKey::paillier(key.key_len(), key.n().clone())
            .ok()
            .map(Arc::new)
    })
    .clone()
}

/// Encrypted-numbers and packed-numbers files under [`numbers_key`], with the input's length
/// known and not.
pub fn numbers_encrypted(data: &[u8]) {
    let Some(key) = numbers_key() else {
        return;
    };
    let _ = decode_encrypted_numbers(Cursor::new(data), Some(data.len() as u64), &key);
    let _ = decode_encrypted_numbers(Cursor::new(data), None, &key);
    let _ = decode_packed_numbers(Cursor::new(data), Some(data.len() as u64), &key);
    let _ = decode_packed_numbers(Cursor::new(data), None, &key);
}

/// Plain numbers files: JSON Lines, and `.npy` with its length known and not.
pub fn numbers_plain(data: &[u8]) {
    let _ = read_jsonl_numbers(Cursor::new(data));
    let _ = read_npy_numbers(Cursor::new(data), Some(data.len() as u64));
    let _ = read_npy_numbers(Cursor::new(data), None);
}
