//! The secret key: CRT decryption for both schemes.

use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::{One, Zero};
use std::sync::OnceLock;

use super::decoding::Ciphertexts;
use super::owner_encryption::OwnerTables;

use super::{l_function, wipe, Ciphertext, PublicKey, Scheme};
use crate::error::{Error, Result};
use crate::hazmat::backend::{Backend, CrtKey, LimbBatch};
use crate::hazmat::bigint::{biguint_from_limbs, WipedBigUint};

/// A Paillier secret key of either scheme, with the CRT precomputation for fast decryption.
///
/// The stored form is the SDK's (`phi` and `inv`, or `phi`, `a` and `g_a_inv`); `p` and `q` are
/// recovered from `n` and `phi` (`p + q = n - phi + 1`). Every secret integer is overwritten on
/// drop, and `Debug` prints nothing secret.
pub struct SecretKey {
    n: BigUint,
    phi: BigUint,
    /// What the scheme keeps beyond `phi`.
    secrets: SchemeSecrets,
    /// p, q and the CRT constants the backends decrypt with (both schemes finish alike).
    crt: CrtKey,
    /// Tables for encrypting modulo p² and q², built on first use.
    owner_tables: OnceLock<OwnerTables>,
}

/// The secrets each scheme keeps beyond `phi`, in the SDK's stored form: one variant per
/// scheme, so that no key can hold the other scheme's fields (or none).
pub(crate) enum SchemeSecrets {
    /// Classic: `phi⁻¹ mod n`.
    Classic {
        /// `phi⁻¹ mod n`.
        inv: BigUint,
    },
    /// Lookup: the noise subgroup's order and the decryption factor.
    Lookup {
        /// The order `a` of the noise subgroup.
        a: BigUint,
        /// `L(g^a mod n²)⁻¹ mod n`.
        g_a_inv: BigUint,
    },
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey")
            .field("scheme", &self.scheme())
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        wipe(&mut self.phi);
        match &mut self.secrets {
            SchemeSecrets::Classic { inv } => wipe(inv),
            SchemeSecrets::Lookup { a, g_a_inv } => {
                wipe(a);
                wipe(g_a_inv);
            }
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
        let (mut p, mut q) = factor_from_phi(&n, &phi)?;
        // g = n + 1, so g^(p−1) ≡ 1 + (p−1)·n (mod p²) and L_p of it is (p−1)·q ≡ −q (mod p):
        // h_p = (−q)⁻¹ mod p needs no exponentiation by the secret p − 1.
        let h = |prime: &BigUint, other: &BigUint| -> Result<BigUint> {
            let inverse = other
                .modinv(prime)
                .ok_or_else(|| malformed("p and q are not coprime"))?;
            Ok(prime - inverse)
        };
        let (mut h_p, mut h_q) = (h(&p, &q)?, h(&q, &p)?);
        let crt = CrtKey::new(&p, &q, &(&p - 1u32), &(&q - 1u32), &h_p, &h_q)
            .map_err(|e| malformed(&e.to_string()));
        for value in [&mut p, &mut q, &mut h_p, &mut h_q] {
            wipe(value);
        }
        Ok(Self {
            n,
            phi,
            secrets: SchemeSecrets::Classic { inv },
            crt: crt?,
            owner_tables: OnceLock::new(),
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
        // `a` is secret: constant-time exponentiations over a public bound on its length (its
        // generator makes it at most alpha_len bits; an SDK file may say otherwise).
        let a_bits = match pk.noise_exponent_bits() {
            bound if a.bits() as usize <= bound => bound,
            _ => n.bits() as usize,
        };
        let g_a = modulus.pow_secret_biguint(pk.g(), &a, a_bits)?;
        if !((l_function(&g_a, &n) * &g_a_inv) % &n).is_one() {
            return Err(malformed("g_a_inv is not L(g^a mod n^2)^-1 mod n"));
        }
        // Decryption relies on the noise g_n^x vanishing under ^a.
        let g_n = pk
            .g_n()
            .ok_or_else(|| malformed("lookup public key without g_n"))?;
        if !modulus.pow_secret_biguint(g_n, &a, a_bits)?.is_one() {
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
        let mut h_p = (&q_inv_mod_p * &g_a_inv) % &p;
        let mut h_q = (&p_inv_mod_q * &g_a_inv) % &q;
        let crt = CrtKey::new(&p, &q, &a, &a, &h_p, &h_q).map_err(|e| malformed(&e.to_string()));
        let (mut p, mut q) = (p, q);
        let (mut q_inv_mod_p, mut p_inv_mod_q) = (q_inv_mod_p, p_inv_mod_q);
        for value in [
            &mut p,
            &mut q,
            &mut h_p,
            &mut h_q,
            &mut q_inv_mod_p,
            &mut p_inv_mod_q,
        ] {
            wipe(value);
        }
        Ok(Self {
            n,
            phi,
            secrets: SchemeSecrets::Lookup { a, g_a_inv },
            crt: crt?,
            owner_tables: OnceLock::new(),
        })
    }

    /// The scheme this key belongs to.
    pub fn scheme(&self) -> Scheme {
        match self.secrets {
            SchemeSecrets::Classic { .. } => Scheme::Paillier,
            SchemeSecrets::Lookup { .. } => Scheme::PaillierLookup,
        }
    }

    /// The public modulus `n` this key decrypts under.
    pub(crate) fn n(&self) -> &BigUint {
        &self.n
    }

    /// The CRT constants (p², q², exponents, recombination factors).
    pub(crate) fn crt(&self) -> &CrtKey {
        &self.crt
    }

    pub(crate) fn owner_tables(&self, public_key: &PublicKey) -> Result<&OwnerTables> {
        if let Some(tables) = self.owner_tables.get() {
            return Ok(tables);
        }
        let tables = OwnerTables::new(public_key, self)?;
        Ok(self.owner_tables.get_or_init(|| tables))
    }

    pub(crate) fn phi(&self) -> &BigUint {
        &self.phi
    }
    pub(crate) fn secrets(&self) -> &SchemeSecrets {
        &self.secrets
    }

    /// A classic (`g = n + 1`) secret key from the primes of `pk`'s modulus, as
    /// python-paillier's `PaillierPrivateKey(public_key, p, q)` holds it.
    pub fn paillier_from_primes(pk: &PublicKey, p: &BigUint, q: &BigUint) -> Result<Self> {
        if &(p * q) != pk.n() {
            return Err(malformed("p·q is not the public key's n"));
        }
        let mut phi = (p - 1u32) * (q - 1u32);
        let inverse = phi.modinv(pk.n());
        let result = match inverse {
            Some(inv) => Self::paillier(pk, phi.clone(), inv),
            None => Err(malformed("phi is not invertible modulo n")),
        };
        wipe(&mut phi);
        result
    }

    /// The two primes of n, larger first. SECRET: whoever holds them can decrypt everything;
    /// for handing the key to another library (python-paillier's private key holds p and q).
    pub fn prime_factors(&self) -> (WipedBigUint, WipedBigUint) {
        (
            WipedBigUint(self.crt.p().modulus()),
            WipedBigUint(self.crt.q().modulus()),
        )
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

    /// Decrypts ciphertexts already checked to lie in `[1, n²)`: the residues on the host, the
    /// exponentiations and the recombination on the backend ([`Backend::crt_decrypt`]).
    pub(crate) fn decrypt_values<'a>(
        &self,
        backend: &dyn Backend,
        ciphertexts: impl Iterator<Item = &'a BigUint>,
    ) -> Result<Vec<BigUint>> {
        self.decrypt_reduced(backend, &Ciphertexts::Integers(ciphertexts.collect()))
    }

    /// Decrypts a batch of ciphertexts given as limbs of n² width, each checked to lie in
    /// `[1, n²)` first.
    pub(crate) fn decrypt_limbs(
        &self,
        backend: &dyn Backend,
        ciphertexts: &LimbBatch,
    ) -> Result<Vec<BigUint>> {
        let n_squared = &self.n * &self.n;
        for (index, c) in ciphertexts.iter().enumerate() {
            let value = biguint_from_limbs(c);
            if value.is_zero() || value >= n_squared {
                return Err(Error::InvalidCiphertext {
                    index,
                    reason: "ciphertext is not in [1, n^2)".into(),
                });
            }
        }
        self.decrypt_reduced(backend, &Ciphertexts::limbs(ciphertexts))
    }
}
