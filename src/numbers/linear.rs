//! The linear layer on encrypted features: `y = x·W + b` for a batch of encrypted samples `x`,
//! plain weights `W` and plain biases `b`, exactly (in python-paillier's fixed point).
//!
//! Work per sample of `k` inputs and `o` outputs, with weights of `b` bits after encoding (see
//! [`Backend::multi_exp`]): the odd powers of each input, `k·2^(w−1)` products, shared by every
//! output; per output, two rows of `b` squarings (its positive weights and the magnitudes of
//! its negative ones, whose product is inverted: 3 products, with one big-integer inversion
//! shared by 256 outputs or more), about `k·b/(w+1)` window products over the two (each weight
//! sits in one), and one product each to join the two rows and to add the bias. No weight
//! costs an exponent of n's length. The CPU and the GPU (a kernel of its own) both run the
//! rows this way; the CPU's products modulo n² run on two digits modulo n where it has
//! AVX-512 IFMA (`bigint/two_digit/ifma.rs`). The inversions and the last two products run on
//! the host's cores whatever the backend: they read each row once, where device products would
//! need the rows gathered for them.

use num_bigint::{BigInt, BigUint, Sign};
use rayon::prelude::*;

use super::arithmetic::public_exponents;
use super::array::EncryptedArray;
use super::encoding::{self, NumberRange, Scalar};
use super::inverse::invert_each;
use super::values::{ElementExponents, NumberKind};
use crate::error::{Error, Result};
use crate::hazmat::backend::{Backend, LimbBatch};
use crate::hazmat::bigint::{limbs_from_biguint, MontgomeryModulus, PublicProducts};
use crate::paillier::PublicKey;

/// A plain matrix, row-major: `rows × cols` floats.
#[derive(Clone, Copy, Debug)]
pub struct PlainMatrix<'a> {
    /// The values, row-major.
    pub values: &'a [f64],
    /// Rows (the layer's inputs).
    pub rows: usize,
    /// Columns (the layer's outputs).
    pub cols: usize,
}

impl EncryptedArray {
    /// `self · weights + biases` over the last axis: `self` holds samples of `weights.rows`
    /// features (shape `[..., rows]`), the result has shape `[..., cols]`. `precision` encodes
    /// the weights and biases at one exponent (`floor(log16(precision))`); without it each is
    /// exact (its own exponent, as python-paillier encodes a float), which makes longer
    /// exponents when the weights differ widely in magnitude.
    pub fn linear(
        &self,
        backend: &dyn Backend,
        weights: PlainMatrix<'_>,
        biases: Option<&[f64]>,
        precision: Option<f64>,
    ) -> Result<EncryptedArray> {
        let (inputs, outputs) = check_layer(&weights, biases)?;
        if self.shape.last() != Some(&inputs) {
            return Err(Error::ShapeMismatch(format!(
                "encrypted array of shape {:?} times weights of {inputs} × {outputs}: the last \
                 axis must have {inputs} features",
                self.shape
            )));
        }
        // Inputs brought to one exponent: cheaper than folding their differences into every
        // output's weights.
        let input_exponent = self.exponents.min().unwrap_or(0);
        let model = IntegerModel::encode(
            weights,
            biases,
            precision,
            input_exponent,
            encoding::natural_exponent,
        )?;
        let x = self.aligned_to(backend, &ElementExponents::Shared(input_exponent))?;
        let out = integer_layer(
            &self.public_key,
            backend,
            &x.ciphertexts,
            (inputs, outputs),
            &model.weights,
            model.biases.as_deref(),
        )?;
        let mut shape = self.shape.clone();
        if let Some(last) = shape.last_mut() {
            *last = outputs;
        }
        Ok(EncryptedArray {
            public_key: self.public_key.clone(),
            ciphertexts: out,
            exponents: ElementExponents::Shared(model.out_exponent),
            kind: NumberKind::Float,
            shape,
        })
    }

    /// The dot product of each sample (the last axis) with a plain vector: shape `[...]`.
    pub fn dot(&self, backend: &dyn Backend, vector: &[f64]) -> Result<EncryptedArray> {
        let weights = PlainMatrix {
            values: vector,
            rows: vector.len(),
            cols: 1,
        };
        let out = self.linear(backend, weights, None, None)?;
        let shape = out.shape[..out.shape.len() - 1].to_vec();
        out.reshape(shape)
    }
}

/// The weights' matrix and the biases checked against each other: `(inputs, outputs)`.
pub(super) fn check_layer(
    weights: &PlainMatrix<'_>,
    biases: Option<&[f64]>,
) -> Result<(usize, usize)> {
    let (inputs, outputs) = (weights.rows, weights.cols);
    if inputs == 0 || outputs == 0 || weights.values.len() != inputs * outputs {
        return Err(Error::ShapeMismatch(format!(
            "{} weights for a {inputs} × {outputs} matrix",
            weights.values.len()
        )));
    }
    if let Some(b) = biases {
        if b.len() != outputs {
            return Err(Error::ShapeMismatch(format!(
                "{} biases for {outputs} outputs",
                b.len()
            )));
        }
    }
    Ok((inputs, outputs))
}

/// A layer's weights and biases as integers for inputs at one exponent: the output is
/// `(Σ weight·x + bias) · 16^out_exponent`.
pub(super) struct IntegerModel {
    /// Signed weights, row-major (`inputs × outputs`).
    pub weights: Vec<BigInt>,
    /// Signed biases, one per output.
    pub biases: Option<Vec<BigInt>>,
    /// The outputs' exponent.
    pub out_exponent: i32,
}

impl IntegerModel {
    /// Weights at one exponent (`precision`'s, or the lowest of each weight's `own_exponent`)
    /// and biases at most at the products' exponent; the weights come down to the biases'
    /// exponent where it is lower (a lower exponent only scales a mantissa by 16^k).
    pub fn encode(
        weights: PlainMatrix<'_>,
        biases: Option<&[f64]>,
        precision: Option<f64>,
        input_exponent: i32,
        own_exponent: fn(Scalar) -> Option<i32>,
    ) -> Result<Self> {
        let precision = precision.map(encoding::precision_exponent).transpose()?;
        let lowest = |values: &[f64]| min_exponent(values, precision, own_exponent);
        let product_exponent = input_exponent + lowest(weights.values)?;
        let out_exponent = match biases {
            Some(b) => lowest(b)?.min(product_exponent),
            None => product_exponent,
        };
        Ok(Self {
            weights: mantissas_at(weights.values, out_exponent - input_exponent)?,
            biases: biases.map(|b| mantissas_at(b, out_exponent)).transpose()?,
            out_exponent,
        })
    }
}

/// The layer on integers, the work of every linear layer: for each sample of `x` (`inputs`
/// consecutive ciphertexts), output `j` is `Π_i x_i^(W_ij) · g^(b_j)`, which decrypts to
/// `Σ_i W_ij·x_i + b_j` modulo n. `weights` are signed and row-major (`inputs × outputs`),
/// `biases` one per output; each must lie within ±max_int.
pub(super) fn integer_layer(
    public_key: &PublicKey,
    backend: &dyn Backend,
    x: &LimbBatch,
    (inputs, outputs): (usize, usize),
    weights: &[BigInt],
    biases: Option<&[BigInt]>,
) -> Result<LimbBatch> {
    let range = NumberRange::new(public_key.n());
    for (index, w) in weights.iter().enumerate() {
        range.residue(w, index)?;
    }
    let has_negative = weights.iter().any(|m| m.sign() == Sign::Minus);
    // Rows of exponents: one per output for the positive weights, and one per output for
    // the magnitudes of the negative ones (their product is inverted).
    let row_count = if has_negative { 2 * outputs } else { outputs };
    let mut rows = vec![BigUint::default(); row_count * inputs];
    for i in 0..inputs {
        for j in 0..outputs {
            let m = &weights[i * outputs + j];
            let row = match m.sign() {
                Sign::Minus => outputs + j,
                _ => j,
            };
            rows[row * inputs + i] = m.magnitude().clone();
        }
    }
    let bias_factors = biases.map(|b| g_powers(public_key, b)).transpose()?;
    let modulus = public_key.n_squared_modulus();
    let products = backend.multi_exp(modulus, x, &public_exponents(&rows)?, inputs)?;
    finish_outputs(
        modulus,
        &products,
        outputs,
        has_negative,
        bias_factors.as_deref(),
    )
}

/// `g^b = 1 + b·n mod n²` for each signed `b` (as its residue modulo n).
fn g_powers(public_key: &PublicKey, biases: &[BigInt]) -> Result<Vec<Vec<u64>>> {
    let range = NumberRange::new(public_key.n());
    let n = public_key.n();
    let limbs = public_key.ciphertext_limbs();
    biases
        .iter()
        .enumerate()
        .map(|(index, b)| {
            let residue = range.residue(b, index)?;
            Ok(limbs_from_biguint(&(residue * n + 1u32), limbs)?)
        })
        .collect()
}

/// Each of `values` as a mantissa at `exponent` (exact, or rounded as python-paillier rounds).
fn mantissas_at(values: &[f64], exponent: i32) -> Result<Vec<BigInt>> {
    values
        .par_iter()
        .enumerate()
        .map(|(index, &v)| {
            encoding::mantissa_at(Scalar::Float(v), exponent).ok_or_else(|| not_finite(index))
        })
        .collect()
}

/// Each output `y = P · N⁻¹ · g^b` from the rows of `products` (per sample: `outputs` rows
/// `P` of positive weights, then, with `has_negative`, `outputs` rows `N` of the negative
/// weights' magnitudes), on every core of the host: a product or two per output beside the
/// inversions' three. Done here rather than as device products, it reads every row once and
/// writes each output once, where gathering rows for two more device calls moved every output
/// through the host four times.
fn finish_outputs(
    modulus: &MontgomeryModulus,
    products: &LimbBatch,
    outputs: usize,
    has_negative: bool,
    biases: Option<&[Vec<u64>]>,
) -> Result<LimbBatch> {
    let s = modulus.len();
    let engine = PublicProducts::new(modulus)?;
    let bias_forms: Option<Vec<Vec<u64>>> =
        biases.map(|b| b.iter().map(|g| engine.enter(g)).collect());
    let row_count = if has_negative { 2 * outputs } else { outputs };
    let count = products.len() / row_count * outputs;
    let row =
        |k: usize, offset: usize| products.item(k / outputs * row_count + offset + k % outputs);
    // `y · g^b`, or `y` without biases.
    let times_bias = |k: usize, y: &[u64], out: &mut [u64]| match &bias_forms {
        Some(g) => engine.times(y, &g[k % outputs], out),
        None => out.copy_from_slice(y),
    };
    let mut out = vec![0u64; count * s];
    if has_negative {
        invert_each(
            &engine,
            |k| row(k, outputs),
            &mut out,
            |k, inverse, out| {
                let mut joined = vec![0u64; s];
                engine.times(row(k, 0), inverse, &mut joined);
                times_bias(k, &joined, out);
            },
        )?;
    } else {
        out.par_chunks_mut(s)
            .enumerate()
            .for_each(|(k, out)| times_bias(k, row(k, 0), out));
    }
    Ok(LimbBatch::from_flat(s, out)?)
}

/// The lowest exponent of `values`: `precision`'s if given, else each value's `own_exponent`.
fn min_exponent(
    values: &[f64],
    precision: Option<i32>,
    own_exponent: fn(Scalar) -> Option<i32>,
) -> Result<i32> {
    let mut lowest = i32::MAX;
    for (index, &v) in values.iter().enumerate() {
        let e = match precision {
            Some(p) => Some(p),
            None => own_exponent(Scalar::Float(v)),
        }
        .ok_or_else(|| not_finite(index))?;
        lowest = lowest.min(e);
    }
    Ok(if lowest == i32::MAX { 0 } else { lowest })
}

fn not_finite(index: usize) -> Error {
    Error::InvalidNumber {
        index,
        reason: "NaN and infinities cannot be weights".into(),
    }
}
