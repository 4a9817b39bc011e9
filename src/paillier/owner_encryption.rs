//! Encryption by the key owner: the same ciphertexts as the public path, computed modulo p² and
//! q² and recombined.
//!
//! A multiplication modulo p² costs about a quarter of one modulo n², so the two half-width
//! fixed-base exponentiations plus the recombination take about half the work of the public
//! path. The noise exponents are drawn exactly as on the public path, so the ciphertext
//! distribution is the same: [`SecretKey::encrypt_limbs_with_noise`] with the same exponents
//! returns the same ciphertexts as [`PublicKey::encrypt_limbs_with_noise`] (a property test
//! checks it).

use rayon::prelude::*;
use zeroize::Zeroize;

use super::public_key::{noise_times_g_m, NOISE_WINDOW_BITS};
use super::{PublicKey, Scheme, SecretKey};
use crate::backend::{Backend, Exponents, LimbBatch};
use crate::bigint::{limbs_from_biguint, mul_wide, FixedBaseTable, MontgomeryModulus};
use crate::error::{Error, Result};

/// Fixed-base tables modulo one prime's square.
pub(crate) struct PrimeTables {
    /// Powers of the noise base mod p².
    noise: FixedBaseTable,
    /// Lookup scheme: powers of `g` mod p².
    g: Option<FixedBaseTable>,
}

/// Everything the owner path precomputes, built on first use. Secret: wiped on drop.
pub(crate) struct OwnerTables {
    p: PrimeTables,
    q: PrimeTables,
    /// `(q²)⁻¹ mod p²` in Montgomery form, for Garner's recombination.
    q_squared_inverse: Vec<u64>,
    /// q² as limbs of p²'s width.
    q_squared: Vec<u64>,
}

impl Drop for OwnerTables {
    fn drop(&mut self) {
        self.q_squared_inverse.zeroize();
        self.q_squared.zeroize();
    }
}

impl OwnerTables {
    pub(crate) fn new(public_key: &PublicKey, secret_key: &SecretKey) -> Result<Self> {
        let crt = secret_key.crt();
        let (p_squared, q_squared) = (&crt.p_squared, &crt.q_squared);
        if p_squared.len() != q_squared.len() {
            return Err(Error::InvalidParameter(
                "p² and q² must have the same number of limbs".into(),
            ));
        }
        let noise_base = public_key.noise_base()?;
        let prime_tables = |modulus: &MontgomeryModulus| -> Result<PrimeTables> {
            let to_mont = |x: &num_bigint::BigUint| -> Result<Vec<u64>> {
                Ok(modulus.to_montgomery(&modulus.limbs_of(&(x % modulus.modulus()))?))
            };
            let noise = FixedBaseTable::new(
                modulus,
                &to_mont(noise_base)?,
                public_key.noise_exponent_bits().max(1),
                NOISE_WINDOW_BITS,
            );
            let g = match public_key.scheme() {
                Scheme::Paillier => None,
                Scheme::PaillierLookup => Some(FixedBaseTable::new(
                    modulus,
                    &to_mont(public_key.g())?,
                    public_key.n().bits() as usize,
                    NOISE_WINDOW_BITS,
                )),
            };
            Ok(PrimeTables { noise, g })
        };
        let mut q_sq = q_squared.modulus();
        let mut inverse = q_sq
            .modinv(&p_squared.modulus())
            .ok_or_else(|| Error::InvalidParameter("p and q are not coprime".into()))?;
        let tables = Self {
            p: prime_tables(p_squared)?,
            q: prime_tables(q_squared)?,
            q_squared_inverse: p_squared.to_montgomery(&p_squared.limbs_of(&inverse)?),
            q_squared: limbs_from_biguint(&q_sq, p_squared.len())?,
        };
        super::wipe(&mut inverse);
        super::wipe(&mut q_sq);
        Ok(tables)
    }

    /// `c mod n²` from `c_p = c mod p²` and `c_q = c mod q²` (Garner): `c = c_q + q²·t` with
    /// `t = (c_p − c_q)·(q²)⁻¹ mod p²`. Straight-line limb arithmetic, no branch on the values.
    fn recombine(&self, p_squared: &MontgomeryModulus, c_p: &[u64], c_q: &[u64], out: &mut [u64]) {
        let len = p_squared.len();
        let mut t_p = vec![0u64; len];
        let mut t_q = vec![0u64; len];
        let mut t = vec![0u64; len];
        // mul_into(x, y) = x·y·R⁻¹ and y = (q²)⁻¹·R, so these are c_p·(q²)⁻¹ and c_q·(q²)⁻¹
        // mod p². c_q may exceed p², but it is below R, which is all the reduction needs.
        p_squared.mul_into(c_p, &self.q_squared_inverse, &mut t_p);
        p_squared.mul_into(c_q, &self.q_squared_inverse, &mut t_q);
        p_squared.sub_into(&t_p, &t_q, &mut t);
        let mut wide = vec![0u64; 2 * len];
        mul_wide(&self.q_squared, &t, &mut wide);
        let mut carry = 0u64;
        for (i, w) in wide.iter_mut().enumerate() {
            let addend = c_q.get(i).copied().unwrap_or(0);
            let v = *w as u128 + addend as u128 + carry as u128;
            *w = v as u64;
            carry = (v >> 64) as u64;
        }
        // c < n², so the limbs beyond n²'s width are zero.
        out.copy_from_slice(&wide[..out.len()]);
        for buffer in [&mut t_p, &mut t_q, &mut t, &mut wide] {
            buffer.zeroize();
        }
    }
}

impl SecretKey {
    /// Encrypts plaintexts (each `< n`) as the key's owner: the same ciphertexts as
    /// [`PublicKey::encrypt_batch`], computed modulo p² and q².
    ///
    /// ```
    /// use num_bigint::BigUint;
    /// use paillier_gpu::backend::cpu::CpuBackend;
    /// use paillier_gpu::paillier::{generate_keypair, KeyGenOptions, Scheme};
    ///
    /// let backend = CpuBackend::shared();
    /// let (pk, sk) = generate_keypair(Scheme::Paillier, 256, &KeyGenOptions::insecure_for_tests()).unwrap();
    /// let c = sk.encrypt_batch(&pk, backend.as_ref(), &[BigUint::from(7u32)]).unwrap();
    /// assert_eq!(sk.decrypt(backend.as_ref(), &c[0]).unwrap(), BigUint::from(7u32));
    /// ```
    pub fn encrypt_batch(
        &self,
        public_key: &PublicKey,
        backend: &dyn Backend,
        plaintexts: &[num_bigint::BigUint],
    ) -> Result<Vec<super::Ciphertext>> {
        let messages = public_key.plaintext_batch(plaintexts)?;
        let batch = self.encrypt_limbs(
            public_key,
            backend,
            &messages,
            public_key.n().bits() as usize,
        )?;
        Ok(public_key.ciphertexts_of(&batch))
    }

    /// Encrypts plaintexts given as limbs (as [`PublicKey::encrypt_limbs`]) using the secret
    /// key's factorisation: the same ciphertext distribution, about half the work.
    pub(crate) fn encrypt_limbs(
        &self,
        public_key: &PublicKey,
        backend: &dyn Backend,
        messages: &LimbBatch,
        message_bits: usize,
    ) -> Result<LimbBatch> {
        if messages.is_empty() {
            return Ok(LimbBatch::new(public_key.ciphertext_limbs()));
        }
        let exponents = public_key.random_noise_exponents(messages.len())?;
        self.encrypt_limbs_with_noise(public_key, backend, messages, message_bits, &exponents)
    }

    /// [`encrypt_limbs`](Self::encrypt_limbs) with the noise exponents given.
    pub(crate) fn encrypt_limbs_with_noise(
        &self,
        public_key: &PublicKey,
        backend: &dyn Backend,
        messages: &LimbBatch,
        message_bits: usize,
        noise_exponents: &Exponents,
    ) -> Result<LimbBatch> {
        if public_key.n() != self.n() {
            return Err(Error::InvalidParameter(
                "the public key does not belong to this secret key".into(),
            ));
        }
        let tables = self.owner_tables(public_key)?;
        let crt = self.crt();
        // Per prime: noise, times g^m for the lookup scheme.
        let per_prime = |modulus: &MontgomeryModulus, t: &PrimeTables| -> Result<LimbBatch> {
            noise_times_g_m(
                backend,
                modulus,
                &t.noise,
                t.g.as_ref(),
                noise_exponents,
                messages,
                message_bits,
            )
        };
        let mut c_p = per_prime(&crt.p_squared, &tables.p)?;
        let mut c_q = per_prime(&crt.q_squared, &tables.q)?;
        let width = public_key.ciphertext_limbs();
        let mut combined = vec![0u64; c_p.len() * width];
        combined
            .par_chunks_mut(width)
            .enumerate()
            .for_each(|(i, out)| tables.recombine(&crt.p_squared, c_p.item(i), c_q.item(i), out));
        c_p.wipe();
        c_q.wipe();
        let combined = LimbBatch::from_flat(width, combined)?;
        match public_key.scheme() {
            Scheme::PaillierLookup => Ok(combined),
            Scheme::Paillier => public_key.multiply_by_g_m(backend, messages, &combined),
        }
    }
}

#[cfg(test)]
mod tests {
    use num_bigint::{BigUint, RandBigInt};
    use proptest::prelude::*;
    use rand::{rngs::StdRng, SeedableRng};

    use super::*;
    use crate::backend::cpu::CpuBackend;
    use crate::paillier::{generate_keypair, KeyGenOptions};

    fn keypair(scheme: Scheme) -> &'static (PublicKey, SecretKey) {
        static CLASSIC: std::sync::OnceLock<(PublicKey, SecretKey)> = std::sync::OnceLock::new();
        static LOOKUP: std::sync::OnceLock<(PublicKey, SecretKey)> = std::sync::OnceLock::new();
        let cell = match scheme {
            Scheme::Paillier => &CLASSIC,
            Scheme::PaillierLookup => &LOOKUP,
        };
        cell.get_or_init(|| {
            generate_keypair(scheme, 256, &KeyGenOptions::insecure_for_tests()).unwrap()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// The owner's CRT path and the public path give the same ciphertext for the same
        /// message and noise exponent, so the faster path changes nothing a decryptor sees.
        #[test]
        fn owner_and_public_paths_agree(seed in any::<u64>(), lookup in any::<bool>(), count in 1usize..5) {
            let scheme = if lookup { Scheme::PaillierLookup } else { Scheme::Paillier };
            let (pk, sk) = keypair(scheme);
            let backend = CpuBackend::shared();
            let mut rng = StdRng::seed_from_u64(seed);
            let plaintexts: Vec<BigUint> = (0..count).map(|_| rng.gen_biguint_below(pk.n())).collect();
            let messages = pk.plaintext_batch(&plaintexts).unwrap();
            let mut exponents = pk.random_noise_exponents(count).unwrap();
            // Include the extremes of the exponent range.
            exponents.values.item_mut(0).fill(if seed % 2 == 0 { 0 } else { u64::MAX });
            let bits = exponents.bits;
            let top = exponents.values.limbs_per_item() * 64;
            if top > bits {
                let last = exponents.values.limbs_per_item() - 1;
                exponents.values.item_mut(0)[last] &= u64::MAX >> (top - bits);
            }
            let message_bits = pk.n().bits() as usize;
            let public = pk.encrypt_limbs_with_noise(backend.as_ref(), &messages, message_bits, &exponents).unwrap();
            let owner = sk.encrypt_limbs_with_noise(pk, backend.as_ref(), &messages, message_bits, &exponents).unwrap();
            prop_assert_eq!(public.as_flat(), owner.as_flat());
            for (c, m) in pk.ciphertexts_of(&owner).iter().zip(&plaintexts) {
                prop_assert_eq!(&sk.decrypt(backend.as_ref(), c).unwrap(), m);
            }
        }
    }

    #[test]
    fn classic_reference_encryption_decrypts() {
        let (pk, sk) = keypair(Scheme::Paillier);
        let backend = CpuBackend::shared();
        let m = vec![BigUint::from(0u32), BigUint::from(12345u32), pk.n() - 1u32];
        let c = pk.encrypt_batch_classic(backend.as_ref(), &m).unwrap();
        for (c, m) in c.iter().zip(&m) {
            assert_eq!(&sk.decrypt(backend.as_ref(), c).unwrap(), m);
        }
        let (lookup_pk, _) = keypair(Scheme::PaillierLookup);
        assert!(lookup_pk
            .encrypt_batch_classic(backend.as_ref(), &m)
            .is_err());
    }

    #[test]
    fn the_djn_base_is_an_n_th_residue_derived_from_n_alone() {
        let (pk, _) = keypair(Scheme::Paillier);
        let base = pk.noise_base().unwrap().clone();
        // A fresh key object for the same n derives the same base.
        let again = PublicKey::paillier(pk.key_len(), pk.n().clone()).unwrap();
        assert_eq!(again.noise_base().unwrap(), &base);
        assert!(base > BigUint::from(1u32) && &base < pk.n_squared());
    }
}
