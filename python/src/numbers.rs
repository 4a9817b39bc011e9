//! Paillier for numbers: python-paillier's key pair and encoding, encrypted numpy arrays, and
//! linear models over them, on the CPU or a GPU. Interoperates with `phe` both ways.

use std::sync::Arc;

use num_bigint::BigUint;
use paillier_gpu::numbers::{EncryptedArray, PackOptions, PackedArray};
use paillier_gpu::paillier::{generate_keypair, KeyGenOptions, PublicKey, Scheme, SecretKey};
use paillier_gpu::Device;
use pyo3::prelude::*;

use crate::convert::{big_of, device_of, plain_values, py_int, to_numpy};
use crate::encrypted_array::PyEncryptedArray;
use crate::errors::{invalid_input, IntoPy};
use crate::packed_array::PyPackedArray;
use crate::paillier_key::PyPaillierPublicKey;

#[pymethods]
impl PyPaillierPublicKey {
    /// The modulus n.
    #[getter]
    fn n<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py_int(py, self.key.n())
    }

    /// Bits of n (phe's `n_length`).
    #[getter]
    fn n_length(&self) -> u64 {
        self.key.n().bits()
    }

    /// The largest magnitude of an encoded mantissa, n // 3 − 1 (phe's `max_int`).
    #[getter]
    fn max_int<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py_int(py, &(self.key.n() / 3u32 - 1u32))
    }

    /// The key's fingerprint (hex).
    #[getter]
    fn fingerprint(&self) -> String {
        self.key.fingerprint().to_string()
    }

    /// "cpu", "gpu" or "auto".
    #[getter]
    fn device(&self) -> &'static str {
        self.device.as_str()
    }

    /// Encrypts a numpy array (or list, or scalar) of integers or floats. `precision` gives
    /// every element the exponent floor(log16(precision)); without it each gets phe's own.
    #[pyo3(signature = (values, precision=None))]
    fn encrypt_array(
        &self,
        py: Python<'_>,
        values: &Bound<'_, PyAny>,
        precision: Option<f64>,
    ) -> PyResult<PyEncryptedArray> {
        let (values, shape) = plain_values(values)?;
        let array = py
            .detach(|| {
                EncryptedArray::encrypt(
                    &self.key,
                    self.backend.as_ref(),
                    values.numbers(),
                    shape,
                    precision,
                )
            })
            .py_err()?;
        Ok(PyEncryptedArray::new(array, self.backend.clone()))
    }

    /// Encrypts a 2-D array of samples × features with many samples per ciphertext (a
    /// `PackedArray`): every |value| ≤ `max_abs` (public: choose it from the data's domain),
    /// one exponent floor(log16(precision)) (None: the lowest exact one), and `headroom_bits`
    /// per slot for a linear model's weights and sums.
    #[pyo3(signature = (values, max_abs, precision=None, headroom_bits=48))]
    fn encrypt_packed(
        &self,
        py: Python<'_>,
        values: &Bound<'_, PyAny>,
        max_abs: f64,
        precision: Option<f64>,
        headroom_bits: u32,
    ) -> PyResult<PyPackedArray> {
        let (values, shape) = plain_values(values)?;
        let &[_, columns] = shape.as_slice() else {
            return Err(invalid_input(format!(
                "packed samples must be a 2-D array (samples × features), not {}-D",
                shape.len()
            )));
        };
        let options = PackOptions {
            max_abs,
            precision,
            headroom_bits,
        };
        let inner = py
            .detach(|| {
                PackedArray::encrypt(
                    &self.key,
                    self.backend.as_ref(),
                    values.numbers(),
                    columns,
                    &options,
                )
            })
            .py_err()?;
        Ok(PyPackedArray {
            inner,
            backend: self.backend.clone(),
        })
    }

    /// The same key on another device.
    fn with_device(&self, device: &str) -> PyResult<Self> {
        Self::new(self.key.clone(), device_of(device)?)
    }

    /// A key from a `phe.paillier.PaillierPublicKey`.
    #[staticmethod]
    #[pyo3(signature = (public_key, device="cpu"))]
    fn from_phe(public_key: &Bound<'_, PyAny>, device: &str) -> PyResult<Self> {
        let n = big_of(&public_key.getattr("n")?, "n")?;
        let key = public_key_of(n)?;
        Self::new(Arc::new(key), device_of(device)?)
    }

    /// This key as a `phe.paillier.PaillierPublicKey`.
    fn to_phe<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let paillier = py.import("phe")?.getattr("paillier")?;
        paillier.call_method1("PaillierPublicKey", (py_int(py, self.key.n())?,))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyPaillierPublicKey>()
            .is_ok_and(|o| *o.get().key == *self.key)
    }

    fn __repr__(&self) -> String {
        format!(
            "PaillierPublicKey(n_length={}, fingerprint={}, device={})",
            self.key.n().bits(),
            self.key.fingerprint(),
            self.device.as_str()
        )
    }
}

/// A classic public key for `n` (key_len: half of n's bits, rounded up).
fn public_key_of(n: BigUint) -> PyResult<PublicKey> {
    let key_len = (n.bits() as usize).div_ceil(2);
    let key = PublicKey::paillier(key_len, n).py_err()?;
    Ok(key)
}

/// python-paillier's private key: decrypts arrays.
#[pyclass(module = "paillier_gpu", name = "PaillierPrivateKey", frozen)]
pub struct PyPaillierPrivateKey {
    pub key: Arc<SecretKey>,
    pub public: Py<PyPaillierPublicKey>,
}

#[pymethods]
impl PyPaillierPrivateKey {
    /// The public key.
    #[getter]
    fn public_key(&self, py: Python<'_>) -> Py<PyPaillierPublicKey> {
        self.public.clone_ref(py)
    }

    /// Decrypts an `EncryptedArray` to numpy: int64 for arrays of integers, float64 otherwise.
    /// A result beyond ±max_int raises `InvalidNumberError` (an overflow), never a wrong number.
    fn decrypt_array<'py>(
        &self,
        py: Python<'py>,
        array: &PyEncryptedArray,
    ) -> PyResult<Bound<'py, PyAny>> {
        let backend = self.public.get().backend.clone();
        let values = py
            .detach(|| array.inner.decrypt(&self.key, backend.as_ref()))
            .py_err()?;
        to_numpy(py, values, array.inner.shape())
    }

    /// Decrypts a `PackedArray` to a numpy array of samples × features.
    fn decrypt_packed<'py>(
        &self,
        py: Python<'py>,
        array: &PyPackedArray,
    ) -> PyResult<Bound<'py, PyAny>> {
        let backend = self.public.get().backend.clone();
        let values = py
            .detach(|| array.inner.decrypt(&self.key, backend.as_ref()))
            .py_err()?;
        to_numpy(py, values, &array.inner.shape())
    }

    /// A key from a `phe.paillier.PaillierPrivateKey` (its p and q).
    #[staticmethod]
    #[pyo3(signature = (private_key, device="cpu"))]
    fn from_phe(py: Python<'_>, private_key: &Bound<'_, PyAny>, device: &str) -> PyResult<Self> {
        let public = PyPaillierPublicKey::from_phe(&private_key.getattr("public_key")?, device)?;
        let p = big_of(&private_key.getattr("p")?, "p")?;
        let q = big_of(&private_key.getattr("q")?, "q")?;
        let key = SecretKey::paillier_from_primes(&public.key, &p, &q).py_err()?;
        Ok(Self {
            key: Arc::new(key),
            public: Py::new(py, public)?,
        })
    }

    /// This key as a `phe.paillier.PaillierPrivateKey`.
    fn to_phe<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let paillier = py.import("phe")?.getattr("paillier")?;
        let public = self.public.get().to_phe(py)?;
        let (p, q) = self.key.prime_factors();
        paillier.call_method1(
            "PaillierPrivateKey",
            (public, py_int(py, &p)?, py_int(py, &q)?),
        )
    }

    fn __repr__(&self) -> String {
        "PaillierPrivateKey(<redacted>)".into()
    }
}

/// A key pair as python-paillier makes one: `n_length` bits of n. Below 2048 needs
/// `insecure=True` (for tests).
#[pyfunction]
#[pyo3(signature = (n_length=2048, device="cpu", insecure=false))]
pub fn generate_paillier_keypair(
    py: Python<'_>,
    n_length: usize,
    device: &str,
    insecure: bool,
) -> PyResult<(PyPaillierPublicKey, PyPaillierPrivateKey)> {
    if !n_length.is_multiple_of(16) {
        return Err(invalid_input(format!(
            "n_length {n_length} must be a multiple of 16 (two primes of n_length/2 bits)"
        )));
    }
    let options = KeyGenOptions {
        allow_insecure: insecure,
        ..KeyGenOptions::default()
    };
    let (pk, sk) = py
        .detach(|| generate_keypair(Scheme::Paillier, n_length / 2, &options))
        .py_err()?;
    pair(py, Arc::new(pk), Arc::new(sk), device_of(device)?)
}

/// Python objects for a key pair.
pub fn pair(
    py: Python<'_>,
    pk: Arc<PublicKey>,
    sk: Arc<SecretKey>,
    device: Device,
) -> PyResult<(PyPaillierPublicKey, PyPaillierPrivateKey)> {
    let public = PyPaillierPublicKey::new(pk, device)?;
    let private = PyPaillierPrivateKey {
        key: sk,
        public: Py::new(py, PyPaillierPublicKey::new(public.key.clone(), device)?)?,
    };
    Ok((public, private))
}
