//! `EncryptedArray`: numpy-like arithmetic on encrypted numbers.

use std::sync::Arc;

use paillier_gpu::hazmat::backend::Backend;
use paillier_gpu::numbers::{ElementExponents, EncryptedArray, NumberKind, Numbers, PlainMatrix};
use paillier_gpu::paillier::Ciphertext;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::convert::{big_of, plain_values, py_int, PlainValues};
use crate::errors::{invalid_input, IntoPy};
use crate::paillier_key::PyPaillierPublicKey;

/// Encrypted numbers of a shape, under one key, with python-paillier's encoding. Supports
/// `+` and `-` (with encrypted arrays or plain numbers), `*` and `/` by plain numbers, `@` with a
/// plain matrix or vector, `.sum()`, `-x` and numpy indexing. Operations run on the device of
/// the key that encrypted it.
#[pyclass(module = "paillier_gpu", name = "EncryptedArray", frozen)]
pub struct PyEncryptedArray {
    pub inner: EncryptedArray,
    pub backend: Arc<dyn Backend>,
}

impl PyEncryptedArray {
    pub fn new(inner: EncryptedArray, backend: Arc<dyn Backend>) -> Self {
        Self { inner, backend }
    }

    fn with(&self, inner: EncryptedArray) -> Self {
        Self::new(inner, self.backend.clone())
    }

    pub(crate) fn run(
        &self,
        py: Python<'_>,
        op: impl FnOnce(&dyn Backend) -> paillier_gpu::Result<EncryptedArray> + Send,
    ) -> PyResult<Self> {
        let backend = self.backend.clone();
        let out = py.detach(|| op(backend.as_ref())).py_err()?;
        Ok(self.with(out))
    }

    /// Plain operands: their values and shape, checked against this array's.
    fn plain_operand(&self, other: &Bound<'_, PyAny>) -> PyResult<PlainValues> {
        let (values, shape) = plain_values(other)?;
        let count: usize = shape.iter().product();
        if count != 1 && shape != self.inner.shape() {
            return Err(invalid_input(format!(
                "a plain operand of shape {shape:?} for an encrypted array of shape {:?} \
                 (the same shape or one number)",
                self.inner.shape()
            )));
        }
        Ok(values)
    }
}

fn negated(values: PlainValues) -> PyResult<PlainValues> {
    Ok(match values {
        PlainValues::Floats(v) => PlainValues::Floats(v.into_iter().map(|x| -x).collect()),
        PlainValues::Integers(v) => PlainValues::Integers(
            v.into_iter()
                .map(|x| {
                    x.checked_neg()
                        .ok_or_else(|| invalid_input("-(−2^63) overflows int64"))
                })
                .collect::<PyResult<_>>()?,
        ),
    })
}

#[pymethods]
impl PyEncryptedArray {
    /// The shape, as numpy's.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.shape())
    }

    /// Number of elements.
    #[getter]
    fn size(&self) -> usize {
        self.inner.len()
    }

    /// Number of axes.
    #[getter]
    fn ndim(&self) -> usize {
        self.inner.shape().len()
    }

    /// True when it decrypts to int64 (every input an integer).
    #[getter]
    fn is_integer(&self) -> bool {
        self.inner.kind() == NumberKind::Integer
    }

    /// The base-16 exponent of each element (a numpy int64 array of the same shape).
    #[getter]
    fn exponents<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let all: Vec<i64> = (0..self.inner.len())
            .map(|i| i64::from(self.inner.exponents().get(i)))
            .collect();
        let numpy = py.import("numpy")?;
        numpy
            .call_method1("array", (all, "int64"))?
            .call_method1("reshape", (PyTuple::new(py, self.inner.shape())?,))
    }

    /// The key's fingerprint (hex).
    #[getter]
    fn fingerprint(&self) -> String {
        self.inner.fingerprint().to_string()
    }

    fn __len__(&self) -> PyResult<usize> {
        self.inner
            .shape()
            .first()
            .copied()
            .ok_or_else(|| PyTypeError::new_err("len() of a 0-d encrypted array"))
    }

    fn __add__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(other) = other.cast::<PyEncryptedArray>() {
            let other = other.get().inner.clone();
            return self.run(py, move |b| self.inner.add(b, &other));
        }
        let values = self.plain_operand(other)?;
        self.run(py, move |b| self.inner.add_plain(b, values.numbers()))
    }

    fn __radd__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Self> {
        self.__add__(py, other)
    }

    fn __sub__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(other) = other.cast::<PyEncryptedArray>() {
            let other = other.get().inner.clone();
            return self.run(py, move |b| self.inner.sub(b, &other));
        }
        let values = negated(self.plain_operand(other)?)?;
        self.run(py, move |b| self.inner.add_plain(b, values.numbers()))
    }

    fn __rsub__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Self> {
        let values = self.plain_operand(other)?;
        self.run(py, move |b| {
            self.inner.neg()?.add_plain(b, values.numbers())
        })
    }

    fn __neg__(&self, py: Python<'_>) -> PyResult<Self> {
        self.run(py, |_| self.inner.neg())
    }

    fn __mul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Self> {
        if other.cast::<PyEncryptedArray>().is_ok() {
            return Err(PyTypeError::new_err(
                "an encrypted array multiplies plain numbers only (Paillier is additive)",
            ));
        }
        let values = self.plain_operand(other)?;
        self.run(py, move |b| self.inner.mul_plain(b, values.numbers()))
    }

    fn __rmul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Self> {
        self.__mul__(py, other)
    }

    /// Division by plain numbers: multiplication by their inverses, as python-paillier does.
    fn __truediv__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Self> {
        let inverses = match self.plain_operand(other)? {
            PlainValues::Floats(v) => v.into_iter().map(|x| 1.0 / x).collect(),
            PlainValues::Integers(v) => v.into_iter().map(|x| 1.0 / x as f64).collect::<Vec<_>>(),
        };
        self.run(py, move |b| {
            self.inner.mul_plain(b, Numbers::Floats(&inverses))
        })
    }

    /// The sum of every element (a 0-d encrypted array).
    fn sum(&self, py: Python<'_>) -> PyResult<Self> {
        self.run(py, |b| self.inner.sum(b))
    }

    /// `x @ W`: a plain matrix (features × outputs) gives shape `[..., outputs]`; a plain
    /// vector (features) gives the dot product of each sample, shape `[...]`.
    fn __matmul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (values, shape) = plain_values(other)?;
        let weights: Vec<f64> = match values {
            PlainValues::Floats(v) => v,
            PlainValues::Integers(v) => v.into_iter().map(|x| x as f64).collect(),
        };
        match shape.as_slice() {
            [_] => self.run(py, |b| self.inner.dot(b, &weights)),
            &[rows, cols] => self.run(py, |b| {
                self.inner.linear(
                    b,
                    PlainMatrix {
                        values: &weights,
                        rows,
                        cols,
                    },
                    None,
                    None,
                )
            }),
            other => Err(invalid_input(format!(
                "@ takes a plain vector or matrix, not an array of shape {other:?}"
            ))),
        }
    }

    /// numpy indexing (integers, slices, masks, index arrays), on a copy of the selected
    /// ciphertexts.
    fn __getitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Self> {
        let numpy = py.import("numpy")?;
        let positions = numpy
            .call_method1("arange", (self.inner.len(),))?
            .call_method1("reshape", (PyTuple::new(py, self.inner.shape())?,))?
            .get_item(key)?;
        let positions = numpy.call_method1("asarray", (positions,))?;
        let shape: Vec<usize> = positions.getattr("shape")?.extract()?;
        let flat: Vec<usize> = positions
            .call_method0("ravel")?
            .call_method0("tolist")?
            .extract()?;
        let selected = self.inner.select(&flat, shape).py_err()?;
        Ok(self.with(selected))
    }

    /// The elements, row-major, as `phe.paillier.EncryptedNumber`s.
    fn to_phe<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let paillier = py.import("phe")?.getattr("paillier")?;
        let public = paillier.call_method1(
            "PaillierPublicKey",
            (py_int(py, self.inner.public_key().n())?,),
        )?;
        let numbers = (0..self.inner.len())
            .map(|i| {
                let c = self.inner.ciphertext(i);
                paillier.call_method1(
                    "EncryptedNumber",
                    (
                        &public,
                        py_int(py, c.as_biguint())?,
                        self.inner.exponents().get(i),
                    ),
                )
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, numbers)
    }

    /// An array from `phe.paillier.EncryptedNumber`s under `public_key`'s n (row-major; `shape`
    /// defaults to one axis). It decrypts to int64 when every exponent is ≥ 0 (phe decodes
    /// those to int), to float64 otherwise.
    #[staticmethod]
    #[pyo3(signature = (numbers, public_key, shape=None))]
    fn from_phe(
        numbers: &Bound<'_, PyAny>,
        public_key: &PyPaillierPublicKey,
        shape: Option<Vec<usize>>,
    ) -> PyResult<Self> {
        let mut ciphertexts = Vec::new();
        let mut exponents = Vec::new();
        for (i, number) in numbers.try_iter()?.enumerate() {
            let number = number?;
            let n = big_of(&number.getattr("public_key")?.getattr("n")?, "n")?;
            if &n != public_key.key.n() {
                return Err(invalid_input(format!(
                    "number {i} was encrypted under another public key"
                )));
            }
            let c = number.call_method1("ciphertext", (false,))?;
            ciphertexts.push(Ciphertext::from_biguint(big_of(&c, "ciphertext")?));
            exponents.push(number.getattr("exponent")?.extract::<i32>()?);
        }
        let shape = shape.unwrap_or_else(|| vec![ciphertexts.len()]);
        let kind = if exponents.iter().all(|&e| e >= 0) {
            NumberKind::Integer
        } else {
            NumberKind::Float
        };
        let inner = EncryptedArray::from_ciphertexts(
            &public_key.key,
            &ciphertexts,
            ElementExponents::PerElement(exponents),
            kind,
            shape,
        )
        .py_err()?;
        Ok(Self::new(inner, public_key.backend.clone()))
    }

    fn __repr__(&self) -> String {
        format!(
            "EncryptedArray(shape={:?}, dtype={}, fingerprint={})",
            self.inner.shape(),
            if self.is_integer() {
                "int64"
            } else {
                "float64"
            },
            self.inner.fingerprint()
        )
    }
}
