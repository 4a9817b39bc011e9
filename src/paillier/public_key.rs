//! The public key: its integers, ciphertext checks and the homomorphic operations (encryption
//! is in `public_encryption.rs`).

use std::sync::OnceLock;

use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::Zero;

use super::{Ciphertext, Scheme, KEY_LEN_RANGE};
use crate::error::{Error, Result};
use crate::hazmat::backend::LimbBatch;
use crate::hazmat::bigint::{limbs_from_biguint, Engine, FixedBaseTable, MontgomeryModulus};

/// Extra bits of lookup noise exponents beyond `alpha_len`, so that `x mod a` is within
/// 2^-128 of uniform without knowing the secret `a`.
pub(super) const NOISE_EXTRA_BITS: usize = 128;

/// Window of the fixed-base noise tables. Each row costs one multiplication and a constant-time
/// scan of `2^w` entries: 5 bits balances the two at the usual widths (docs/design.md).
pub(crate) const NOISE_WINDOW_BITS: usize = 5;

/// Domain separation for the hash that derives the classic scheme's noise generator from `n`.
pub(super) const DJN_GENERATOR_DOMAIN: &[u8] = b"paillier-gpu/djn-noise-generator/v1";

/// What each scheme's public key holds beyond `n` and `g`: one variant per scheme, so that no
/// key can be a lookup key without `g_n`.
pub(super) enum SchemeParams {
    /// Classic: `g = n + 1`; the noise base is derived from `n` (DJN).
    Classic,
    /// Lookup: `g^n mod n²`, the base of the noise.
    Lookup {
        /// `g^n mod n²`.
        g_n: BigUint,
    },
}

/// A Paillier public key of either scheme. Enough to encrypt and to aggregate, never to decrypt.
pub struct PublicKey {
    pub(super) key_len: usize,
    pub(super) n: BigUint,
    pub(super) n_squared: BigUint,
    pub(super) g: BigUint,
    /// What the scheme adds to `n` and `g`.
    pub(super) params: SchemeParams,
    /// Bit length of noise exponents: `alpha_len + 128` (lookup) or `key_len = |n|/2` (classic).
    pub(super) noise_bits: usize,
    pub(super) n_squared_modulus: MontgomeryModulus,
    /// The Montgomery constants of `n` (portable engine), built on first use.
    pub(super) n_modulus: OnceLock<MontgomeryModulus>,
    /// The base of the noise: `g_n` (lookup) or the DJN generator `h^n mod n²` (classic), the
    /// latter derived from `n` on first use.
    pub(super) noise_base: OnceLock<BigUint>,
    /// Fixed-base tables modulo n², built on first use.
    pub(super) tables: OnceLock<PublicTables>,
    /// Dimensions of the vectors this key encrypts in its context (None: a bare key): part of
    /// the fingerprint, since an encryptor packs vectors by it.
    pub(super) vector_dims: Option<usize>,
    /// Public-key encryption under parameters below the secure minimums was allowed when the
    /// key was built ([`with_insecure_parameters_allowed`](Self::with_insecure_parameters_allowed)):
    /// fixed for the key's life, so every holder of a shared key sees the same choice.
    pub(super) insecure_allowed: bool,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey")
            .field("scheme", &self.scheme())
            .field("key_len", &self.key_len)
            .field("n_bits", &self.n.bits())
            .finish_non_exhaustive()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.scheme() == other.scheme()
            && self.n == other.n
            && self.g == other.g
            && self.g_n() == other.g_n()
    }
}

impl Eq for PublicKey {}

impl PublicKey {
    /// A classic (`g = n + 1`) public key for `n`, validated.
    pub fn paillier(key_len: usize, n: BigUint) -> Result<Self> {
        let g = &n + 1u32;
        Self::build(SchemeParams::Classic, key_len, n, g, key_len)
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
            SchemeParams::Lookup { g_n },
            key_len,
            n,
            g,
            alpha_len + NOISE_EXTRA_BITS,
        )?;
        let expected = pk.n_squared_modulus.pow_biguint_vartime(&pk.g, &pk.n)?;
        if pk.g_n() != Some(&expected) {
            return Err(Error::MalformedContext("g_n is not g^n mod n^2".into()));
        }
        Ok(pk)
    }

    fn build(
        params: SchemeParams,
        key_len: usize,
        n: BigUint,
        g: BigUint,
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
        if let SchemeParams::Lookup { g_n } = &params {
            if g_n.is_zero() || g_n >= &n_squared {
                return Err(Error::MalformedContext("g_n is not in [1, n^2)".into()));
            }
        }
        let n_squared_modulus = MontgomeryModulus::new(&n_squared)?;
        Ok(Self {
            key_len,
            n,
            n_squared,
            g,
            params,
            noise_bits,
            n_squared_modulus,
            noise_base: OnceLock::new(),
            n_modulus: OnceLock::new(),
            tables: OnceLock::new(),
            vector_dims: None,
            insecure_allowed: false,
        })
    }

    /// The same key bound to a context's vectors of `embed_len` dimensions, which its
    /// fingerprint then covers.
    pub fn with_vector_dims(mut self, embed_len: usize) -> Self {
        self.vector_dims = Some(embed_len);
        self
    }

    /// The vector dimensions this key is bound to (see [`with_vector_dims`](Self::with_vector_dims)).
    pub fn vector_dims(&self) -> Option<usize> {
        self.vector_dims
    }

    /// Lookup scheme: bits of the noise subgroup order `a` (None for the classic scheme).
    pub fn alpha_len(&self) -> Option<usize> {
        match self.params {
            SchemeParams::Classic => None,
            SchemeParams::Lookup { .. } => Some(self.noise_bits - NOISE_EXTRA_BITS),
        }
    }

    /// The same key, with public-key encryption allowed under parameters below the secure
    /// minimums (a lookup key's `alpha_len` below
    /// [`MIN_SECURE_ALPHA_LEN`](super::MIN_SECURE_ALPHA_LEN)). For tests and for reading old data
    /// only: such keys can be broken. A choice made while the key is built, by value, before it
    /// is shared: a key that others hold (an `Arc`) never changes under them.
    pub fn with_insecure_parameters_allowed(mut self) -> Self {
        self.insecure_allowed = true;
        self
    }

    /// Whether public-key encryption under insecure parameters was allowed when the key was
    /// built (see [`with_insecure_parameters_allowed`](Self::with_insecure_parameters_allowed)).
    pub fn insecure_parameters_allowed(&self) -> bool {
        self.insecure_allowed
    }

    /// Why public-key encryption under this key is refused, if it is: an `alpha_len` below
    /// the secure minimum, unless the key was built
    /// [`with_insecure_parameters_allowed`](Self::with_insecure_parameters_allowed).
    pub fn check_encryption_parameters(&self) -> Result<()> {
        match self.alpha_len() {
            Some(alpha) if alpha < super::MIN_SECURE_ALPHA_LEN && !self.insecure_allowed => {
                Err(Error::InsecureParameters(format!(
                    "this lookup key has alpha_len {alpha} (< {}): its noise is too short and its \
                     secret key can be recovered from the public key; public-key encryption \
                     under it needs insecure parameters allowed explicitly (--insecure)",
                    super::MIN_SECURE_ALPHA_LEN
                )))
            }
            _ => Ok(()),
        }
    }

    /// An unshared copy of this key (its integers, choices and what it has built so far), for
    /// a context that changes a choice made when its key was built while others share the key.
    pub(crate) fn unshared_copy(&self) -> Self {
        let params = match &self.params {
            SchemeParams::Classic => SchemeParams::Classic,
            SchemeParams::Lookup { g_n } => SchemeParams::Lookup { g_n: g_n.clone() },
        };
        Self {
            key_len: self.key_len,
            n: self.n.clone(),
            n_squared: self.n_squared.clone(),
            g: self.g.clone(),
            params,
            noise_bits: self.noise_bits,
            n_squared_modulus: self.n_squared_modulus.clone(),
            n_modulus: self.n_modulus.clone(),
            noise_base: self.noise_base.clone(),
            tables: self.tables.clone(),
            vector_dims: self.vector_dims,
            insecure_allowed: self.insecure_allowed,
        }
    }

    /// This key's fingerprint (see [`KeyFingerprint`](super::KeyFingerprint)).
    pub fn fingerprint(&self) -> super::KeyFingerprint {
        super::KeyFingerprint::of(self)
    }

    /// The scheme this key belongs to.
    pub fn scheme(&self) -> Scheme {
        match self.params {
            SchemeParams::Classic => Scheme::Paillier,
            SchemeParams::Lookup { .. } => Scheme::PaillierLookup,
        }
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
        match &self.params {
            SchemeParams::Classic => None,
            SchemeParams::Lookup { g_n } => Some(g_n),
        }
    }

    /// The Montgomery constants of `n²`.
    pub fn n_squared_modulus(&self) -> &MontgomeryModulus {
        &self.n_squared_modulus
    }

    /// The Montgomery constants of `n` on the portable engine (products and reductions modulo
    /// n, no exponentiations), built on first use.
    pub fn n_modulus(&self) -> Result<&MontgomeryModulus> {
        if let Some(modulus) = self.n_modulus.get() {
            return Ok(modulus);
        }
        let modulus = MontgomeryModulus::with_engine(&self.n, Engine::Portable)?;
        Ok(self.n_modulus.get_or_init(|| modulus))
    }

    /// Width of a ciphertext on the wire: `4·key_len/8` bytes.
    pub fn ciphertext_bytes(&self) -> usize {
        (4 * self.key_len).div_ceil(8)
    }

    /// Limbs of a ciphertext in a [`LimbBatch`].
    pub fn ciphertext_limbs(&self) -> usize {
        self.n_squared_modulus.len()
    }

    /// Checks that `c` is in a ciphertext's range: `0 < c < n²`. `index` names it in the error.
    /// A [`CiphertextBatch`](super::CiphertextBatch) made from outside values checks this and
    /// that each shares no factor with n.
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

    /// Multiplies by a plaintext: `Dec(multiply_plaintext_vartime(c, k)) = Dec(c) · k mod n`.
    ///
    /// Uses the public-exponent path: its timing depends on `k`.
    pub fn multiply_plaintext_vartime(&self, c: &Ciphertext, k: &BigUint) -> Result<Ciphertext> {
        self.check_ciphertext(c.as_biguint(), 0)?;
        Ok(Ciphertext::from_biguint(
            self.n_squared_modulus
                .pow_biguint_vartime(c.as_biguint(), k)?,
        ))
    }
}

/// Fixed-base tables modulo n², built on first use.
#[derive(Clone)]
pub(super) struct PublicTables {
    /// Powers of the noise base.
    pub(super) noise: FixedBaseTable,
    /// Lookup scheme: powers of `g` (the classic scheme's `g^m = 1 + m·n` needs none).
    pub(super) g: Option<FixedBaseTable>,
    /// n, the square root of the tables' modulus (a backend may compute on its digits).
    pub(super) root: MontgomeryModulus,
}
