//! Stored verifiable records read back, kept in Rust: Python gets their nonces, never their
//! bits.

use paillier_gpu::verifiable::RecordNonce;
use pyo3::prelude::*;
use zeroize::Zeroizing;

/// Stored verifiable records read back by `RecordCodec.stored`, each checked: their nonces (in
/// order, 32 hex digits each) and, kept here, their bits, which `RecordCodec.encrypt_again`
/// encrypts under fresh nonces.
#[pyclass(module = "paillier_gpu", name = "StoredRecords", frozen)]
pub struct PyStoredRecords {
    pub nonces: Vec<RecordNonce>,
    pub bits: Zeroizing<Vec<u8>>,
}

#[pymethods]
impl PyStoredRecords {
    /// Each record's nonce, in order, as 32 hexadecimal digits.
    #[getter]
    fn nonces(&self) -> Vec<String> {
        self.nonces.iter().map(|n| n.to_hex()).collect()
    }

    /// `parts` (read a page at a time, by codecs of one context) as one, in order.
    #[staticmethod]
    fn join(parts: Vec<PyRef<'_, PyStoredRecords>>) -> Self {
        let mut joined = Self {
            nonces: Vec::new(),
            bits: Zeroizing::new(Vec::new()),
        };
        for part in &parts {
            joined.nonces.extend_from_slice(&part.nonces);
            joined.bits.extend_from_slice(&part.bits);
        }
        joined
    }

    /// Records `positions` (places in this one, in the order given) as a `StoredRecords` of
    /// their own: what a partitions rebuild encrypts again when it moves them.
    fn select(&self, positions: Vec<usize>) -> PyResult<Self> {
        let count = self.nonces.len();
        let width = self.bits.len().checked_div(count).unwrap_or(0);
        let mut selected = Self {
            nonces: Vec::with_capacity(positions.len()),
            bits: Zeroizing::new(Vec::with_capacity(positions.len() * width)),
        };
        for &position in &positions {
            if position >= count {
                return Err(pyo3::exceptions::PyIndexError::new_err(format!(
                    "record {position} of {count}"
                )));
            }
            selected.nonces.push(self.nonces[position]);
            selected
                .bits
                .extend_from_slice(&self.bits[position * width..(position + 1) * width]);
        }
        Ok(selected)
    }

    fn __len__(&self) -> usize {
        self.nonces.len()
    }

    fn __repr__(&self) -> String {
        format!("StoredRecords(<{} records>)", self.nonces.len())
    }
}
