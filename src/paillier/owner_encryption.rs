//! Encryption by the key owner: the same ciphertexts as the public path, computed modulo p² and
//! q² and recombined.
//!
//! A multiplication modulo p² costs about a quarter of one modulo n², so the two half-width
//! fixed-base exponentiations plus the recombination take about half the work of the public
//! path. The noise exponents are drawn exactly as on the public path, so the ciphertext
//! distribution is the same: [`Encryptor::encrypt_limbs_with_noise`] with the same exponents
//! returns the same ciphertexts by either encryptor (a property test
//! checks it).

use super::public_key::NOISE_WINDOW_BITS;
use super::{Encryptor, PublicKey, Scheme, SecretKey};
use crate::error::{Error, Result};
use crate::hazmat::backend::{
    Backend, EncryptionJob, Exponents, Garner, Messages, ResidueTables, Residues,
};
use crate::hazmat::bigint::{FixedBaseTable, MontgomeryModulus, SquareRoot};
use num_bigint::BigUint;

/// Fixed-base tables modulo one prime's square.
pub(crate) struct PrimeTables {
    /// Powers of the noise base mod p².
    noise: FixedBaseTable,
    /// Lookup scheme: powers of `g` mod p².
    g: Option<FixedBaseTable>,
}

impl PrimeTables {
    fn share<'a>(
        &'a self,
        modulus: &'a MontgomeryModulus,
        prime: &'a MontgomeryModulus,
    ) -> ResidueTables<'a> {
        ResidueTables {
            modulus,
            root: Some(prime),
            noise: &self.noise,
            g: self.g.as_ref(),
        }
    }
}

/// Everything the owner path precomputes, built on first use. Secret: wiped on drop.
pub(crate) struct OwnerTables {
    p: PrimeTables,
    q: PrimeTables,
    garner: Garner,
}

impl OwnerTables {
    pub(crate) fn new(public_key: &PublicKey, secret_key: &SecretKey) -> Result<Self> {
        let crt = secret_key.crt();
        let (p_squared, q_squared) = (crt.p_squared(), crt.q_squared());
        let garner = Garner::new(p_squared, q_squared)?;
        let noise_base = public_key.noise_base()?;
        // The CPU runs the tables on two digits modulo the prime (the same powers, with fewer
        // limb products than modulo its square); the GPU reads the entries as they are.
        let table = |modulus: &MontgomeryModulus,
                     prime: &MontgomeryModulus,
                     base: &BigUint,
                     bits: usize|
         -> Result<FixedBaseTable> {
            let mut table = FixedBaseTable::new(
                modulus,
                &modulus.montgomery_of_vartime(base)?,
                bits,
                NOISE_WINDOW_BITS,
            );
            table.run_on_fastest_engines(modulus, SquareRoot::Secret(prime));
            Ok(table)
        };
        let prime_tables =
            |modulus: &MontgomeryModulus, prime: &MontgomeryModulus| -> Result<PrimeTables> {
                let noise = table(
                    modulus,
                    prime,
                    noise_base,
                    public_key.noise_exponent_bits().max(1),
                )?;
                let g = match public_key.scheme() {
                    Scheme::Paillier => None,
                    Scheme::PaillierLookup => Some(table(
                        modulus,
                        prime,
                        public_key.g(),
                        public_key.n().bits() as usize,
                    )?),
                };
                Ok(PrimeTables { noise, g })
            };
        Ok(Self {
            p: prime_tables(p_squared, crt.p())?,
            q: prime_tables(q_squared, crt.q())?,
            garner,
        })
    }
}

impl SecretKey {
    /// Encrypts plaintexts (each `< n`) as the key's owner: the same ciphertexts as
    /// [`PublicKey::encrypt_batch`], computed modulo p² and q².
    ///
    /// ```
    /// use num_bigint::BigUint;
    /// use paillier_gpu::hazmat::backend::cpu::CpuBackend;
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
        Encryptor::Owner(self).encrypt_batch(public_key, backend, plaintexts)
    }

    /// The owner's encryption job of `messages` (modulo p² and q²), handed to `run`.
    pub(super) fn with_encryption_job<R>(
        &self,
        public_key: &PublicKey,
        messages: Messages<'_>,
        noise_exponents: &Exponents,
        run: impl FnOnce(&EncryptionJob<'_>) -> Result<R>,
    ) -> Result<R> {
        if public_key.n() != self.n() {
            return Err(Error::InvalidParameter(
                "the public key does not belong to this secret key".into(),
            ));
        }
        let tables = self.owner_tables(public_key)?;
        let crt = self.crt();
        run(&EncryptionJob {
            n_squared: public_key.n_squared_modulus(),
            n: public_key.n(),
            residues: Residues::PrimeSquares {
                p: tables.p.share(crt.p_squared(), crt.p()),
                q: tables.q.share(crt.q_squared(), crt.q()),
                garner: &tables.garner,
            },
            messages: messages.limbs,
            message_form: messages.form,
            message_bits: messages.bits,
            noise_exponents,
        })
    }
}

#[cfg(test)]
mod tests {
    use num_bigint::{BigUint, RandBigInt};
    use proptest::prelude::*;
    use rand::{rngs::StdRng, SeedableRng};

    use super::*;
    use crate::hazmat::backend::cpu::CpuBackend;
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
            let public = Encryptor::Public.encrypt_limbs_with_noise(pk, backend.as_ref(), &messages, message_bits, &exponents).unwrap();
            let owner = Encryptor::Owner(sk).encrypt_limbs_with_noise(pk, backend.as_ref(), &messages, message_bits, &exponents).unwrap();
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
