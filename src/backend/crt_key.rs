//! The secret constants of CRT decryption, shared by the backends.

use std::fmt;

use super::{Exponents, LimbBatch, Secrecy};
use crate::bigint::MontgomeryModulus;
use crate::error::{Error, Result};

/// The secret constants of CRT decryption, in limbs, for the backends. No field is public: the
/// backends of this crate read them; others see only the two moduli.
///
/// Both schemes finish the same way: `m_p = L_p(x_p)·h_p mod p` with `x_p = c^e_p mod p²` (classic:
/// `e_p = p − 1`, `h_p = L_p(g^(p−1) mod p²)⁻¹`; lookup: `e_p = a`, `h_p = q⁻¹·g_a_inv mod p`), the
/// same for q, then Garner. Wiped on drop; `Debug` shows nothing secret.
pub struct CrtKey {
    /// p² and q², the exponentiation moduli.
    pub(crate) p_squared: MontgomeryModulus,
    /// q².
    pub(crate) q_squared: MontgomeryModulus,
    /// The secret exponent modulo p².
    pub(crate) exponent_p: Exponents,
    /// The secret exponent modulo q².
    pub(crate) exponent_q: Exponents,
    /// p, for the recombination.
    pub(crate) p: MontgomeryModulus,
    /// q.
    pub(crate) q: MontgomeryModulus,
    /// p⁻¹ mod 2^(64·limbs): (x − 1)/p as an exact multiplication.
    pub(crate) p_inverse: Vec<u64>,
    /// q⁻¹ mod 2^(64·limbs).
    pub(crate) q_inverse: Vec<u64>,
    /// h_p, below p.
    pub(crate) h_p: Vec<u64>,
    /// h_q, below q.
    pub(crate) h_q: Vec<u64>,
    /// q⁻¹ mod p.
    pub(crate) q_inv_mod_p: Vec<u64>,
}

impl fmt::Debug for CrtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CrtKey(<redacted>)")
    }
}

impl Drop for CrtKey {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.exponent_p.values.wipe();
        self.exponent_q.values.wipe();
        self.p_inverse.zeroize();
        self.q_inverse.zeroize();
        self.h_p.zeroize();
        self.h_q.zeroize();
        self.q_inv_mod_p.zeroize();
    }
}

impl CrtKey {
    /// p², the modulus of the first exponentiation.
    pub fn p_squared(&self) -> &MontgomeryModulus {
        &self.p_squared
    }

    /// q², the modulus of the second.
    pub fn q_squared(&self) -> &MontgomeryModulus {
        &self.q_squared
    }

    /// The constants for primes `p` and `q` (of equal limb count), exponents `e_p` and `e_q`, and
    /// the per-prime factors `h_p`, `h_q`.
    pub fn new(
        p: &num_bigint::BigUint,
        q: &num_bigint::BigUint,
        e_p: &num_bigint::BigUint,
        e_q: &num_bigint::BigUint,
        h_p: &num_bigint::BigUint,
        h_q: &num_bigint::BigUint,
    ) -> Result<Self> {
        use crate::bigint::limbs_from_biguint;
        let p_mod = MontgomeryModulus::new(p)?;
        let q_mod = MontgomeryModulus::new(q)?;
        if p_mod.len() != q_mod.len() {
            return Err(Error::InvalidParameter(
                "p and q must have the same number of limbs".into(),
            ));
        }
        let limbs = p_mod.len();
        let two_adic = num_bigint::BigUint::from(1u32) << (64 * limbs);
        let inverse = |x: &num_bigint::BigUint| -> Result<Vec<u64>> {
            let inv = x
                .modinv(&two_adic)
                .ok_or_else(|| Error::InvalidParameter("an even prime".into()))?;
            limbs_from_biguint(&inv, limbs)
        };
        let exponent = |e: &num_bigint::BigUint| -> Exponents {
            let mut values = e.to_u64_digits();
            values.resize(values.len().max(1), 0);
            Exponents {
                values: LimbBatch::single(values),
                bits: e.bits() as usize,
                secrecy: Secrecy::Secret,
            }
        };
        let q_inv_mod_p = q
            .modinv(p)
            .ok_or_else(|| Error::InvalidParameter("p and q are not coprime".into()))?;
        Ok(Self {
            p_squared: MontgomeryModulus::new(&(p * p))?,
            q_squared: MontgomeryModulus::new(&(q * q))?,
            exponent_p: exponent(e_p),
            exponent_q: exponent(e_q),
            p_inverse: inverse(p)?,
            q_inverse: inverse(q)?,
            h_p: limbs_from_biguint(&(h_p % p), limbs)?,
            h_q: limbs_from_biguint(&(h_q % q), limbs)?,
            q_inv_mod_p: limbs_from_biguint(&q_inv_mod_p, limbs)?,
            p: p_mod,
            q: q_mod,
        })
    }

    /// The plaintext from the two exponentiation results (the CPU reference recombination).
    pub fn recombine(&self, x_p: &[u64], x_q: &[u64]) -> num_bigint::BigUint {
        self.recombine_checked(x_p, x_q).0
    }

    /// [`recombine`](Self::recombine), and whether `x_p ≡ 1 (mod p)` and `x_q ≡ 1 (mod q)`: the
    /// subgroup check of [`response_check`](super::response_check) (an honest ciphertext always
    /// passes it; otherwise the plaintext is meaningless).
    pub fn recombine_checked(&self, x_p: &[u64], x_q: &[u64]) -> (num_bigint::BigUint, bool) {
        use crate::bigint::biguint_from_limbs;
        use num_integer::Integer;
        use num_traits::Zero;
        let (p, q) = (self.p.modulus(), self.q.modulus());
        let per_prime = |x: &[u64], prime: &num_bigint::BigUint, h: &[u64]| {
            let x = biguint_from_limbs(x);
            if x.is_zero() {
                return (num_bigint::BigUint::zero(), false);
            }
            let (quotient, remainder) = (x - 1u32).div_rem(prime);
            (
                (quotient * biguint_from_limbs(h)) % prime,
                remainder.is_zero(),
            )
        };
        let (m_p, p_ok) = per_prime(x_p, &p, &self.h_p);
        let (m_q, q_ok) = per_prime(x_q, &q, &self.h_q);
        let diff = (&m_p + &p - (&m_q % &p)) % &p;
        (
            m_q + &q * ((diff * biguint_from_limbs(&self.q_inv_mod_p)) % &p),
            p_ok && q_ok,
        )
    }
}
