//! Where the AES data key that protects a context's secret key comes from.

use std::sync::OnceLock;

use rand::RngCore;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

/// A 256-bit AES key. Wiped on drop; `Debug` prints nothing of it.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    /// Wraps raw key bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// A fresh random key.
    pub fn random() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let key = Self::new(bytes);
        bytes.zeroize();
        key
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Domain separation for [`DataKey::check_value`].
const KEY_CHECK_DOMAIN: &[u8] = b"paillier-gpu/key-check/v1";

impl DataKey {
    /// A 16-byte key check value: `SHA-256(domain ‖ key)[..16]`, stored in our context files as
    /// `key_check` so that loading can tell a wrong passphrase from a modified `sk`.
    ///
    /// It reveals nothing an attacker holding the file could not already test: the encrypted `sk`
    /// itself confirms a guessed key, at the same scrypt cost per guess.
    pub fn check_value(&self) -> [u8; 16] {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(KEY_CHECK_DOMAIN)
            .chain_update(self.0.as_slice())
            .finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        out
    }

    /// True when `stored` equals this key's [`check_value`](Self::check_value), compared in
    /// constant time.
    pub fn matches_check_value(&self, stored: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        stored.len() == 16 && bool::from(self.check_value().ct_eq(stored))
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// Supplies the AES data key of a context and the opaque "wrapped" form stored beside it.
///
/// The file stores `key_provider` ([`provider_id`](Self::provider_id)) and `wrapped_key`
/// (base64 of [`wrapped_key`](Self::wrapped_key)). Loading calls
/// [`reconstruct`](Self::reconstruct) on a provider that holds the credentials (a passphrase, a
/// KMS client ...) to rebuild the provider for that file. `examples/envelope_key_provider.rs`
/// shows a KMS-style envelope provider.
pub trait KeyProvider: Send + Sync {
    /// Short name stored as `key_provider` (`passphrase`, `raw`, `aws_kms` ...).
    fn provider_id(&self) -> &str;

    /// The 256-bit AES key.
    fn data_key(&self) -> Result<DataKey>;

    /// Opaque bytes that let [`reconstruct`](Self::reconstruct) recover the key later (the
    /// passphrase provider stores its salt; an envelope provider the encrypted data key).
    fn wrapped_key(&self) -> Vec<u8>;

    /// A provider for the key that `wrapped` (read from a file) protects, using this provider's
    /// credentials.
    fn reconstruct(&self, wrapped: &[u8]) -> Result<Box<dyn KeyProvider>>;
}

/// The salt the Python SDK uses when none is given. New contexts of ours get a random salt.
pub const SDK_DEFAULT_SALT: &[u8] = b"xtrace-aes-gcm-v1";

/// scrypt's cost parameters: N = 2^`log_n`, r, p. Memory is 128·r·N bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScryptCost {
    /// log2 of N.
    pub log_n: u8,
    /// Block size.
    pub r: u32,
    /// Parallelism.
    pub p: u32,
}

impl ScryptCost {
    /// The SDK's cost (N = 2^14, r = 8, p = 1: 16 MiB, tens of milliseconds). Files with it are
    /// the SDK's: `wrapped_key` holds only the salt.
    pub const SDK: ScryptCost = ScryptCost {
        log_n: 14,
        r: 8,
        p: 1,
    };
    /// Eight times the SDK's work and memory (N = 2^17: 128 MiB, a few hundred milliseconds),
    /// for our own files. The SDK cannot open a file with it.
    pub const STRONG: ScryptCost = ScryptCost {
        log_n: 17,
        r: 8,
        p: 1,
    };
    /// The most work a cost may ask for, in bytes of scrypt memory times its parallelism: the
    /// strong cost's (128 MiB, p = 1). A file that asks for more (a tampered `wrapped_key`) is
    /// refused before any scrypt runs, rather than cost seconds and a gigabyte per attempt.
    pub const MAX_WORK_BYTES: u64 = 128 << 20;

    fn check(self) -> Result<Self> {
        if !(10..=30).contains(&self.log_n) || self.r == 0 || !(1..=16).contains(&self.p) {
            return Err(Error::KeyProvider(format!(
                "scrypt cost out of range: log_n {}, r {}, p {}",
                self.log_n, self.r, self.p
            )));
        }
        let work = 128u64
            .saturating_mul(u64::from(self.r))
            .saturating_mul(1u64 << self.log_n)
            .saturating_mul(u64::from(self.p));
        if work > Self::MAX_WORK_BYTES {
            return Err(Error::KeyProvider(format!(
                "scrypt cost log_n {}, r {}, p {} asks for {work} bytes of memory times \
                 parallelism, above the strong cost's {} (a context file this crate or the SDK \
                 wrote never does)",
                self.log_n,
                self.r,
                self.p,
                Self::MAX_WORK_BYTES
            )));
        }
        Ok(self)
    }
}

/// Marks a `wrapped_key` that states its scrypt cost (version 2): this tag, log_n (1 byte), r and
/// p (u32 big-endian each), then the salt. Without it, `wrapped_key` is the salt alone and the
/// cost is the SDK's.
const COST_TAG: &[u8] = b"paillier-gpu/scrypt/2\0";

/// False for a passphrase provider with a cost other than the SDK's: the SDK would read the
/// cost tag as salt and derive another key, so such a context has no SDK form.
pub(crate) fn sdk_can_open(provider: &dyn KeyProvider) -> bool {
    !(provider.provider_id() == "passphrase" && provider.wrapped_key().starts_with(COST_TAG))
}

/// Derives the AES key from a passphrase with scrypt: the SDK's cost (N = 2^14, r = 8, p = 1) by
/// default, or a stronger [`ScryptCost`] stated in the file.
///
/// The derivation runs once, on first use.
///
/// ```
/// use paillier_gpu::context::{KeyProvider, PassphraseKeyProvider, ScryptCost};
/// let provider = PassphraseKeyProvider::new("correct horse battery staple");
/// assert_eq!(provider.provider_id(), "passphrase");
/// assert_eq!(provider.wrapped_key().len(), 16); // a random salt
/// assert_eq!(provider.cost(), ScryptCost::SDK);
/// ```
pub struct PassphraseKeyProvider {
    passphrase: Zeroizing<String>,
    salt: Vec<u8>,
    cost: ScryptCost,
    key: OnceLock<DataKey>,
}

impl std::fmt::Debug for PassphraseKeyProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassphraseKeyProvider")
            .field("passphrase", &"<redacted>")
            .field("salt_len", &self.salt.len())
            .field("cost", &self.cost)
            .finish()
    }
}

impl PassphraseKeyProvider {
    /// A provider with a fresh random 16-byte salt (for new contexts).
    pub fn new(passphrase: &str) -> Self {
        let mut salt = vec![0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        Self::with_salt(passphrase, &salt)
    }

    /// A provider with a given salt (`SDK_DEFAULT_SALT` reproduces the SDK's default).
    pub fn with_salt(passphrase: &str, salt: &[u8]) -> Self {
        Self {
            passphrase: Zeroizing::new(passphrase.to_owned()),
            salt: salt.to_vec(),
            cost: ScryptCost::SDK,
            key: OnceLock::new(),
        }
    }

    /// A provider with a fresh random salt and scrypt `cost` (stated in the file when it is not
    /// the SDK's). Errors when the cost is out of range or needs more than
    /// [`ScryptCost::MAX_WORK_BYTES`].
    pub fn with_cost(passphrase: &str, cost: ScryptCost) -> Result<Self> {
        Ok(Self {
            cost: cost.check()?,
            ..Self::new(passphrase)
        })
    }

    /// The scrypt cost.
    pub fn cost(&self) -> ScryptCost {
        self.cost
    }

    /// The salt.
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }
}

impl KeyProvider for PassphraseKeyProvider {
    fn provider_id(&self) -> &str {
        "passphrase"
    }

    fn data_key(&self) -> Result<DataKey> {
        if let Some(key) = self.key.get() {
            return Ok(key.clone());
        }
        let cost = self.cost;
        let params = scrypt::Params::new(cost.log_n, cost.r, cost.p, 32)
            .map_err(|e| Error::KeyProvider(format!("scrypt parameters: {e}")))?;
        let mut bytes = [0u8; 32];
        scrypt::scrypt(self.passphrase.as_bytes(), &self.salt, &params, &mut bytes)
            .map_err(|e| Error::KeyProvider(format!("scrypt: {e}")))?;
        let key = DataKey::new(bytes);
        bytes.zeroize();
        Ok(self.key.get_or_init(|| key).clone())
    }

    fn wrapped_key(&self) -> Vec<u8> {
        if self.cost == ScryptCost::SDK {
            return self.salt.clone();
        }
        let mut wrapped = COST_TAG.to_vec();
        wrapped.push(self.cost.log_n);
        wrapped.extend_from_slice(&self.cost.r.to_be_bytes());
        wrapped.extend_from_slice(&self.cost.p.to_be_bytes());
        wrapped.extend_from_slice(&self.salt);
        wrapped
    }

    fn reconstruct(&self, wrapped: &[u8]) -> Result<Box<dyn KeyProvider>> {
        let (cost, salt) = match wrapped.strip_prefix(COST_TAG) {
            None => (ScryptCost::SDK, wrapped),
            Some(rest) if rest.len() > 9 => {
                let word = |at: usize| {
                    u32::from_be_bytes([rest[at], rest[at + 1], rest[at + 2], rest[at + 3]])
                };
                let cost = ScryptCost {
                    log_n: rest[0],
                    r: word(1),
                    p: word(5),
                };
                (cost.check()?, &rest[9..])
            }
            Some(_) => {
                return Err(Error::KeyProvider(
                    "wrapped_key states a scrypt cost but holds no salt".into(),
                ))
            }
        };
        if salt.is_empty() {
            return Err(Error::KeyProvider("empty passphrase salt".into()));
        }
        Ok(Box::new(Self {
            cost,
            ..Self::with_salt(&self.passphrase, salt)
        }))
    }
}

/// A data key supplied directly by the caller (from their own secret store). Nothing is stored
/// in `wrapped_key`: the caller must supply the same key to load the context.
#[derive(Clone, Debug)]
pub struct RawKeyProvider {
    key: DataKey,
}

impl RawKeyProvider {
    /// A provider for `key`.
    pub fn new(key: DataKey) -> Self {
        Self { key }
    }
}

impl KeyProvider for RawKeyProvider {
    fn provider_id(&self) -> &str {
        "raw"
    }

    fn data_key(&self) -> Result<DataKey> {
        Ok(self.key.clone())
    }

    fn wrapped_key(&self) -> Vec<u8> {
        Vec::new()
    }

    fn reconstruct(&self, _wrapped: &[u8]) -> Result<Box<dyn KeyProvider>> {
        Ok(Box::new(self.clone()))
    }
}
