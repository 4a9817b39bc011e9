//! What the owner keeps in Rust between the calls of one client operation, so that its secrets
//! never reach Python: a query (its vector and nonce; Python gets only the encrypted pieces),
//! stored records read back (their bits; Python gets only the nonces) and the owner's digest
//! (its tallies; Python gets the version, the counts and the partitions).

use paillier_gpu::partitions::PartitionModel;
use paillier_gpu::verifiable::{
    covered_tally, CountedRecord, Expectation, OwnerDigest, PartitionCount, Partitioning,
    PlacedWrite, RecordNonce, UploadPartitions, VerifiableQuery,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Value;

use crate::errors::{invalid_input, IntoPy};
use crate::partitions::PyPartitionModel;
pub use crate::stored::PyStoredRecords;

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
        self.digest.version()
    }

    /// How many records it counts.
    #[getter]
    fn count(&self) -> u64 {
        self.digest.count()
    }

    /// The layout of the knowledge base's records: `"one-bit"` or `"two-bit"`.
    #[getter]
    fn layout(&self) -> &'static str {
        self.digest.layout().name()
    }

    /// The metadata field it also counts per value, if any.
    #[getter]
    fn counted_field(&self) -> Option<String> {
        self.digest.counted_field().map(str::to_owned)
    }

    /// The field a write counts its records by: the partition when it places them in
    /// partitions (`placed`), else `counted_field`.
    fn write_counted_field(&self, placed: bool) -> Option<String> {
        self.digest.write_counted_field(placed).map(str::to_owned)
    }

    /// Raises `InvalidInputError` when the digest counts another field per value than the
    /// partitions (which are counted per partition).
    fn check_partitions_counted(&self) -> PyResult<()> {
        self.digest.check_partitions_counted().py_err()
    }

    /// What an upload to knowledge base `kb` asking for `partitions` (None, "auto" or a number)
    /// does: `("follow", note, None)` (the records go where its partitions put them; `note`, or
    /// None, says why another number asked for is not trained) or `("train", None, count)` (an
    /// empty knowledge base: train `count` partitions, None meaning about √records, over the
    /// upload's vectors). Raises `InvalidInputError` for partitions over records stored without
    /// them.
    #[pyo3(signature = (kb, partitions=None))]
    fn upload_partitions(
        &self,
        kb: &str,
        partitions: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(&'static str, Option<String>, Option<usize>)> {
        let asked = partitions.map(partition_count).transpose()?;
        Ok(match self.digest.upload_partitions(kb, asked).py_err()? {
            UploadPartitions::Follow { note } => ("follow", note, None),
            UploadPartitions::Train { partitions } => match partitions {
                PartitionCount::Auto => ("train", None, None),
                PartitionCount::Exactly(n) => ("train", None, Some(n)),
            },
        })
    }

    /// Checks that `model` (a `PartitionModel`, None: not partitioned), by which a write placed
    /// its records, is still the knowledge base's in this digest (the service's now);
    /// `trained`: just trained over an upload to an empty knowledge base. Returns the
    /// partitions the write installs (`(model, None)` for a trained upload's first write, else
    /// None); raises `ConcurrentWriteError` when another writer changed them. `write` is
    /// "upload" or "update" (the message says how to go on).
    #[pyo3(signature = (model, trained, write))]
    fn check_placement(
        &self,
        model: Option<PyRef<'_, PyPartitionModel>>,
        trained: bool,
        write: &str,
    ) -> PyResult<Option<(PyPartitionModel, Option<PyPartitionModel>)>> {
        let write = match write {
            "upload" => PlacedWrite::Upload,
            "update" => PlacedWrite::Update,
            other => {
                return Err(invalid_input(format!(
                    "a placed write is \"upload\" or \"update\", not {other:?}"
                )))
            }
        };
        let installed = self
            .digest
            .check_placement(model.as_deref().map(|m| &m.model), trained, write)
            .py_err()?;
        Ok(installed.and_then(|p| {
            let model = p.model?;
            Some((
                PyPartitionModel { model },
                p.next.map(|model| PyPartitionModel { model }),
            ))
        }))
    }

    /// How many values of the counted field hold records.
    #[getter]
    fn counted_values(&self) -> usize {
        self.digest.counted_values()
    }

    /// Whether this digest counts exactly what `filter` (JSON, the owner's own) selects, so
    /// that the service's selection can be checked complete: the library's `covers_filter`.
    fn covers_filter(&self, filter: &str) -> PyResult<bool> {
        let filter: serde_json::Value = serde_json::from_str(filter)
            .map_err(|e| crate::errors::invalid_input(format!("the filter is not JSON: {e}")))?;
        Ok(paillier_gpu::verifiable::covers_filter(
            &self.digest,
            &filter,
        ))
    }

    /// The partition model new records are placed by and searches probe (None: not
    /// partitioned).
    #[getter]
    fn partition_model(&self) -> Option<PyPartitionModel> {
        let model = model_of(&self.digest)?.clone();
        Some(PyPartitionModel { model })
    }

    /// The model a rebuild under way moves the records to (None: no rebuild under way).
    #[getter]
    fn next_partition_model(&self) -> Option<PyPartitionModel> {
        let model = self.digest.next_partition_model()?.clone();
        Some(PyPartitionModel { model })
    }

    /// What the owner knows of the knowledge base's partitions, or None when it is not
    /// partitioned: `{"records", "partitions", "sizes"` (each partition's records, as the
    /// digest counts them), `"recommended_probe"`, `"balance"` (the training's bound: no
    /// partition was placed above this times the mean), `"largest_over_mean"`, `"recall"` (the
    /// owner's estimate at training: `[{"probe", "recall", "share", "error"}]`) and
    /// `"rebuilding"` (a rebuild is under way)`}`.
    fn partition_summary<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(model) = model_of(&self.digest) else {
            return Ok(None);
        };
        let sizes = self.digest.partition_sizes();
        let mean = self.digest.count() as f64 / model.partitions().max(1) as f64;
        let largest = sizes.iter().copied().max().unwrap_or(0) as f64;
        let summary = PyDict::new(py);
        summary.set_item("records", self.digest.count())?;
        summary.set_item("partitions", model.partitions())?;
        summary.set_item("sizes", sizes)?;
        summary.set_item("recommended_probe", model.default_probe())?;
        summary.set_item("balance", model.balance())?;
        summary.set_item(
            "largest_over_mean",
            if mean > 0.0 { largest / mean } else { 0.0 },
        )?;
        let recall = PyPartitionModel {
            model: model.clone(),
        }
        .recall(py)?;
        summary.set_item("recall", recall)?;
        summary.set_item("rebuilding", self.digest.next_partition_model().is_some())?;
        summary.set_item("decoys", self.digest.sealed_decoys())?;
        Ok(Some(summary))
    }

    /// How many records each partition of `partition_model` holds, as the digest counts them
    /// (empty when not partitioned).
    #[getter]
    fn partition_sizes(&self) -> Vec<u64> {
        self.digest.partition_sizes()
    }

    /// This digest with its partitions set to `model` (searched, and placing new records) and
    /// `next` (a rebuild's, under way), counting the partition per value: the base of the next
    /// digest of the write that installs them (`RecordCodec.next_digest`).
    #[pyo3(signature = (model, next=None))]
    fn with_partitions(
        &self,
        model: Option<&PyPartitionModel>,
        next: Option<&PyPartitionModel>,
    ) -> Self {
        let partitions = Partitioning {
            model: model.map(|m| m.model.clone()),
            next: next.map(|m| m.model.clone()),
            ..Partitioning::default()
        };
        Self {
            digest: self.digest.clone().with_partitions(partitions),
        }
    }

    /// The write that stores this digest, sealed as `sealed`, over `expected_version` (JSON:
    /// `{expected_version, version, sealed, link}`), as `PUT /v1/owner_digest/...` and
    /// `POST /v1/records`'s `owner_digest` take it.
    fn write(&self, expected_version: i64, sealed: &str) -> String {
        crate::digest_history::digest_write(&self.digest, expected_version, sealed)
    }

    fn __repr__(&self) -> String {
        let field = match self.digest.counted_field() {
            Some(field) => format!("{field:?}"),
            None => "None".to_owned(),
        };
        let partitions = match model_of(&self.digest) {
            Some(model) => format!(", partitions={}", model.partitions()),
            None => String::new(),
        };
        format!(
            "OwnerDigest(version={}, count={}, counted_field={field}{partitions})",
            self.digest.version(),
            self.digest.count()
        )
    }
}

/// The partition model `digest` places records by and searches probe, if any.
fn model_of(digest: &OwnerDigest) -> Option<&PartitionModel> {
    digest.partition_model()
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

/// A count of partitions as Python gives it: "auto" or a number (at least 1).
pub fn partition_count(value: &Bound<'_, PyAny>) -> PyResult<PartitionCount> {
    if value.extract::<String>().is_ok_and(|s| s == "auto") {
        return Ok(PartitionCount::Auto);
    }
    match value.extract::<usize>() {
        Ok(n) if n >= 1 && !value.is_instance_of::<pyo3::types::PyBool>() => {
            Ok(PartitionCount::Exactly(n))
        }
        _ => Err(invalid_input(format!(
            "partitions is a number of partitions (at least 1) or \"auto\", not {value}"
        ))),
    }
}
