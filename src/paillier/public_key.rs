//! The public key: encryption and the homomorphic operations.

use std::sync::OnceLock;

use num_bigint::{BigUint, RandBigInt};
use num_integer::Integer;
use num_traits::{One, Zero};

use super::{Ciphertext, Scheme, KEY_LEN_RANGE};
use crate::backend::{Backend, Exponents, LimbBatch, Secrecy};
use crate::bigint::{limbs_from_biguint, FixedBaseTable, MontgomeryModulus};
use crate::error::{Error, Result};

/// Extra bits of lookup noise exponents beyond `alpha_len`, so that `x mod a` is within
/// 2^-128 of uniform without knowing the secret `a`.
const NOISE_EXTRA_BITS: usize = 128;

/// A Paillier public key of either scheme. Enough to encrypt and to aggregate, never to decrypt.
pub struct PublicKey {
    scheme: Scheme,
    key_len: usize,
    n: BigUint,
    n_squared: BigUint,
    g: BigUint,
    /// `g^n mod n²` (lookup scheme only): the base of the noise.
    g_n: Option<BigUint>,
    /// Bit length of lookup noise exponents (`alpha_len + 128`); 0 for the classic scheme.
    noise_bits: usize,
    n_squared_modulus: MontgomeryModulus,
    /// Lookup scheme: fixed-base tables of `g` and `g_n`, built on first use.
    lookup_tables: OnceLock<LookupTables>,
}

struct LookupTables {
    g: FixedBaseTable,
    g_n: FixedBaseTable,
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
        Self::build(Scheme::Paillier, key_len, n, g, None, 0)
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
            lookup_tables: OnceLock::new(),
        })
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
        let batch = self.encrypt_limbs(backend, &messages, self.n.bits() as usize)?;
        Ok(batch
            .iter()
            .map(|c| Ciphertext::from_biguint(self.n_squared_modulus.biguint_of(c)))
            .collect())
    }

    /// Encrypts plaintexts given as limbs (each `< n` and of at most `message_bits` bits, a
    /// public bound that sets the work of the lookup scheme's fixed-base exponentiation).
    pub(crate) fn encrypt_limbs(
        &self,
        backend: &dyn Backend,
        messages: &LimbBatch,
        message_bits: usize,
    ) -> Result<LimbBatch> {
        if messages.is_empty() {
            return Ok(LimbBatch::new(self.ciphertext_limbs()));
        }
        let modulus = &self.n_squared_modulus;
        match self.scheme {
            Scheme::Paillier => {
                // c = (1 + m·n) · r^n mod n².
                let noise = self.classic_noise(backend, messages.len())?;
                let mut g_m = LimbBatch::new(self.ciphertext_limbs());
                for m in messages.iter() {
                    let m = modulus.biguint_of(m);
                    let value = (BigUint::one() + m * &self.n) % &self.n_squared;
                    g_m.push(&limbs_from_biguint(&value, self.ciphertext_limbs())?)?;
                }
                backend.modmul(modulus, &g_m, &noise)
            }
            Scheme::PaillierLookup => {
                // c = g^m · g_n^x mod n², x fresh for every ciphertext.
                let tables = self.lookup_tables();
                let g_m = backend.fixed_base_pow(
                    modulus,
                    &tables.g,
                    &Exponents {
                        values: messages.clone(),
                        bits: message_bits,
                        secrecy: Secrecy::Secret,
                    },
                )?;
                let mut rng = rand::thread_rng();
                let mut xs = LimbBatch::new(self.noise_bits.div_ceil(64));
                for _ in 0..messages.len() {
                    let x = rng.gen_biguint(self.noise_bits as u64);
                    xs.push(&limbs_from_biguint(&x, xs.limbs_per_item())?)?;
                }
                let noise = backend.fixed_base_pow(
                    modulus,
                    &tables.g_n,
                    &Exponents {
                        values: xs,
                        bits: self.noise_bits,
                        secrecy: Secrecy::Secret,
                    },
                )?;
                backend.modmul(modulus, &g_m, &noise)
            }
        }
    }

    /// `count` values `r^n mod n²` with `r` uniform in `Z_n^*`.
    fn classic_noise(&self, backend: &dyn Backend, count: usize) -> Result<LimbBatch> {
        let mut rng = rand::thread_rng();
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

    fn lookup_tables(&self) -> &LookupTables {
        self.lookup_tables.get_or_init(|| {
            let modulus = &self.n_squared_modulus;
            let to_mont = |x: &BigUint| {
                // g and g_n were checked to be below n² when the key was built.
                let limbs = limbs_from_biguint(x, modulus.len()).unwrap_or_default();
                modulus.to_montgomery(&limbs)
            };
            let g_n = self.g_n.clone().unwrap_or_default();
            LookupTables {
                g: FixedBaseTable::new(modulus, &to_mont(&self.g), self.n.bits() as usize, 4),
                g_n: FixedBaseTable::new(modulus, &to_mont(&g_n), self.noise_bits.max(1), 4),
            }
        })
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
