//! A public key's fingerprint: what a public-only user pins and what our ciphertext files carry.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use super::PublicKey;
use crate::error::{Error, Result};

/// Domain separation: no other SHA-256 input of this crate starts with these bytes.
const DOMAIN: &[u8] = b"paillier-gpu/public-key-fingerprint/v1";

/// SHA-256 over the scheme and every public integer of a key (`n`, `g`, and `g_n` for the lookup
/// scheme), each length-prefixed. Two keys share a fingerprint only if they are the same key.
///
/// Shown as 64 lowercase hex digits; parsing accepts either case.
///
/// ```
/// use paillier_gpu::paillier::{generate_keypair, KeyFingerprint, KeyGenOptions, Scheme};
/// let (pk, _) = generate_keypair(Scheme::Paillier, 256, &KeyGenOptions::insecure_for_tests()).unwrap();
/// let shown = pk.fingerprint().to_string();
/// assert_eq!(shown.len(), 64);
/// assert_eq!(shown.parse::<KeyFingerprint>().unwrap(), pk.fingerprint());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyFingerprint([u8; 32]);

impl KeyFingerprint {
    /// The fingerprint of `public_key`.
    pub fn of(public_key: &PublicKey) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(DOMAIN);
        let mut field = |bytes: &[u8]| {
            hasher.update((bytes.len() as u64).to_be_bytes());
            hasher.update(bytes);
        };
        field(public_key.scheme().context_type().as_bytes());
        field(&public_key.n().to_bytes_be());
        field(&public_key.g().to_bytes_be());
        if let Some(g_n) = public_key.g_n() {
            field(&g_n.to_bytes_be());
        }
        Self(hasher.finalize().into())
    }

    /// The 32 bytes, as stored in a binary ciphertext header.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// From the 32 stored bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Ok when `self` is `expected`; otherwise [`Error::KeyMismatch`] saying what was made
    /// under which key.
    pub fn expect(&self, expected: &KeyFingerprint, what: impl Into<String>) -> Result<()> {
        if self == expected {
            Ok(())
        } else {
            Err(Error::KeyMismatch {
                what: what.into(),
                found: self.to_string(),
                expected: expected.to_string(),
            })
        }
    }
}

impl fmt::Display for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyFingerprint({self})")
    }
}

impl FromStr for KeyFingerprint {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let text = text.trim();
        let bad = || {
            Error::InvalidParameter(format!(
                "a key fingerprint is 64 hex digits (as `context show` prints it), not {:?}",
                text.chars().take(80).collect::<String>()
            ))
        };
        if text.len() != 64 || !text.is_ascii() {
            return Err(bad());
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paillier::{generate_keypair, KeyGenOptions, Scheme};

    #[test]
    fn different_keys_have_different_fingerprints_and_text_round_trips() {
        let options = KeyGenOptions::insecure_for_tests();
        let (a, _) = generate_keypair(Scheme::Paillier, 128, &options).unwrap();
        let (b, _) = generate_keypair(Scheme::Paillier, 128, &options).unwrap();
        assert_ne!(a.fingerprint(), b.fingerprint());
        let text = a.fingerprint().to_string();
        assert_eq!(
            text.to_uppercase().parse::<KeyFingerprint>().unwrap(),
            a.fingerprint()
        );
        assert!(text[..63].parse::<KeyFingerprint>().is_err());
        assert!(format!("{}g", &text[..63])
            .parse::<KeyFingerprint>()
            .is_err());
        assert!(matches!(
            b.fingerprint().expect(&a.fingerprint(), "the database"),
            Err(Error::KeyMismatch { .. })
        ));
    }
}
