//! `PartitionsRebuild`: the library's partitions rebuild ([`PartitionsRebuild`]) for the Python
//! client, which reads the records and the digest and sends each write it plans, as the Rust
//! client does.

use paillier_gpu::partitions::TrainOptions;
use paillier_gpu::verifiable::{Document, PartitionsRebuild, RebuildRecord};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{invalid_input, IntoPy};
use crate::partitions::PyPartitionModel;
use crate::record_state::PyOwnerDigest;
use crate::records::PyRecordCodec;
use crate::stored::PyStoredRecords;

/// The partitions (`(model, next)`, each a `PartitionModel` or None) a step installs.
type Installed = Option<(Option<PyPartitionModel>, Option<PyPartitionModel>)>;
/// A moved record: its chunk (JSON, with its `chunk_id`), its new `(chunk_id, nonce)` pair and
/// partition.
type Moved = (String, (i64, String), Option<String>);
/// A record a step takes out of the digest: `(chunk_id, nonce, partition)`.
type Removed = (i64, String, Option<String>);

/// A knowledge base's partitions rebuilt as a sequence of writes, with no I/O: the model
/// trained afresh over every record (or the one a rebuild cut short already moves them to),
/// each record whose partition changes moved under a fresh nonce, a batch a write, then the
/// model made the one searches probe. Drive it with `while not rebuild.done`: check
/// `conflict(digest)` against the digest as the service holds it, send `write(codec)` with the
/// digest, then call `written()`.
#[pyclass(name = "PartitionsRebuild", module = "paillier_gpu._native")]
pub struct PyPartitionsRebuild {
    rebuild: PartitionsRebuild,
}

#[pymethods]
impl PyPartitionsRebuild {
    /// Plans the rebuild of `codec`'s knowledge base from `digest` (the service's, opened) and
    /// every record it holds: `ids`, their `stored` records (checked against the digest) and
    /// `documents` (a JSON list of the opened documents, in the same order). Resumes the rebuild
    /// the digest shows under way; otherwise trains `partitions` (None: about √records) with
    /// `balance`, `recall_target` and `seed` as `PartitionModel.train` takes them. Moves go
    /// `batch` records a write.
    #[new]
    #[pyo3(signature = (codec, digest, ids, stored, documents, partitions=None, *, balance=None,
                        recall_target=None, seed=0, batch=paillier_gpu_api::UPLOAD_BATCH))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        codec: &PyRecordCodec,
        digest: &PyOwnerDigest,
        ids: Vec<i64>,
        stored: &PyStoredRecords,
        documents: &str,
        partitions: Option<usize>,
        balance: Option<f64>,
        recall_target: Option<f64>,
        seed: u64,
        batch: usize,
    ) -> PyResult<Self> {
        let documents: Vec<Document> = serde_json::from_str(documents).map_err(|e| {
            invalid_input(format!("the documents are not a JSON list of them: {e}"))
        })?;
        if ids.len() != stored.nonces.len() || ids.len() != documents.len() {
            return Err(invalid_input(format!(
                "{} ids, {} stored records and {} documents: one each a record",
                ids.len(),
                stored.nonces.len(),
                documents.len()
            )));
        }
        let records = ids
            .into_iter()
            .zip(&stored.nonces)
            .zip(documents)
            .map(|((chunk_id, &nonce), document)| RebuildRecord {
                chunk_id,
                nonce,
                document,
            })
            .collect();
        let defaults = TrainOptions::default();
        let train = TrainOptions {
            balance: balance.unwrap_or(defaults.balance),
            recall_target: recall_target.unwrap_or(defaults.recall_target),
            seed,
            ..defaults
        };
        let bits = stored.bits.clone();
        let rebuild = py
            .detach(|| {
                PartitionsRebuild::plan(
                    &codec.codec,
                    &digest.digest,
                    records,
                    bits,
                    partitions,
                    &train,
                    batch,
                )
            })
            .py_err()?;
        Ok(Self { rebuild })
    }

    /// Whether every step is written.
    #[getter]
    fn done(&self) -> bool {
        self.rebuild.step().is_none()
    }

    /// Why the next step cannot be written over `digest`, the service's now (another writer
    /// came between: nothing is lost, running the rebuild again resumes it); None when it can.
    fn conflict(&self, digest: &PyOwnerDigest) -> Option<String> {
        self.rebuild.conflict(&digest.digest)
    }

    /// What the next step writes: `(partitions, moved, removed)`: the partitions from it on
    /// (`(model, next)`, None: as they are), each moved record (`(chunk JSON, (chunk_id,
    /// nonce), partition)`, encrypted again by `codec` under a fresh nonce) and the pairs they
    /// take out (`(chunk_id, nonce, partition)`).
    fn write(
        &self,
        py: Python<'_>,
        codec: &PyRecordCodec,
    ) -> PyResult<(Installed, Vec<Moved>, Vec<Removed>)> {
        let write = py.detach(|| self.rebuild.write(&codec.codec)).py_err()?;
        let model = |m: Option<paillier_gpu::partitions::PartitionModel>| {
            m.map(|model| PyPartitionModel { model })
        };
        let partitions = write.partitions.map(|p| (model(p.model), model(p.next)));
        let moved = write
            .updates
            .into_iter()
            .map(|(chunk, ((id, nonce), value))| (chunk.to_string(), (id, nonce.to_hex()), value))
            .collect();
        let removed = write
            .removed
            .into_iter()
            .map(|((id, nonce), value)| (id, nonce.to_hex(), value))
            .collect();
        Ok((partitions, moved, removed))
    }

    /// Marks the next step written (the digest is one version on).
    fn written(&mut self) {
        self.rebuild.written();
    }

    /// `{"partitions", "records", "moved", "resumed"}`: what the rebuild does.
    fn report<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let report = self.rebuild.report();
        let dict = PyDict::new(py);
        dict.set_item("partitions", report.partitions)?;
        dict.set_item("records", report.records)?;
        dict.set_item("moved", report.moved)?;
        dict.set_item("resumed", report.resumed)?;
        Ok(dict)
    }
}
