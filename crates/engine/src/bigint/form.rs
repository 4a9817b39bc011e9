//! Montgomery form as a type of its own, so that it cannot be mixed up with normal form.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// A residue in Montgomery form, `x·R mod m`, reduced below its modulus.
///
/// Plain limb slices (`&[u64]`) are normal form throughout the crate; this type is what
/// [`MontgomeryModulus::to_montgomery`](super::MontgomeryModulus::to_montgomery) makes, what the
/// exponentiations and [`FixedBaseTable`](super::FixedBaseTable) take and give, and what only
/// [`MontgomeryModulus::from_montgomery`](super::MontgomeryModulus::from_montgomery) turns back.
/// It may hold secret noise or a secret power: wiped on drop, redacted in `Debug`.
///
/// ```
/// use num_bigint::BigUint;
/// use paillier_gpu_engine::bigint::MontgomeryModulus;
///
/// let m = MontgomeryModulus::new(&BigUint::from(101u32)).unwrap();
/// let x = m.to_montgomery(&[7]);          // normal form in, Montgomery form out
/// let square = m.mul(&x, &x);             // Montgomery × Montgomery
/// assert_eq!(m.from_montgomery(&square), vec![49]);
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Montgomery(Vec<u64>);

impl Montgomery {
    /// Wraps limbs the caller knows to be in Montgomery form and reduced.
    pub(crate) fn from_raw(limbs: Vec<u64>) -> Self {
        Self(limbs)
    }

    /// The limbs, little-endian, as they are (Montgomery form): for kernels and tables that
    /// take them in this form.
    pub fn as_limbs(&self) -> &[u64] {
        &self.0
    }

    /// Number of limbs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for a zero-limb value (never made by a modulus).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Montgomery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Montgomery(<{} limbs, redacted>)", self.0.len())
    }
}
