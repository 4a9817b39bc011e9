//! Execution contexts: keys, configuration, the data key that protects them, and the file format
//! shared with the Python SDK.
//!
//! ```no_run
//! use paillier_gpu::{ContextOptions, ExecutionContext};
//!
//! # fn main() -> paillier_gpu::Result<()> {
//! let ctx = ExecutionContext::create_with_passphrase(&ContextOptions::default(), "passphrase")?;
//! ctx.save_to_disk("ctx.json")?;
//! let loaded = ExecutionContext::load_with_passphrase("ctx.json", "passphrase")?;
//! assert_eq!(ctx, loaded); // equal ids
//! # Ok(()) }
//! ```

pub mod aes;
mod format;
mod key_provider;
mod sealing;
mod tables;

pub use key_provider::{
    DataKey, KeyProvider, PassphraseKeyProvider, RawKeyProvider, ScryptCost, SDK_DEFAULT_SALT,
};
pub use sealing::{FileFormat, AUTHENTICATED_FORMAT};
pub use tables::LookupTables;

use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use num_bigint::BigUint;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::backend::{backend_for, Backend, Device};
use crate::bigint::FixedBaseTable;
use crate::error::{Error, Result};
use crate::formats::ciphertexts::CiphertextShape;
use crate::hamming::{self, EncryptedIndex, EncryptedVector, VectorLayout};
use crate::paillier::{
    generate_keypair, KeyGenOptions, PublicKey, Scheme, SecretKey, MIN_SECURE_ALPHA_LEN,
    MIN_SECURE_KEY_LEN,
};
use format::{
    field, parse_integer, parse_object, parse_usize, py_json_object, py_json_string,
    scheme_of_type, string_field,
};

/// What a new context is made of.
#[derive(Clone, Debug)]
pub struct ContextOptions {
    /// `Paillier` (the default) or `PaillierLookup`.
    pub scheme: Scheme,
    /// Bits of each prime: 1024 by default (a 2048-bit n). Below 1024 needs `allow_insecure`.
    pub key_len: usize,
    /// Dimensions of the binary vectors: 512 by default.
    pub embed_len: usize,
    /// Lookup scheme only: bits of the noise subgroup order, at least 512 unless insecure.
    pub alpha_len: usize,
    /// Permit parameters below the secure minimums. For tests only.
    pub allow_insecure: bool,
    /// The compute device (not part of the id). Defaults to `Cpu`; the library never reads the
    /// environment (the CLI's `--device` and `PAILLIER_GPU_DEVICE` are the binary's).
    pub device: Device,
}

impl Default for ContextOptions {
    fn default() -> Self {
        Self {
            scheme: Scheme::Paillier,
            key_len: MIN_SECURE_KEY_LEN,
            embed_len: 512,
            alpha_len: MIN_SECURE_ALPHA_LEN,
            allow_insecure: false,
            device: Device::Cpu,
        }
    }
}

/// A context's configuration as stored in its `config` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextConfig {
    /// The scheme (from the context `type`).
    pub scheme: Scheme,
    /// Bits of each prime.
    pub key_len: usize,
    /// Dimensions of the vectors.
    pub embed_len: usize,
    /// Lookup scheme: bits of `a`.
    pub alpha_len: Option<usize>,
}

impl ContextConfig {
    /// Lookup scheme: 8-bit windows of a `2·key_len`-bit plaintext (the SDK's table rows).
    pub fn message_chunks(&self) -> usize {
        (2 * self.key_len).div_ceil(8)
    }

    /// The `config` JSON string, as the SDK writes it.
    pub fn to_json(&self) -> String {
        match self.scheme {
            Scheme::Paillier => py_json_object(&[
                ("embed_len", self.embed_len.to_string()),
                ("key_len", self.key_len.to_string()),
            ]),
            Scheme::PaillierLookup => py_json_object(&[
                ("message_chunks", self.message_chunks().to_string()),
                ("alpha_len", self.alpha_len.unwrap_or(0).to_string()),
                ("embed_len", self.embed_len.to_string()),
                ("key_len", self.key_len.to_string()),
            ]),
        }
    }

    fn parse(scheme: Scheme, json: &str) -> Result<Self> {
        let map = parse_object(json, "config")?;
        let key_len = parse_usize(field(&map, "key_len", "config")?, "config key_len")?;
        let embed_len = parse_usize(field(&map, "embed_len", "config")?, "config embed_len")?;
        let alpha_len = match scheme {
            Scheme::Paillier => None,
            Scheme::PaillierLookup => Some(parse_usize(
                field(&map, "alpha_len", "config")?,
                "config alpha_len",
            )?),
        };
        let config = Self {
            scheme,
            key_len,
            embed_len,
            alpha_len,
        };
        if scheme == Scheme::PaillierLookup {
            if let Some(value) = map.get("message_chunks") {
                let chunks = parse_usize(value, "config message_chunks")?;
                if chunks != config.message_chunks() {
                    return Err(Error::MalformedContext(format!(
                        "config message_chunks {chunks} does not match key_len {key_len}"
                    )));
                }
            }
        }
        VectorLayout::new(embed_len, key_len.max(2))
            .map_err(|e| Error::MalformedContext(format!("config: {e}")))?;
        Ok(config)
    }
}

fn public_key_json(pk: &PublicKey) -> String {
    match pk.scheme() {
        // Decimal strings for the classic scheme, bare numbers for the lookup scheme: the SDK's.
        Scheme::Paillier => py_json_object(&[
            ("g", py_json_string(&pk.g().to_string())),
            ("n", py_json_string(&pk.n().to_string())),
            ("n_squared", py_json_string(&pk.n_squared().to_string())),
        ]),
        Scheme::PaillierLookup => py_json_object(&[
            ("g", pk.g().to_string()),
            ("n", pk.n().to_string()),
            ("n_squared", pk.n_squared().to_string()),
            ("g_n", pk.g_n().map(ToString::to_string).unwrap_or_default()),
        ]),
    }
}

fn secret_key_json(sk: &SecretKey) -> Zeroizing<String> {
    Zeroizing::new(match sk.scheme() {
        Scheme::Paillier => py_json_object(&[
            ("phi", py_json_string(&sk.phi().to_string())),
            ("inv", py_json_string(&sk.inv().to_string())),
        ]),
        Scheme::PaillierLookup => py_json_object(&[
            ("phi", sk.phi().to_string()),
            ("a", sk.a().to_string()),
            ("g_a_inv", sk.g_a_inv().to_string()),
        ]),
    })
}

fn parse_public_key(config: &ContextConfig, json: &str) -> Result<PublicKey> {
    let map = parse_object(json, "pk")?;
    let n = parse_integer(field(&map, "n", "pk")?, "pk n")?;
    if let Some(n_squared) = map.get("n_squared") {
        if parse_integer(n_squared, "pk n_squared")? != &n * &n {
            return Err(Error::MalformedContext("pk n_squared is not n^2".into()));
        }
    }
    let g = parse_integer(field(&map, "g", "pk")?, "pk g")?;
    match config.scheme {
        Scheme::Paillier => {
            if g != &n + 1u32 {
                return Err(Error::MalformedContext(
                    "pk g is not n + 1 for a PaillierClient context".into(),
                ));
            }
            PublicKey::paillier(config.key_len, n)
        }
        Scheme::PaillierLookup => {
            let g_n = parse_integer(field(&map, "g_n", "pk")?, "pk g_n")?;
            PublicKey::paillier_lookup(config.key_len, config.alpha_len.unwrap_or(0), n, g, g_n)
        }
    }
}

fn parse_secret_key(pk: &PublicKey, json: &str) -> Result<SecretKey> {
    let map = parse_object(json, "sk")?;
    let phi = parse_integer(field(&map, "phi", "sk")?, "sk phi")?;
    match pk.scheme() {
        Scheme::Paillier => {
            let inv = parse_integer(field(&map, "inv", "sk")?, "sk inv")?;
            SecretKey::paillier(pk, phi, inv)
        }
        Scheme::PaillierLookup => {
            let a = parse_integer(field(&map, "a", "sk")?, "sk a")?;
            let g_a_inv = parse_integer(field(&map, "g_a_inv", "sk")?, "sk g_a_inv")?;
            SecretKey::paillier_lookup(pk, phi, a, g_a_inv)
        }
    }
}

/// The part of a context file a search backend may hold: type, configuration and public key.
///
/// It is read without any passphrase and can build an [`EncryptedIndex`], nothing more.
#[derive(Debug)]
pub struct PublicContext {
    config: ContextConfig,
    public_key: Arc<PublicKey>,
}

impl PublicContext {
    /// Reads the public part of a context file's JSON (the `sk` field is not touched).
    pub fn from_json(json: &str) -> Result<Self> {
        let map = parse_object(json, "context")?;
        Self::from_map(&map)
    }

    /// Reads the public part of a context file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_json(&read_context_file(path.as_ref())?)
    }

    fn from_map(map: &Map<String, Value>) -> Result<Self> {
        let scheme = scheme_of_type(string_field(map, "type", "context")?)?;
        let config = ContextConfig::parse(scheme, string_field(map, "config", "context")?)?;
        let public_key = parse_public_key(&config, string_field(map, "pk", "context")?)?;
        match (map.get("tables"), scheme) {
            (None | Some(Value::Null), _) => {}
            (Some(tables), Scheme::PaillierLookup) => {
                LookupTables::parse(tables, &public_key, config.message_chunks())?;
            }
            // The SDK's classic client dumps no tables: an empty object.
            (Some(Value::Object(empty)), Scheme::Paillier) if empty.is_empty() => {}
            (Some(_), Scheme::Paillier) => {
                return Err(Error::MalformedContext(
                    "tables: a paillier context has no lookup tables".into(),
                ))
            }
        }
        Ok(Self {
            config,
            public_key: Arc::new(public_key),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ContextConfig {
        &self.config
    }

    /// The public key.
    pub fn public_key(&self) -> &Arc<PublicKey> {
        &self.public_key
    }

    /// The vector packing.
    pub fn layout(&self) -> Result<VectorLayout> {
        VectorLayout::new(self.config.embed_len, self.config.key_len)
    }

    /// The shape of this context's ciphertexts in files.
    pub fn ciphertext_shape(&self) -> Result<CiphertextShape> {
        Ok(CiphertextShape {
            chunk_bytes: self.public_key.ciphertext_bytes(),
            chunks: self.layout()?.chunks(),
            key: Some(self.public_key.fingerprint()),
        })
    }

    /// An empty index for this context's vectors on `device`.
    pub fn new_index(&self, device: Device) -> Result<EncryptedIndex> {
        EncryptedIndex::new(self.public_key.clone(), self.config.embed_len, device)
    }
}

/// Largest context file read (a 4096-bit-key context with tables is far below this; the SDK's
/// optional `tables` can be large, and are not needed).
const MAX_CONTEXT_FILE_BYTES: u64 = 256 << 20;

fn read_context_file(path: &Path) -> Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    // Refuse a huge file before reading any of it (the bounded read below still guards files
    // whose length the metadata does not tell, such as pipes).
    let length = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if length > MAX_CONTEXT_FILE_BYTES {
        return Err(Error::MalformedContext(format!(
            "{} is larger than {MAX_CONTEXT_FILE_BYTES} bytes",
            path.display()
        )));
    }
    let mut text = String::new();
    file.take(MAX_CONTEXT_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| Error::io(path, e))?;
    if text.len() as u64 > MAX_CONTEXT_FILE_BYTES {
        return Err(Error::MalformedContext(format!(
            "{} is larger than {MAX_CONTEXT_FILE_BYTES} bytes",
            path.display()
        )));
    }
    Ok(text)
}

/// Everything the data owner needs: both keys, the configuration, the AES data key's provider,
/// and the compute device.
///
/// Two contexts are equal when their ids are: the same keys and configuration, whatever their
/// devices or key providers.
pub struct ExecutionContext {
    config: ContextConfig,
    public_key: Arc<PublicKey>,
    secret_key: Arc<SecretKey>,
    key_provider: Arc<dyn KeyProvider>,
    file_format: FileFormat,
    layout: VectorLayout,
    device: Device,
    backend: Arc<dyn Backend>,
    id: String,
}

impl std::fmt::Debug for ExecutionContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutionContext")
            .field("id", &self.id)
            .field("config", &self.config)
            .field("device", &self.device)
            .field("key_provider", &self.key_provider.provider_id())
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

impl PartialEq for ExecutionContext {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for ExecutionContext {}

impl ExecutionContext {
    /// Generates fresh keys. The data key comes from `key_provider`.
    pub fn create(options: &ContextOptions, key_provider: Arc<dyn KeyProvider>) -> Result<Self> {
        let keygen = KeyGenOptions {
            alpha_len: options.alpha_len,
            allow_insecure: options.allow_insecure,
        };
        let (public_key, secret_key) = generate_keypair(options.scheme, options.key_len, &keygen)?;
        let config = ContextConfig {
            scheme: options.scheme,
            key_len: options.key_len,
            embed_len: options.embed_len,
            alpha_len: (options.scheme == Scheme::PaillierLookup).then_some(options.alpha_len),
        };
        // Fail before anything is returned if the provider cannot produce a key.
        key_provider.data_key()?;
        Self::assemble(
            config,
            public_key,
            secret_key,
            key_provider,
            FileFormat::Authenticated,
            options.device,
        )
    }

    /// [`create`](Self::create) with a passphrase provider and a fresh random salt.
    pub fn create_with_passphrase(options: &ContextOptions, passphrase: &str) -> Result<Self> {
        Self::create(options, Arc::new(PassphraseKeyProvider::new(passphrase)))
    }

    fn assemble(
        config: ContextConfig,
        public_key: PublicKey,
        secret_key: SecretKey,
        key_provider: Arc<dyn KeyProvider>,
        file_format: FileFormat,
        device: Device,
    ) -> Result<Self> {
        let layout = VectorLayout::new(config.embed_len, config.key_len)?;
        let backend = backend_for(device)?;
        let sk_json = secret_key_json(&secret_key);
        let id = context_id(
            &sk_json,
            &public_key_json(&public_key),
            config.scheme.context_type(),
            &config.to_json(),
        );
        Ok(Self {
            config,
            public_key: Arc::new(public_key),
            secret_key: Arc::new(secret_key),
            key_provider,
            file_format,
            layout,
            device,
            backend,
            id,
        })
    }

    /// Reads a context file's JSON. `key_provider` holds the credentials (passphrase, KMS
    /// client ...); the file's `wrapped_key` selects the key.
    pub fn from_json(json: &str, key_provider: &dyn KeyProvider) -> Result<Self> {
        let map = parse_object(json, "context")?;
        let stored_provider = match map.get("key_provider") {
            None => "passphrase",
            Some(Value::String(s)) => s.as_str(),
            Some(_) => {
                return Err(Error::MalformedContext(
                    "context: \"key_provider\" must be a string".into(),
                ))
            }
        };
        if stored_provider != key_provider.provider_id() {
            return Err(Error::KeyProvider(format!(
                "the context was written with key provider {:?}, not {:?}",
                stored_provider.chars().take(64).collect::<String>(),
                key_provider.provider_id()
            )));
        }
        let wrapped = match map.get("wrapped_key") {
            // SDK files from before key providers: the passphrase provider's default salt.
            None | Some(Value::Null) => SDK_DEFAULT_SALT.to_vec(),
            Some(Value::String(s)) => BASE64.decode(s.trim()).map_err(|e| {
                Error::MalformedContext(format!("context: wrapped_key is not base64: {e}"))
            })?,
            Some(_) => {
                return Err(Error::MalformedContext(
                    "context: \"wrapped_key\" must be a string".into(),
                ))
            }
        };
        let provider: Arc<dyn KeyProvider> = Arc::from(key_provider.reconstruct(&wrapped)?);
        Self::from_map(&map, provider)
    }

    /// Reads a context file's JSON protected by a passphrase.
    pub fn from_json_with_passphrase(json: &str, passphrase: &str) -> Result<Self> {
        Self::from_json(
            json,
            &PassphraseKeyProvider::with_salt(passphrase, SDK_DEFAULT_SALT),
        )
    }

    /// Reads the SDK's encrypted dict form (`to_dict_enc`: `sk` encrypted, no key-provider
    /// fields) with the provider that holds its key.
    pub fn from_encrypted_dict(json: &str, key_provider: Arc<dyn KeyProvider>) -> Result<Self> {
        let map = parse_object(json, "context")?;
        Self::from_map(&map, key_provider)
    }

    fn from_map(map: &Map<String, Value>, key_provider: Arc<dyn KeyProvider>) -> Result<Self> {
        let public = PublicContext::from_map(map)?;
        let encrypted_sk = string_field(map, "sk", "context")?;
        let key_check = match map.get("key_check") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(BASE64.decode(s.trim()).map_err(|e| {
                Error::MalformedContext(format!("context: key_check is not base64: {e}"))
            })?),
            Some(_) => {
                return Err(Error::MalformedContext(
                    "context: \"key_check\" must be a string".into(),
                ))
            }
        };
        let file_format = match map.get("format") {
            None | Some(Value::Null) => FileFormat::Sdk,
            Some(Value::String(s)) if s == AUTHENTICATED_FORMAT => FileFormat::Authenticated,
            Some(other) => {
                return Err(Error::MalformedContext(format!(
                    "context: unknown format {:.40} (this build reads the SDK's and {AUTHENTICATED_FORMAT:?})",
                    other.to_string()
                )))
            }
        };
        let key = key_provider.data_key()?;
        if let Some(stored) = &key_check {
            if !key.matches_check_value(stored) {
                return Err(Error::WrongKey);
            }
        }
        let aad = file_format.associated_data(
            string_field(map, "type", "context")?,
            string_field(map, "pk", "context")?,
            string_field(map, "config", "context")?,
        );
        let seal_key = file_format.key(&key, sealing::Purpose::SealSecretKey);
        let sk_json =
            aes::decrypt_with_aad(&seal_key, encrypted_sk, &aad).map_err(
                |failure| match failure {
                    // With a matching key check the key is right, so the ciphertext was changed.
                    aes::DecryptFailure::Authentication if key_check.is_some() => {
                        Error::SecretKeyTampered
                    }
                    aes::DecryptFailure::Authentication => Error::SecretKeyAuthentication,
                    aes::DecryptFailure::Malformed(why) => {
                        Error::MalformedContext(format!("sk: {why}"))
                    }
                },
            )?;
        let sk_text = std::str::from_utf8(&sk_json)
            .map_err(|_| Error::MalformedContext("sk is not UTF-8 text".into()))?;
        Self::from_parts(public, sk_text, key_provider, file_format)
    }

    fn from_parts(
        public: PublicContext,
        sk_json: &str,
        key_provider: Arc<dyn KeyProvider>,
        file_format: FileFormat,
    ) -> Result<Self> {
        let secret_key = parse_secret_key(&public.public_key, sk_json)?;
        let config = public.config;
        warn_if_weak(&config);
        let public_key = Arc::try_unwrap(public.public_key)
            .map_err(|_| Error::MalformedContext("public key is shared".into()))?;
        Self::assemble(
            config,
            public_key,
            secret_key,
            key_provider,
            file_format,
            Device::Cpu,
        )
    }

    /// Reads the plaintext dict form ([`to_plain_json`](Self::to_plain_json)). `key_provider`
    /// becomes the context's provider for later saves.
    pub fn from_plain_json(json: &str, key_provider: Arc<dyn KeyProvider>) -> Result<Self> {
        let map = parse_object(json, "context")?;
        let public = PublicContext::from_map(&map)?;
        let sk = string_field(&map, "sk", "context")?;
        Self::from_parts(public, sk, key_provider, FileFormat::Sdk)
    }

    /// Loads a context file.
    pub fn load_from_disk(path: impl AsRef<Path>, key_provider: &dyn KeyProvider) -> Result<Self> {
        Self::from_json(&read_context_file(path.as_ref())?, key_provider)
    }

    /// Loads a context file protected by a passphrase.
    pub fn load_with_passphrase(path: impl AsRef<Path>, passphrase: &str) -> Result<Self> {
        Self::from_json_with_passphrase(&read_context_file(path.as_ref())?, passphrase)
    }

    /// The file form: `{"sk", "pk", "type", "config", "key_provider", "wrapped_key",
    /// "key_check"}` with `sk` AES-GCM encrypted, and `"format": "paillier-gpu/2"` in our
    /// authenticated form (see [`FileFormat`]; the SDK's `load_from_disk` reads the
    /// [`FileFormat::Sdk`] form, and ignores `key_check`, our addition: see
    /// [`DataKey::check_value`]).
    pub fn to_json(&self) -> Result<String> {
        let mut fields = self.encrypted_fields(self.file_format)?;
        fields.push((
            "key_provider",
            py_json_string(self.key_provider.provider_id()),
        ));
        fields.push((
            "wrapped_key",
            py_json_string(&BASE64.encode(self.key_provider.wrapped_key())),
        ));
        // Ours, not the SDK's (which ignores it): tells a wrong passphrase from a modified `sk`.
        let check = self.key_provider.data_key()?.check_value();
        fields.push(("key_check", py_json_string(&BASE64.encode(check))));
        if self.file_format == FileFormat::Authenticated {
            fields.push(("format", py_json_string(AUTHENTICATED_FORMAT)));
        }
        Ok(py_json_object(&fields))
    }

    /// The SDK's encrypted dict form (`to_dict_enc`): `sk` encrypted, no key-provider fields.
    pub fn to_encrypted_dict(&self) -> Result<String> {
        Ok(py_json_object(&self.encrypted_fields(FileFormat::Sdk)?))
    }

    fn encrypted_fields(&self, file_format: FileFormat) -> Result<Vec<(&'static str, String)>> {
        let (pk, context_type, config) = (
            public_key_json(&self.public_key),
            self.config.scheme.context_type(),
            self.config.to_json(),
        );
        let seal_key = file_format.key(
            &self.key_provider.data_key()?,
            sealing::Purpose::SealSecretKey,
        );
        let sk = aes::encrypt_with_aad(
            &seal_key,
            secret_key_json(&self.secret_key).as_bytes(),
            &file_format.associated_data(context_type, &pk, &config),
        )?;
        Ok(vec![
            ("sk", py_json_string(&sk)),
            ("pk", py_json_string(&pk)),
            ("type", py_json_string(context_type)),
            ("config", py_json_string(&config)),
        ])
    }

    /// The plaintext dict form (`to_dict_plain`): the secret key in clear. Never store or send it.
    pub fn to_plain_json(&self) -> Zeroizing<String> {
        let sk = secret_key_json(&self.secret_key);
        Zeroizing::new(py_json_object(&[
            ("sk", py_json_string(&sk)),
            ("pk", py_json_string(&public_key_json(&self.public_key))),
            ("type", py_json_string(self.config.scheme.context_type())),
            ("config", py_json_string(&self.config.to_json())),
        ]))
    }

    /// Writes the file form atomically (temporary file, fsync, rename).
    pub fn save_to_disk(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::formats::write_atomic(
            path.as_ref(),
            self.to_json()?.as_bytes(),
            crate::formats::Visibility::Private,
        )
    }

    /// The context id: hex SHA-256 over the SDK's plaintext serialisation (FORMAT.md).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The configuration.
    pub fn config(&self) -> &ContextConfig {
        &self.config
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.config.scheme
    }

    /// Bits of each prime.
    pub fn key_len(&self) -> usize {
        self.config.key_len
    }

    /// Dimensions of the vectors.
    pub fn embed_len(&self) -> usize {
        self.config.embed_len
    }

    /// Lookup scheme: bits of `a`.
    pub fn alpha_len(&self) -> Option<usize> {
        self.config.alpha_len
    }

    /// The vector packing.
    pub fn layout(&self) -> &VectorLayout {
        &self.layout
    }

    /// The shape of this context's ciphertexts in files.
    pub fn ciphertext_shape(&self) -> CiphertextShape {
        CiphertextShape {
            chunk_bytes: self.public_key.ciphertext_bytes(),
            chunks: self.layout.chunks(),
            key: Some(self.public_key.fingerprint()),
        }
    }

    /// The public key (shareable with a search backend).
    pub fn public_key(&self) -> &Arc<PublicKey> {
        &self.public_key
    }

    /// The secret key.
    pub fn secret_key(&self) -> &Arc<SecretKey> {
        &self.secret_key
    }

    /// The key provider.
    pub fn key_provider(&self) -> &Arc<dyn KeyProvider> {
        &self.key_provider
    }

    /// The compute device.
    pub fn device(&self) -> Device {
        self.device
    }

    /// The backend running this context's batches.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The same context on another device (the id does not change).
    pub fn with_device(mut self, device: Device) -> Result<Self> {
        self.backend = backend_for(device)?;
        self.device = device;
        Ok(self)
    }

    /// The same context on a backend configured by the caller (a
    /// [`GpuBackend`](crate::backend::gpu::GpuBackend) with chosen options, say). The device
    /// becomes the backend's.
    pub fn with_backend(mut self, backend: Arc<dyn Backend>) -> Self {
        self.device = backend.device();
        self.backend = backend;
        self
    }

    /// The form [`to_json`](Self::to_json) and [`save_to_disk`](Self::save_to_disk) write: the
    /// form the context was read in, [`FileFormat::Authenticated`] for a new one.
    pub fn file_format(&self) -> FileFormat {
        self.file_format
    }

    /// The same context, saved in `file_format` from now on. Changing it changes the content
    /// key too (see [`FileFormat`]): content encrypted before stays readable only in the old form.
    pub fn with_file_format(mut self, file_format: FileFormat) -> Self {
        self.file_format = file_format;
        self
    }

    fn content_key(&self) -> Result<DataKey> {
        Ok(self
            .file_format
            .key(&self.key_provider.data_key()?, sealing::Purpose::Content))
    }

    /// Encrypts bytes with AES-256-GCM (the SDK's layout, base64) under the content key: the data
    /// key itself for a context in the SDK's form, a key derived from it in ours ([`FileFormat`]).
    pub fn encrypt_content(&self, plaintext: &[u8]) -> Result<String> {
        aes::encrypt(&self.content_key()?, plaintext)
    }

    /// Decrypts what [`encrypt_content`](Self::encrypt_content) (or, for a context in the SDK's
    /// form, the SDK) produced.
    pub fn decrypt_content(&self, encoded: &str) -> Result<Zeroizing<Vec<u8>>> {
        aes::decrypt(&self.content_key()?, encoded).map_err(|failure| match failure {
            aes::DecryptFailure::Authentication => Error::ContentAuthentication,
            aes::DecryptFailure::Malformed(why) => {
                Error::InvalidParameter(format!("encrypted content: {why}"))
            }
        })
    }

    /// True when the secret key may go to this context's backend: it is the CPU, or a GPU the
    /// caller chose explicitly ([`Device::Gpu`], [`with_backend`](Self::with_backend)). Under
    /// [`Device::Auto`] secrets stay on the CPU: the GPU path is not constant-time and its memory
    /// may be shared (SECURITY.md).
    fn secrets_may_use_backend(&self) -> bool {
        self.device == Device::Gpu || self.backend.device() == Device::Cpu
    }

    /// The backend for work with the secret key (see `secrets_may_use_backend`).
    fn secret_key_backend(&self) -> Arc<dyn Backend> {
        if self.secrets_may_use_backend() {
            self.backend.clone()
        } else {
            crate::backend::cpu::CpuBackend::shared()
        }
    }

    /// Encrypts binary vectors (values 0 or 1, `embed_len` each): the same ciphertexts as a
    /// public-key-only encryption ([`PublicContext`]). On the CPU, or on a GPU chosen explicitly,
    /// the work is done modulo p² and q² with the secret key (about twice as fast); under
    /// [`Device::Auto`] with a GPU present, the GPU encrypts with the public key only, so that no
    /// secret reaches it.
    pub fn encrypt_vectors<V: AsRef<[u8]>>(&self, vectors: &[V]) -> Result<Vec<EncryptedVector>> {
        hamming::encrypt_vectors(
            self.backend.as_ref(),
            &self.public_key,
            self.secrets_may_use_backend().then_some(&*self.secret_key),
            &self.layout,
            vectors,
        )
    }

    /// Encrypts one binary vector.
    pub fn encrypt_vector(&self, vector: &[u8]) -> Result<EncryptedVector> {
        let mut out = self.encrypt_vectors(&[vector])?;
        out.pop()
            .ok_or_else(|| Error::InvalidParameter("empty encryption result".into()))
    }

    /// Decodes aggregated ciphertexts into Hamming distances, in order, refusing any response
    /// that cannot be an honest aggregate ([`Error::InvalidResponse`]). Runs on the CPU unless
    /// the context's device is explicitly [`Device::Gpu`].
    pub fn decode_distances(&self, responses: &[EncryptedVector]) -> Result<Vec<u32>> {
        hamming::decode_distances(
            self.secret_key_backend().as_ref(),
            &self.public_key,
            &self.secret_key,
            &self.layout,
            responses,
        )
    }

    /// Decodes one aggregated ciphertext.
    pub fn decode_distance(&self, response: &EncryptedVector) -> Result<u32> {
        Ok(self.decode_distances(std::slice::from_ref(response))?[0])
    }

    /// An empty [`EncryptedIndex`] for this context's vectors, on this context's backend.
    pub fn new_index(&self) -> Result<EncryptedIndex> {
        Ok(
            EncryptedIndex::new(self.public_key.clone(), self.config.embed_len, Device::Cpu)?
                .with_backend(self.backend.clone()),
        )
    }

    /// Lookup scheme: the SDK's precomputed tables, `{"g_table": {"0": [...], ...},
    /// "noise_table": [...]}` with `g_table[i][j] = g^(j·2^(8i)) mod n²` and 256 noise entries
    /// `g_n^r`. Large (about 80 MB of JSON at key_len 1024). Classic scheme: an empty object,
    /// as the SDK returns.
    pub fn dump_tables(&self) -> Result<Value> {
        if self.config.scheme != Scheme::PaillierLookup {
            return Ok(Value::Object(Map::new()));
        }
        let pk = &self.public_key;
        let modulus = pk.n_squared_modulus();
        let mont =
            |x: &BigUint| -> Result<Vec<u64>> { Ok(modulus.to_montgomery(&modulus.limbs_of(x)?)) };
        let number = |limbs: &[u64]| -> Result<Value> {
            let decimal = modulus
                .biguint_of(&modulus.from_montgomery(limbs))
                .to_string();
            decimal
                .parse::<serde_json::Number>()
                .map(Value::Number)
                .map_err(|e| Error::InvalidParameter(format!("table entry: {e}")))
        };
        let rows = self.config.message_chunks();
        let table = FixedBaseTable::new(modulus, &mont(pk.g())?, rows * 8, 8);
        let mut g_table = Map::new();
        for row in 0..rows {
            let entries = (0..256)
                .map(|k| number(table.entry(row, k)))
                .collect::<Result<Vec<_>>>()?;
            g_table.insert(row.to_string(), Value::Array(entries));
        }
        let g_n = pk
            .g_n()
            .ok_or_else(|| Error::MalformedContext("lookup public key without g_n".into()))?;
        let noise_bits = self.config.alpha_len.unwrap_or(0) + 128;
        let noise_table = FixedBaseTable::new(modulus, &mont(g_n)?, noise_bits, 4);
        let mut rng = rand::thread_rng();
        let mut noise = Vec::with_capacity(256);
        for _ in 0..256 {
            let r = num_bigint::RandBigInt::gen_biguint(&mut rng, noise_bits as u64);
            let mut e = r.to_u64_digits();
            e.resize(noise_bits.div_ceil(64), 0);
            noise.push(number(&noise_table.pow(modulus, &e, noise_bits))?);
        }
        let mut out = Map::new();
        out.insert("g_table".into(), Value::Object(g_table));
        out.insert("noise_table".into(), Value::Array(noise));
        Ok(Value::Object(out))
    }
}

/// hex SHA-256 of Python's `json.dumps({"sk": sk, "pk": pk, "type": type, "config": config})`.
fn context_id(sk_json: &str, pk_json: &str, type_name: &str, config_json: &str) -> String {
    let plain = Zeroizing::new(py_json_object(&[
        ("sk", py_json_string(sk_json)),
        ("pk", py_json_string(pk_json)),
        ("type", py_json_string(type_name)),
        ("config", py_json_string(config_json)),
    ]));
    let digest = Sha256::digest(plain.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn warn_if_weak(config: &ContextConfig) {
    if let Some(alpha) = config.alpha_len {
        if alpha < MIN_SECURE_ALPHA_LEN / 2 {
            log::warn!(
                "this lookup context has alpha_len {alpha} (< {MIN_SECURE_ALPHA_LEN}): its secret \
                 key can be recovered from the public key by a baby-step giant-step search over \
                 the ~2^{} subgroup; create a new context and re-encrypt",
                alpha / 2
            );
        } else if alpha < MIN_SECURE_ALPHA_LEN {
            log::warn!(
                "this lookup context has alpha_len {alpha} (< {MIN_SECURE_ALPHA_LEN}): the subgroup \
                 attack of Coron et al. (PKC 2011) recovers its secret key from the public key in \
                 about 2^{} operations, below 128-bit security; create a new context and re-encrypt",
                crate::paillier::lookup_attack_work_bits(alpha)
            );
        }
    }
    if config.key_len < MIN_SECURE_KEY_LEN {
        log::warn!(
            "this context has key_len {} (< {MIN_SECURE_KEY_LEN}): n can be factored; use it for \
             tests only",
            config.key_len
        );
    }
}
