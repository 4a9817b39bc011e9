//! What the owner keeps in Rust between the calls of one client operation, so that its secrets
//! never reach Python: a query (its vector and nonce; Python gets only the encrypted pieces),
//! stored records read back (their bits; Python gets only the nonces) and the owner's digest
//! (its tallies; Python gets the version, the count and the counted field).

use paillier_gpu::verifiable::{
    covered_tally, CountedRecord, Expectation, OwnerDigest, RecordNonce, VerifiableQuery,
};
use pyo3::prelude::*;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::errors::invalid_input;

/// A query encrypted by `RecordCodec.encrypt_query`: `pieces` is what `compute_hamming` takes
/// (base64, one a piece); the vector and the nonce the answer is checked against stay inside.
#[pyclass(module = "paillier_gpu", name = "Query", frozen)]
pub struct PyQuery {
    pub query: VerifiableQuery,
    pub pieces: Vec<String>,
}

#[pymethods]
impl PyQuery {
    /// The encrypted query as `compute_hamming`'s `query` field: base64, one string a piece.
    #[getter]
    fn pieces(&self) -> Vec<String> {
        self.pieces.clone()
    }

    fn __len__(&self) -> usize {
        self.pieces.len()
    }

    fn __repr__(&self) -> String {
        format!("Query(<{} encrypted pieces>)", self.pieces.len())
    }
}

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

    fn __len__(&self) -> usize {
        self.nonces.len()
    }

    fn __repr__(&self) -> String {
        format!("StoredRecords(<{} records>)", self.nonces.len())
    }
}

/// The owner's digest of a knowledge base at one version, opened (`RecordCodec.open_digest`)
/// or made (`next_digest`, `counted_digest`). Its tallies stay inside: only the owner's key
/// computes them, and a search is checked against them by `RecordCodec.rank`.
#[pyclass(module = "paillier_gpu", name = "OwnerDigest", frozen)]
pub struct PyOwnerDigest {
    pub digest: OwnerDigest,
}

#[pymethods]
impl PyOwnerDigest {
    /// The digest's version on the service (0: none stored).
    #[getter]
    fn version(&self) -> i64 {
        self.digest.version
    }

    /// How many records it counts.
    #[getter]
    fn count(&self) -> u64 {
        self.digest.records.count
    }

    /// The metadata field it also counts per value, if any.
    #[getter]
    fn counted_field(&self) -> Option<String> {
        self.digest.counted_field.clone()
    }

    /// How many values of the counted field hold records.
    #[getter]
    fn counted_values(&self) -> usize {
        self.digest.values.len()
    }

    fn __repr__(&self) -> String {
        let field = match &self.digest.counted_field {
            Some(field) => format!("{field:?}"),
            None => "None".to_owned(),
        };
        format!(
            "OwnerDigest(version={}, count={}, counted_field={field})",
            self.digest.version, self.digest.records.count
        )
    }
}

/// A nonce from its 32 hexadecimal digits.
pub fn nonce_of(hex: &str) -> PyResult<RecordNonce> {
    let bad = || invalid_input(format!("{hex:?} is not a record nonce (32 hex digits)"));
    if hex.len() != 32 {
        return Err(bad());
    }
    u128::from_str_radix(hex, 16)
        .map(|value| RecordNonce::from_bytes(value.to_le_bytes()))
        .map_err(|_| bad())
}

/// Records as the digest counts them, from Python's `(chunk_id, nonce_hex, value or None)`.
pub fn counted_records(
    records: Vec<(i64, String, Option<String>)>,
) -> PyResult<Vec<CountedRecord>> {
    records
        .into_iter()
        .map(|(chunk_id, nonce, value)| Ok(((chunk_id, nonce_of(&nonce)?), value)))
        .collect()
}

/// What an answer must hold: the range, the caller's count and, when the owner's digest covers
/// a search with the owner's `filter` (not its tokens) and `range`, the digest's tally.
pub fn expectation(
    digest: Option<&PyOwnerDigest>,
    filter: Option<&Value>,
    range: Option<(i64, i64)>,
    count: Option<usize>,
) -> Expectation {
    Expectation {
        digest: digest.and_then(|d| covered_tally(&d.digest, filter, range)),
        range,
        count,
    }
}
