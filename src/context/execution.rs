//! The data owner's context: a public context plus the owner's capability (the secret key and
//! the data key that seals it), and what only the owner does (decoding, decryption, content
//! encryption, saving). Encryption is the public context's, run as the owner.

use std::sync::{Arc, OnceLock};

use zeroize::Zeroizing;

use super::sdk_json::{context_id, public_key_json, secret_key_json};
use super::*;
use super::{aes, sealing};
use crate::error::{Error, Result};
use crate::formats::ciphertexts::CiphertextShape;
use crate::hamming::{self, EncryptedIndex, VectorLayout};
use crate::hazmat::backend::{Backend, Device};
use crate::paillier::{
    generate_keypair, CiphertextBatch, KeyGenOptions, PublicKey, Scheme, SecretKey,
};

/// Everything the data owner needs: both keys, the configuration, the AES data key's provider,
/// and the compute device.
///
/// Two contexts are equal when their ids are: the same keys and configuration, whatever their
/// devices or key providers. A clone is the same context: the same keys (shared, the secret key
/// never copied), configuration, device and backend.
///
/// Its [`public`](Self::public) view is its [`PublicContext`] (configuration, public key, device,
/// backend), which holds no secret: the secret key is the owner's capability, held here alone.
/// The two are kept apart (no `Deref`), so that which method runs never depends on a static
/// type. The encryptions (vectors, files, numbers) are this context's own methods too, which run
/// as the owner where the secret key may go to the backend; reached through
/// [`public`](Self::public) they run under the public key (the same ciphertext distribution,
/// about twice the work).
#[derive(Clone)]
pub struct ExecutionContext {
    /// The public part; its backend is attached on first use, so loading a context opens no
    /// GPU.
    pub(super) public: PublicContext,
    pub(super) secret_key: Arc<SecretKey>,
    pub(super) key_provider: Arc<dyn KeyProvider>,
    pub(super) file_format: FileFormat,
    pub(super) layout: VectorLayout,
    pub(super) id: String,
}

impl std::fmt::Debug for ExecutionContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutionContext")
            .field("id", &self.id)
            .field("config", &self.public.config)
            .field("device", &self.public.device)
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

    pub(super) fn assemble(
        config: ContextConfig,
        public_key: PublicKey,
        secret_key: SecretKey,
        key_provider: Arc<dyn KeyProvider>,
        file_format: FileFormat,
        device: Device,
    ) -> Result<Self> {
        let layout = VectorLayout::new(config.embed_len, config.key_len)?;
        let sk_json = secret_key_json(&secret_key);
        let id = context_id(
            &sk_json,
            &public_key_json(&public_key),
            config.scheme.context_type(),
            &config.to_json(),
        );
        let secret_key = Arc::new(secret_key);
        let public_key = Arc::new(public_key.with_vector_dims(config.embed_len));
        let public = PublicContext::new(config, public_key, device);
        Ok(Self {
            public,
            secret_key,
            key_provider,
            file_format,
            layout,
            id,
        })
    }

    /// The public part (configuration, public key, device, backend; no secret). Its encryptions
    /// run under the public key; this context's own encryption methods run as the owner.
    pub fn public(&self) -> &PublicContext {
        &self.public
    }

    /// The context id: hex SHA-256 over the SDK's plaintext serialisation (FORMAT.md).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.public.config.scheme
    }

    /// Bits of each prime.
    pub fn key_len(&self) -> usize {
        self.public.config.key_len
    }

    /// Dimensions of the vectors.
    pub fn embed_len(&self) -> usize {
        self.public.config.embed_len
    }

    /// Lookup scheme: bits of `a`.
    pub fn alpha_len(&self) -> Option<usize> {
        self.public.config.alpha_len
    }

    /// The vector packing.
    pub fn layout(&self) -> &VectorLayout {
        &self.layout
    }

    /// The shape of this context's ciphertexts in files.
    pub fn ciphertext_shape(&self) -> CiphertextShape {
        CiphertextShape {
            piece_bytes: self.public.public_key.ciphertext_bytes(),
            pieces: self.layout.pieces(),
            key: Some(self.public.public_key.fingerprint()),
        }
    }

    /// The secret key.
    pub fn secret_key(&self) -> &Arc<SecretKey> {
        &self.secret_key
    }

    /// The key provider.
    pub fn key_provider(&self) -> &Arc<dyn KeyProvider> {
        &self.key_provider
    }

    /// The same context on another device (the id does not change). The backend is attached
    /// when first used, so no GPU is opened here.
    pub fn with_device(mut self, device: Device) -> Self {
        self.set_device(device);
        self
    }

    /// The same context with public-key encryption allowed under parameters below the secure
    /// minimums (see [`PublicContext::with_insecure_parameters_allowed`]): what this context's
    /// encryptions need where they run with the public key (a GPU under [`Device::Auto`]). A
    /// choice made while the context is built; clones made before keep refusing.
    pub fn with_insecure_parameters_allowed(mut self) -> Self {
        self.public = self.public.with_insecure_parameters_allowed();
        self
    }

    /// [`with_device`](Self::with_device) in place.
    pub fn set_device(&mut self, device: Device) {
        self.public.device = device;
        self.public.backend = OnceLock::new();
    }

    /// The same context on a backend configured by the caller (a
    /// [`GpuBackend`](crate::hazmat::backend::gpu::GpuBackend) with chosen options, say). The device
    /// becomes the backend's.
    pub fn with_backend(mut self, backend: Arc<dyn Backend>) -> Self {
        self.public = self.public.with_backend(backend);
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
        self.set_file_format(file_format);
        self
    }

    /// [`with_file_format`](Self::with_file_format) in place.
    pub fn set_file_format(&mut self, file_format: FileFormat) {
        self.file_format = file_format;
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

    /// Who encrypts here: the secret key where it may go to the backend (see
    /// `secrets_may_use_backend`), else none (the public key).
    pub(crate) fn owner(&self) -> Result<Option<&SecretKey>> {
        Ok(self
            .public
            .secrets_may_use_backend()?
            .then_some(&*self.secret_key))
    }

    /// Encrypts binary vectors (values 0 or 1, `embed_len` each), one record per vector (what
    /// the file writers and [`EncryptedIndex::insert_batch`] take): as the owner on the CPU or
    /// on a GPU chosen explicitly (modulo p² and q², about twice as fast). Under
    /// [`Device::Auto`] with a GPU present, the GPU encrypts with the public key only, so that no
    /// secret reaches it. The ciphertexts are the same either way.
    pub fn encrypt_batch<V: AsRef<[u8]> + Sync>(&self, vectors: &[V]) -> Result<CiphertextBatch> {
        self.public.encrypt_batch_as(self.owner()?, vectors)
    }

    /// The backend for work with the secret key (see `secrets_may_use_backend`).
    pub(crate) fn secret_key_backend(&self) -> Result<Arc<dyn Backend>> {
        // Under auto the secret key stays on the CPU: no GPU needs opening for it.
        if self.public.device == Device::Auto {
            return Ok(crate::hazmat::backend::cpu::CpuBackend::shared());
        }
        Ok(if self.public.secrets_may_use_backend()? {
            self.public.backend()?.clone()
        } else {
            crate::hazmat::backend::cpu::CpuBackend::shared()
        })
    }

    /// Decodes aggregated ciphertexts into Hamming distances, one per record in order, refusing
    /// any response that cannot be an honest aggregate ([`Error::InvalidResponse`]): a batch
    /// read with [`read_ciphertext_batch`](crate::formats::ciphertexts::read_ciphertext_batch)
    /// or returned by [`EncryptedIndex::aggregate_batch`]. Runs on the CPU unless the context's
    /// device is explicitly [`Device::Gpu`].
    pub fn decode_batch(&self, responses: &CiphertextBatch) -> Result<Vec<u32>> {
        hamming::decode_batch(
            self.secret_key_backend()?.as_ref(),
            &self.public.public_key,
            &self.secret_key,
            &self.layout,
            responses,
        )
    }

    /// A copy of the public part (key and configuration, no secret): what a search backend or an
    /// encryption worker gets. It encrypts with the public key, as [`public`](Self::public) does.
    pub fn public_context(&self) -> PublicContext {
        self.public.clone()
    }

    /// An empty [`EncryptedIndex`] for this context's vectors, on this context's backend.
    pub fn new_index(&self) -> Result<EncryptedIndex> {
        Ok(EncryptedIndex::new(
            self.public.public_key.clone(),
            self.public.config.embed_len,
            Device::Cpu,
        )?
        .with_backend(self.public.backend()?.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_is_attached_on_first_use_not_on_load_or_device_change() {
        let options = ContextOptions {
            key_len: 256,
            embed_len: 8,
            allow_insecure: true,
            ..ContextOptions::default()
        };
        let ctx = ExecutionContext::create_with_passphrase(&options, "p")
            .unwrap()
            .with_device(Device::Gpu);
        assert!(
            ctx.public.backend.get().is_none(),
            "with_device opened a backend"
        );
        let ctx = ctx.with_device(Device::Cpu);
        assert!(ctx.public.backend.get().is_none());
        ctx.encrypt_batch(&[vec![1u8; 8]]).unwrap();
        assert_eq!(
            ctx.public.backend.get().map(|b| b.device()),
            Some(Device::Cpu)
        );
    }
}
