//! `PartitionModel`: the library's [`PartitionModel`] for Python (trained, searched and placed
//! by the owner; the Python client keeps it inside the owner's digest), and the partitions'
//! helpers the client needs: `auto_partitions`, `partitions_filter`, `check_unreserved`,
//! `counted_value` and `placed_meta` (a record's metadata as the digest counts it), and
//! documents placed in their partitions for `RecordCodec.chunks`.

use std::borrow::Cow;

use paillier_gpu::partitions::{self, PartitionModel, TrainOptions};
use paillier_gpu::verifiable::{self, in_partition, Document};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::{Map, Value};

use crate::convert::{bit_rows, non_negative};
use crate::errors::{invalid_input, IntoPy};
use crate::stored::PyStoredRecords;

/// Binary vectors as the model reads them: one flat buffer of 0/1 bytes, `dims` a row.
struct Flat<'a> {
    bits: Cow<'a, [u8]>,
    dims: usize,
    count: usize,
}

impl Flat<'_> {
    fn rows(&self) -> Vec<&[u8]> {
        match self.dims {
            0 => vec![&[][..]; self.count],
            dims => self.bits.chunks_exact(dims).collect(),
        }
    }
}

/// `vectors`: a 2-D array-like of 0 and 1 (`dims` a row when given, else its own width), or
/// `StoredRecords` (their checked bits, which never leave Rust).
fn flat<'a>(vectors: &'a Bound<'_, PyAny>, dims: Option<usize>) -> PyResult<Flat<'a>> {
    if let Ok(stored) = vectors.cast::<PyStoredRecords>() {
        let stored = stored.get();
        let count = stored.nonces.len();
        let dims = dims.unwrap_or(match count {
            0 => 0,
            n => stored.bits.len() / n,
        });
        if stored.bits.len() != count * dims {
            return Err(invalid_input(format!(
                "these stored records hold vectors of {} dimensions, not {dims}",
                stored.bits.len() / count.max(1)
            )));
        }
        return Ok(Flat {
            bits: Cow::Borrowed(stored.bits.as_slice()),
            dims,
            count,
        });
    }
    let dims = match dims {
        Some(dims) => dims,
        None => {
            let array = vectors
                .py()
                .import("numpy")?
                .call_method1("asarray", (vectors,))?;
            let shape: Vec<usize> = array.getattr("shape")?.extract()?;
            shape.last().copied().unwrap_or(0)
        }
    };
    let rows = bit_rows(vectors, dims, true)?;
    let count = rows.flat.len().checked_div(rows.dims).unwrap_or(0);
    Ok(Flat {
        bits: Cow::Owned(rows.flat),
        dims: rows.dims,
        count,
    })
}

/// Binary vectors split into partitions around centroids (FAISS's `IndexBinaryIVF`), so that a
/// query searches only the partitions nearest to it; with the owner's recall estimate per
/// probe. Trained by `PartitionModel.train`; a knowledge base's own is its digest's
/// (`OwnerDigest.partition_model`). Two are equal when they are the same model (see
/// [`PartitionModel::same_as`]).
#[pyclass(module = "paillier_gpu", name = "PartitionModel", frozen, eq)]
#[derive(Clone)]
pub struct PyPartitionModel {
    pub model: PartitionModel,
}

impl PartialEq for PyPartitionModel {
    fn eq(&self, other: &Self) -> bool {
        self.model.same_as(&other.model)
    }
}

#[pymethods]
impl PyPartitionModel {
    /// Trains `partitions` partitions over `vectors` (a 2-D array of 0 and 1, or
    /// `StoredRecords`): k-means on a sample as FAISS trains it, every vector then placed with no
    /// partition above `ceil(balance · records / partitions)`, and the recall@`top_k` of a
    /// search of the P nearest partitions estimated on `held_out` records. The model and each
    /// vector's partition, in order. Deterministic given `seed`. Each option left out (None) is
    /// the library's default.
    #[staticmethod]
    #[pyo3(signature = (vectors, partitions, *, balance=None, recall_target=None, top_k=None,
                        max_train_sample=None, held_out=None, iterations=None, seed=0))]
    #[allow(clippy::too_many_arguments)]
    fn train(
        py: Python<'_>,
        vectors: &Bound<'_, PyAny>,
        partitions: i64,
        balance: Option<f64>,
        recall_target: Option<f64>,
        top_k: Option<i64>,
        max_train_sample: Option<i64>,
        held_out: Option<i64>,
        iterations: Option<i64>,
        seed: u64,
    ) -> PyResult<(Self, Vec<u32>)> {
        let defaults = TrainOptions::new(non_negative("partitions", partitions)?);
        let count = |name, value: Option<i64>, default| match value {
            Some(value) => non_negative(name, value),
            None => Ok(default),
        };
        let options = TrainOptions {
            balance: balance.unwrap_or(defaults.balance),
            recall_target: recall_target.unwrap_or(defaults.recall_target),
            top_k: count("top_k", top_k, defaults.top_k)?,
            max_train_sample: count(
                "max_train_sample",
                max_train_sample,
                defaults.max_train_sample,
            )?,
            held_out: count("held_out", held_out, defaults.held_out)?,
            iterations: count("iterations", iterations, defaults.iterations)?,
            seed,
            ..defaults
        };
        let vectors = flat(vectors, None)?;
        let (model, assigned) = py
            .detach(|| PartitionModel::train(&vectors.rows(), &options))
            .py_err()?;
        Ok((Self { model }, assigned))
    }

    /// The partition whose centroid is nearest to `vector` (ties: the lowest index): where a
    /// record added after training goes.
    fn assign(&self, vector: &Bound<'_, PyAny>) -> PyResult<u32> {
        let bits = bit_rows(vector, self.model.dim(), false)?;
        self.model.assign(&bits.flat).py_err()
    }

    /// `assign` of each of `vectors` (2-D, or `StoredRecords`), in order.
    fn assign_many(&self, py: Python<'_>, vectors: &Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
        let vectors = flat(vectors, Some(self.model.dim()))?;
        py.detach(|| {
            let rows = vectors.rows();
            rows.iter()
                .map(|v| self.model.assign(v))
                .collect::<paillier_gpu::Result<Vec<u32>>>()
        })
        .py_err()
    }

    /// Each of `vectors`' partition (2-D, or `StoredRecords`), none holding more than
    /// `capacity(len(vectors))`: the placement a rebuild gives a whole corpus.
    fn assign_balanced(&self, py: Python<'_>, vectors: &Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
        let vectors = flat(vectors, Some(self.model.dim()))?;
        py.detach(|| self.model.assign_balanced(&vectors.rows()))
            .py_err()
    }

    /// The `probe` partitions nearest to `query`, nearest first (all when `probe` is at least
    /// `partitions`); a probe of 0 raises `InvalidInputError`.
    fn nearest(&self, query: &Bound<'_, PyAny>, probe: i64) -> PyResult<Vec<u32>> {
        let bits = bit_rows(query, self.model.dim(), false)?;
        let probe = non_negative("probe", probe)?;
        self.model.nearest(&bits.flat, probe).py_err()
    }

    /// How many partitions.
    #[getter]
    fn partitions(&self) -> usize {
        self.model.partitions()
    }

    /// The vectors' dimensions.
    #[getter]
    fn dim(&self) -> usize {
        self.model.dim()
    }

    /// The smallest probe whose estimated recall reached the training's recall target.
    #[getter]
    fn default_probe(&self) -> usize {
        self.model.default_probe()
    }

    /// The balance factor it was trained with.
    #[getter]
    fn balance(&self) -> f64 {
        self.model.balance()
    }

    /// The recall target the default probe was chosen for.
    #[getter]
    fn recall_target(&self) -> f64 {
        self.model.recall_target()
    }

    /// The k of the recall@k estimate.
    #[getter]
    fn top_k(&self) -> usize {
        self.model.top_k()
    }

    /// The recall table by ascending probe: `[{"probe", "recall", "share", "error"}]`, `share`
    /// the fraction of the records such a search reads, `error` the recall's standard error.
    #[getter]
    pub(crate) fn recall<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.model
            .recall()
            .iter()
            .map(|point| {
                let row = PyDict::new(py);
                row.set_item("probe", point.probe)?;
                row.set_item("recall", point.recall)?;
                row.set_item("share", point.share)?;
                row.set_item("error", point.error)?;
                Ok(row)
            })
            .collect()
    }

    /// The most records a partition holds when `assign_balanced` places `records`.
    fn capacity(&self, records: i64) -> PyResult<usize> {
        Ok(self.model.capacity(non_negative("records", records)?))
    }

    /// The smallest probe in the recall table whose recall reaches `target` (`partitions` when
    /// none does).
    fn probe_for(&self, target: f64) -> usize {
        self.model.probe_for(target)
    }

    /// Partition `index`'s centroid as 0/1 values (IndexError past the last partition).
    fn centroid(&self, index: usize) -> PyResult<Vec<u8>> {
        self.model.centroid(index).ok_or_else(|| {
            pyo3::exceptions::PyIndexError::new_err(format!(
                "partition {index} of {}",
                self.model.partitions()
            ))
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "PartitionModel(partitions={}, dim={}, default_probe={}, balance={})",
            self.model.partitions(),
            self.model.dim(),
            self.model.default_probe(),
            self.model.balance()
        )
    }
}

/// A partition count for `records` records: round(√records), at least 1.
#[pyfunction]
pub fn auto_partitions(records: i64) -> PyResult<usize> {
    Ok(partitions::auto_partitions(non_negative(
        "records", records,
    )?))
}

/// The owner's filter (JSON) that selects whole `partitions`: `{"partition": {"$in": [...]}}`,
/// tokenised by `RecordCodec.filter` before it is sent.
#[pyfunction]
pub fn partitions_filter(partitions: Vec<u32>) -> String {
    verifiable::partitions_filter(&partitions).to_string()
}

/// Raises `PrivateMetadataError` when `meta_data` (a JSON object) sets the partitions' own
/// field ("partition"): a patch or a document may not.
#[pyfunction]
pub fn check_unreserved(meta_data: &str) -> PyResult<()> {
    let meta: Map<String, Value> = serde_json::from_str(meta_data)
        .map_err(|e| invalid_input(format!("the metadata is not a JSON object: {e}")))?;
    verifiable::check_unreserved(&meta).py_err()
}

/// The value of the digest's counted field `field` (None: it counts none) in `meta_data` (a
/// JSON value, None for no metadata): the library's `counted_value`. Metadata that is not an
/// object counts as none.
#[pyfunction]
#[pyo3(signature = (meta_data, field))]
pub fn counted_value(meta_data: Option<&str>, field: Option<&str>) -> PyResult<Option<String>> {
    let Some(text) = meta_data else {
        return Ok(None);
    };
    let meta: Value = serde_json::from_str(text)
        .map_err(|e| invalid_input(format!("the metadata is not JSON: {e}")))?;
    Ok(match meta {
        Value::Object(meta) => verifiable::counted_value(&meta, field),
        _ => None,
    })
}

/// Whether `filter` (JSON) selects a record of metadata `meta_data` (a JSON object, the owner's
/// own; None for none), by the rule the service's filter follows: the library's
/// `filter_selects`.
#[pyfunction]
#[pyo3(signature = (filter, meta_data))]
pub fn filter_selects(filter: &str, meta_data: Option<&str>) -> PyResult<bool> {
    let filter: Value = serde_json::from_str(filter)
        .map_err(|e| invalid_input(format!("the filter is not JSON: {e}")))?;
    let meta = match meta_data {
        Some(text) => match serde_json::from_str(text) {
            Ok(Value::Object(meta)) => meta,
            Ok(_) | Err(_) => return Err(invalid_input("the metadata is not a JSON object")),
        },
        None => Map::new(),
    };
    verifiable::filter_selects(&filter, &meta).py_err()
}

/// `meta_data` (a JSON object, None for none) placed in `partition`, as the record's document
/// is sealed: the library's `in_partition`, as JSON. Raises `PrivateMetadataError` when the
/// metadata names a partition of its own.
#[pyfunction]
pub fn placed_meta(meta_data: Option<&str>, partition: u32) -> PyResult<String> {
    let document = match meta_data {
        Some(text) => Some(Document {
            meta_data: serde_json::from_str(text)
                .map_err(|e| invalid_input(format!("the metadata is not a JSON object: {e}")))?,
            ..Document::default()
        }),
        None => None,
    };
    let placed = in_partition(document.as_ref(), partition).py_err()?;
    Ok(Value::Object(placed.meta_data).to_string())
}

/// `documents` (none, or one per record) each placed in its partition when `partitions` (one
/// per record of `records`) is given; as they are otherwise.
pub fn placed_documents(
    documents: Vec<Document>,
    partitions: Option<&[u32]>,
    records: usize,
) -> PyResult<Vec<Document>> {
    let Some(partitions) = partitions else {
        return Ok(documents);
    };
    if partitions.len() != records {
        return Err(invalid_input(format!(
            "{} partitions for {records} records",
            partitions.len()
        )));
    }
    partitions
        .iter()
        .enumerate()
        .map(|(record, &partition)| in_partition(documents.get(record), partition).py_err())
        .collect()
}
