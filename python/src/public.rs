//! `PublicContext`: the public part of a context, for search backends and encryption workers.

use std::path::PathBuf;

use pyo3::prelude::*;

use crate::ciphertexts::Ciphertexts;
use crate::context_state::PyPublicContext;
use crate::convert::{bit_rows, device_of, non_negative, warn_weaknesses};
use crate::errors::IntoPy;
use paillier_gpu::context::EncryptFile;
use paillier_gpu::formats::ciphertexts::check_binary_file;

impl PyPublicContext {
    /// A loaded context, its weaknesses raised as warnings and, with `insecure`, public-key
    /// encryption under them allowed.
    fn checked(
        py: Python<'_>,
        inner: paillier_gpu::PublicContext,
        device: &str,
        insecure: bool,
    ) -> PyResult<Self> {
        warn_weaknesses(py, inner.config())?;
        let inner = if insecure {
            inner.with_insecure_parameters_allowed()
        } else {
            inner
        };
        Ok(Self::new(inner, device_of(device)?))
    }
}

#[pymethods]
impl PyPublicContext {
    /// Reads the public part of a context file (the secret key is not touched). A weak context
    /// raises a `UserWarning`; public-key encryption under a lookup context whose `alpha_len`
    /// is below 512 is refused unless `insecure=True`.
    #[staticmethod]
    #[pyo3(signature = (path, device="cpu", insecure=false))]
    fn load(py: Python<'_>, path: PathBuf, device: &str, insecure: bool) -> PyResult<Self> {
        let inner = paillier_gpu::PublicContext::load(&path).py_err()?;
        Self::checked(py, inner, device, insecure)
    }

    /// Reads the public part from a context's JSON text (`to_json()` of another
    /// `PublicContext`, or a whole context file), with `load`'s warnings and `insecure`.
    #[staticmethod]
    #[pyo3(signature = (json, device="cpu", insecure=false))]
    fn from_json(py: Python<'_>, json: &str, device: &str, insecure: bool) -> PyResult<Self> {
        let inner = paillier_gpu::PublicContext::from_public_json(json).py_err()?;
        Self::checked(py, inner, device, insecure)
    }

    /// Checks that an existing binary ciphertext file was made under this context's key and is
    /// whole (its header and length; the records are not read): returns its record count, or
    /// raises `KeyMismatchError` / `MalformedFileError` naming the file.
    fn check_ciphertext_file(&self, path: PathBuf) -> PyResult<u64> {
        let shape = self.inner.try_ciphertext_shape().py_err()?;
        check_binary_file(&path, shape, self.inner.public_key()).py_err()
    }

    /// The public fields (`pk`, `type`, `config`) as JSON text: safe to send to workers.
    fn to_json(&self) -> String {
        self.inner.to_public_json()
    }

    /// The device encryption runs on: "cpu", "gpu" or "auto".
    #[getter]
    fn device(&self) -> &'static str {
        self.device.as_str()
    }

    /// Dimensions of the binary vectors.
    #[getter]
    fn embedding_length(&self) -> usize {
        self.inner.config().embed_len
    }

    /// Bits of each prime.
    #[getter]
    fn key_len(&self) -> usize {
        self.inner.config().key_len
    }

    /// "paillier" or "paillier_lookup".
    #[getter]
    fn homomorphic_client_type(&self) -> &'static str {
        self.inner.config().scheme.name()
    }

    /// The public key's fingerprint (64 hex digits).
    #[getter]
    fn key_fingerprint(&self) -> String {
        self.inner.public_key().fingerprint().to_string()
    }

    /// Encrypts binary vectors with the public key only (a 2-D array or nested lists).
    fn encrypt_vec_batch(
        &self,
        py: Python<'_>,
        vectors: &Bound<'_, PyAny>,
    ) -> PyResult<Ciphertexts> {
        let layout = self.inner.try_layout().py_err()?;
        let bits = bit_rows(vectors, layout.embed_len(), true)?;
        let rows = bits.rows();
        let batch = py.detach(|| self.inner.encrypt_batch(&rows)).py_err()?;
        Ok(Ciphertexts::new(
            batch,
            self.inner.public_key().clone(),
            self.inner.try_ciphertext_shape().py_err()?,
        ))
    }

    /// Encrypts a vector file (`.npy` or JSON Lines) into a ciphertext file the CLI reads, as
    /// `paillier-gpu encrypt` does: streamed, atomic (nothing appears under `output` until it is
    /// complete) and, with `resume`, continued from an interrupted run. Returns the vectors
    /// encrypted.
    ///
    /// The output may not be the input; an existing file that is not a ciphertext file is
    /// replaced only with `overwrite=True`; a FIFO or a device is written as a stream (no
    /// resume); one run at a time per output. `batch=None` lets the backend choose.
    #[pyo3(signature = (input, output, resume=false, batch=None, overwrite=false))]
    fn encrypt_file(
        &self,
        py: Python<'_>,
        input: PathBuf,
        output: PathBuf,
        resume: bool,
        batch: Option<i64>,
        overwrite: bool,
    ) -> PyResult<usize> {
        let batch = match batch {
            Some(batch) => Some(non_negative("batch", batch)?.max(1)),
            None => None,
        };
        let job = EncryptFile {
            resume,
            batch,
            overwrite,
            ..EncryptFile::new(&input, &output)
        };
        let report = py
            .detach(|| self.inner.encrypt_file(&job, |_| {}))
            .py_err()?;
        Ok(report.records)
    }

    fn __repr__(&self) -> String {
        format!(
            "PublicContext(type={}, key_len={}, embedding_length={}, key {})",
            self.inner.config().scheme.name(),
            self.inner.config().key_len,
            self.inner.config().embed_len,
            self.inner.public_key().fingerprint()
        )
    }
}
