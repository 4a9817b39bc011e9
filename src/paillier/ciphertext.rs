//! A Paillier ciphertext.

use num_bigint::BigUint;

/// A ciphertext: an integer in `[1, n²)`.
///
/// On the wire it is the little-endian bytes of the integer, zero-padded to `4·key_len/8` bytes
/// ([`PublicKey::ciphertext_bytes`](super::PublicKey::ciphertext_bytes)).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Ciphertext(BigUint);

impl std::fmt::Debug for Ciphertext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ciphertext({} bits)", self.0.bits())
    }
}

impl Ciphertext {
    /// Wraps an integer. Validity against a key is checked where the key is known
    /// ([`PublicKey::check_ciphertext`](super::PublicKey::check_ciphertext)).
    pub fn from_biguint(value: BigUint) -> Self {
        Self(value)
    }

    /// Reads little-endian bytes (any length).
    pub fn from_le_bytes(bytes: &[u8]) -> Self {
        Self(BigUint::from_bytes_le(bytes))
    }

    /// Reads little-endian `u64` limbs.
    pub fn from_limbs(limbs: &[u64]) -> Self {
        Self(crate::hazmat::bigint::biguint_from_limbs(limbs))
    }

    /// The integer.
    pub fn as_biguint(&self) -> &BigUint {
        &self.0
    }

    /// The integer, by value.
    pub fn into_biguint(self) -> BigUint {
        self.0
    }

    /// Little-endian bytes zero-padded to `width`, or `None` when the value needs more bytes.
    pub fn to_le_bytes(&self, width: usize) -> Option<Vec<u8>> {
        let mut bytes = self.0.to_bytes_le();
        if bytes.len() > width {
            return None;
        }
        bytes.resize(width, 0);
        Some(bytes)
    }
}
