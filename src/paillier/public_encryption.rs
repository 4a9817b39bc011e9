//! Encryption under the public key: fixed-base noise tables, the DJN generator of the classic
//! scheme, and batches of plaintexts to ciphertexts on a backend.

use num_bigint::{BigUint, RandBigInt};
use num_integer::Integer;
use num_traits::{One, Zero};

use super::public_key::{
    PublicKey, PublicTables, SchemeParams, DJN_GENERATOR_DOMAIN, NOISE_WINDOW_BITS,
};
use super::{Ciphertext, Encryptor, Scheme};
use crate::error::{Error, Result};
use crate::hazmat::backend::cpu::one_plus_mn_times;
use crate::hazmat::backend::{
    Backend, EncryptionJob, Exponents, LimbBatch, Messages, ResidueTables, Residues, Secrecy,
};
use crate::hazmat::bigint::{limbs_from_biguint, FixedBaseTable, MontgomeryModulus, SquareRoot};

impl PublicKey {
    /// Encrypts one plaintext `m < n`.
    pub fn encrypt(&self, backend: &dyn Backend, m: &BigUint) -> Result<Ciphertext> {
        let mut out = self.encrypt_batch(backend, std::slice::from_ref(m))?;
        out.pop()
            .ok_or_else(|| Error::InvalidParameter("empty encryption result".into()))
    }

    /// Encrypts a batch of plaintexts, each `< n`, with fresh randomness for each.
    pub fn encrypt_batch(
        &self,
        backend: &dyn Backend,
        plaintexts: &[BigUint],
    ) -> Result<Vec<Ciphertext>> {
        Encryptor::Public.encrypt_batch(self, backend, plaintexts)
    }

    /// Plaintexts as a limb batch of ciphertext width, each checked to be below `n`.
    pub(crate) fn plaintext_batch(&self, plaintexts: &[BigUint]) -> Result<LimbBatch> {
        let limbs = self.ciphertext_limbs();
        let mut messages = LimbBatch::new(limbs);
        for m in plaintexts {
            if m >= &self.n {
                return Err(Error::PlaintextOutOfRange(format!(
                    "a {}-bit plaintext is not below n",
                    m.bits()
                )));
            }
            messages.push(&limbs_from_biguint(m, limbs)?)?;
        }
        Ok(messages)
    }

    /// A limb batch of ciphertexts as [`Ciphertext`]s.
    pub(crate) fn ciphertexts_of(&self, batch: &LimbBatch) -> Vec<Ciphertext> {
        batch
            .iter()
            .map(|c| Ciphertext::from_biguint(self.n_squared_modulus.biguint_of(c)))
            .collect()
    }

    /// The encryption job of `messages` under this key, handed to `run`.
    pub(super) fn with_encryption_job<R>(
        &self,
        messages: Messages<'_>,
        noise_exponents: &Exponents,
        run: impl FnOnce(&EncryptionJob<'_>) -> Result<R>,
    ) -> Result<R> {
        let tables = self.tables()?;
        run(&EncryptionJob {
            n_squared: &self.n_squared_modulus,
            n: &self.n,
            residues: Residues::NSquared(ResidueTables {
                modulus: &self.n_squared_modulus,
                root: Some(&tables.root),
                noise: &tables.noise,
                g: tables.g.as_ref(),
            }),
            messages: messages.limbs,
            message_form: messages.form,
            message_bits: messages.bits,
            noise_exponents,
        })
    }

    /// Classic scheme: `(1 + m·n) · noise mod n²` for each message and its noise.
    pub(crate) fn multiply_by_g_m(
        &self,
        backend: &dyn Backend,
        messages: &LimbBatch,
        noise: &LimbBatch,
    ) -> Result<LimbBatch> {
        Ok(one_plus_mn_times(
            backend,
            &self.n_squared_modulus,
            &self.n,
            messages,
            noise,
        )?)
    }

    /// Bits of every noise exponent `x`: `alpha_len + 128` for the lookup scheme (so `x mod a`
    /// is uniform to within 2^-128); `key_len = |n|/2` for the classic scheme, as in
    /// Damgård–Jurik–Nielsen (see [`noise_base`](Self::noise_base)).
    pub fn noise_exponent_bits(&self) -> usize {
        self.noise_bits
    }

    /// `count` fresh uniform noise exponents of [`noise_exponent_bits`](Self::noise_exponent_bits)
    /// bits (see [`random_exponents`](crate::hazmat::backend::noise::random_exponents)).
    pub(crate) fn random_noise_exponents(&self, count: usize) -> Result<Exponents> {
        // On every core from ChaCha20 keyed by the OS: a single stream from the OS on one
        // thread bounded the GPU's encryption rate on the host.
        Ok(crate::hazmat::backend::noise::random_exponents(
            count,
            self.noise_bits,
        )?)
    }

    /// The base whose powers are the noise of every ciphertext.
    ///
    /// * Lookup scheme: the SDK's `g_n = g^n mod n²`.
    /// * Classic scheme: `h^n mod n²`, Damgård–Jurik–Nielsen style, with `h` a unit mod n
    ///   derived from `n` by hashing (SHA-256, domain-separated), so every holder of the public
    ///   key gets the same base with no new file field and nobody knows a discrete logarithm or
    ///   root of it. A ciphertext `(1 + m·n)·h^(n·x)` is an ordinary Paillier ciphertext with
    ///   `r = h^x mod n`, so any standard decryptor opens it. The security of the short
    ///   exponent (`x` of `|n|/2` bits instead of `r` uniform in `Z_n*`) rests on the DJN
    ///   assumption that `h^(n·x)` for such `x` cannot be told from a uniform `n`-th residue,
    ///   on top of Paillier's decisional composite residuosity assumption.
    pub fn noise_base(&self) -> Result<&BigUint> {
        if let Some(base) = self.noise_base.get() {
            return Ok(base);
        }
        let base = match &self.params {
            SchemeParams::Lookup { g_n } => g_n.clone(),
            SchemeParams::Classic => {
                let h = djn_generator(&self.n)?;
                self.n_squared_modulus.pow_biguint_vartime(&h, &self.n)?
            }
        };
        Ok(self.noise_base.get_or_init(|| base))
    }

    fn tables(&self) -> Result<&PublicTables> {
        if let Some(tables) = self.tables.get() {
            return Ok(tables);
        }
        let modulus = &self.n_squared_modulus;
        // n is public, so anyone may compute modulo n² on two digits modulo n (`two_digit/`):
        // the CPU does, on the IFMA engine where it has one; the GPU reads the entries.
        let root = MontgomeryModulus::new(&self.n)?;
        let table = |base: &BigUint, bits: usize| -> Result<FixedBaseTable> {
            let mut table = FixedBaseTable::new(
                modulus,
                &modulus.montgomery_of_vartime(base)?,
                bits,
                NOISE_WINDOW_BITS,
            );
            table.run_on_fastest_engines(modulus, SquareRoot::Public(&root));
            Ok(table)
        };
        let noise = table(self.noise_base()?, self.noise_bits.max(1))?;
        let g = match self.scheme() {
            Scheme::Paillier => None,
            Scheme::PaillierLookup => Some(table(&self.g, self.n.bits() as usize)?),
        };
        Ok(self.tables.get_or_init(|| PublicTables { noise, g, root }))
    }

    /// Classic encryption, `(1 + m·n)·r^n mod n²` with `r` uniform in `Z_n*`: about 16 times the
    /// work of [`encrypt_batch`](Self::encrypt_batch). Kept as the reference the faster paths
    /// are tested and benchmarked against. Classic scheme only.
    pub fn encrypt_batch_classic(
        &self,
        backend: &dyn Backend,
        plaintexts: &[BigUint],
    ) -> Result<Vec<Ciphertext>> {
        if self.scheme() != Scheme::Paillier {
            return Err(Error::InvalidParameter(
                "classic r^n encryption is defined for the paillier scheme only".into(),
            ));
        }
        let messages = self.plaintext_batch(plaintexts)?;
        let noise = self.classic_noise(backend, messages.len())?;
        Ok(self.ciphertexts_of(&self.multiply_by_g_m(backend, &messages, &noise)?))
    }

    /// `count` values `r^n mod n²` with `r` uniform in `Z_n^*`.
    fn classic_noise(&self, backend: &dyn Backend, count: usize) -> Result<LimbBatch> {
        let mut rng = rand::rngs::OsRng;
        let mut rs = LimbBatch::new(self.ciphertext_limbs());
        while rs.len() < count {
            let r = rng.gen_biguint_below(&self.n);
            // gcd(r, n) != 1 would reveal a factor of n: astronomically unlikely, still skipped.
            if r.is_zero() || !r.gcd(&self.n).is_one() {
                continue;
            }
            rs.push(&limbs_from_biguint(&r, self.ciphertext_limbs())?)?;
        }
        let exponent = LimbBatch::single(self.n.to_u64_digits());
        Ok(backend.modexp(
            &self.n_squared_modulus,
            &rs,
            &Exponents {
                values: exponent,
                bits: self.n.bits() as usize,
                secrecy: Secrecy::Public,
            },
        )?)
    }

    /// `g^m mod n²` for any `m` (public-exponent path).
    pub(super) fn g_pow(&self, m: &BigUint) -> Result<BigUint> {
        match self.scheme() {
            Scheme::Paillier => Ok((BigUint::one() + (m % &self.n) * &self.n) % &self.n_squared),
            Scheme::PaillierLookup => Ok(self.n_squared_modulus.pow_biguint_vartime(&self.g, m)?),
        }
    }
}

/// The classic scheme's noise generator `h`: a unit modulo `n` expanded from SHA-256 of a domain
/// tag, a counter and `n`, reduced from 128 extra bits so it is uniform to within 2^-128.
/// Fails only for a modulus with so many small factors that no attempt gives a unit (not an RSA
/// modulus at all).
fn djn_generator(n: &BigUint) -> Result<BigUint> {
    use sha2::{Digest, Sha256};
    let n_bytes = n.to_bytes_be();
    let wanted = (n.bits() as usize + 128).div_ceil(8);
    for attempt in 0u32..1024 {
        let mut bytes = Vec::with_capacity(wanted + 32);
        for block in 0u32.. {
            if bytes.len() >= wanted {
                break;
            }
            let digest = Sha256::new()
                .chain_update(DJN_GENERATOR_DOMAIN)
                .chain_update(attempt.to_be_bytes())
                .chain_update(block.to_be_bytes())
                .chain_update(&n_bytes)
                .finalize();
            bytes.extend_from_slice(&digest);
        }
        let h = BigUint::from_bytes_be(&bytes[..wanted]) % n;
        // A non-unit would reveal a factor of n; 0 and 1 generate nothing.
        if h > BigUint::one() && h.gcd(n).is_one() {
            return Ok(h);
        }
    }
    Err(Error::MalformedContext(
        "n has too many small factors to be a Paillier modulus".into(),
    ))
}
