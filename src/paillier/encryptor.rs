//! Who encrypts a batch: anyone holding the public key, or the key's owner, who computes the
//! same ciphertext distribution modulo p² and q² in about half the work.

use num_bigint::BigUint;

use super::{Ciphertext, PublicKey, SecretKey};
use crate::error::Result;
use crate::hazmat::backend::{Backend, EncryptionJob, Exponents, LimbBatch, Messages};

/// Who encrypts under a public key: the one parameter by which each encryption (of vectors,
/// numbers, packed numbers, files) serves both, written once.
///
/// ```
/// use paillier_gpu::hazmat::backend::cpu::CpuBackend;
/// use paillier_gpu::numbers::{EncryptedArray, Numbers};
/// use paillier_gpu::paillier::{generate_keypair, Encryptor, KeyGenOptions, Scheme};
///
/// let (pk, sk) = generate_keypair(Scheme::Paillier, 256, &KeyGenOptions::insecure_for_tests()).unwrap();
/// let pk = std::sync::Arc::new(pk);
/// let backend = CpuBackend::shared();
/// let values = Numbers::Integers(&[7, -3]);
/// let x = EncryptedArray::encrypt_with(Encryptor::Owner(&sk), &pk, backend.as_ref(), values, vec![2], None).unwrap();
/// let y = EncryptedArray::encrypt_with(Encryptor::Public, &pk, backend.as_ref(), values, vec![2], None).unwrap();
/// assert_eq!(x.decrypt(&sk, backend.as_ref()).unwrap(), y.decrypt(&sk, backend.as_ref()).unwrap());
/// ```
#[derive(Clone, Copy, Debug)]
pub enum Encryptor<'a> {
    /// The public key alone, modulo n².
    Public,
    /// The key's owner, modulo p² and q².
    Owner(&'a SecretKey),
}

impl Encryptor<'_> {
    /// Encrypts `messages` (limbs of ciphertext width, each below n and of at most
    /// `message_bits` bits, a public bound that sets the work of the lookup scheme's fixed-base
    /// exponentiation) with fresh noise: `base^x` with a fresh random `x` per ciphertext (see
    /// [`PublicKey::noise_exponent_bits`]).
    pub(crate) fn encrypt_limbs(
        self,
        public_key: &PublicKey,
        backend: &dyn Backend,
        messages: &LimbBatch,
        message_bits: usize,
    ) -> Result<LimbBatch> {
        self.check(public_key)?;
        if messages.is_empty() {
            return Ok(LimbBatch::new(public_key.ciphertext_limbs()));
        }
        let exponents = public_key.random_noise_exponents(messages.len())?;
        self.encrypt_limbs_with_noise(public_key, backend, messages, message_bits, &exponents)
    }

    /// [`encrypt_limbs`](Self::encrypt_limbs) with the noise exponents given: the ciphertexts
    /// are a deterministic function of the messages and `noise_exponents`, the same by either
    /// encryptor.
    pub(crate) fn encrypt_limbs_with_noise(
        self,
        public_key: &PublicKey,
        backend: &dyn Backend,
        messages: &LimbBatch,
        message_bits: usize,
        noise_exponents: &Exponents,
    ) -> Result<LimbBatch> {
        let messages = Messages::values(messages, message_bits);
        self.with_job(public_key, messages, noise_exponents, |job| {
            Ok(backend.encrypt(job)?)
        })
    }

    /// [`encrypt_limbs_with_noise`](Self::encrypt_limbs_with_noise) into `out` (n²'s width per
    /// message): a GPU reads the ciphertexts straight into it.
    pub(crate) fn encrypt_limbs_into(
        self,
        public_key: &PublicKey,
        backend: &dyn Backend,
        messages: Messages<'_>,
        noise_exponents: &Exponents,
        out: &mut [u64],
    ) -> Result<()> {
        self.check(public_key)?;
        if messages.limbs.is_empty() {
            return Ok(());
        }
        self.with_job(public_key, messages, noise_exponents, |job| {
            Ok(backend.encrypt_into(job, out)?)
        })
    }

    /// Refuses public-key encryption under a key whose noise is too short (the owner's own
    /// encryption does not depend on it).
    fn check(self, public_key: &PublicKey) -> Result<()> {
        match self {
            Self::Public => public_key.check_encryption_parameters(),
            Self::Owner(_) => Ok(()),
        }
    }

    /// The encryption job of `messages`, modulo n² or (the owner's) modulo p² and q², handed to
    /// `run`: the one place where the two encryptors differ.
    fn with_job<R>(
        self,
        public_key: &PublicKey,
        messages: Messages<'_>,
        noise_exponents: &Exponents,
        run: impl FnOnce(&EncryptionJob<'_>) -> Result<R>,
    ) -> Result<R> {
        match self {
            Self::Public => public_key.with_encryption_job(messages, noise_exponents, run),
            Self::Owner(secret_key) => {
                secret_key.with_encryption_job(public_key, messages, noise_exponents, run)
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
