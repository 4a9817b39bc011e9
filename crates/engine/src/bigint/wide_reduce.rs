//! `value mod m` for a value of twice the modulus' width, in constant time: the reduction of a
//! ciphertext modulo the secret p² and q² at the start of decoding, which a big-integer division
//! would do in a time that depends on the modulus.
//!
//! Write `value = lo + hi·R` with `R = 2^(64·len)`. For `value < m·R`, `hi < m`, so
//! `hi·R mod m` is one Montgomery product, `hi · (R² mod m) · R⁻¹`. For a modulus of at least
//! `64·len − 1` bits, `lo < R ≤ 4m`, so three masked subtractions of m reduce it. The sum of the
//! two is below 2m: one more masked subtraction.
//!
//! Where a unit multiple of `value mod m` will do (a gcd with `m`, say), one Montgomery
//! reduction, `value·R⁻¹ mod m`, costs half a product and no subtractions.

use zeroize::Zeroizing;

use super::final_steps::subtract_once;
use super::montgomery::MontgomeryModulus;
use super::two_digit::steps::reduce_partial;
use crate::error::{Error, Result};

impl MontgomeryModulus {
    /// `value mod m` into `out` (`len` limbs), for `value` of `2·len` limbs **below `m·R`**
    /// (`R = 2^(64·len)`; a larger value gives a wrong result), in a time and with memory
    /// accesses that depend on neither `value` nor `m`.
    ///
    /// An error, decided by the widths alone, when `value` does not have `2·len` limbs or the
    /// modulus has fewer than `64·len − 1` bits.
    ///
    /// ```
    /// use num_bigint::BigUint;
    /// use paillier_gpu_engine::bigint::{biguint_from_limbs, MontgomeryModulus};
    /// let m = MontgomeryModulus::new(&BigUint::from(0xffff_ffff_ffff_ffc5u64))?; // 2⁶⁴ − 59
    /// let mut out = [0u64];
    /// m.reduce_wide(&[5, 7], &mut out)?; // 5 + 7·2⁶⁴
    /// assert_eq!(out[0], 5 + 7 * 59);
    /// # Ok::<(), paillier_gpu_engine::Error>(())
    /// ```
    pub fn reduce_wide(&self, value: &[u64], out: &mut [u64]) -> Result<()> {
        let n = self.len();
        if value.len() != 2 * n || out.len() != n || self.bits() + 1 < 64 * n {
            return Err(Error::InvalidParameter(format!(
                "reduce_wide needs {} limbs in and {n} out, and a modulus of at least {} bits \
                 (got {} in, {} out, {} bits)",
                2 * n,
                (64 * n).saturating_sub(1),
                value.len(),
                out.len(),
                self.bits()
            )));
        }
        let m = self.modulus_limbs();
        let (lo, hi) = value.split_at(n);
        // hi·R mod m, for hi < m.
        let mut high = Zeroizing::new(vec![0u64; n]);
        self.mul_into(hi, self.r_squared(), &mut high);
        // lo mod m, for lo < 4m.
        let mut low = Zeroizing::new(lo.to_vec());
        let mut reduced = Zeroizing::new(vec![0u64; n]);
        for _ in 0..3 {
            subtract_once(&low, 0, m, &mut reduced);
            low.copy_from_slice(&reduced);
        }
        // Their sum is below 2m.
        let mut carry = 0u64;
        for (h, &l) in high.iter_mut().zip(low.iter()) {
            let (s1, c1) = h.overflowing_add(l);
            let (s2, c2) = s1.overflowing_add(carry);
            *h = s2;
            carry = (c1 | c2) as u64;
        }
        subtract_once(&high, carry, m, out);
        Ok(())
    }

    /// `value·R⁻¹ mod m` into `out` (`len` limbs), for `value` of `2·len` limbs **below `m·R`**
    /// (a larger value gives a wrong result), overwriting `value`: one Montgomery reduction, in
    /// a time that depends only on the widths. An error when the widths do not match.
    ///
    /// ```
    /// use num_bigint::BigUint;
    /// use paillier_gpu_engine::bigint::MontgomeryModulus;
    /// let m = MontgomeryModulus::new(&BigUint::from(0xffff_ffff_ffff_ffc5u64))?; // 2⁶⁴ − 59
    /// let mut value = [5u64, 7]; // 5 + 7·2⁶⁴
    /// let mut out = [0u64];
    /// m.montgomery_reduce(&mut value, &mut out)?;
    /// let r = BigUint::from(1u32) << 64;
    /// let m_big = BigUint::from(0xffff_ffff_ffff_ffc5u64);
    /// assert_eq!(BigUint::from(out[0]) * &r % &m_big, BigUint::from(5u32 + 7 * 59) % &m_big);
    /// # Ok::<(), paillier_gpu_engine::Error>(())
    /// ```
    pub fn montgomery_reduce(&self, value: &mut [u64], out: &mut [u64]) -> Result<()> {
        let n = self.len();
        if value.len() != 2 * n || out.len() != n {
            return Err(Error::InvalidParameter(format!(
                "montgomery_reduce needs {} limbs in and {n} out (got {} in, {} out)",
                2 * n,
                value.len(),
                out.len()
            )));
        }
        let m = self.modulus_limbs();
        let carry = reduce_partial(value, 0, m, self.m0_inv());
        // (carry, high half) = (value + q·m)/R < m + m.
        subtract_once(&value[n..], carry, m, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use num_bigint::{BigUint, RandBigInt};
    use rand::{rngs::StdRng, SeedableRng};

    use super::*;
    use crate::bigint::{biguint_from_limbs, limbs_from_biguint};

    #[test]
    fn matches_num_bigint_at_every_width_and_extreme() {
        let mut rng = StdRng::seed_from_u64(11);
        for limbs in [1usize, 2, 3, 4, 8, 15, 16, 17, 32] {
            let top = 64 * limbs as u64;
            for shortfall in [0u64, 1] {
                let mut modulus = rng.gen_biguint(top - shortfall);
                modulus.set_bit(top - shortfall - 1, true);
                modulus.set_bit(0, true);
                let m = MontgomeryModulus::new(&modulus).unwrap();
                let ceiling = &modulus << (64 * limbs); // m·R
                let values = [
                    BigUint::from(0u32),
                    &modulus - 1u32,
                    &modulus * 3u32,
                    &ceiling - 1u32,
                    rng.gen_biguint_below(&ceiling),
                    rng.gen_biguint_below(&ceiling),
                ];
                for value in values {
                    let mut out = vec![0u64; limbs];
                    m.reduce_wide(&limbs_from_biguint(&value, 2 * limbs).unwrap(), &mut out)
                        .unwrap();
                    assert_eq!(biguint_from_limbs(&out), &value % &modulus, "{limbs} limbs");
                }
            }
        }
    }

    #[test]
    fn montgomery_reduction_matches_num_bigint() {
        let mut rng = StdRng::seed_from_u64(12);
        for limbs in [1usize, 2, 3, 4, 8, 16, 17, 32] {
            let top = 64 * limbs as u64;
            for shortfall in [0u64, 1, 30] {
                let mut modulus = rng.gen_biguint(top - shortfall);
                modulus.set_bit(top - shortfall - 1, true);
                modulus.set_bit(0, true);
                let m = MontgomeryModulus::new(&modulus).unwrap();
                let r = BigUint::from(1u32) << (64 * limbs);
                let ceiling = &modulus * &r;
                for value in [
                    BigUint::from(0u32),
                    &modulus - 1u32,
                    &ceiling - 1u32,
                    rng.gen_biguint_below(&ceiling),
                ] {
                    let mut wide = limbs_from_biguint(&value, 2 * limbs).unwrap();
                    let mut out = vec![0u64; limbs];
                    m.montgomery_reduce(&mut wide, &mut out).unwrap();
                    let out = biguint_from_limbs(&out);
                    assert!(out < modulus, "{limbs} limbs: reduced");
                    assert_eq!(&out * &r % &modulus, &value % &modulus, "{limbs} limbs");
                }
            }
        }
        let m = MontgomeryModulus::new(&BigUint::from(0xffff_ffff_ffff_ffc5u64)).unwrap();
        assert!(m.montgomery_reduce(&mut [1, 2, 3], &mut [0]).is_err());
        assert!(m.montgomery_reduce(&mut [1, 2], &mut [0, 0]).is_err());
    }

    #[test]
    fn short_moduli_and_wrong_widths_are_refused() {
        let m = MontgomeryModulus::new(&((BigUint::from(1u32) << 125) + 1u32)).unwrap();
        let mut out = [0u64; 2];
        assert!(
            m.reduce_wide(&[1, 2, 3, 4], &mut out).is_err(),
            "126 bits in 2 limbs"
        );
        let m = MontgomeryModulus::new(&((BigUint::from(1u32) << 127) + 1u32)).unwrap();
        assert!(m.reduce_wide(&[1, 2, 3, 4], &mut out).is_ok());
        assert!(m.reduce_wide(&[1, 2, 3], &mut out).is_err());
    }
}
