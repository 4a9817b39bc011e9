//! Decrypting an [`EncryptedArray`]: CRT on the backend, then python-paillier's decoding of each
//! mantissa (a result in the overflow band is an error, never a wrong number).

use rayon::prelude::*;

use super::array::EncryptedArray;
use super::encoding::{self, NumberRange};
use super::values::NumberKind;
use crate::error::{Error, Result};
use crate::hazmat::backend::{Backend, LimbBatch};
use crate::paillier::{PublicKey, SecretKey};

/// What an array decrypts to.
#[derive(Clone, Debug, PartialEq)]
pub enum Decrypted {
    /// An array of [`NumberKind::Integer`].
    Integers(Vec<i64>),
    /// An array of [`NumberKind::Float`].
    Floats(Vec<f64>),
}

impl EncryptedArray {
    /// Decrypts to integers (an array of integers) or floats, as python-paillier decodes them;
    /// a result in the overflow band is an error.
    pub fn decrypt(&self, secret_key: &SecretKey, backend: &dyn Backend) -> Result<Decrypted> {
        let mantissas = self.decrypt_mantissas(secret_key, backend)?;
        match self.kind {
            NumberKind::Integer => mantissas
                .par_iter()
                .enumerate()
                .map(|(i, m)| encoding::to_i64(m, self.exponents.get(i)))
                .collect::<Result<_>>()
                .map(Decrypted::Integers),
            NumberKind::Float => self.floats_of(&mantissas).map(Decrypted::Floats),
        }
    }

    /// Decrypts to floats whatever the kind.
    pub fn decrypt_f64(&self, secret_key: &SecretKey, backend: &dyn Backend) -> Result<Vec<f64>> {
        let mantissas = self.decrypt_mantissas(secret_key, backend)?;
        self.floats_of(&mantissas)
    }

    fn floats_of(&self, mantissas: &[num_bigint::BigInt]) -> Result<Vec<f64>> {
        mantissas
            .par_iter()
            .enumerate()
            .map(|(i, m)| encoding::to_f64(m, self.exponents.get(i)))
            .collect()
    }

    /// The signed mantissas (element `i` is `mantissa_i · 16^exponent_i`).
    pub fn decrypt_mantissas(
        &self,
        secret_key: &SecretKey,
        backend: &dyn Backend,
    ) -> Result<Vec<num_bigint::BigInt>> {
        signed_plaintexts(&self.public_key, &self.ciphertexts, secret_key, backend)
    }
}

/// The plaintexts of `ciphertexts` (made under `public_key`) as signed integers within
/// ±max_int; the overflow band is an error.
pub(super) fn signed_plaintexts(
    public_key: &PublicKey,
    ciphertexts: &LimbBatch,
    secret_key: &SecretKey,
    backend: &dyn Backend,
) -> Result<Vec<num_bigint::BigInt>> {
    if secret_key.n() != public_key.n() {
        return Err(Error::KeyMismatch {
            what: "the encrypted array was made under the key".into(),
            found: public_key.fingerprint().to_string(),
            holder: "the secret key is".into(),
            expected: "another key's".into(),
        });
    }
    let residues = secret_key.decrypt_limbs(backend, ciphertexts)?;
    let range = NumberRange::new(public_key.n());
    residues
        .par_iter()
        .enumerate()
        .map(|(i, r)| range.mantissa(r, i))
        .collect()
}
