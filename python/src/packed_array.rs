//! `PackedArray`: samples × features encrypted with many samples per ciphertext, for fast
//! linear models (see the library's `numbers::PackedArray`).

use std::path::PathBuf;
use std::sync::Arc;

use paillier_gpu::formats::numbers::{
    decode_packed_numbers, encode_packed_numbers, read_packed_numbers, write_packed_numbers,
};
use paillier_gpu::hazmat::backend::Backend;
use paillier_gpu::io::{Output, OutputKind};
use paillier_gpu::numbers::PackedArray;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::IntoPy;
use crate::paillier_key::PyPaillierPublicKey;

/// Samples × features, many samples per ciphertext, exact at one precision; not python-paillier
/// ciphertexts. Make one with `PaillierPublicKey.encrypt_packed`, run `LinearModel.infer_packed`
/// on it, decrypt it with `PaillierPrivateKey.decrypt_packed`. `save` / `load` (and `to_bytes`
/// / `from_bytes`) use the CLI's packed-numbers file, so either side can be the CLI.
#[pyclass(module = "paillier_gpu", name = "PackedArray", frozen)]
pub struct PyPackedArray {
    pub inner: PackedArray,
    pub backend: Arc<dyn Backend>,
}

#[pymethods]
impl PyPackedArray {
    /// (samples, features).
    #[getter]
    fn shape(&self) -> (usize, usize) {
        let [samples, columns] = self.inner.shape();
        (samples, columns)
    }

    /// Samples per ciphertext.
    #[getter]
    fn slots(&self) -> usize {
        self.inner.layout().slots()
    }

    /// Bits per slot (the sign included).
    #[getter]
    fn slot_bits(&self) -> u32 {
        self.inner.layout().slot_bits()
    }

    /// The base-16 exponent every number shares.
    #[getter]
    fn exponent(&self) -> i32 {
        self.inner.layout().exponent()
    }

    /// Ciphertexts held: ceil(samples / slots) × features.
    #[getter]
    fn ciphertext_count(&self) -> usize {
        self.inner.ciphertexts().len()
    }

    /// The key's fingerprint (hex).
    #[getter]
    fn fingerprint(&self) -> String {
        self.inner.fingerprint().to_string()
    }

    /// The packed-numbers file's bytes (what `numbers encrypt --packed` writes).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = encode_packed_numbers(&self.inner).py_err()?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Reads packed-numbers bytes made under `public_key` (a file made under another key, or
    /// with a layout that key's plaintexts do not hold, is refused).
    #[staticmethod]
    fn from_bytes(public_key: &PyPaillierPublicKey, data: &[u8]) -> PyResult<Self> {
        let inner =
            decode_packed_numbers(data, Some(data.len() as u64), &public_key.key).py_err()?;
        Ok(Self {
            inner,
            backend: public_key.backend.clone(),
        })
    }

    /// Writes a packed-numbers file, atomically (the CLI's `linear` and `numbers decrypt` read
    /// it). An existing file is replaced only when it is an encrypted-numbers file (or empty),
    /// unless `overwrite=True`.
    #[pyo3(signature = (path, overwrite=false))]
    fn save(&self, py: Python<'_>, path: PathBuf, overwrite: bool) -> PyResult<()> {
        py.detach(|| {
            let output = Output::prepare(&path, &[], OutputKind::EncryptedNumbers, overwrite)?;
            write_packed_numbers(output, &self.inner)
        })
        .py_err()
    }

    /// Reads a packed-numbers file (written by `save` or by the CLI) made under `public_key`.
    #[staticmethod]
    fn load(py: Python<'_>, public_key: &PyPaillierPublicKey, path: PathBuf) -> PyResult<Self> {
        let key = public_key.key.clone();
        let inner = py.detach(|| read_packed_numbers(&path, &key)).py_err()?;
        Ok(Self {
            inner,
            backend: public_key.backend.clone(),
        })
    }

    fn __len__(&self) -> usize {
        self.inner.samples()
    }

    fn __repr__(&self) -> String {
        let [samples, columns] = self.inner.shape();
        format!(
            "PackedArray(shape=({samples}, {columns}), slots={}, slot_bits={}, exponent={})",
            self.inner.layout().slots(),
            self.inner.layout().slot_bits(),
            self.inner.layout().exponent()
        )
    }
}
