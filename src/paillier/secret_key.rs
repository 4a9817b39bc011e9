//! The secret key: CRT decryption for both schemes.

use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::{One, Zero};
use rayon::prelude::*;

use super::{l_function, wipe, Ciphertext, PublicKey, Scheme};
use crate::backend::{Backend, Exponents, LimbBatch, Secrecy};
use crate::bigint::{limbs_from_biguint, MontgomeryModulus};
use crate::error::{Error, Result};

/// A Paillier secret key of either scheme, with the CRT precomputation for fast decryption.
///
/// The stored form is the SDK's (`phi` and `inv`, or `phi`, `a` and `g_a_inv`); `p` and `q` are
/// recovered from `n` and `phi` (`p + q = n - phi + 1`). Every secret integer is overwritten on
/// drop, and `Debug` prints nothing secret.
pub struct SecretKey {
    scheme: Scheme,
    n: BigUint,
    phi: BigUint,
    /// Classic: `phi⁻¹ mod n`. Lookup: unused (zero).
    inv: BigUint,
    /// Lookup: the order `a` of the noise subgroup. Classic: unused (zero).
    a: BigUint,
    /// Lookup: `L(g^a mod n²)⁻¹ mod n`. Classic: unused (zero).
    g_a_inv: BigUint,
    p: BigUint,
    q: BigUint,
    p_squared: MontgomeryModulus,
    q_squared: MontgomeryModulus,
    /// CRT: m_p = L_p(x_p)·h_p mod p and m_q likewise, then Garner with `q⁻¹ mod p`.
    /// Classic: `h_p = L_p(g^(p-1) mod p²)⁻¹ mod p`. Lookup: `h_p = q⁻¹·g_a_inv mod p`.
    h_p: BigUint,
    h_q: BigUint,
    q_inv_mod_p: BigUint,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey")
            .field("scheme", &self.scheme)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        for value in [
            &mut self.phi,
            &mut self.inv,
            &mut self.a,
            &mut self.g_a_inv,
            &mut self.p,
            &mut self.q,
            &mut self.h_p,
            &mut self.h_q,
            &mut self.q_inv_mod_p,
        ] {
            wipe(value);
        }
    }
}

fn malformed(what: &str) -> Error {
    Error::MalformedContext(format!("secret key: {what}"))
}

/// Recovers `(p, q)` from `n` and `phi = (p-1)(q-1)`.
fn factor_from_phi(n: &BigUint, phi: &BigUint) -> Result<(BigUint, BigUint)> {
    if phi.is_zero() || phi >= n {
        return Err(malformed("phi is not in (0, n)"));
    }
    let sum = n - phi + 1u32; // p + q
    let sum_sq = &sum * &sum;
    let four_n = n * 4u32;
    if sum_sq < four_n {
        return Err(malformed("phi does not match n"));
    }
    let disc = sum_sq - four_n; // (p - q)²
    let root = disc.sqrt();
    if &root * &root != disc || (&sum + &root).is_odd() {
        return Err(malformed("phi does not match n"));
    }
    let p = (&sum + &root) >> 1;
    let q = (&sum - &root) >> 1;
    if q <= BigUint::one() || &(&p * &q) != n {
        return Err(malformed("phi does not match n"));
    }
    Ok((p, q))
}

impl SecretKey {
    /// A classic secret key from the SDK's stored form, checked against `pk`.
    pub fn paillier(pk: &PublicKey, phi: BigUint, inv: BigUint) -> Result<Self> {
        if pk.scheme() != Scheme::Paillier {
            return Err(malformed(
                "a PaillierClient key needs a PaillierClient public key",
            ));
        }
        let n = pk.n().clone();
        if !((&phi * &inv) % &n).is_one() {
            return Err(malformed("inv is not phi^-1 mod n"));
        }
        let (p, q) = factor_from_phi(&n, &phi)?;
        let p_squared = MontgomeryModulus::new(&(&p * &p))?;
        let q_squared = MontgomeryModulus::new(&(&q * &q))?;
        let g = pk.g();
        let h = |prime: &BigUint, modulus: &MontgomeryModulus| -> Result<BigUint> {
            let x = modulus.pow_biguint(g, &(prime - 1u32))?;
            l_function(&x, prime)
                .modinv(prime)
                .ok_or_else(|| malformed("g is degenerate modulo a prime factor"))
        };
        let h_p = h(&p, &p_squared)?;
        let h_q = h(&q, &q_squared)?;
        let q_inv_mod_p = q
            .modinv(&p)
            .ok_or_else(|| malformed("p and q are not coprime"))?;
        Ok(Self {
            scheme: Scheme::Paillier,
            n,
            phi,
            inv,
            a: BigUint::zero(),
            g_a_inv: BigUint::zero(),
            p,
            q,
            p_squared,
            q_squared,
            h_p,
            h_q,
            q_inv_mod_p,
        })
    }

    /// A lookup-scheme secret key from the SDK's stored form, checked against `pk`.
    pub fn paillier_lookup(
        pk: &PublicKey,
        phi: BigUint,
        a: BigUint,
        g_a_inv: BigUint,
    ) -> Result<Self> {
        if pk.scheme() != Scheme::PaillierLookup {
            return Err(malformed(
                "a PaillierLookupClient key needs a PaillierLookupClient public key",
            ));
        }
        let n = pk.n().clone();
        if a.is_zero() || a >= n {
            return Err(malformed("a is not in (0, n)"));
        }
        let modulus = pk.n_squared_modulus();
        let g_a = modulus.pow_biguint(pk.g(), &a)?;
        if !((l_function(&g_a, &n) * &g_a_inv) % &n).is_one() {
            return Err(malformed("g_a_inv is not L(g^a mod n^2)^-1 mod n"));
        }
        // Decryption relies on the noise g_n^x vanishing under ^a.
        let g_n = pk
            .g_n()
            .ok_or_else(|| malformed("lookup public key without g_n"))?;
        if !modulus.pow_biguint(g_n, &a)?.is_one() {
            return Err(malformed("g_n^a is not 1 mod n^2"));
        }
        let (p, q) = factor_from_phi(&n, &phi)?;
        // L(c^a mod n²) ≡ ((c^a mod p² − 1)/p) · q⁻¹ (mod p), so with h_p = q⁻¹·g_a_inv mod p the
        // per-prime plaintexts are m_p = L_p(x_p)·h_p mod p, exactly as in the classic scheme.
        let q_inv_mod_p = q
            .modinv(&p)
            .ok_or_else(|| malformed("p and q are not coprime"))?;
        let p_inv_mod_q = p
            .modinv(&q)
            .ok_or_else(|| malformed("p and q are not coprime"))?;
        let h_p = (&q_inv_mod_p * &g_a_inv) % &p;
        let h_q = (&p_inv_mod_q * &g_a_inv) % &q;
        Ok(Self {
            scheme: Scheme::PaillierLookup,
            n,
            phi,
            inv: BigUint::zero(),
            a,
            g_a_inv,
            p_squared: MontgomeryModulus::new(&(&p * &p))?,
            q_squared: MontgomeryModulus::new(&(&q * &q))?,
            p,
            q,
            h_p,
            h_q,
            q_inv_mod_p,
        })
    }

    /// The scheme this key belongs to.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    pub(crate) fn phi(&self) -> &BigUint {
        &self.phi
    }
    pub(crate) fn inv(&self) -> &BigUint {
        &self.inv
    }
    pub(crate) fn a(&self) -> &BigUint {
        &self.a
    }
    pub(crate) fn g_a_inv(&self) -> &BigUint {
        &self.g_a_inv
    }

    /// Decrypts one ciphertext.
    pub fn decrypt(&self, backend: &dyn Backend, c: &Ciphertext) -> Result<BigUint> {
        let mut out = self.decrypt_batch(backend, std::slice::from_ref(c))?;
        out.pop()
            .ok_or_else(|| Error::InvalidParameter("empty decryption result".into()))
    }

    /// Decrypts a batch of ciphertexts (CRT: two half-width exponentiations each).
    pub fn decrypt_batch(
        &self,
        backend: &dyn Backend,
        ciphertexts: &[Ciphertext],
    ) -> Result<Vec<BigUint>> {
        let n_squared = &self.n * &self.n;
        for (i, c) in ciphertexts.iter().enumerate() {
            if c.as_biguint().is_zero() || c.as_biguint() >= &n_squared {
                return Err(Error::InvalidCiphertext {
                    index: i,
                    reason: "ciphertext is not in [1, n^2)".into(),
                });
            }
        }
        self.decrypt_values(backend, ciphertexts.iter().map(Ciphertext::as_biguint))
    }

    /// Decrypts ciphertexts already checked to lie in `[1, n²)`.
    pub(crate) fn decrypt_values<'a>(
        &self,
        backend: &dyn Backend,
        ciphertexts: impl Iterator<Item = &'a BigUint>,
    ) -> Result<Vec<BigUint>> {
        let p_sq = self.p_squared.modulus();
        let q_sq = self.q_squared.modulus();
        let mut bases_p = LimbBatch::new(self.p_squared.len());
        let mut bases_q = LimbBatch::new(self.q_squared.len());
        for (i, c) in ciphertexts.enumerate() {
            let c_p = c % &p_sq;
            let c_q = c % &q_sq;
            // A ciphertext divisible by p or q is not in Z*_{n²}; it would also reveal a factor.
            if (&c_p % &self.p).is_zero() || (&c_q % &self.q).is_zero() {
                return Err(Error::InvalidCiphertext {
                    index: i,
                    reason: "ciphertext shares a factor with n".into(),
                });
            }
            bases_p.push(&limbs_from_biguint(&c_p, self.p_squared.len())?)?;
            bases_q.push(&limbs_from_biguint(&c_q, self.q_squared.len())?)?;
        }
        let exponent = |value: &BigUint, bits: usize| Exponents {
            values: LimbBatch::single(value.to_u64_digits()),
            bits,
            secrecy: Secrecy::Secret,
        };
        let (exp_p, exp_q) = match self.scheme {
            Scheme::Paillier => (
                exponent(&(&self.p - 1u32), self.p.bits() as usize),
                exponent(&(&self.q - 1u32), self.q.bits() as usize),
            ),
            Scheme::PaillierLookup => {
                let bits = self.a.bits() as usize;
                (exponent(&self.a, bits), exponent(&self.a, bits))
            }
        };
        let x_p = backend.modexp(&self.p_squared, &bases_p, &exp_p)?;
        let x_q = backend.modexp(&self.q_squared, &bases_q, &exp_q)?;
        Ok((0..x_p.len())
            .into_par_iter()
            .map(|i| {
                let xp = self.p_squared.biguint_of(x_p.item(i));
                let xq = self.q_squared.biguint_of(x_q.item(i));
                self.combine(&xp, &xq)
            })
            .collect())
    }

    /// Turns the two half-width exponentiation results into the plaintext (both schemes):
    /// m_p = L_p(x_p)·h_p mod p, m_q likewise, then Garner: m = m_q + q·((m_p − m_q)·q⁻¹ mod p).
    fn combine(&self, x_p: &BigUint, x_q: &BigUint) -> BigUint {
        let m_p = (l_function(x_p, &self.p) * &self.h_p) % &self.p;
        let m_q = (l_function(x_q, &self.q) * &self.h_q) % &self.q;
        let diff = (&m_p + &self.p - (&m_q % &self.p)) % &self.p;
        m_q + &self.q * ((diff * &self.q_inv_mod_p) % &self.p)
    }
}
