//! The secret constants of CRT decryption, shared by the backends.

use std::fmt;

use super::{Exponents, LimbBatch, Secrecy};
use crate::bigint::{for_secret_square, Montgomery, MontgomeryModulus, SecretSquareEngines};
use crate::error::{Error, Result};

/// The secret constants of CRT decryption, in limbs, for the backends. No field is public: the
/// backends of this crate read them; others see the moduli (p, q, p², q²) alone, which the
/// owner's encryption and decoding above the engine need.
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
    /// The CPU engines of p² beyond its own (two digits modulo p, the lanes), as `engine.rs`
    /// picks them.
    p_engines: SecretSquareEngines,
    /// The same for q².
    q_engines: SecretSquareEngines,
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

    /// The secret prime p (the larger one).
    pub fn p(&self) -> &MontgomeryModulus {
        &self.p
    }

    /// The secret prime q.
    pub fn q(&self) -> &MontgomeryModulus {
        &self.q
    }

    /// The constants for primes `p` and `q` (of equal limb count), exponents `e_p` and `e_q`, and
    /// the per-prime factors `h_p`, `h_q`. The two are ordered so that `p` is the larger prime:
    /// the one that decoding with one prime uses (see `one_prime.rs`).
    pub fn new(
        p: &num_bigint::BigUint,
        q: &num_bigint::BigUint,
        e_p: &num_bigint::BigUint,
        e_q: &num_bigint::BigUint,
        h_p: &num_bigint::BigUint,
        h_q: &num_bigint::BigUint,
    ) -> Result<Self> {
        // Which prime is larger is no secret worth keeping (n's factors are of equal length);
        // the comparison runs once per key.
        if q > p {
            return Self::new(q, p, e_q, e_p, h_q, h_p);
        }
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
        let p_squared = MontgomeryModulus::new(&(p * p))?;
        let q_squared = MontgomeryModulus::new(&(q * q))?;
        Ok(Self {
            p_engines: for_secret_square(&p_squared, &p_mod, p),
            q_engines: for_secret_square(&q_squared, &q_mod, q),
            p_squared,
            q_squared,
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

    /// `base^e_p mod p²` (`prime_q` false) or `base^e_q mod q²` (true), normal form in and out,
    /// constant-time in the exponent: on two digits where the key has them, else
    /// [`MontgomeryModulus::pow_secret`]. The CPU backend's decoding.
    pub(crate) fn pow_secret_mod_square(&self, prime_q: bool, base: &[u64], out: &mut [u64]) {
        let (square, digits, exponent) = if prime_q {
            (&self.q_squared, &self.q_engines.digits, &self.exponent_q)
        } else {
            (&self.p_squared, &self.p_engines.digits, &self.exponent_p)
        };
        let base = square.to_montgomery(base);
        let (e, bits) = (exponent.values.item(0), exponent.bits);
        let power: Montgomery = match digits {
            Some(engine) => engine.pow_secret(square, &base, e, bits),
            None => square.pow_secret(&base, e, bits),
        };
        out.copy_from_slice(&zeroize::Zeroizing::new(square.from_montgomery(&power)));
    }

    /// [`pow_secret_mod_square`](Self::pow_secret_mod_square) for two bases modulo the same
    /// square, in lockstep where the IFMA engine runs it
    /// ([`MontgomeryModulus::pow_secret_pair`]).
    pub(crate) fn pow_secret_mod_square_pair(
        &self,
        prime_q: bool,
        (x, out_x): (&[u64], &mut [u64]),
        (y, out_y): (&[u64], &mut [u64]),
    ) {
        let (square, digits, exponent) = if prime_q {
            (&self.q_squared, &self.q_engines.digits, &self.exponent_q)
        } else {
            (&self.p_squared, &self.p_engines.digits, &self.exponent_p)
        };
        if digits.is_some() {
            self.pow_secret_mod_square(prime_q, x, out_x);
            self.pow_secret_mod_square(prime_q, y, out_y);
            return;
        }
        let (e, bits) = (exponent.values.item(0), exponent.bits);
        let (bx, by) = (square.to_montgomery(x), square.to_montgomery(y));
        let (px, py) = square.pow_secret_pair(square, (&bx, e), (&by, e), bits);
        out_x.copy_from_slice(&zeroize::Zeroizing::new(square.from_montgomery(&px)));
        out_y.copy_from_slice(&zeroize::Zeroizing::new(square.from_montgomery(&py)));
    }

    /// [`pow_secret_mod_square`](Self::pow_secret_mod_square) for the up to eight items of
    /// `bases` (flat, p²'s width each) into `out`, all at once in the lanes of the multi-buffer
    /// engine (`engine.rs`'s `SecretLanes`). Returns false, computing nothing, where the CPU has
    /// no such engine or the group is too small to pay for one.
    pub(crate) fn pow_secret_mod_square_lanes(
        &self,
        prime_q: bool,
        bases: &[u64],
        out: &mut [u64],
    ) -> bool {
        let (lanes, exponent, square) = if prime_q {
            (&self.q_engines.lanes, &self.exponent_q, &self.q_squared)
        } else {
            (&self.p_engines.lanes, &self.exponent_p, &self.p_squared)
        };
        let Some(lanes) = lanes
            .as_ref()
            .filter(|l| bases.len() >= l.min_items() * square.len())
        else {
            return false;
        };
        let e = exponent.values.item(0);
        lanes.pow_secret(bases, &[e; crate::bigint::LANES], exponent.bits, out);
        true
    }

    /// The plaintext from the two exponentiation results (the CPU reference recombination).
    pub fn recombine(&self, x_p: &[u64], x_q: &[u64]) -> num_bigint::BigUint {
        self.recombine_checked(x_p, x_q).0
    }

    /// [`recombine`](Self::recombine), and whether `x_p ≡ 1 (mod p)` and `x_q ≡ 1 (mod q)`: the
    /// subgroup check of [`count_or_defect`](crate::backend::count_or_defect) (an honest ciphertext always
    /// passes it; otherwise the plaintext is meaningless).
    ///
    /// Limb arithmetic throughout, as the GPU kernel does it: the exact division `(x − 1)/p` is a
    /// product by p's 2-adic inverse, the products modulo p are Montgomery products, and every
    /// intermediate is wiped. (num-bigint's division would leave unwiped copies of p behind.)
    pub fn recombine_checked(&self, x_p: &[u64], x_q: &[u64]) -> (num_bigint::BigUint, bool) {
        let mut m = zeroize::Zeroizing::new(vec![0u64; self.plaintext_limbs()]);
        let in_subgroup = self.recombine_into(x_p, x_q, &mut m);
        (crate::bigint::biguint_from_limbs(&m), in_subgroup)
    }

    /// Limbs of a plaintext (n's width: p's and q's limbs).
    pub fn plaintext_limbs(&self) -> usize {
        2 * self.p.len()
    }

    /// [`recombine_checked`](Self::recombine_checked) into `m`
    /// ([`plaintext_limbs`](Self::plaintext_limbs) limbs), in constant time.
    pub(crate) fn recombine_into(&self, x_p: &[u64], x_q: &[u64], m: &mut [u64]) -> bool {
        use crate::bigint::{conditional_assign, mul_wide};
        use zeroize::Zeroizing;
        let s = self.p.len();
        let (mut m_p, mut m_q) = (Zeroizing::new(vec![0u64; s]), Zeroizing::new(vec![0u64; s]));
        let p_ok = per_prime(&self.p, &self.p_inverse, &self.h_p, x_p, &mut m_p);
        let q_ok = per_prime(&self.q, &self.q_inverse, &self.h_q, x_q, &mut m_q);
        // m_q mod p: m_q < q < 2p (equal bit lengths), so at most one subtraction.
        let mut m_q_mod_p = Zeroizing::new(m_q.to_vec());
        let mut reduced = Zeroizing::new(vec![0u64; s]);
        let borrow = sub_limbs(&m_q, self.p.modulus_limbs(), &mut reduced);
        conditional_assign(0u64.wrapping_sub(1 - borrow), &mut m_q_mod_p, &reduced);
        let mut diff = Zeroizing::new(vec![0u64; s]);
        self.p.sub_into(&m_p, &m_q_mod_p, &mut diff);
        let t = Zeroizing::new(
            self.p
                .mul_mixed(&self.p.to_montgomery(&diff), &self.q_inv_mod_p),
        );
        // m = m_q + q·t, below n: 2s limbs.
        mul_wide(self.q.modulus_limbs(), &t, m);
        let mut carry = 0u64;
        for (i, limb) in m.iter_mut().enumerate() {
            let add = if i < s { m_q[i] } else { 0 };
            let v = *limb as u128 + add as u128 + carry as u128;
            *limb = v as u64;
            carry = (v >> 64) as u64;
        }
        p_ok && q_ok
    }

    /// The limbs a ciphertext needs for [`residues`](Self::residues): twice p²'s, where the
    /// widths allow the constant-time reduction (p² and q² of equal width, each twice p's and
    /// filling it to the last bit or one short, so that every `c < n²` is below `p²·R`);
    /// `None` otherwise.
    pub fn ciphertext_limbs(&self) -> Option<usize> {
        let width = self.p_squared.len();
        let fills = |m: &MontgomeryModulus| m.bits() + 1 >= 64 * m.len();
        let fits = self.q_squared.len() == width
            && self.p.len() * 2 == width
            && [&self.p_squared, &self.q_squared, &self.p, &self.q]
                .into_iter()
                .all(fills);
        fits.then_some(2 * width)
    }

    /// `c mod p²` into `out_p` and `c mod q²` into `out_q`, for a ciphertext `c < n²` of
    /// [`ciphertext_limbs`](Self::ciphertext_limbs) limbs, in constant time
    /// ([`MontgomeryModulus::reduce_wide`]). Returns whether `c` shares a factor with n, made
    /// public on purpose: such a ciphertext is refused by its index, and whoever made it
    /// knows the factor already. `None` where the widths do not allow it.
    pub fn residues(&self, c: &[u64], out_p: &mut [u64], out_q: &mut [u64]) -> Option<bool> {
        let divides_p = residue(&self.p_squared, &self.p, c, out_p)?;
        let divides_q = residue(&self.q_squared, &self.q, c, out_q)?;
        Some(crate::bigint::memcheck::declassify(
            (divides_p | divides_q) == 1,
        ))
    }

    /// `c mod p²` alone, for decoding with one prime ([`one_prime_covers`]): half the work of
    /// [`residues`](Self::residues). Returns whether p divides `c` (made public, as there). A
    /// ciphertext that only q divides is not looked for: decoded modulo p it is a forged
    /// response like any other, caught by the response checks (`backend/one_prime.rs`).
    ///
    /// [`one_prime_covers`]: Self::one_prime_covers
    pub fn residue_p(&self, c: &[u64], out_p: &mut [u64]) -> Option<bool> {
        let divides_p = residue(&self.p_squared, &self.p, c, out_p)?;
        Some(crate::bigint::memcheck::declassify(divides_p == 1))
    }
}

/// `c mod prime²` into `out`, in constant time, and 1 where `prime` divides `c` (else 0).
fn residue(
    prime_squared: &MontgomeryModulus,
    prime: &MontgomeryModulus,
    c: &[u64],
    out: &mut [u64],
) -> Option<u8> {
    use zeroize::Zeroizing;
    prime_squared.reduce_wide(c, out).ok()?;
    // c mod prime is c_p mod prime (c_p < prime² < prime·R): zero exactly when prime divides c.
    let mut rest = Zeroizing::new(vec![0u64; prime.len()]);
    prime.reduce_wide(out, &mut rest).ok()?;
    Some(u8::from(rest.iter().fold(0, |acc, &x| acc | x) == 0))
}

/// `out = a − b` over equal lengths; returns the borrow out (1 when a < b).
pub(super) fn sub_limbs(a: &[u64], b: &[u64], out: &mut [u64]) -> u64 {
    let mut borrow = 0u64;
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        let (d1, b1) = x.overflowing_sub(y);
        let (d2, b2) = d1.overflowing_sub(borrow);
        *o = d2;
        borrow = (b1 | b2) as u64;
    }
    borrow
}

/// `out = ((x − 1)/prime)·h mod prime` for `x = c^e mod prime²` (any width up to two primes'),
/// and whether the division is exact (`x ≡ 1 mod prime`). When it is not, `out` is `0·h = 0`.
pub(super) fn per_prime(
    prime: &MontgomeryModulus,
    inverse: &[u64],
    h: &[u64],
    x: &[u64],
    out: &mut [u64],
) -> bool {
    use crate::bigint::{conditional_assign, mul_wide};
    use zeroize::Zeroizing;
    let s = prime.len();
    let mut x_minus_one = Zeroizing::new(vec![0u64; 2 * s]);
    for (dst, &src) in x_minus_one.iter_mut().zip(x) {
        *dst = src;
    }
    // x − 1 in place; a borrow out means x was 0.
    let mut borrow = 1u64;
    for limb in x_minus_one.iter_mut() {
        let (difference, under) = limb.overflowing_sub(borrow);
        *limb = difference;
        borrow = u64::from(under);
    }
    // u = (x − 1)·prime⁻¹ mod 2^(64·s): the quotient when the division is exact.
    let mut wide = Zeroizing::new(vec![0u64; 2 * s]);
    mul_wide(&x_minus_one[..s], inverse, &mut wide);
    let mut u = Zeroizing::new(wide[..s].to_vec());
    mul_wide(&u, prime.modulus_limbs(), &mut wide);
    let differs = wide
        .iter()
        .zip(x_minus_one.iter())
        .fold(borrow, |acc, (a, b)| acc | (a ^ b));
    let exact = differs == 0;
    // Not exact: use 0 (the result is reported as a defect and never believed).
    conditional_assign(0u64.wrapping_sub(u64::from(!exact)), &mut u, &vec![0u64; s]);
    out.copy_from_slice(&prime.mul_mixed(&prime.to_montgomery(&u), h));
    exact
}

#[cfg(test)]
mod tests;
