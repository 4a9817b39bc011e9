//! [`PackedArray`]: a table of samples × columns encrypted with many samples per ciphertext
//! ([`PackedLayout`]): ciphertext `(g, j)` holds column `j` of samples `g·slots … g·slots +
//! slots − 1`. A linear layer then costs what it costs on one sample per ciphertext, divided by
//! the slots (about 29 at key_len 1024 with 21-bit numbers and the default headroom).
//!
//! The price: the numbers share one exponent (a precision), their magnitude is bounded by a
//! declared `max_abs`, and the ciphertexts are not python-paillier's (one plaintext holds many
//! numbers). Everything stays exact: a result that could leave its slot is refused before it is
//! computed.

use std::sync::Arc;

use num_bigint::BigInt;
use rayon::prelude::*;

use super::array::check_classic;
use super::decryption::{signed_plaintexts, Decrypted};
use super::encoding::{self, NumberRange, Scalar};
use super::linear::{check_layer, integer_layer, IntegerModel, PlainMatrix};
use super::packing::{layer_bound, PackOptions, PackedLayout};
use super::values::{NumberKind, Numbers};
use crate::error::{Error, Result};
use crate::hazmat::backend::{Backend, LimbBatch};
use crate::hazmat::bigint::limbs_from_biguint;
use crate::paillier::{CiphertextBatch, Encryptor, KeyFingerprint, PublicKey, SecretKey};

/// Samples × columns of numbers, many samples per ciphertext ([`PackedLayout`]): ciphertext
/// `(g, j)` holds column `j` of samples `g·slots … g·slots + slots − 1`, so a linear layer costs
/// what it costs on one sample per ciphertext, divided by the slots. The numbers share one
/// exponent, their magnitude is bounded by a declared `max_abs`, and the ciphertexts are not
/// python-paillier's. Results stay exact: one that could leave its slot is refused before it is
/// computed.
///
/// ```
/// use std::sync::Arc;
/// use paillier_gpu::hazmat::backend::cpu::CpuBackend;
/// use paillier_gpu::numbers::{Decrypted, LinearModel, Numbers, PackOptions, PackedArray};
/// use paillier_gpu::paillier::{generate_keypair, KeyGenOptions, Scheme};
///
/// let backend = CpuBackend::shared();
/// let (pk, sk) = generate_keypair(Scheme::Paillier, 256, &KeyGenOptions::insecure_for_tests()).unwrap();
/// let pk = Arc::new(pk);
/// // Three samples of two features, |x| ≤ 10, to 1/256.
/// let options = PackOptions::new(10.0).with_precision(1.0 / 256.0).with_headroom_bits(24);
/// let x = PackedArray::encrypt(&pk, backend.as_ref(), Numbers::Floats(&[1.0, 2.0, -0.5, 4.0, 3.0, 0.25]), 2, &options).unwrap();
/// assert_eq!(x.ciphertexts().len(), 2); // one ciphertext per column
/// let model = LinearModel::new(vec![vec![0.5, 2.0], vec![-1.0, 0.0]], vec![1.0, -0.5]).unwrap();
/// let y = model.infer_packed(backend.as_ref(), &x).unwrap();
/// assert_eq!(y.decrypt(&sk, backend.as_ref()).unwrap(), Decrypted::Floats(vec![5.5, -1.5, 8.75, 0.0, 3.0, -3.5]));
/// ```
#[derive(Debug, Clone)]
pub struct PackedArray {
    public_key: Arc<PublicKey>,
    ciphertexts: LimbBatch,
    layout: PackedLayout,
    samples: usize,
    columns: usize,
    kind: NumberKind,
}

impl PackedArray {
    /// Encrypts `values` (row-major: samples of `columns` numbers) with the public key:
    /// [`encrypt_with`](Self::encrypt_with) by [`Encryptor::Public`].
    pub fn encrypt(
        public_key: &Arc<PublicKey>,
        backend: &dyn Backend,
        values: Numbers<'_>,
        columns: usize,
        options: &PackOptions,
    ) -> Result<Self> {
        let by = Encryptor::Public;
        Self::encrypt_with(by, public_key, backend, values, columns, options)
    }

    /// Encrypts `values` (row-major: samples of `columns` numbers) under `public_key`, by
    /// `encryptor`: the key alone, or its owner ([`Encryptor::Owner`]: modulo p² and q², about
    /// half the work).
    pub fn encrypt_with(
        encryptor: Encryptor<'_>,
        public_key: &Arc<PublicKey>,
        backend: &dyn Backend,
        values: Numbers<'_>,
        columns: usize,
        options: &PackOptions,
    ) -> Result<Self> {
        let packed = Packing::of(public_key, values, columns, options)?;
        let bits = public_key.n().bits() as usize;
        let ciphertexts = encryptor.encrypt_limbs(public_key, backend, &packed.plaintexts, bits)?;
        Ok(packed.encrypted(public_key, ciphertexts))
    }

    /// Decrypts to the samples' numbers, row-major (integers for an array of integers).
    pub fn decrypt(&self, secret_key: &SecretKey, backend: &dyn Backend) -> Result<Decrypted> {
        let plaintexts =
            signed_plaintexts(&self.public_key, &self.ciphertexts, secret_key, backend)?;
        let slots = self.layout.slots();
        let exponent = self.layout.exponent();
        let mut mantissas = vec![BigInt::default(); self.groups() * slots * self.columns];
        mantissas
            .par_chunks_mut(slots * self.columns)
            .zip(plaintexts.par_chunks(self.columns))
            .try_for_each(|(group, plaintexts)| {
                for (j, plaintext) in plaintexts.iter().enumerate() {
                    for (s, v) in self.layout.unpack(plaintext)?.into_iter().enumerate() {
                        group[s * self.columns + j] = v;
                    }
                }
                Ok::<_, Error>(())
            })?;
        mantissas.truncate(self.samples * self.columns);
        match self.kind {
            NumberKind::Integer => mantissas
                .par_iter()
                .map(|m| encoding::to_i64(m, exponent))
                .collect::<Result<_>>()
                .map(Decrypted::Integers),
            NumberKind::Float => mantissas
                .par_iter()
                .map(|m| encoding::to_f64(m, exponent))
                .collect::<Result<_>>()
                .map(Decrypted::Floats),
        }
    }

    /// `self · weights + biases` for every sample: samples of `weights.cols` outputs, in the
    /// same slots. `precision` encodes weights and biases at one exponent; without it each
    /// weight takes its shortest exact exponent. An error, before any work, when an output
    /// could leave its slot.
    pub fn linear(
        &self,
        backend: &dyn Backend,
        weights: PlainMatrix<'_>,
        biases: Option<&[f64]>,
        precision: Option<f64>,
    ) -> Result<PackedArray> {
        let (inputs, outputs) = check_layer(&weights, biases)?;
        if inputs != self.columns {
            return Err(Error::ShapeMismatch(format!(
                "packed samples of {} columns times weights of {inputs} × {outputs}",
                self.columns
            )));
        }
        // Without a precision, each weight at its shortest exact exponent: short mantissas are
        // what fits a slot (python-paillier's exponents keep all 53 bits of a float).
        let model = IntegerModel::encode(
            weights,
            biases,
            precision,
            self.layout.exponent(),
            encoding::shortest_exponent,
        )?;
        let bound = layer_bound(
            &model.weights,
            model.biases.as_deref(),
            outputs,
            self.layout.bound(),
        );
        let layout = self.layout.with_bound(bound, model.out_exponent)?;
        // A bias is added to every slot.
        let ones = layout.ones();
        let biases = model
            .biases
            .map(|b| b.iter().map(|b| b * &ones).collect::<Vec<_>>());
        let ciphertexts = integer_layer(
            &self.public_key,
            backend,
            &self.ciphertexts,
            (inputs, outputs),
            &model.weights,
            biases.as_deref(),
        )?;
        Ok(PackedArray {
            public_key: self.public_key.clone(),
            ciphertexts,
            layout,
            samples: self.samples,
            columns: outputs,
            kind: NumberKind::Float,
        })
    }

    /// A packed array from its parts (what a file holds): `ciphertexts` of this key,
    /// `ceil(samples / slots) · columns` of them, group-major; `layout` as
    /// [`PackedLayout::new`] makes it for this key's plaintexts.
    pub fn from_parts(
        public_key: &Arc<PublicKey>,
        ciphertexts: CiphertextBatch,
        layout: PackedLayout,
        samples: usize,
        columns: usize,
        kind: NumberKind,
    ) -> Result<Self> {
        check_classic(public_key)?;
        ciphertexts.key().expect(
            &public_key.fingerprint(),
            "the ciphertexts",
            "the public key given is",
        )?;
        let expected = PackedLayout::new(
            &NumberRange::new(public_key.n()),
            layout.slot_bits(),
            layout.exponent(),
            layout.bound().clone(),
        )?;
        if expected != layout {
            return Err(Error::InvalidParameter(format!(
                "a layout of {} slots of {} bits; this key's plaintexts hold {}",
                layout.slots(),
                layout.slot_bits(),
                expected.slots()
            )));
        }
        if samples == 0 || columns == 0 {
            return Err(Error::ShapeMismatch(format!(
                "{samples} samples of {columns} columns (at least one of each)"
            )));
        }
        let groups = samples.div_ceil(layout.slots());
        if groups.checked_mul(columns) != Some(ciphertexts.limbs().len()) {
            return Err(Error::ShapeMismatch(format!(
                "{} ciphertexts for {samples} samples of {columns} columns in {} slots \
                 ({groups} groups of {columns})",
                ciphertexts.limbs().len(),
                layout.slots()
            )));
        }
        Ok(Self {
            public_key: public_key.clone(),
            ciphertexts: ciphertexts.into_limbs(),
            layout,
            samples,
            columns,
            kind,
        })
    }

    /// Samples.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Numbers per sample.
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// `[samples, columns]`.
    pub fn shape(&self) -> [usize; 2] {
        [self.samples, self.columns]
    }

    /// Where the samples sit in each plaintext.
    pub fn layout(&self) -> &PackedLayout {
        &self.layout
    }

    /// Integer or float.
    pub fn kind(&self) -> NumberKind {
        self.kind
    }

    /// The ciphertexts, flat (n² width): `ceil(samples / slots)` rows of `columns`.
    pub fn ciphertexts(&self) -> &LimbBatch {
        &self.ciphertexts
    }

    /// The public key.
    pub fn public_key(&self) -> &Arc<PublicKey> {
        &self.public_key
    }

    /// The key's fingerprint.
    pub fn fingerprint(&self) -> KeyFingerprint {
        self.public_key.fingerprint()
    }

    fn groups(&self) -> usize {
        self.samples.div_ceil(self.layout.slots())
    }
}

/// Values packed into plaintexts, before encryption.
struct Packing {
    plaintexts: LimbBatch,
    layout: PackedLayout,
    samples: usize,
    columns: usize,
    kind: NumberKind,
}

impl Packing {
    fn of(
        public_key: &PublicKey,
        values: Numbers<'_>,
        columns: usize,
        options: &PackOptions,
    ) -> Result<Self> {
        check_classic(public_key)?;
        if columns == 0 || values.is_empty() || !values.len().is_multiple_of(columns) {
            return Err(Error::ShapeMismatch(format!(
                "{} values are not samples of {columns} columns (at least one sample)",
                values.len()
            )));
        }
        let samples = values.len() / columns;
        if !(options.max_abs.is_finite() && options.max_abs > 0.0) {
            return Err(Error::InvalidParameter(format!(
                "max_abs {} is not a positive finite number",
                options.max_abs
            )));
        }
        let exponent = match options.precision {
            Some(p) => encoding::precision_exponent(p)?,
            None => lowest_exponent(values)?,
        };
        let bound = encoding::mantissa_at(Scalar::Float(options.max_abs), exponent)
            .map(|m| m.magnitude().clone())
            .unwrap_or_default();
        let slot_bits = u32::try_from(bound.bits() + 1 + u64::from(options.headroom_bits))
            .map_err(|_| Error::InvalidParameter("slots of over 2^32 bits".into()))?;
        let range = NumberRange::new(public_key.n());
        let layout = PackedLayout::new(&range, slot_bits, exponent, bound)?;
        let slots = layout.slots();
        let groups = samples.div_ceil(slots);
        let limbs = public_key.ciphertext_limbs();
        let mut flat = vec![0u64; groups * columns * limbs];
        flat.par_chunks_mut(limbs)
            .enumerate()
            .try_for_each(|(k, out)| {
                let (g, j) = (k / columns, k % columns);
                let first = g * slots;
                let index = |s: usize| (first + s) * columns + j;
                let slot_values = (0..slots.min(samples - first))
                    .map(|s| {
                        encoding::mantissa_at(values.get(index(s)), exponent).ok_or_else(|| {
                            Error::InvalidNumber {
                                index: index(s),
                                reason: "NaN and infinities cannot be encrypted".into(),
                            }
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let plaintext = layout.pack(&slot_values, index)?;
                let residue = range.residue(&plaintext, index(0))?;
                out.copy_from_slice(&limbs_from_biguint(&residue, limbs)?);
                Ok::<_, Error>(())
            })?;
        Ok(Self {
            plaintexts: LimbBatch::from_flat(limbs, flat)?,
            layout,
            samples,
            columns,
            kind: values.kind(),
        })
    }

    fn encrypted(self, public_key: &Arc<PublicKey>, ciphertexts: LimbBatch) -> PackedArray {
        PackedArray {
            public_key: public_key.clone(),
            ciphertexts,
            layout: self.layout,
            samples: self.samples,
            columns: self.columns,
            kind: self.kind,
        }
    }
}

/// The lowest of the values' shortest exact exponents (0 when every value is 0).
fn lowest_exponent(values: Numbers<'_>) -> Result<i32> {
    let mut lowest = i32::MAX;
    for i in 0..values.len() {
        let e = encoding::shortest_exponent(values.get(i)).ok_or_else(|| Error::InvalidNumber {
            index: i,
            reason: "NaN and infinities cannot be encrypted".into(),
        })?;
        lowest = lowest.min(e);
    }
    Ok(if lowest == i32::MAX { 0 } else { lowest })
}
