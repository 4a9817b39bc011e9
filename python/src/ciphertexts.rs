//! `Ciphertexts`: what encryption and aggregation return, in any of the SDK's and our forms.

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use paillier_gpu::formats::ciphertexts::{
    decode_piece, encode_binary_batch, read_binary_batch, read_ciphertext_batch,
    write_ciphertext_batch, CiphertextShape,
};
use paillier_gpu::io::{Output, OutputKind};
use paillier_gpu::paillier::{Ciphertext, CiphertextBatch, PublicKey};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyList, PySlice, PyString};

use crate::context_state::key_of;
use crate::errors::{invalid_input, IntoPy};

/// Encrypted vectors: one record (one or more Paillier ciphertexts) per vector, all under one
/// public key, each ciphertext checked once when the object was made (0 < c < n²).
///
/// `len()` counts vectors; indexing gives one vector and slicing a range, both as
/// `Ciphertexts`. Forms: `to_b64()` (the SDK's lists of base64 little-endian chunks),
/// `to_bytes()` (the binary file form with the key's fingerprint), `save(path)` (`.jsonl` or
/// binary by the name).
#[pyclass(module = "paillier_gpu", frozen)]
pub struct Ciphertexts {
    pub batch: CiphertextBatch,
    pub public_key: Arc<PublicKey>,
    pub shape: CiphertextShape,
}

impl Ciphertexts {
    pub fn new(batch: CiphertextBatch, public_key: Arc<PublicKey>, shape: CiphertextShape) -> Self {
        Self {
            batch,
            public_key,
            shape,
        }
    }

    fn like(&self, batch: CiphertextBatch) -> Self {
        Self::new(batch, self.public_key.clone(), self.shape)
    }

    /// [`from_b64`](Self::from_b64), for the other methods that take the SDK's form.
    /// Rows of pieces, each piece base64 of little-endian bytes (the SDK's wire form),
    /// little-endian `bytes`, or an `int` (as an XTrace service's compute_hamming answers them);
    /// a flat list of pieces is one vector.
    pub fn from_b64_rows(context: &Bound<'_, PyAny>, rows: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (public_key, shape) = key_of(context)?;
        let rows: Vec<Bound<'_, PyAny>> = rows.extract()?;
        let is_piece = |r: &Bound<'_, PyAny>| {
            r.is_instance_of::<PyString>()
                || r.is_instance_of::<PyBytes>()
                || r.is_instance_of::<PyInt>()
        };
        let one_vector = rows.first().is_some_and(is_piece);
        let rows: Vec<Vec<Bound<'_, PyAny>>> = if one_vector {
            vec![rows]
        } else {
            rows.iter().map(|r| r.extract()).collect::<PyResult<_>>()?
        };
        let mut ciphertexts: Vec<Ciphertext> = Vec::new();
        for (index, row) in rows.iter().enumerate() {
            if row.len() != shape.pieces {
                return Err(crate::errors::to_py_err(
                    paillier_gpu::Error::InvalidCiphertext {
                        index,
                        reason: format!("{} chunks where {} are expected", row.len(), shape.pieces),
                    },
                ));
            }
            for chunk in row {
                ciphertexts.push(if let Ok(text) = chunk.extract::<String>() {
                    decode_piece(&text, shape, index).py_err()?
                } else if let Ok(bytes) = chunk.cast::<PyBytes>() {
                    Ciphertext::from_le_bytes(bytes.as_bytes())
                } else {
                    Ciphertext::from_biguint(crate::convert::big_of(chunk, "a ciphertext")?)
                });
            }
        }
        let batch =
            CiphertextBatch::from_ciphertexts(&public_key, shape.pieces, &ciphertexts).py_err()?;
        Ok(Self::new(batch, public_key, shape))
    }

    fn index(&self, i: isize) -> PyResult<usize> {
        let len = self.batch.records() as isize;
        let at = if i < 0 { i + len } else { i };
        if at < 0 || at >= len {
            return Err(pyo3::exceptions::PyIndexError::new_err(format!(
                "vector {i} of {len}"
            )));
        }
        Ok(at as usize)
    }
}

#[pymethods]
impl Ciphertexts {
    fn __len__(&self) -> usize {
        self.batch.records()
    }

    fn __getitem__(&self, key: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(slice) = key.cast::<PySlice>() {
            let indices = slice.indices(self.batch.records() as isize)?;
            if indices.step == 1 {
                let end = indices.stop.max(indices.start) as usize;
                return Ok(self.like(
                    self.batch
                        .records_in(indices.start as usize..end)
                        .py_err()?,
                ));
            }
            let mut out =
                CiphertextBatch::new(&self.public_key, self.batch.pieces_per_record()).py_err()?;
            let mut i = indices.start;
            for _ in 0..indices.slicelength {
                out.extend(&self.batch.records_in(i as usize..i as usize + 1).py_err()?)
                    .py_err()?;
                i += indices.step;
            }
            return Ok(self.like(out));
        }
        let i = self.index(key.extract::<isize>()?)?;
        Ok(self.like(self.batch.records_in(i..i + 1).py_err()?))
    }

    fn __repr__(&self) -> String {
        format!(
            "Ciphertexts({} vectors × {} chunk(s), key {})",
            self.batch.records(),
            self.batch.pieces_per_record(),
            self.batch.key()
        )
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(other) = other.cast::<Ciphertexts>() else {
            return Ok(false);
        };
        let other = other.get();
        Ok(self.batch.key() == other.batch.key()
            && self.batch.pieces_per_record() == other.batch.pieces_per_record()
            && self.batch.limbs() == other.batch.limbs())
    }

    /// The public key's fingerprint (64 hex digits, as `paillier-gpu context show` prints it).
    #[getter]
    fn key_fingerprint(&self) -> String {
        self.batch.key().to_string()
    }

    /// Ciphertexts per vector.
    #[getter]
    fn chunks_per_vector(&self) -> usize {
        self.batch.pieces_per_record()
    }

    /// The SDK's form: one list per vector of base64 strings, each a chunk's little-endian bytes
    /// zero-padded to `4·key_len/8`.
    fn to_b64<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let width = self.shape.piece_bytes;
        let chunks = self.batch.pieces_per_record();
        let mut bytes = Vec::with_capacity(self.batch.records() * chunks * width);
        self.batch.write_le_bytes(width, &mut bytes).py_err()?;
        let engine = base64::engine::general_purpose::STANDARD;
        let rows = PyList::empty(py);
        for record in bytes.chunks(chunks * width) {
            let row: Vec<String> = record.chunks(width).map(|c| engine.encode(c)).collect();
            rows.append(row)?;
        }
        Ok(rows)
    }

    /// The SDK's in-memory form: one list per vector of Python ints, one per piece (what the
    /// SDK's `encrypt_vec_batch` returns).
    fn to_ints<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let width = self.shape.piece_bytes;
        let chunks = self.batch.pieces_per_record();
        let mut bytes = Vec::with_capacity(chunks * width);
        let rows = PyList::empty(py);
        for record in 0..self.batch.records() {
            bytes.clear();
            self.batch
                .write_record_le_bytes(record, width, &mut bytes)
                .py_err()?;
            let row = PyList::empty(py);
            for piece in bytes.chunks(width) {
                row.append(crate::convert::py_int_le(py, piece)?)?;
            }
            rows.append(row)?;
        }
        Ok(rows)
    }

    /// Reads the SDK's form under `context`'s key (an `ExecutionContext` or a
    /// `PublicContext`): a list of vectors, each a list of base64 chunks (a flat list of strings
    /// is one vector, as the SDK writes a query).
    #[staticmethod]
    fn from_b64(context: &Bound<'_, PyAny>, rows: &Bound<'_, PyAny>) -> PyResult<Self> {
        Self::from_b64_rows(context, rows)
    }

    /// The binary file form (64-byte header with the key's fingerprint, then the records).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = encode_binary_batch(&self.batch, self.shape).py_err()?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Reads the binary form under `context`'s key; a file made under another key is refused.
    #[staticmethod]
    fn from_bytes(context: &Bound<'_, PyAny>, data: &[u8]) -> PyResult<Self> {
        let (public_key, shape) = key_of(context)?;
        let batch = read_binary_batch(data, shape, &public_key).py_err()?;
        Ok(Self::new(batch, public_key, shape))
    }

    /// Writes a file: base64 JSON Lines when the name ends in `.jsonl`, else the binary form
    /// (the same files the CLI reads and writes). The write is atomic. An existing file is
    /// replaced only when it is a ciphertext file (or empty), unless `overwrite=True`.
    #[pyo3(signature = (path, overwrite=false))]
    fn save(&self, py: Python<'_>, path: PathBuf, overwrite: bool) -> PyResult<()> {
        py.detach(|| {
            let output = Output::prepare(&path, &[], OutputKind::Ciphertexts, overwrite)?;
            write_ciphertext_batch(output, &self.batch, self.shape)
        })
        .py_err()
    }

    /// Reads a file written by `save` or by the CLI, under `context`'s key.
    #[staticmethod]
    fn load(py: Python<'_>, context: &Bound<'_, PyAny>, path: PathBuf) -> PyResult<Self> {
        let (public_key, shape) = key_of(context)?;
        let batch = py
            .detach(|| read_ciphertext_batch(&path, shape, &public_key))
            .py_err()?;
        Ok(Self::new(batch, public_key, shape))
    }

    /// One `Ciphertexts` holding every part's vectors in order (all under one key).
    #[staticmethod]
    fn concat(parts: Vec<Bound<'_, Ciphertexts>>) -> PyResult<Self> {
        let Some(first) = parts.first() else {
            return Err(invalid_input("concat needs at least one part"));
        };
        let first = first.get();
        let mut batch = first.batch.records_in(0..first.batch.records()).py_err()?;
        for part in &parts[1..] {
            batch.extend(&part.get().batch).py_err()?;
        }
        Ok(first.like(batch))
    }
}
