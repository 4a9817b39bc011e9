//! AES-256-GCM in the SDK's layout: base64( nonce (16 bytes) | tag (16 bytes) | ciphertext ).

use aes_gcm::aead::consts::U16;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce, Tag};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use rand::RngCore;
use zeroize::Zeroizing;

use super::DataKey;
use crate::error::{Error, Result};

/// AES-256-GCM with the SDK's 16-byte nonce (GCM derives the counter block with GHASH for
/// nonces other than 12 bytes; aes-gcm supports that through its nonce-size parameter).
type SdkAesGcm = AesGcm<Aes256, U16>;

const NONCE_LEN: usize = 16;
const TAG_LEN: usize = 16;

/// Encrypts `plaintext` under `key` with a fresh random nonce.
pub fn encrypt(key: &DataKey, plaintext: &[u8]) -> Result<String> {
    encrypt_with_aad(key, plaintext, b"")
}

/// [`encrypt`] with associated data: authenticated, not encrypted, and not stored.
pub fn encrypt_with_aad(key: &DataKey, plaintext: &[u8], aad: &[u8]) -> Result<String> {
    let cipher = SdkAesGcm::new_from_slice(key.as_bytes())
        .map_err(|_| Error::KeyProvider("AES key must be 32 bytes".into()))?;
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let mut buffer = plaintext.to_vec();
    let tag = cipher
        .encrypt_in_place_detached(Nonce::<U16>::from_slice(&nonce), aad, &mut buffer)
        .map_err(|_| Error::InvalidParameter("AES-GCM encryption failed".into()))?;
    let mut out = Vec::with_capacity(NONCE_LEN + TAG_LEN + buffer.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&tag);
    out.extend_from_slice(&buffer);
    Ok(BASE64.encode(out))
}

/// Why a blob could not be decrypted.
#[derive(Debug, PartialEq, Eq)]
pub enum DecryptFailure {
    /// Not base64, or shorter than nonce and tag.
    Malformed(String),
    /// The tag did not verify: wrong key or modified data.
    Authentication,
}

/// Decrypts a blob produced by [`encrypt`] (or by the SDK).
pub fn decrypt(
    key: &DataKey,
    encoded: &str,
) -> std::result::Result<Zeroizing<Vec<u8>>, DecryptFailure> {
    decrypt_with_aad(key, encoded, b"")
}

/// Decrypts a blob produced by [`encrypt_with_aad`] with the same associated data.
pub fn decrypt_with_aad(
    key: &DataKey,
    encoded: &str,
    aad: &[u8],
) -> std::result::Result<Zeroizing<Vec<u8>>, DecryptFailure> {
    let raw = BASE64
        .decode(encoded.trim())
        .map_err(|e| DecryptFailure::Malformed(format!("not base64: {e}")))?;
    if raw.len() < NONCE_LEN + TAG_LEN {
        return Err(DecryptFailure::Malformed(format!(
            "{} bytes is shorter than nonce and tag",
            raw.len()
        )));
    }
    let cipher = SdkAesGcm::new_from_slice(key.as_bytes())
        .map_err(|_| DecryptFailure::Malformed("AES key must be 32 bytes".into()))?;
    let (nonce, rest) = raw.split_at(NONCE_LEN);
    let (tag, ciphertext) = rest.split_at(TAG_LEN);
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    cipher
        .decrypt_in_place_detached(
            Nonce::<U16>::from_slice(nonce),
            aad,
            &mut buffer,
            Tag::from_slice(tag),
        )
        .map_err(|_| DecryptFailure::Authentication)?;
    Ok(buffer)
}
