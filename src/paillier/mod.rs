//! The Paillier cryptosystem: key generation, encryption, CRT decryption and the homomorphic
//! operations, for both context types of the XTrace SDK.
//!
//! * [`Scheme::Paillier`] — textbook Paillier with `g = n + 1` (context type `PaillierClient`).
//! * [`Scheme::PaillierLookup`] — the alpha-subgroup variant (context type
//!   `PaillierLookupClient`): `g` has order `a·n` with a short secret `a`, so decryption needs
//!   only `c^a`.
//!
//! Batched work goes through a [`Backend`](crate::hazmat::backend::Backend); this layer never touches a
//! device API.
//!
//! ```
//! use num_bigint::BigUint;
//! use paillier_gpu::hazmat::backend::cpu::CpuBackend;
//! use paillier_gpu::paillier::{generate_keypair, KeyGenOptions, Scheme};
//!
//! let backend = CpuBackend::shared();
//! let (pk, sk) = generate_keypair(Scheme::Paillier, 256, &KeyGenOptions::insecure_for_tests()).unwrap();
//! let c = pk.encrypt(backend.as_ref(), &BigUint::from(41u32)).unwrap();
//! let c = pk.add_plaintext(&c, &BigUint::from(1u32)).unwrap();
//! assert_eq!(sk.decrypt(backend.as_ref(), &c).unwrap(), BigUint::from(42u32));
//! ```

mod ciphertext;
pub(crate) mod ciphertext_batch;
pub(crate) mod ciphertext_bytes;
mod decoding;
mod decryption;
mod encryptor;
mod fingerprint;
mod keygen;
mod owner_encryption;
mod public_encryption;
mod public_key;
mod secret_key;
mod units;

pub use ciphertext::Ciphertext;
pub use ciphertext_batch::CiphertextBatch;
pub use encryptor::Encryptor;
pub use fingerprint::KeyFingerprint;
pub use keygen::{
    generate_keypair, is_probable_prime, lookup_attack_work_bits, KeyGenOptions,
    MIN_SECURE_ALPHA_LEN, MIN_SECURE_KEY_LEN,
};
pub use public_key::PublicKey;
pub(crate) use secret_key::SchemeSecrets;
pub use secret_key::SecretKey;

use num_bigint::BigUint;

/// Which Paillier variant a key belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Textbook Paillier, `g = n + 1`. Context type `PaillierClient`.
    Paillier,
    /// The alpha-subgroup ("lookup") variant. Context type `PaillierLookupClient`.
    PaillierLookup,
}

impl Scheme {
    /// The context `type` string the Python SDK writes.
    pub fn context_type(self) -> &'static str {
        match self {
            Scheme::Paillier => "PaillierClient",
            Scheme::PaillierLookup => "PaillierLookupClient",
        }
    }

    /// The short name (`paillier`, `paillier_lookup`).
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Paillier => "paillier",
            Scheme::PaillierLookup => "paillier_lookup",
        }
    }
}

/// Supported `key_len` (bits of each prime) range: n² from 512 to 16384 bits.
pub const KEY_LEN_RANGE: std::ops::RangeInclusive<usize> = 128..=4096;

/// L(x) = (x - 1) / d, the Paillier "logarithm".
pub(crate) fn l_function(x: &BigUint, d: &BigUint) -> BigUint {
    if x == &BigUint::from(0u32) {
        return BigUint::from(0u32);
    }
    (x - 1u32) / d
}

pub(crate) use crate::hazmat::bigint::wipe_biguint as wipe;
