//! Keys and ids: secrets drawn from the OS, stored only as SHA-256 hashes, shown once.

use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Characters of a key kept in the clear to tell keys apart in listings (`firstN`). The SDK's
/// CLI finds a key's hash by comparing `firstN` with the key's first five characters, without
/// case, so these characters are random and distinct among an organisation's keys.
pub const SHOWN_CHARACTERS: usize = 5;

/// A new random id, `<prefix>_` and 24 hex digits.
pub fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}_{}", hex(&bytes))
}

/// A new secret key: 64 lowercase hex digits (256 bits from the OS). No constant prefix, so
/// that its first characters (`firstN`) tell it from the organisation's other keys.
pub fn new_secret() -> Zeroizing<String> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(bytes.as_mut());
    Zeroizing::new(hex(bytes.as_ref()))
}

/// What is stored of a key: its SHA-256, in hex.
pub fn key_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// The key's first characters, shown in listings.
pub fn first_n(secret: &str) -> String {
    secret.chars().take(SHOWN_CHARACTERS).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Permission bits of an API key on a knowledge base, as the SDK's CLI shows them (1, 3, 7).
pub mod permission {
    /// Read chunks, search, compute distances.
    pub const READ: u8 = 1;
    /// Insert, update and patch chunks.
    pub const WRITE: u8 = 2;
    /// Delete chunks.
    pub const DELETE: u8 = 4;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fresh_hex_and_hashed() {
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(a.len(), 64);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(*a, *b);
        assert_eq!(key_hash(&a).len(), 64);
        assert_ne!(key_hash(&a), key_hash(&b));
        assert_eq!(first_n(&a), &a[..SHOWN_CHARACTERS]);
        assert!(new_id("kb").starts_with("kb_"));
    }

    #[test]
    fn shown_characters_are_random() {
        // 64 keys with a constant prefix would share their first five characters; random hex
        // gives at least 8 distinct first characters among 64 except with odds below 2^-100.
        let firsts: std::collections::HashSet<char> = (0..64)
            .map(|_| first_n(&new_secret()).chars().next().unwrap_or('-'))
            .collect();
        assert!(firsts.len() >= 8, "{firsts:?}");
    }
}
