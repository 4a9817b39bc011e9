//! Who encrypts a batch: anyone holding the public key, or the key's owner, who computes the
//! same ciphertext distribution modulo p² and q² in about half the work.

use num_bigint::BigUint;

use super::{Ciphertext, PublicKey, SecretKey};
use crate::error::Result;
use crate::hazmat::backend::{Backend, LimbBatch};

/// The two ways to encrypt under one public key; callers that serve both pick one and share the
/// rest of their path.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Encryptor<'a> {
    /// The public key alone, modulo n².
    Public,
    /// The key's owner, modulo p² and q².
    Owner(&'a SecretKey),
}

impl Encryptor<'_> {
    /// Encrypts `messages` (limbs of ciphertext width, each below n and of at most
    /// `message_bits` bits) with fresh noise.
    pub(crate) fn encrypt_limbs(
        self,
        public_key: &PublicKey,
        backend: &dyn Backend,
        messages: &LimbBatch,
        message_bits: usize,
    ) -> Result<LimbBatch> {
        match self {
            Self::Public => public_key.encrypt_limbs(backend, messages, message_bits),
            Self::Owner(secret_key) => {
                secret_key.encrypt_limbs(public_key, backend, messages, message_bits)
            }
        }
    }

    /// Encrypts plaintexts, each checked to be below n.
    pub(crate) fn encrypt_batch(
        self,
        public_key: &PublicKey,
        backend: &dyn Backend,
        plaintexts: &[BigUint],
    ) -> Result<Vec<Ciphertext>> {
        let messages = public_key.plaintext_batch(plaintexts)?;
        let bits = public_key.n().bits() as usize;
        let batch = self.encrypt_limbs(public_key, backend, &messages, bits)?;
        Ok(public_key.ciphertexts_of(&batch))
    }
}
