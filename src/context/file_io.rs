//! An execution context read from and written to its file forms (ours and the SDK's).

use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::format::{parse_context_object, py_json_object, py_json_string, string_field};
use super::options::warn_if_weak;
use super::public::read_context_file;
use super::sdk_json::{parse_secret_key, public_key_json, secret_key_json};
use super::*;
use super::{aes, sealing};
use crate::error::{Error, Result};
use crate::hazmat::backend::Device;
use crate::io::{Output, OutputKind};

impl ExecutionContext {
    /// Reads a context file's JSON. `key_provider` holds the credentials (passphrase, KMS
    /// client ...); the file's `wrapped_key` selects the key.
    pub fn from_json(json: &str, key_provider: &dyn KeyProvider) -> Result<Self> {
        let (map, provider) = Self::parse_with_provider(json, key_provider)?;
        Self::from_map(&map, provider)
    }

    /// A context file's JSON object and the provider its `key_provider` and `wrapped_key` name.
    pub(super) fn parse_with_provider(
        json: &str,
        key_provider: &dyn KeyProvider,
    ) -> Result<(Map<String, Value>, Arc<dyn KeyProvider>)> {
        let map = parse_context_object(json)?;
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
        Ok((map, provider))
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
        let map = parse_context_object(json)?;
        Self::from_map(&map, key_provider)
    }

    fn from_map(map: &Map<String, Value>, key_provider: Arc<dyn KeyProvider>) -> Result<Self> {
        let (public, sk_json, file_format) = Self::unseal(map, key_provider.as_ref())?;
        Self::from_parts(public, &sk_json, key_provider, file_format)
    }

    /// The public part, the secret key's JSON unsealed (authenticated by AES-GCM, so as its
    /// owner sealed it) but not yet checked against the public key, and the file's form.
    pub(super) fn unseal(
        map: &Map<String, Value>,
        key_provider: &dyn KeyProvider,
    ) -> Result<(PublicContext, Zeroizing<String>, FileFormat)> {
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
        Ok((public, Zeroizing::new(sk_text.to_owned()), file_format))
    }

    fn from_parts(
        public: PublicContext,
        sk_json: &str,
        key_provider: Arc<dyn KeyProvider>,
        file_format: FileFormat,
    ) -> Result<Self> {
        let secret_key = parse_secret_key(&public.public_key, sk_json)?;
        Self::from_keys(public, secret_key, key_provider, file_format)
    }

    /// The context of a public part and a secret key already checked against its public key.
    pub(super) fn from_keys(
        public: PublicContext,
        secret_key: crate::paillier::SecretKey,
        key_provider: Arc<dyn KeyProvider>,
        file_format: FileFormat,
    ) -> Result<Self> {
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
        let map = parse_context_object(json)?;
        let public = PublicContext::from_map(&map)?;
        let sk = string_field(&map, "sk", "context")?;
        Self::from_parts(public, sk, key_provider, FileFormat::Sdk)
    }

    /// Loads a context file. An error names the file (an [`Error::InFile`] around a wrong
    /// passphrase, say: match on [`Error::innermost`]).
    pub fn load_from_disk(path: impl AsRef<Path>, key_provider: &dyn KeyProvider) -> Result<Self> {
        let path = path.as_ref();
        Self::from_json(&read_context_file(path)?, key_provider).map_err(|e| e.in_file(path))
    }

    /// Loads a context file protected by a passphrase; an error names the file, as
    /// [`load_from_disk`](Self::load_from_disk)'s does.
    pub fn load_with_passphrase(path: impl AsRef<Path>, passphrase: &str) -> Result<Self> {
        let path = path.as_ref();
        Self::from_json_with_passphrase(&read_context_file(path)?, passphrase)
            .map_err(|e| e.in_file(path))
    }

    /// The file form: `{"sk", "pk", "type", "config", "key_provider", "wrapped_key",
    /// "key_check"}` with `sk` AES-GCM encrypted, and `"format": "paillier-gpu/2"` in our
    /// authenticated form (see [`FileFormat`]; the SDK's `load_from_disk` reads the
    /// [`FileFormat::Sdk`] form, and ignores `key_check`, our addition: see
    /// [`DataKey::check_value`]).
    pub fn to_json(&self) -> Result<String> {
        if self.file_format == FileFormat::Sdk && !key_provider::sdk_can_open(&*self.key_provider) {
            return Err(Error::InvalidParameter(
                "this context's passphrase uses a stronger scrypt cost than the SDK's, so it has \
                 no SDK form: write it in ours (not sdk_compatible)"
                    .into(),
            ));
        }
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
            public_key_json(&self.public.public_key),
            self.public.config.scheme.context_type(),
            self.public.config.to_json(),
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
            (
                "pk",
                py_json_string(&public_key_json(&self.public.public_key)),
            ),
            (
                "type",
                py_json_string(self.public.config.scheme.context_type()),
            ),
            ("config", py_json_string(&self.public.config.to_json())),
        ]))
    }

    /// Writes the file form atomically (temporary file, fsync, rename), owner-only, replacing
    /// any regular file at `path` (a symbolic link's target is replaced; a FIFO or a device is
    /// refused). [`save_new_to_disk`](Self::save_new_to_disk) refuses to replace.
    pub fn save_to_disk(&self, path: impl AsRef<Path>) -> Result<()> {
        self.save_to(Output::prepare(
            path.as_ref(),
            &[],
            OutputKind::Context,
            true,
        )?)
    }

    /// [`save_to_disk`](Self::save_to_disk), but [`Error::WouldOverwrite`] if `path` exists:
    /// a context file holds keys that cannot be made again. A file that appears meanwhile is
    /// not replaced either.
    pub fn save_new_to_disk(&self, path: impl AsRef<Path>) -> Result<()> {
        self.save_to(Output::new(path.as_ref(), OutputKind::Context)?)
    }

    /// Writes the file form through an output checked beforehand (see
    /// [`Output`](crate::io::Output)), owner-only.
    pub fn save_to(&self, output: Output) -> Result<()> {
        let json = self.to_json()?;
        output.write_bytes(json.as_bytes())
    }
}
