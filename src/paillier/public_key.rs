//! The public key: encryption and the homomorphic operations.

use std::sync::OnceLock;

use num_bigint::{BigUint, RandBigInt};
use num_integer::Integer;
use num_traits::{One, Zero};

use super::{Ciphertext, Scheme, KEY_LEN_RANGE};
use crate::backend::encryption::one_plus_mn_times;
use crate::backend::{
    Backend, EncryptionJob, Exponents, LimbBatch, ResidueTables, Residues, Secrecy,
};
use crate::bigint::{limbs_from_biguint, FixedBaseTable, MontgomeryModulus};
use crate::error::{Error, Result};

/// Extra bits of lookup noise exponents beyond `alpha_len`, so that `x mod a` is within
/// 2^-128 of uniform without knowing the secret `a`.
const NOISE_EXTRA_BITS: usize = 128;

/// Window of the fixed-base noise tables. Each row costs one multiplication and a constant-time
/// scan of `2^w` entries: 5 bits balances the two at the usual widths (BENCHMARKS.md).
pub(crate) const NOISE_WINDOW_BITS: usize = 5;

/// Domain separation for the hash that derives the classic scheme's noise generator from `n`.
const DJN_GENERATOR_DOMAIN: &[u8] = b"paillier-gpu/djn-noise-generator/v1";

/// A Paillier public key of either scheme. Enough to encrypt and to aggregate, never to decrypt.
pub struct PublicKey {
    scheme: Scheme,
    key_len: usize,
    n: BigUint,
    n_squared: BigUint,
    g: BigUint,
    /// `g^n mod n²` (lookup scheme only): the base of the noise.
    g_n: Option<BigUint>,
    /// Bit length of noise exponents: `alpha_len + 128` (lookup) or `key_len = |n|/2` (classic).
    noise_bits: usize,
    n_squared_modulus: MontgomeryModulus,
    /// The base of the noise: `g_n` (lookup) or the DJN generator `h^n mod n²` (classic), the
    /// latter derived from `n` on first use.
    noise_base: OnceLock<BigUint>,
    /// Fixed-base tables modulo n², built on first use.
    tables: OnceLock<PublicTables>,
}

struct PublicTables {
    /// Powers of the noise base.
    noise: FixedBaseTable,
    /// Lookup scheme: powers of `g` (the classic scheme's `g^m = 1 + m·n` needs none).
    g: Option<FixedBaseTable>,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey")
            .field("scheme", &self.scheme)
            .field("key_len", &self.key_len)
            .field("n_bits", &self.n.bits())
            .finish_non_exhaustive()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.scheme == other.scheme
            && self.n == other.n
            && self.g == other.g
            && self.g_n == other.g_n
    }
}

impl Eq for PublicKey {}

impl PublicKey {
    /// A classic (`g = n + 1`) public key for `n`, validated.
    pub fn paillier(key_len: usize, n: BigUint) -> Result<Self> {
        let g = &n + 1u32;
        Self::build(Scheme::Paillier, key_len, n, g, None, key_len)
    }

    /// A lookup-scheme public key, validated (`g_n` must equal `g^n mod n²`).
    pub fn paillier_lookup(
        key_len: usize,
        alpha_len: usize,
        n: BigUint,
        g: BigUint,
        g_n: BigUint,
    ) -> Result<Self> {
        if alpha_len == 0 || alpha_len > key_len {
            return Err(Error::MalformedContext(format!(
                "alpha_len {alpha_len} is outside 1..={key_len}"
            )));
        }
        let pk = Self::build(
            Scheme::PaillierLookup,
            key_len,
            n,
            g,
            Some(g_n),
            alpha_len + NOISE_EXTRA_BITS,
        )?;
        let expected = pk.n_squared_modulus.pow_biguint(&pk.g, &pk.n)?;
        if pk.g_n.as_ref() != Some(&expected) {
            return Err(Error::MalformedContext("g_n is not g^n mod n^2".into()));
        }
        Ok(pk)
    }

    fn build(
        scheme: Scheme,
        key_len: usize,
        n: BigUint,
        g: BigUint,
        g_n: Option<BigUint>,
        noise_bits: usize,
    ) -> Result<Self> {
        if !KEY_LEN_RANGE.contains(&key_len) {
            return Err(Error::MalformedContext(format!(
                "key_len {key_len} is outside the supported {}..={}",
                KEY_LEN_RANGE.start(),
                KEY_LEN_RANGE.end()
            )));
        }
        let n_bits = n.bits() as usize;
        // The SDK's primes have exactly key_len bits each, so n has 2·key_len - 1 or 2·key_len.
        if n_bits > 2 * key_len || n_bits + 1 < 2 * key_len || n.is_even() {
            return Err(Error::MalformedContext(format!(
                "n has {n_bits} bits; an odd modulus of {} bits is expected for key_len {key_len}",
                2 * key_len
            )));
        }
        let n_squared = &n * &n;
        if g.is_zero() || g >= n_squared {
            return Err(Error::MalformedContext("g is not in [1, n^2)".into()));
        }
        if let Some(g_n) = &g_n {
            if g_n.is_zero() || g_n >= &n_squared {
                return Err(Error::MalformedContext("g_n is not in [1, n^2)".into()));
            }
        }
        let n_squared_modulus = MontgomeryModulus::new(&n_squared)?;
        Ok(Self {
            scheme,
            key_len,
            n,
            n_squared,
            g,
            g_n,
            noise_bits,
            n_squared_modulus,
            noise_base: OnceLock::new(),
            tables: OnceLock::new(),
        })
    }

    /// This key's fingerprint (see [`KeyFingerprint`](super::KeyFingerprint)).
    pub fn fingerprint(&self) -> super::KeyFingerprint {
        super::KeyFingerprint::of(self)
    }

    /// The scheme this key belongs to.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Bits of each prime (`n` has `2·key_len` bits).
    pub fn key_len(&self) -> usize {
        self.key_len
    }

    /// The modulus `n`.
    pub fn n(&self) -> &BigUint {
        &self.n
    }

    /// `n²`, the ciphertext modulus.
    pub fn n_squared(&self) -> &BigUint {
        &self.n_squared
    }

    /// The generator `g`.
    pub fn g(&self) -> &BigUint {
        &self.g
    }

    /// `g^n mod n²` (lookup scheme only).
    pub fn g_n(&self) -> Option<&BigUint> {
        self.g_n.as_ref()
    }

    /// The Montgomery constants of `n²`.
    pub fn n_squared_modulus(&self) -> &MontgomeryModulus {
        &self.n_squared_modulus
    }

    /// Width of a ciphertext on the wire: `4·key_len/8` bytes.
    pub fn ciphertext_bytes(&self) -> usize {
        (4 * self.key_len).div_ceil(8)
    }

    /// Limbs of a ciphertext in a [`LimbBatch`].
    pub fn ciphertext_limbs(&self) -> usize {
        self.n_squared_modulus.len()
    }

    /// Checks that `c` is a usable ciphertext: `0 < c < n²`. `index` names it in the error.
    pub fn check_ciphertext(&self, c: &BigUint, index: usize) -> Result<()> {
        if c.is_zero() {
            return Err(Error::InvalidCiphertext {
                index,
                reason: "ciphertext is zero".into(),
            });
        }
        if c >= &self.n_squared {
            return Err(Error::InvalidCiphertext {
                index,
                reason: "ciphertext is not below n^2".into(),
            });
        }
        Ok(())
    }

    /// Ciphertexts as a limb batch, each checked.
    pub fn ciphertext_batch<'a>(
        &self,
        ciphertexts: impl IntoIterator<Item = &'a Ciphertext>,
    ) -> Result<LimbBatch> {
        let mut batch = LimbBatch::new(self.ciphertext_limbs());
        for (i, c) in ciphertexts.into_iter().enumerate() {
            self.check_ciphertext(c.as_biguint(), i)?;
            batch.push(&limbs_from_biguint(
                c.as_biguint(),
                self.ciphertext_limbs(),
            )?)?;
        }
        Ok(batch)
    }

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
        let messages = self.plaintext_batch(plaintexts)?;
        let batch = self.encrypt_limbs(backend, &messages, self.n.bits() as usize)?;
        Ok(self.ciphertexts_of(&batch))
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

    /// Encrypts plaintexts given as limbs (each `< n` and of at most `message_bits` bits, a
    /// public bound that sets the work of the lookup scheme's fixed-base exponentiation).
    ///
    /// Needs only the public key. Noise is `base^x` from a fixed-base table with a fresh random
    /// `x` per ciphertext (see [`noise_exponent_bits`](Self::noise_exponent_bits)).
    pub(crate) fn encrypt_limbs(
        &self,
        backend: &dyn Backend,
        messages: &LimbBatch,
        message_bits: usize,
    ) -> Result<LimbBatch> {
        if messages.is_empty() {
            return Ok(LimbBatch::new(self.ciphertext_limbs()));
        }
        let exponents = self.random_noise_exponents(messages.len())?;
        self.encrypt_limbs_with_noise(backend, messages, message_bits, &exponents)
    }

    /// [`encrypt_limbs`](Self::encrypt_limbs) with the noise exponents given: the ciphertexts
    /// are a deterministic function of the messages and `noise_exponents`.
    pub(crate) fn encrypt_limbs_with_noise(
        &self,
        backend: &dyn Backend,
        messages: &LimbBatch,
        message_bits: usize,
        noise_exponents: &Exponents,
    ) -> Result<LimbBatch> {
        let tables = self.tables()?;
        backend.encrypt(&EncryptionJob {
            n_squared: &self.n_squared_modulus,
            n: &self.n,
            residues: Residues::NSquared(ResidueTables {
                modulus: &self.n_squared_modulus,
                noise: &tables.noise,
                g: tables.g.as_ref(),
            }),
            messages,
            message_bits,
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
        one_plus_mn_times(backend, &self.n_squared_modulus, &self.n, messages, noise)
    }

    /// Bits of every noise exponent `x`: `alpha_len + 128` for the lookup scheme (so `x mod a`
    /// is uniform to within 2^-128); `key_len = |n|/2` for the classic scheme, as in
    /// Damgård–Jurik–Nielsen (see [`noise_base`](Self::noise_base)).
    pub fn noise_exponent_bits(&self) -> usize {
        self.noise_bits
    }

    /// `count` fresh uniform noise exponents of [`noise_exponent_bits`](Self::noise_exponent_bits)
    /// bits, from the operating system's generator.
    pub(crate) fn random_noise_exponents(&self, count: usize) -> Result<Exponents> {
        let mut rng = rand::rngs::OsRng;
        let mut values = LimbBatch::new(self.noise_bits.div_ceil(64));
        for _ in 0..count {
            let x = rng.gen_biguint(self.noise_bits as u64);
            values.push(&limbs_from_biguint(&x, values.limbs_per_item())?)?;
        }
        Ok(Exponents {
            values,
            bits: self.noise_bits,
            secrecy: Secrecy::Secret,
        })
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
        let base = match (&self.scheme, &self.g_n) {
            (Scheme::PaillierLookup, Some(g_n)) => g_n.clone(),
            (Scheme::PaillierLookup, None) => {
                return Err(Error::MalformedContext(
                    "lookup public key without g_n".into(),
                ))
            }
            (Scheme::Paillier, _) => {
                let h = djn_generator(&self.n)?;
                self.n_squared_modulus.pow_biguint(&h, &self.n)?
            }
        };
        Ok(self.noise_base.get_or_init(|| base))
    }

    fn tables(&self) -> Result<&PublicTables> {
        if let Some(tables) = self.tables.get() {
            return Ok(tables);
        }
        let modulus = &self.n_squared_modulus;
        let to_mont =
            |x: &BigUint| -> Result<Vec<u64>> { Ok(modulus.to_montgomery(&modulus.limbs_of(x)?)) };
        let noise = FixedBaseTable::new(
            modulus,
            &to_mont(self.noise_base()?)?,
            self.noise_bits.max(1),
            NOISE_WINDOW_BITS,
        );
        let g = match self.scheme {
            Scheme::Paillier => None,
            Scheme::PaillierLookup => Some(FixedBaseTable::new(
                modulus,
                &to_mont(&self.g)?,
                self.n.bits() as usize,
                NOISE_WINDOW_BITS,
            )),
        };
        Ok(self.tables.get_or_init(|| PublicTables { noise, g }))
    }

    /// Classic encryption, `(1 + m·n)·r^n mod n²` with `r` uniform in `Z_n*`: about 16 times the
    /// work of [`encrypt_batch`](Self::encrypt_batch). Kept as the reference the faster paths
    /// are tested and benchmarked against. Classic scheme only.
    pub fn encrypt_batch_classic(
        &self,
        backend: &dyn Backend,
        plaintexts: &[BigUint],
    ) -> Result<Vec<Ciphertext>> {
        if self.scheme != Scheme::Paillier {
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
        backend.modexp(
            &self.n_squared_modulus,
            &rs,
            &Exponents {
                values: exponent,
                bits: self.n.bits() as usize,
                secrecy: Secrecy::Public,
            },
        )
    }

    /// `g^m mod n²` for any `m` (public-exponent path).
    fn g_pow(&self, m: &BigUint) -> Result<BigUint> {
        match self.scheme {
            Scheme::Paillier => Ok((BigUint::one() + (m % &self.n) * &self.n) % &self.n_squared),
            Scheme::PaillierLookup => self.n_squared_modulus.pow_biguint(&self.g, m),
        }
    }

    /// Homomorphic addition: `Dec(add(a, b)) = Dec(a) + Dec(b) mod n`.
    pub fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        self.check_ciphertext(a.as_biguint(), 0)?;
        self.check_ciphertext(b.as_biguint(), 1)?;
        Ok(Ciphertext::from_biguint(
            (a.as_biguint() * b.as_biguint()) % &self.n_squared,
        ))
    }

    /// Adds a plaintext: `Dec(add_plaintext(c, k)) = Dec(c) + k mod n`.
    pub fn add_plaintext(&self, c: &Ciphertext, k: &BigUint) -> Result<Ciphertext> {
        self.check_ciphertext(c.as_biguint(), 0)?;
        let g_k = self.g_pow(k)?;
        Ok(Ciphertext::from_biguint(
            (c.as_biguint() * g_k) % &self.n_squared,
        ))
    }

    /// Multiplies by a plaintext: `Dec(multiply_plaintext(c, k)) = Dec(c) · k mod n`.
    ///
    /// Uses the public-exponent path: its timing depends on `k`.
    pub fn multiply_plaintext(&self, c: &Ciphertext, k: &BigUint) -> Result<Ciphertext> {
        self.check_ciphertext(c.as_biguint(), 0)?;
        Ok(Ciphertext::from_biguint(
            self.n_squared_modulus.pow_biguint(c.as_biguint(), k)?,
        ))
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
