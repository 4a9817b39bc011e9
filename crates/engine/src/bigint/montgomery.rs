//! Montgomery multiplication (CIOS) and exponentiation over `u64` limbs.

use num_bigint::BigUint;
use num_traits::One;
use zeroize::ZeroizeOnDrop;

use super::convert::{biguint_from_limbs, limbs_from_biguint};
use super::ct;
use super::form::Montgomery;
use super::ifma::Ifma52;
use super::limbs;
use crate::error::{Error, Result};

/// An odd modulus `m > 1` with its Montgomery constants, for `R = 2^(64·len)`.
///
/// Values passed to [`mul`](Self::mul) are `len` limbs, little-endian, and below `m`.
/// The limbs may be secret (the moduli `p²` and `q²` of a decryption): they are wiped on drop and
/// never printed.
///
/// ```
/// use num_bigint::BigUint;
/// use paillier_gpu_engine::bigint::MontgomeryModulus;
///
/// let m = MontgomeryModulus::new(&BigUint::from(1_000_003u32)).unwrap();
/// let x = m.to_montgomery(&m.limbs_of(&BigUint::from(12345u32)).unwrap());
/// let y = m.pow_vartime(&x, &[1_000_002]); // Fermat: x^(p-1) = 1
/// assert_eq!(m.biguint_of(&m.from_montgomery(&y)), BigUint::from(1u32));
/// ```
#[derive(Clone, ZeroizeOnDrop)]
pub struct MontgomeryModulus {
    modulus: Vec<u64>,
    /// `-m⁻¹ mod 2^64`.
    m0_inv: u64,
    /// `R² mod m`: multiplying by it converts into Montgomery form.
    r_squared: Vec<u64>,
    /// `R mod m`: the Montgomery form of 1.
    one: Vec<u64>,
    bits: usize,
    /// The AVX-512 IFMA engine for exponentiations, where the CPU has it.
    ifma: Option<Ifma52>,
}

/// The CPU arithmetic behind a [`MontgomeryModulus`]'s exponentiations. Both give identical
/// results; [`MontgomeryModulus::new`] picks one (`engine.rs`), or
/// [`with_engine`](MontgomeryModulus::with_engine) takes the one asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// Radix 2^64: every CPU. Its product runs as `mulx`/`adcx`/`adox` assembly on x86-64 CPUs
    /// with BMI2 and ADX at widths of a multiple of 4 limbs, compiled `u128` code elsewhere.
    Portable,
    /// Radix 2^52 on AVX-512 IFMA: x86-64 CPUs that have it (Ice Lake and later, Zen 4 and
    /// later). Turned off by `PAILLIER_GPU_CPU_ENGINE=portable`.
    Ifma52,
}

impl Engine {
    /// The engine and, for the portable one, which product this CPU runs (for reports).
    ///
    /// ```
    /// use paillier_gpu_engine::bigint::Engine;
    /// assert!(Engine::Portable.describe().starts_with("portable"));
    /// ```
    pub fn describe(self) -> &'static str {
        match self {
            Self::Ifma52 => "IFMA52 (AVX-512 IFMA)",
            Self::Portable if super::adx::available() => {
                "portable (ADX assembly product; two digits modulo p, q and n)"
            }
            Self::Portable => "portable (compiled product; two digits modulo p, q and n)",
        }
    }
}

impl std::fmt::Debug for MontgomeryModulus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The modulus may be a secret (p² during CRT decryption): show only its size.
        f.debug_struct("MontgomeryModulus")
            .field("bits", &self.bits)
            .finish_non_exhaustive()
    }
}

impl MontgomeryModulus {
    /// Precomputes the constants on the given engine; fails if this CPU cannot run it.
    pub fn with_engine(modulus: &BigUint, engine: Engine) -> Result<Self> {
        if modulus <= &BigUint::one() || !modulus.bit(0) {
            return Err(Error::InvalidParameter(
                "a Montgomery modulus must be odd and greater than 1".into(),
            ));
        }
        let len = super::limbs_for_bits(modulus.bits() as usize);
        let limbs = limbs_from_biguint(modulus, len)?;
        let r = BigUint::one() << (64 * len);
        let one = limbs_from_biguint(&(&r % modulus), len)?;
        let r_squared = limbs_from_biguint(&((&r * &r) % modulus), len)?;
        let m0_inv = neg_inverse_mod_2_64(limbs[0]);
        let ifma = match engine {
            Engine::Portable => None,
            Engine::Ifma52 => Some(Ifma52::new(modulus, len, m0_inv).ok_or_else(|| {
                Error::InvalidParameter("this CPU cannot run the AVX-512 IFMA engine".into())
            })?),
        };
        Ok(Self {
            m0_inv,
            modulus: limbs,
            r_squared,
            one,
            bits: modulus.bits() as usize,
            ifma,
        })
    }

    /// Number of 64-bit limbs of every value under this modulus.
    pub fn len(&self) -> usize {
        self.modulus.len()
    }

    /// Always false: a modulus has at least one limb. Present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        self.modulus.is_empty()
    }

    /// Bit length of the modulus.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The modulus' limbs.
    pub fn modulus_limbs(&self) -> &[u64] {
        &self.modulus
    }

    /// `-m⁻¹ mod 2^64`, the CIOS reduction constant.
    pub fn m0_inv(&self) -> u64 {
        self.m0_inv
    }

    /// The Montgomery form of one (`R mod m`).
    pub fn one(&self) -> &[u64] {
        &self.one
    }

    /// `R² mod m`, the constant that converts into Montgomery form.
    pub fn r_squared(&self) -> &[u64] {
        &self.r_squared
    }

    /// The modulus as a `BigUint`.
    pub fn modulus(&self) -> BigUint {
        biguint_from_limbs(&self.modulus)
    }

    /// `value` as limbs of this modulus' width; fails if `value >= m`.
    pub fn limbs_of(&self, value: &BigUint) -> Result<Vec<u64>> {
        let limbs = limbs_from_biguint(value, self.len())?;
        if !self.is_reduced(&limbs) {
            return Err(Error::InvalidParameter(
                "value is not below the modulus".into(),
            ));
        }
        Ok(limbs)
    }

    /// The `BigUint` of a limb slice.
    pub fn biguint_of(&self, limbs: &[u64]) -> BigUint {
        biguint_from_limbs(limbs)
    }

    /// True when `value < m` (value has exactly `len` limbs). Not constant-time: for public data.
    pub fn is_reduced(&self, value: &[u64]) -> bool {
        debug_assert_eq!(value.len(), self.len());
        for (a, m) in value.iter().rev().zip(self.modulus.iter().rev()) {
            if a != m {
                return a < m;
            }
        }
        false
    }

    /// Montgomery product `a·b·R⁻¹ mod m` into `out`, for `a, b < m`.
    ///
    /// Schoolbook product then Montgomery reduction, with a branch-free final subtraction, so the
    /// running time depends only on the width. `out` must not alias `a` or `b`.
    pub fn mul_into(&self, a: &[u64], b: &[u64], out: &mut [u64]) {
        debug_assert!(a.len() == self.len() && b.len() == self.len() && out.len() == self.len());
        limbs::mont_mul(a, b, &self.modulus, self.m0_inv, out);
    }

    /// Montgomery square `a²·R⁻¹ mod m` into `out`, for `a < m`: the same result as
    /// `mul_into(a, a, out)` with about a quarter less work. `out` must not alias `a`.
    pub fn square_into(&self, a: &[u64], out: &mut [u64]) {
        debug_assert!(a.len() == self.len() && out.len() == self.len());
        limbs::mont_square(a, &self.modulus, self.m0_inv, out);
    }

    /// `(a − b) mod m` into `out`, for `a, b < m`, without a branch on the values.
    pub fn sub_into(&self, a: &[u64], b: &[u64], out: &mut [u64]) {
        debug_assert!(a.len() == self.len() && b.len() == self.len() && out.len() == self.len());
        let mut borrow = 0u64;
        for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
            let (d1, b1) = x.overflowing_sub(y);
            let (d2, b2) = d1.overflowing_sub(borrow);
            *o = d2;
            borrow = (b1 | b2) as u64;
        }
        // a < b: add m back, masked in rather than branched on.
        let mask = ct::bit_mask(borrow);
        let mut carry = 0u64;
        for (o, &mj) in out.iter_mut().zip(&self.modulus) {
            let v = *o as u128 + (mj & mask) as u128 + carry as u128;
            *o = v as u64;
            carry = (v >> 64) as u64;
        }
    }

    /// The product of two values in Montgomery form, in Montgomery form.
    pub fn mul(&self, a: &Montgomery, b: &Montgomery) -> Montgomery {
        Montgomery::from_raw(self.mul_raw(a.as_limbs(), b.as_limbs()))
    }

    /// The square of a value in Montgomery form, in Montgomery form (through
    /// [`square_into`](Self::square_into)).
    pub fn square(&self, a: &Montgomery) -> Montgomery {
        let mut out = vec![0u64; self.len()];
        self.square_into(a.as_limbs(), &mut out);
        Montgomery::from_raw(out)
    }

    /// [`mul_into`](Self::mul_into) into a new vector: `a·b·R⁻¹ mod m`, whatever the forms.
    pub(crate) fn mul_raw(&self, a: &[u64], b: &[u64]) -> Vec<u64> {
        let mut out = vec![0u64; self.len()];
        self.mul_into(a, b, &mut out);
        out
    }

    /// Converts `x < m` (normal form) into Montgomery form `x·R mod m`.
    pub fn to_montgomery(&self, x: &[u64]) -> Montgomery {
        Montgomery::from_raw(self.mul_raw(x, &self.r_squared))
    }

    /// `x mod m` of a PUBLIC `BigUint` in Montgomery form (the reduction is not constant-time).
    pub fn montgomery_of_vartime(&self, x: &BigUint) -> Result<Montgomery> {
        Ok(self.to_montgomery(&self.limbs_of(&(x % self.modulus()))?))
    }

    /// `a·b mod m` in normal form from `a` in Montgomery form and `b < m` in normal form: one
    /// Montgomery product, `(a·R)·b·R⁻¹ = a·b`.
    pub fn mul_mixed(&self, a: &Montgomery, b: &[u64]) -> Vec<u64> {
        self.mul_raw(a.as_limbs(), b)
    }

    /// Converts out of Montgomery form: `x·R⁻¹ mod m`, normal form.
    pub fn from_montgomery(&self, x: &Montgomery) -> Vec<u64> {
        let mut one = vec![0u64; self.len()];
        one[0] = 1;
        self.mul_raw(x.as_limbs(), &one)
    }

    /// Which arithmetic engine runs this modulus' exponentiations.
    pub fn engine(&self) -> Engine {
        match self.ifma {
            Some(_) => Engine::Ifma52,
            None => Engine::Portable,
        }
    }

    /// The IFMA engine, where it runs this modulus.
    pub(crate) fn ifma(&self) -> Option<&Ifma52> {
        self.ifma.as_ref()
    }
}

/// `-x⁻¹ mod 2^64` for odd `x`, by Newton iteration (each step doubles the correct bits).
fn neg_inverse_mod_2_64(x: u64) -> u64 {
    let mut inv: u64 = 1;
    for _ in 0..6 {
        inv = inv.wrapping_mul(2u64.wrapping_sub(x.wrapping_mul(inv)));
    }
    inv.wrapping_neg()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neg_inverse_is_correct() {
        for x in [1u64, 3, 0xffff_ffff_ffff_ffff, 0x1234_5678_9abc_def1] {
            assert_eq!(x.wrapping_mul(neg_inverse_mod_2_64(x)), u64::MAX);
        }
    }

    #[test]
    fn rejects_even_and_trivial_moduli() {
        assert!(MontgomeryModulus::new(&BigUint::from(10u32)).is_err());
        assert!(MontgomeryModulus::new(&BigUint::from(1u32)).is_err());
    }
}
