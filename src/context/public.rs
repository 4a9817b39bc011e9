//! What a search backend holds: the public part of a context file.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

use super::format::{
    parse_context_object, py_json_object, py_json_string, scheme_of_type, string_field,
};
use super::sdk_json::{parse_public_key, public_key_json};
use super::*;
use crate::error::{Error, Result};
use crate::formats::ciphertexts::CiphertextShape;
use crate::hamming::{EncryptedIndex, VectorLayout};
use crate::hazmat::backend::{Backend, Device};
use crate::paillier::{Encryptor, PublicKey, Scheme, SecretKey};

/// Who encrypts with `owner` at hand: the owner, or the public key without it.
pub(super) fn encryptor(owner: Option<&SecretKey>) -> Encryptor<'_> {
    owner.map_or(Encryptor::Public, Encryptor::Owner)
}

/// The part of a context file a search backend may hold: type, configuration and public key.
///
/// It is read without any passphrase and can encrypt and build an [`EncryptedIndex`], nothing
/// more. Its `device` (CPU by default) picks the backend its encryptions run on. A clone is the
/// same context: it shares the key (and what it has built on first use) and the backend.
///
/// It never holds a secret. An [`ExecutionContext`](super::ExecutionContext) is a public context
/// plus the owner's capability, the secret key, which the execution context alone holds: its
/// [`public`](super::ExecutionContext::public) view is its public context, and its own
/// encryption methods (the same names, the same signatures) run as
/// the owner (modulo p² and q², about half the work) wherever the secret key may go to the
/// backend. Each encryption is written once, here, with [`Encryptor`] as its one parameter of
/// who encrypts. Through a `PublicContext` (the execution context's, a clone of it,
/// [`public_context`](super::ExecutionContext::public_context)) every encryption is the public
/// key's: the same ciphertext distribution.
#[derive(Clone)]
pub struct PublicContext {
    pub(super) config: ContextConfig,
    pub(super) public_key: Arc<PublicKey>,
    pub(super) device: Device,
    pub(super) backend: OnceLock<Arc<dyn Backend>>,
}

impl std::fmt::Debug for PublicContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicContext")
            .field("config", &self.config)
            .field("public_key", &self.public_key)
            .field("device", &self.device)
            .finish()
    }
}

impl PartialEq for PublicContext {
    /// The same key and configuration, whatever the devices.
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config && self.public_key == other.public_key
    }
}

impl Eq for PublicContext {}

impl PublicContext {
    /// Reads the public part of a context file's JSON (the `sk` field is not touched), or what
    /// [`to_public_json`](Self::to_public_json) wrote. A weak configuration is logged as a
    /// warning (see [`ContextConfig::weaknesses`]).
    pub fn from_public_json(json: &str) -> Result<Self> {
        let map = parse_context_object(json)?;
        let public = Self::from_map(&map)?;
        super::options::warn_if_weak(&public.config);
        Ok(public)
    }

    /// Reads the public part of a context file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        Self::from_public_json(&read_context_file(path)?).map_err(|e| e.in_file(path))
    }

    pub(super) fn from_map(map: &Map<String, Value>) -> Result<Self> {
        let scheme = scheme_of_type(string_field(map, "type", "context")?)?;
        let config = ContextConfig::parse(scheme, string_field(map, "config", "context")?)?;
        let public_key = parse_public_key(&config, string_field(map, "pk", "context")?)?
            .with_vector_dims(config.embed_len);
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
        Ok(Self::new(config, Arc::new(public_key), Device::Cpu))
    }

    pub(super) fn new(config: ContextConfig, public_key: Arc<PublicKey>, device: Device) -> Self {
        Self {
            config,
            public_key,
            device,
            backend: OnceLock::new(),
        }
    }

    /// True when the owner's secret key may go to this context's backend: it is the CPU, or a
    /// GPU the caller chose explicitly ([`Device::Gpu`], `with_backend`). Under [`Device::Auto`]
    /// secrets stay on the CPU: the GPU path is not constant-time and its memory may be shared
    /// (SECURITY.md).
    pub(super) fn secrets_may_use_backend(&self) -> Result<bool> {
        Ok(self.device == Device::Gpu || self.backend()?.device() == Device::Cpu)
    }

    /// The same context with public-key encryption allowed under parameters below the secure
    /// minimums (see [`PublicKey::with_insecure_parameters_allowed`]): a choice made while the
    /// context is built, before its key is shared. Clones made before keep refusing: if one
    /// shares the key, this context takes an unshared copy of it.
    pub fn with_insecure_parameters_allowed(mut self) -> Self {
        if !self.public_key.insecure_parameters_allowed() {
            let key =
                Arc::try_unwrap(self.public_key).unwrap_or_else(|shared| shared.unshared_copy());
            self.public_key = Arc::new(key.with_insecure_parameters_allowed());
        }
        self
    }

    /// The compute device of its encryptions.
    pub fn device(&self) -> Device {
        self.device
    }

    /// The same context on another device; the backend is attached when first used.
    pub fn with_device(mut self, device: Device) -> Self {
        self.device = device;
        self.backend = OnceLock::new();
        self
    }

    /// The same context on a backend configured by the caller (a
    /// [`GpuBackend`](crate::hazmat::backend::gpu::GpuBackend) with chosen options, say). The
    /// device becomes the backend's; the id does not change.
    pub fn with_backend(mut self, backend: Arc<dyn Backend>) -> Self {
        self.device = backend.device();
        self.backend = OnceLock::from(backend);
        self
    }

    /// The backend its encryptions run on, attached on first use ([`Error::GpuUnavailable`]
    /// for [`Device::Gpu`] without an adapter).
    pub fn backend(&self) -> Result<&Arc<dyn Backend>> {
        if let Some(backend) = self.backend.get() {
            return Ok(backend);
        }
        let backend = crate::hazmat::backend::backend_for(self.device)?;
        Ok(self.backend.get_or_init(|| backend))
    }

    /// The configuration.
    pub fn config(&self) -> &ContextConfig {
        &self.config
    }

    /// The public key.
    pub fn public_key(&self) -> &Arc<PublicKey> {
        &self.public_key
    }

    /// The vector packing ([`ExecutionContext::layout`](super::ExecutionContext::layout) has it
    /// at hand; here it is checked on each call).
    pub fn try_layout(&self) -> Result<VectorLayout> {
        VectorLayout::new(self.config.embed_len, self.config.key_len)
    }

    /// The shape of this context's ciphertexts in files (what
    /// [`ExecutionContext::ciphertext_shape`](super::ExecutionContext::ciphertext_shape) gives
    /// without a check).
    pub fn try_ciphertext_shape(&self) -> Result<CiphertextShape> {
        Ok(CiphertextShape {
            piece_bytes: self.public_key.ciphertext_bytes(),
            pieces: self.try_layout()?.pieces(),
            key: Some(self.public_key.fingerprint()),
        })
    }

    /// The public fields of a context file, `{"pk", "type", "config"}`, as JSON text that
    /// [`from_public_json`](Self::from_public_json) reads back: what to hand to a worker that
    /// encrypts or aggregates (no secret key, sealed or not). [`ExecutionContext::to_json`]
    /// writes the whole context file instead.
    ///
    /// [`ExecutionContext::to_json`]: super::ExecutionContext::to_json
    pub fn to_public_json(&self) -> String {
        py_json_object(&[
            ("pk", py_json_string(&public_key_json(&self.public_key))),
            ("type", py_json_string(self.config.scheme.context_type())),
            ("config", py_json_string(&self.config.to_json())),
        ])
    }

    /// Encrypts binary vectors (values 0 or 1, `embed_len` each) on this context's backend, one
    /// record per vector (what the file writers and [`EncryptedIndex::insert_batch`] take), under
    /// the public key ([`ExecutionContext::encrypt_batch`](super::ExecutionContext::encrypt_batch)
    /// encrypts as the owner: the same ciphertexts, about twice as fast).
    pub fn encrypt_batch<V: AsRef<[u8]> + Sync>(
        &self,
        vectors: &[V],
    ) -> Result<crate::paillier::CiphertextBatch> {
        self.encrypt_batch_as(None, vectors)
    }

    /// [`encrypt_batch`](Self::encrypt_batch) by `owner`'s secret key where given (the
    /// execution context's, where it may go to the backend), else by the public key.
    pub(super) fn encrypt_batch_as<V: AsRef<[u8]> + Sync>(
        &self,
        owner: Option<&SecretKey>,
        vectors: &[V],
    ) -> Result<crate::paillier::CiphertextBatch> {
        crate::hamming::encrypt_batch(
            self.backend()?.as_ref(),
            &self.public_key,
            owner,
            &self.try_layout()?,
            vectors,
        )
    }

    /// An empty index for this context's vectors on `device`
    /// ([`ExecutionContext::new_index`](super::ExecutionContext::new_index) builds one on the
    /// context's own backend).
    pub fn new_index_on(&self, device: Device) -> Result<EncryptedIndex> {
        EncryptedIndex::new(self.public_key.clone(), self.config.embed_len, device)
    }
}

/// Largest context file read (a 4096-bit-key context with tables is far below this; the SDK's
/// optional `tables` can be large, and are not needed).
const MAX_CONTEXT_FILE_BYTES: u64 = 256 << 20;

/// A context file's text, read within a bound (a context file is never large).
pub fn read_context_file(path: &Path) -> Result<String> {
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
