//! `PackedArray`: samples × features encrypted with many samples per ciphertext, for fast
//! linear models (see the library's `numbers::PackedArray`).

use std::sync::Arc;

use paillier_gpu::hazmat::backend::Backend;
use paillier_gpu::numbers::PackedArray;
use pyo3::prelude::*;

/// Samples × features, many samples per ciphertext, exact at one precision; not python-paillier
/// ciphertexts. Make one with `PaillierPublicKey.encrypt_packed`, run `LinearModel.infer_packed`
/// on it, decrypt it with `PaillierPrivateKey.decrypt_packed`.
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
