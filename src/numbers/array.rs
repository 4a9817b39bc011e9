//! [`EncryptedArray`]: ciphertexts of numbers in the flat limb form, an exponent per element (or
//! one for all), the key and a shape; encryption (decryption is in `decryption.rs`).

use std::sync::Arc;

use num_bigint::BigUint;
use rayon::prelude::*;

use super::encoding::{self, NumberRange, Scalar};
use super::values::{ElementExponents, NumberKind, Numbers};
use crate::error::{Error, Result};
use crate::hazmat::backend::{Backend, LimbBatch};
use crate::hazmat::bigint::limbs_from_biguint;
use crate::paillier::{Ciphertext, CiphertextBatch, Encryptor, KeyFingerprint, PublicKey, Scheme};

/// Encrypted numbers under one key, with python-paillier's encoding (see
/// [`encoding`](super::encoding)): element `i` decrypts to `mantissa_i · 16^exponent_i`.
///
/// ```
/// use std::sync::Arc;
/// use paillier_gpu::hazmat::backend::cpu::CpuBackend;
/// use paillier_gpu::numbers::{EncryptedArray, Numbers, Decrypted};
/// use paillier_gpu::paillier::{generate_keypair, KeyGenOptions, Scheme};
///
/// let backend = CpuBackend::shared();
/// let (pk, sk) = generate_keypair(Scheme::Paillier, 256, &KeyGenOptions::insecure_for_tests()).unwrap();
/// let pk = Arc::new(pk);
/// let x = EncryptedArray::encrypt(&pk, backend.as_ref(), Numbers::Floats(&[1.5, -2.25]), vec![2], None).unwrap();
/// let y = x.mul_plain(backend.as_ref(), Numbers::Floats(&[2.0, -4.0])).unwrap();
/// assert_eq!(y.decrypt(&sk, backend.as_ref()).unwrap(), Decrypted::Floats(vec![3.0, 9.0]));
/// ```
#[derive(Debug, Clone)]
pub struct EncryptedArray {
    pub(super) public_key: Arc<PublicKey>,
    pub(super) ciphertexts: LimbBatch,
    pub(super) exponents: ElementExponents,
    pub(super) kind: NumberKind,
    pub(super) shape: Vec<usize>,
}

/// An error unless `ciphertexts` and `exponents` both fit `shape`.
fn check_parts(ciphertexts: usize, exponents: &ElementExponents, shape: &[usize]) -> Result<()> {
    let count = element_count(shape)?;
    if ciphertexts != count {
        return Err(Error::ShapeMismatch(format!(
            "{ciphertexts} ciphertexts for shape {shape:?} ({count} elements)"
        )));
    }
    if let ElementExponents::PerElement(v) = exponents {
        if v.len() != count {
            return Err(Error::ShapeMismatch(format!(
                "{} exponents for {count} elements",
                v.len()
            )));
        }
    }
    Ok(())
}

/// The number of elements of a shape, refusing one that overflows.
pub(crate) fn element_count(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::ShapeMismatch(format!("shape {shape:?} has too many elements")))
}

/// Numbers need `g = n + 1` (the classic scheme), as python-paillier.
pub(crate) fn check_classic(public_key: &PublicKey) -> Result<()> {
    if public_key.scheme() != Scheme::Paillier {
        return Err(Error::InvalidParameter(
            "encrypted numbers need a classic paillier key (g = n + 1), not a paillier_lookup one"
                .into(),
        ));
    }
    Ok(())
}

impl EncryptedArray {
    /// Encrypts `values` of `shape` with the public key: [`encrypt_with`](Self::encrypt_with)
    /// by [`Encryptor::Public`].
    pub fn encrypt(
        public_key: &Arc<PublicKey>,
        backend: &dyn Backend,
        values: Numbers<'_>,
        shape: Vec<usize>,
        precision: Option<f64>,
    ) -> Result<Self> {
        let by = Encryptor::Public;
        Self::encrypt_with(by, public_key, backend, values, shape, precision)
    }

    /// Encrypts `values` of `shape` under `public_key`, by `encryptor`: the key alone, or its
    /// owner ([`Encryptor::Owner`]: the same ciphertext distribution in about half the work,
    /// modulo p² and q²). `precision` gives every element the exponent
    /// `floor(log16(precision))`; without it each keeps python-paillier's own.
    pub fn encrypt_with(
        encryptor: Encryptor<'_>,
        public_key: &Arc<PublicKey>,
        backend: &dyn Backend,
        values: Numbers<'_>,
        shape: Vec<usize>,
        precision: Option<f64>,
    ) -> Result<Self> {
        let (messages, exponents) = encode(public_key, values, &shape, precision)?;
        let bits = public_key.n().bits() as usize;
        let ciphertexts = encryptor.encrypt_limbs(public_key, backend, &messages, bits)?;
        Ok(Self::assemble(
            public_key,
            ciphertexts,
            exponents,
            values.kind(),
            shape,
        ))
    }

    fn assemble(
        public_key: &Arc<PublicKey>,
        ciphertexts: LimbBatch,
        exponents: ElementExponents,
        kind: NumberKind,
        shape: Vec<usize>,
    ) -> Self {
        Self {
            public_key: public_key.clone(),
            ciphertexts,
            exponents,
            kind,
            shape,
        }
    }

    /// An array from ciphertexts made elsewhere (python-paillier, a file), each checked to be
    /// a ciphertext of this key.
    pub fn from_ciphertexts(
        public_key: &Arc<PublicKey>,
        ciphertexts: &[Ciphertext],
        exponents: ElementExponents,
        kind: NumberKind,
        shape: Vec<usize>,
    ) -> Result<Self> {
        check_classic(public_key)?;
        check_parts(ciphertexts.len(), &exponents, &shape)?;
        let batch = public_key.ciphertext_batch(ciphertexts)?;
        Ok(Self::assemble(public_key, batch, exponents, kind, shape))
    }

    /// An array from a batch of this key's ciphertexts (checked when the batch was made: a
    /// file's reader), one per element.
    pub fn from_batch(
        public_key: &Arc<PublicKey>,
        ciphertexts: CiphertextBatch,
        exponents: ElementExponents,
        kind: NumberKind,
        shape: Vec<usize>,
    ) -> Result<Self> {
        check_classic(public_key)?;
        ciphertexts.key().expect(
            &public_key.fingerprint(),
            "the ciphertexts",
            "the public key given is",
        )?;
        let limbs = ciphertexts.into_limbs();
        check_parts(limbs.len(), &exponents, &shape)?;
        Ok(Self::assemble(public_key, limbs, exponents, kind, shape))
    }

    pub(super) fn range(&self) -> NumberRange {
        NumberRange::new(self.public_key.n())
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.ciphertexts.len()
    }

    /// True for an array of no element.
    pub fn is_empty(&self) -> bool {
        self.ciphertexts.is_empty()
    }

    /// Integer or float.
    pub fn kind(&self) -> NumberKind {
        self.kind
    }

    /// The elements' exponents.
    pub fn exponents(&self) -> &ElementExponents {
        &self.exponents
    }

    /// The public key.
    pub fn public_key(&self) -> &Arc<PublicKey> {
        &self.public_key
    }

    /// The key's fingerprint.
    pub fn fingerprint(&self) -> KeyFingerprint {
        self.public_key.fingerprint()
    }

    /// The ciphertexts, flat (n² width), row-major.
    pub fn ciphertexts(&self) -> &LimbBatch {
        &self.ciphertexts
    }

    /// Element `i`'s ciphertext.
    pub fn ciphertext(&self, i: usize) -> Ciphertext {
        Ciphertext::from_limbs(self.ciphertexts.item(i))
    }

    /// The same elements under another shape with as many elements.
    pub fn reshape(mut self, shape: Vec<usize>) -> Result<Self> {
        if element_count(&shape)? != self.len() {
            return Err(Error::ShapeMismatch(format!(
                "cannot reshape {} elements to {shape:?}",
                self.len()
            )));
        }
        self.shape = shape;
        Ok(self)
    }

    /// The elements at `indices` (flat, row-major), as an array of `shape`.
    pub fn select(&self, indices: &[usize], shape: Vec<usize>) -> Result<Self> {
        if element_count(&shape)? != indices.len() {
            return Err(Error::ShapeMismatch(format!(
                "{} elements selected for shape {shape:?}",
                indices.len()
            )));
        }
        let mut ciphertexts = LimbBatch::new(self.ciphertexts.limbs_per_item());
        ciphertexts.reserve(indices.len());
        let mut exponents = Vec::with_capacity(indices.len());
        for &i in indices {
            if i >= self.len() {
                return Err(Error::InvalidSelection(format!(
                    "index {i} is out of range for {} elements",
                    self.len()
                )));
            }
            ciphertexts.push(self.ciphertexts.item(i))?;
            exponents.push(self.exponents.get(i));
        }
        Ok(Self::assemble(
            &self.public_key,
            ciphertexts,
            ElementExponents::from_vec(exponents),
            self.kind,
            shape,
        ))
    }

    /// Checks that `other` is under the same key.
    pub(super) fn check_same_key(&self, other: &EncryptedArray) -> Result<()> {
        if Arc::ptr_eq(&self.public_key, &other.public_key) || *self.public_key == *other.public_key
        {
            return Ok(());
        }
        Err(Error::KeyMismatch {
            what: "the second encrypted array was made under the key".into(),
            found: other.fingerprint().to_string(),
            holder: "the first is under".into(),
            expected: self.fingerprint().to_string(),
        })
    }
}

/// Encodes `values` for encryption: residues as n²-wide limbs, and their exponents.
fn encode(
    public_key: &PublicKey,
    values: Numbers<'_>,
    shape: &[usize],
    precision: Option<f64>,
) -> Result<(LimbBatch, ElementExponents)> {
    check_classic(public_key)?;
    let count = element_count(shape)?;
    if values.len() != count {
        return Err(Error::ShapeMismatch(format!(
            "{} values for shape {shape:?} ({count} elements)",
            values.len()
        )));
    }
    let precision = precision.map(encoding::precision_exponent).transpose()?;
    let range = NumberRange::new(public_key.n());
    let limbs = public_key.ciphertext_limbs();
    let encoded: Vec<(Vec<u64>, i32)> = (0..count)
        .into_par_iter()
        .map(|i| encode_one(&range, values.get(i), precision, None, limbs, i))
        .collect::<Result<_>>()?;
    let mut messages = LimbBatch::new(limbs);
    messages.reserve(count);
    let mut exponents = Vec::with_capacity(count);
    for (residue, exponent) in &encoded {
        messages.push(residue)?;
        exponents.push(*exponent);
    }
    Ok((messages, ElementExponents::from_vec(exponents)))
}

/// One number's residue (as `limbs` limbs) and exponent.
pub(super) fn encode_one(
    range: &NumberRange,
    value: Scalar,
    precision: Option<i32>,
    max_exponent: Option<i32>,
    limbs: usize,
    index: usize,
) -> Result<(Vec<u64>, i32)> {
    let not_finite = || Error::InvalidNumber {
        index,
        reason: "NaN and infinities cannot be encrypted".into(),
    };
    let exponent = encoding::exponent_for(value, precision, max_exponent).ok_or_else(not_finite)?;
    let mantissa = encoding::mantissa_at(value, exponent).ok_or_else(not_finite)?;
    let residue: BigUint = range.residue(&mantissa, index)?;
    Ok((limbs_from_biguint(&residue, limbs)?, exponent))
}
