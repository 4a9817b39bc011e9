//! `ExecutionContext` (the data owner's: both keys) and `PublicContext` (a search backend's or
//! an encryption worker's: the public key only), with the SDK's method names.

use std::path::PathBuf;
use std::sync::Arc;

use numpy::PyArray1;
use paillier_gpu::context::{FileFormat, PassphraseKeyProvider};
use paillier_gpu::io::{Output, OutputKind};
use paillier_gpu::{ContextOptions, ExecutionContext, KeyProvider, Scheme};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::ciphertexts::Ciphertexts;
use crate::context_state::{PyExecutionContext, PyPublicContext};
use crate::convert::{bit_rows, device_of, json_to_py, non_negative, warn_weaknesses};
use crate::errors::{invalid_input, IntoPy};
use crate::key_provider::PyKeyProvider;

fn scheme_of(name: &str) -> PyResult<Scheme> {
    match name {
        "paillier" | "PaillierClient" => Ok(Scheme::Paillier),
        "paillier_lookup" | "paillier-lookup" | "PaillierLookupClient" => {
            Ok(Scheme::PaillierLookup)
        }
        other => Err(invalid_input(format!(
            "unknown homomorphic_client_type {other:?} (expected paillier or paillier_lookup)"
        ))),
    }
}

/// The key provider for `create` and `load_from_disk`: a Python provider object, or a
/// passphrase (with `salt` for a new context).
fn provider_of(
    passphrase: Option<&str>,
    salt: Option<&[u8]>,
    key_provider: Option<Bound<'_, PyAny>>,
) -> PyResult<Arc<dyn KeyProvider>> {
    match (passphrase, key_provider) {
        (Some(_), Some(_)) => Err(invalid_input(
            "give a passphrase or a key_provider, not both",
        )),
        (None, Some(provider)) => Ok(Arc::new(PyKeyProvider::new(provider)?)),
        (Some(passphrase), None) => Ok(Arc::new(match salt {
            Some(salt) => PassphraseKeyProvider::with_salt(passphrase, salt),
            None => PassphraseKeyProvider::new(passphrase),
        })),
        (None, None) => Err(invalid_input("a passphrase or a key_provider is needed")),
    }
}

/// `top_k`'s answer: ids and distances, nearest first.
type TopK<'py> = (Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u32>>);

/// Distances as a numpy array of unsigned 32-bit integers.
fn distances_array<'py>(py: Python<'py>, distances: Vec<u32>) -> Bound<'py, PyArray1<u32>> {
    PyArray1::from_vec(py, distances)
}

/// Ciphertexts given as a `Ciphertexts` or in the SDK's base64 form.
fn ciphertexts_of<'py>(
    context: &Bound<'py, PyAny>,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, Ciphertexts>> {
    if let Ok(c) = value.cast::<Ciphertexts>() {
        return Ok(c.clone());
    }
    Bound::new(value.py(), Ciphertexts::from_b64_rows(context, value)?)
}

#[pymethods]
impl PyExecutionContext {
    /// Generates a new key pair (key_len bits per prime) and, with `path`, saves the context.
    ///
    /// An existing file at `path` is refused unless `overwrite=True` (its keys, and every
    /// ciphertext made under them, would be lost). `sdk_compatible=True` makes the context
    /// write the XTrace SDK's form, which the SDK opens; the default is our authenticated form
    /// (`pk`, `type` and `config` sealed with the secret key), which the SDK cannot open.
    #[staticmethod]
    #[pyo3(signature = (passphrase=None, homomorphic_client_type="paillier", embedding_length=512,
        key_len=1024, salt=None, path=None, key_provider=None, device="cpu", alpha_len=None,
        insecure=false, overwrite=false, sdk_compatible=false))]
    #[allow(clippy::too_many_arguments)]
    fn create(
        py: Python<'_>,
        passphrase: Option<&str>,
        homomorphic_client_type: &str,
        embedding_length: i64,
        key_len: i64,
        salt: Option<Vec<u8>>,
        path: Option<PathBuf>,
        key_provider: Option<Bound<'_, PyAny>>,
        device: &str,
        alpha_len: Option<i64>,
        insecure: bool,
        overwrite: bool,
        sdk_compatible: bool,
    ) -> PyResult<Self> {
        if salt.as_ref().is_some_and(|salt| salt.is_empty()) {
            return Err(invalid_input(
                "salt is empty: give at least one byte, or leave it out for a random one",
            ));
        }
        // Checked and locked before the keys are generated; a file that appears meanwhile is
        // not replaced.
        let output = path
            .as_deref()
            .map(|path| Output::prepare(path, &[], OutputKind::Context, overwrite))
            .transpose()
            .py_err()?;
        let provider = provider_of(passphrase, salt.as_deref(), key_provider)?;
        let options = ContextOptions {
            scheme: scheme_of(homomorphic_client_type)?,
            key_len: non_negative("key_len", key_len)?,
            embed_len: non_negative("embedding_length", embedding_length)?,
            alpha_len: match alpha_len {
                Some(alpha) => non_negative("alpha_len", alpha)?,
                None => ContextOptions::default().alpha_len,
            },
            allow_insecure: insecure,
            device: device_of(device)?,
        };
        let inner = py
            .detach(|| ExecutionContext::create(&options, provider))
            .py_err()?
            .with_file_format(file_format_of(sdk_compatible));
        if let Some(output) = output {
            inner.save_to(output).py_err()?;
        }
        Ok(Self { inner })
    }

    /// Loads a context file (the SDK's or ours) with its passphrase or a key provider.
    #[staticmethod]
    #[pyo3(signature = (passphrase=None, path=PathBuf::new(), key_provider=None, device="cpu"))]
    fn load_from_disk(
        py: Python<'_>,
        passphrase: Option<&str>,
        path: PathBuf,
        key_provider: Option<Bound<'_, PyAny>>,
        device: &str,
    ) -> PyResult<Self> {
        let device = device_of(device)?;
        let inner = match (passphrase, key_provider) {
            (Some(passphrase), None) => py
                .detach(|| ExecutionContext::load_with_passphrase(&path, passphrase))
                .py_err()?,
            (passphrase, provider) => {
                let provider = provider_of(passphrase, None, provider)?;
                ExecutionContext::load_from_disk(&path, provider.as_ref()).py_err()?
            }
        };
        warn_weaknesses(py, inner.public().config())?;
        Ok(Self {
            inner: inner.with_device(device),
        })
    }

    /// Reads a context from its file's JSON text or the SDK's dict (as an XTrace service
    /// returns it), with its passphrase or a key provider.
    ///
    /// With `context_id` (what a service stored it under), it must be that context: a public
    /// key that does not match the secret key, or a context that opens as another id, raises
    /// `ContextAlteredError` (someone replaced it on the service).
    #[staticmethod]
    #[pyo3(signature = (data, passphrase=None, key_provider=None, device="cpu", context_id=None))]
    fn from_json(
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        passphrase: Option<&str>,
        key_provider: Option<Bound<'_, PyAny>>,
        device: &str,
        context_id: Option<&str>,
    ) -> PyResult<Self> {
        let device = device_of(device)?;
        let text: String = match data.extract::<String>() {
            Ok(text) => text,
            Err(_) => py
                .import("json")?
                .call_method1("dumps", (data,))?
                .extract()?,
        };
        let inner = match (passphrase, key_provider, context_id) {
            (Some(passphrase), None, None) => py
                .detach(|| ExecutionContext::from_json_with_passphrase(&text, passphrase))
                .py_err()?,
            (Some(passphrase), None, Some(id)) => py
                .detach(|| {
                    ExecutionContext::from_stored_json_with_passphrase(&text, id, passphrase)
                })
                .py_err()?,
            (passphrase, provider, context_id) => {
                let provider = provider_of(passphrase, None, provider)?;
                match context_id {
                    None => ExecutionContext::from_json(&text, provider.as_ref()),
                    Some(id) => ExecutionContext::from_stored_json(&text, id, provider.as_ref()),
                }
                .py_err()?
            }
        };
        warn_weaknesses(py, inner.public().config())?;
        Ok(Self {
            inner: inner.with_device(device),
        })
    }

    /// Stores this context on an XTrace service through the SDK's `XTraceIntegration` (the
    /// hosted service, or `paillier-gpu serve`): `await ctx.save_to_remote(integration)` gives
    /// the context id. What is sent is the context file's own dict (the secret key sealed,
    /// with the key provider's wrapped key), which the SDK's `load_from_remote` opens.
    fn save_to_remote<'py>(
        &self,
        py: Python<'py>,
        integration: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let data = json_to_py(py, &self.inner.to_json().py_err()?)?;
        integration.call_method1("store_exec_context", (data, self.hash()))
    }

    /// `await ExecutionContext.load_from_remote(passphrase, context_id, integration)`: a context
    /// stored on an XTrace service, opened here with its passphrase or key provider, and only
    /// if it is the context stored under `context_id`: its public key matches its secret key and
    /// it opens as that id (else `ContextAlteredError`: someone who may write the organisation's
    /// contexts replaced it).
    #[staticmethod]
    #[pyo3(signature = (passphrase=None, context_id=String::new(), integration=None, key_provider=None, device="cpu"))]
    fn load_from_remote<'py>(
        py: Python<'py>,
        passphrase: Option<&str>,
        context_id: String,
        integration: Option<Bound<'py, PyAny>>,
        key_provider: Option<Bound<'py, PyAny>>,
        device: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let integration =
            integration.ok_or_else(|| invalid_input("load_from_remote needs the integration"))?;
        py.import("paillier_gpu._remote")?.call_method1(
            "load_from_remote",
            (passphrase, context_id, integration, key_provider, device),
        )
    }

    /// Writes the context file atomically, owner-only. An existing file is refused unless
    /// `overwrite=True`.
    ///
    /// The file is in the form the context was loaded or created in, unless `sdk_compatible`
    /// says otherwise: `True` writes the XTrace SDK's form (the SDK opens it), `False` ours. A
    /// change of form is kept by the context and changes its content key as well
    /// (`encrypt_content`): text encrypted before the change decrypts only under the old form.
    #[pyo3(signature = (path, overwrite=false, sdk_compatible=None))]
    fn save_to_disk(
        &mut self,
        path: PathBuf,
        overwrite: bool,
        sdk_compatible: Option<bool>,
    ) -> PyResult<()> {
        if let Some(sdk_compatible) = sdk_compatible {
            self.inner.set_file_format(file_format_of(sdk_compatible));
        }
        save(&self.inner, &path, overwrite)
    }

    /// True when the context writes the XTrace SDK's form (see `save_to_disk`).
    #[getter]
    fn sdk_compatible(&self) -> bool {
        self.inner.file_format() == FileFormat::Sdk
    }

    /// The context id: the SDK's hash of the keys (the same on every device).
    fn hash(&self) -> &str {
        self.inner.id()
    }

    /// Whether `data` (a context file's JSON text or dict, as a service stored it under this
    /// context's id) is this context: it opens under this context's key provider as that id,
    /// with the same public key. Two sealings of one context differ in bytes; this tells them
    /// from a context someone else stored.
    fn is_stored_as(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<bool> {
        let text: String = match data.extract::<String>() {
            Ok(text) => text,
            Err(_) => py
                .import("json")?
                .call_method1("dumps", (data,))?
                .extract()?,
        };
        Ok(py.detach(|| self.inner.is_stored_as(&text)))
    }

    /// The SDK's encrypted dict: `sk` sealed under the data key, `pk`, `type`, `config`.
    fn to_dict_enc<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.inner.to_encrypted_dict().py_err()?)
    }

    /// The SDK's plaintext dict, the secret key in clear: never store or send it.
    fn to_dict_plain<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.inner.to_plain_json())
    }

    /// The context file's JSON text (what `save_to_disk` writes).
    fn serialize_exec_context(&self) -> PyResult<String> {
        self.inner.to_json().py_err()
    }

    /// The lookup scheme's precomputed tables in the SDK's form (`{}` for `paillier`).
    fn dump_tables<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let tables = py.detach(|| self.inner.dump_tables()).py_err()?;
        json_to_py(py, &tables.to_string())
    }

    /// The compute device: "cpu", "gpu" or "auto". Setting it never changes `hash()`.
    #[getter]
    fn get_device(&self) -> &'static str {
        self.inner.public().device().as_str()
    }

    #[setter]
    fn set_device(&mut self, device: &str) -> PyResult<()> {
        self.inner.set_device(device_of(device)?);
        Ok(())
    }

    /// Dimensions of the binary vectors.
    #[getter]
    fn embedding_length(&self) -> usize {
        self.inner.embed_len()
    }

    /// Bits of each prime.
    #[getter]
    fn key_len(&self) -> usize {
        self.inner.key_len()
    }

    /// "paillier" or "paillier_lookup".
    #[getter]
    fn homomorphic_client_type(&self) -> &'static str {
        self.inner.scheme().name()
    }

    /// The public key's fingerprint (64 hex digits).
    #[getter]
    fn key_fingerprint(&self) -> String {
        self.inner.public().public_key().fingerprint().to_string()
    }

    /// The public part (what a search backend or an encryption worker needs).
    fn public_context(&self) -> PyPublicContext {
        PyPublicContext::new(self.inner.public_context(), self.inner.public().device())
    }

    /// The context's key pair as python-paillier keys (`PaillierPublicKey`,
    /// `PaillierPrivateKey`) for encrypted numbers, on this context's device. Classic
    /// (`paillier`) contexts only.
    fn paillier_keys(
        &self,
        py: Python<'_>,
    ) -> PyResult<(
        crate::paillier_key::PyPaillierPublicKey,
        crate::numbers::PyPaillierPrivateKey,
    )> {
        if self.inner.scheme() != Scheme::Paillier {
            return Err(invalid_input(
                "numbers need a classic paillier context (g = n + 1), not paillier_lookup",
            ));
        }
        crate::numbers::pair(
            py,
            self.inner.public().public_key().clone(),
            self.inner.secret_key().clone(),
            self.inner.public().device(),
        )
    }

    /// The XTrace SDK's view of this context: the members its `DataLoader`, `Retriever` and
    /// `XTraceIntegration` use of the SDK's own `ExecutionContext` (`id`, `embed_len()`,
    /// `homomorphic.encrypt_vec_one/encrypt_vec_batch/decode_hamming_client_batch` with ints,
    /// `aes.encrypt/decrypt`, `save_to_remote`), computed here on this context's device. Hand
    /// it to the SDK where it takes an execution context: `Retriever(ctx.sdk(), xtrace)`.
    fn sdk<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.py()
            .import("paillier_gpu._sdk")?
            .call_method1("SdkExecutionContext", (slf,))
    }

    /// Encrypts one binary vector (a 1-D array or list of 0/1).
    fn encrypt_vec_one(&self, py: Python<'_>, vector: &Bound<'_, PyAny>) -> PyResult<Ciphertexts> {
        let bits = bit_rows(vector, self.inner.embed_len(), false)?;
        self.encrypt_rows(py, &bits.rows())
    }

    /// Encrypts binary vectors (a 2-D array of uint8, int8, bool or int64, or nested lists).
    fn encrypt_vec_batch(
        &self,
        py: Python<'_>,
        vectors: &Bound<'_, PyAny>,
    ) -> PyResult<Ciphertexts> {
        let bits = bit_rows(vectors, self.inner.embed_len(), true)?;
        self.encrypt_rows(py, &bits.rows())
    }

    /// Decrypts aggregated responses (`Ciphertexts`, or the SDK's base64 lists) into Hamming
    /// distances, refusing any response that cannot be an honest aggregate.
    fn decode_hamming_client_batch<'py>(
        slf: &Bound<'py, Self>,
        ciphertexts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let py = slf.py();
        let responses = ciphertexts_of(slf.as_any(), ciphertexts)?;
        let this = slf.borrow();
        let (ctx, batch) = (&this.inner, &responses.get().batch);
        let distances = py.detach(|| ctx.decode_batch(batch)).py_err()?;
        Ok(distances_array(py, distances))
    }

    /// The `k` nearest records: `(ids, distances)`, nearest first, as numpy arrays.
    #[staticmethod]
    fn top_k<'py>(py: Python<'py>, distances: Vec<i64>, k: i64) -> PyResult<TopK<'py>> {
        let k = non_negative("k", k)?;
        let distances = distances
            .into_iter()
            .map(|d| {
                u32::try_from(d)
                    .map_err(|_| invalid_input(format!("a distance is in [0, 2^32), not {d}")))
            })
            .collect::<PyResult<Vec<u32>>>()?;
        let top = paillier_gpu::top_k(&distances, k);
        Ok((
            PyArray1::from_vec(py, top.ids.into_iter().map(|i| i as u64).collect()),
            distances_array(py, top.distances),
        ))
    }

    /// Encrypts document content (bytes or str) with the context's AES key: the SDK's base64.
    fn encrypt_content(&self, content: &Bound<'_, PyAny>) -> PyResult<String> {
        let bytes: Vec<u8> = if let Ok(text) = content.cast::<PyString>() {
            text.to_cow()?.as_bytes().to_vec()
        } else {
            content.extract()?
        };
        self.inner.encrypt_content(&bytes).py_err()
    }

    /// Decrypts what `encrypt_content` (or the SDK) produced; a tampered text is refused.
    fn decrypt_content<'py>(
        &self,
        py: Python<'py>,
        encoded: &str,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let plain = self.inner.decrypt_content(encoded).py_err()?;
        Ok(PyBytes::new(py, &plain))
    }

    fn __repr__(&self) -> String {
        format!(
            "ExecutionContext(id={}, type={}, key_len={}, embedding_length={}, device={})",
            self.inner.id(),
            self.inner.scheme().name(),
            self.inner.key_len(),
            self.inner.embed_len(),
            self.inner.public().device().as_str()
        )
    }
}

/// Saves `ctx` to `path`: replacing a file only with `overwrite`.
fn file_format_of(sdk_compatible: bool) -> FileFormat {
    if sdk_compatible {
        FileFormat::Sdk
    } else {
        FileFormat::Authenticated
    }
}

fn save(ctx: &ExecutionContext, path: &std::path::Path, overwrite: bool) -> PyResult<()> {
    let output = Output::prepare(path, &[], OutputKind::Context, overwrite).py_err()?;
    ctx.save_to(output).py_err()
}

impl PyExecutionContext {
    fn encrypt_rows(&self, py: Python<'_>, rows: &[&[u8]]) -> PyResult<Ciphertexts> {
        let batch = py.detach(|| self.inner.encrypt_batch(rows)).py_err()?;
        Ok(Ciphertexts::new(
            batch,
            self.inner.public().public_key().clone(),
            self.inner.ciphertext_shape(),
        ))
    }
}
