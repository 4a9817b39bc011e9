//! `EncryptedIndex`: the search backend's database of ciphertexts.

use std::sync::{Arc, RwLock};

use paillier_gpu::formats::ciphertexts::CiphertextShape;
use paillier_gpu::paillier::PublicKey;
use paillier_gpu::Selection;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyRange, PySlice};

use crate::ciphertexts::Ciphertexts;
use crate::context_state::PyPublicContext;
use crate::convert::device_of;
use crate::errors::{invalid_input, IntoPy};

/// An encrypted database held by a search backend: it multiplies an encrypted query into the
/// stored vectors (`Enc(x)·Enc(q) = Enc(x + q)`) and can decrypt nothing. On a GPU the records
/// stay in device memory; only the query travels.
///
/// One index may be shared between threads: aggregations run side by side, and an `insert`
/// waits for them (and they for it).
#[pyclass(module = "paillier_gpu", name = "EncryptedIndex", frozen)]
pub struct PyEncryptedIndex {
    inner: RwLock<paillier_gpu::EncryptedIndex>,
    public_key: Arc<PublicKey>,
    shape: CiphertextShape,
}

/// `ids`: None (every record), a `range`, a `slice` or a list of record ids.
fn selection_of(ids: Option<&Bound<'_, PyAny>>, len: usize) -> PyResult<Selection> {
    let Some(ids) = ids else {
        return Ok(Selection::All);
    };
    if ids.is_none() {
        return Ok(Selection::All);
    }
    let as_range = |start: isize, stop: isize, step: isize| -> PyResult<Selection> {
        if step == 1 {
            let start = start.max(0) as usize;
            return Ok(Selection::Range(start..(stop.max(0) as usize).max(start)));
        }
        let ids: Vec<usize> = (start..stop)
            .step_by(step.unsigned_abs())
            .map(|i| i as usize)
            .collect();
        Ok(Selection::Ids(ids))
    };
    if let Ok(range) = ids.cast::<PyRange>() {
        let (start, stop, step): (isize, isize, isize) = (
            range.getattr("start")?.extract()?,
            range.getattr("stop")?.extract()?,
            range.getattr("step")?.extract()?,
        );
        if start < 0 || step < 1 {
            return Err(invalid_input("ids: a range of non-negative ids, step ≥ 1"));
        }
        return as_range(start, stop, step);
    }
    if let Ok(slice) = ids.cast::<PySlice>() {
        let indices = slice.indices(len as isize)?;
        if indices.step < 1 {
            return Err(invalid_input("ids: a slice with step ≥ 1"));
        }
        return as_range(indices.start, indices.stop, indices.step);
    }
    if let Some(mask) = boolean_mask(ids)? {
        if mask.len() != len {
            return Err(invalid_input(format!(
                "ids: a boolean mask has one entry per record ({len}), not {}",
                mask.len()
            )));
        }
        let chosen = mask.iter().enumerate().filter(|(_, &keep)| keep);
        return Ok(Selection::Ids(chosen.map(|(id, _)| id).collect()));
    }
    let list: Vec<i64> = ids.extract().map_err(|_| {
        invalid_input("ids: None, a range, a slice, a list of record ids or a boolean mask")
    })?;
    let ids = list
        .into_iter()
        .map(|id| usize::try_from(id).map_err(|_| invalid_input(format!("id {id} is negative"))))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(Selection::Ids(ids))
}

/// `ids` as a boolean mask, as numpy reads one: a numpy array of dtype bool, or a sequence whose
/// items are all Python booleans (`True` is never read as record 1). A sequence that mixes
/// booleans with ids is refused.
fn boolean_mask(ids: &Bound<'_, PyAny>) -> PyResult<Option<Vec<bool>>> {
    if let Ok(dtype) = ids.getattr("dtype") {
        let kind: String = dtype.getattr("kind")?.extract()?;
        if kind == "b" {
            let list = ids.call_method0("tolist")?;
            return Ok(Some(list.extract()?));
        }
        return Ok(None);
    }
    let Ok(items) = ids.try_iter() else {
        return Ok(None);
    };
    let items = items.collect::<PyResult<Vec<_>>>()?;
    let booleans = items
        .iter()
        .filter(|item| item.is_instance_of::<PyBool>())
        .count();
    match booleans {
        0 => Ok(None),
        n if n == items.len() => Ok(Some(
            items
                .iter()
                .map(|item| item.extract::<bool>())
                .collect::<PyResult<_>>()?,
        )),
        _ => Err(invalid_input(
            "ids: a list mixes booleans and ids; give record ids or a boolean mask",
        )),
    }
}

/// A poisoned lock (a panic in another thread while it held the index) is the library's error.
fn poisoned() -> paillier_gpu::Error {
    paillier_gpu::Error::InvalidParameter(
        "the index was left inconsistent by a failure in another thread".into(),
    )
}

#[pymethods]
impl PyEncryptedIndex {
    /// An empty index under `public_context`'s key, computing on `device`.
    #[new]
    #[pyo3(signature = (public_context, device="cpu"))]
    fn new(public_context: &Bound<'_, PyPublicContext>, device: &str) -> PyResult<Self> {
        let public = public_context.get();
        let inner = public.inner.new_index_on(device_of(device)?).py_err()?;
        Ok(Self {
            inner: RwLock::new(inner),
            public_key: public.inner.public_key().clone(),
            shape: public.inner.try_ciphertext_shape().py_err()?,
        })
    }

    fn __len__(&self) -> PyResult<usize> {
        Ok(self.inner.read().map_err(|_| poisoned()).py_err()?.len())
    }

    /// The device aggregation runs on.
    #[getter]
    fn device(&self) -> PyResult<&'static str> {
        Ok(self
            .inner
            .read()
            .map_err(|_| poisoned())
            .py_err()?
            .device()
            .as_str())
    }

    /// Appends encrypted vectors (made under this index's key); returns the ids they got.
    fn insert<'py>(
        &self,
        py: Python<'py>,
        ciphertexts: &Bound<'py, Ciphertexts>,
    ) -> PyResult<Bound<'py, PyRange>> {
        let batch = &ciphertexts.get().batch;
        let ids = py
            .detach(|| {
                let mut index = self.inner.write().map_err(|_| poisoned())?;
                index.insert_batch(batch)
            })
            .py_err()?;
        PyRange::new(py, ids.start as isize, ids.end as isize)
    }

    /// Multiplies the encrypted query (one vector) into the selected records: all of them
    /// (`ids=None`), a `range` or `slice`, or a list of ids. One response per record, in
    /// selection order.
    #[pyo3(signature = (query, ids=None))]
    fn aggregate(
        &self,
        py: Python<'_>,
        query: &Bound<'_, Ciphertexts>,
        ids: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Ciphertexts> {
        let selection = selection_of(ids, self.__len__()?)?;
        let query = &query.get().batch;
        let responses = py
            .detach(|| {
                let index = self.inner.read().map_err(|_| poisoned())?;
                index.aggregate_batch(query, &selection)
            })
            .py_err()?;
        Ok(Ciphertexts::new(
            responses,
            self.public_key.clone(),
            self.shape,
        ))
    }

    /// Answers several queries in one call: `queries` holds one vector per query; returns one
    /// `Ciphertexts` of responses per query, each as `aggregate` gives it.
    #[pyo3(signature = (queries, ids=None))]
    fn aggregate_many(
        &self,
        py: Python<'_>,
        queries: &Bound<'_, Ciphertexts>,
        ids: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<Ciphertexts>> {
        let selection = selection_of(ids, self.__len__()?)?;
        let queries = &queries.get().batch;
        let answers = py
            .detach(|| {
                let index = self.inner.read().map_err(|_| poisoned())?;
                index.aggregate_queries(queries, &selection)
            })
            .py_err()?;
        Ok(answers
            .into_iter()
            .map(|responses| Ciphertexts::new(responses, self.public_key.clone(), self.shape))
            .collect())
    }

    fn __repr__(&self) -> PyResult<String> {
        Ok(format!(
            "EncryptedIndex({} records, device={}, key {})",
            self.__len__()?,
            self.device()?,
            self.public_key.fingerprint()
        ))
    }
}
