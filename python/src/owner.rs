//! The owner's protocol for Python: the library's drivers ([`paillier_gpu::owner`]) behind one
//! class, `Driver`, which `Client._drive` steps: each step takes the answer to the last request
//! and gives the next request to send, or the outcome. The owner's state (`OwnerState`: the
//! digest versions seen and the rollbacks found) is the library's too, in the folder the CLI
//! and the Rust client share.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use paillier_gpu::owner::{
    server_timing_us, Answer, Answered, ContextPush, Current, DeleteById, DeleteByMeta,
    DeleteChunks, DeleteFound, DigestRead, DigestRebuild, Driver, FindRecords, Found, FoundRecords,
    InsertChunks, OwnerState, Page, PartitionsRebuildRun, PatchByMeta, PatchChunks, Planner,
    RecordSearch, RecordsWrite, ReplaceChunks, SealReport, SealVectors, SearchAsk, SearchHit,
    SearchOutcome, StateDir, Step, Unanswered, UpdateById, UploadPlacement, UploadRecords,
    UploadedRecords, Written,
};
use paillier_gpu::paillier::CiphertextBatch;
use paillier_gpu::partitions::{TrainOptions, SEALED_RECALL_TARGET};
use paillier_gpu::verifiable::{
    Document, OwnerDigest, PartitionCount, RebuildReport, RecordNonce, SentRecord,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use serde_json::Value;

use crate::codec_digest::probe_of;
use crate::context_state::PyExecutionContext;
use crate::convert::bit_rows;
use crate::errors::{invalid_input, IntoPy};
use crate::record_state::{partition_count, PyOwnerDigest};
use crate::records::PyRecordCodec;

/// The owner's state: the highest digest version seen of each knowledge base and the
/// rollbacks found, in `folder` (shared with the CLI and the Rust client) and in memory; None:
/// in memory only.
#[pyclass(module = "paillier_gpu", name = "OwnerState", frozen)]
pub struct PyOwnerState {
    state: Arc<OwnerState>,
}

#[pymethods]
impl PyOwnerState {
    #[new]
    #[pyo3(signature = (folder=None))]
    fn new(folder: Option<PathBuf>) -> Self {
        let state = match folder {
            Some(folder) => OwnerState::in_folder(StateDir::new(folder)),
            None => OwnerState::in_memory(),
        };
        Self {
            state: Arc::new(state),
        }
    }

    /// The folder used when none is chosen: `chosen` (`$PAILLIER_GPU_STATE_DIR`) when set,
    /// else `paillier-gpu/state` in `data_home` (`$XDG_DATA_HOME`), else in `.local/share` of
    /// `home`; None when none is set. The caller reads the environment.
    #[staticmethod]
    #[pyo3(signature = (chosen=None, data_home=None, home=None))]
    fn default_folder(
        chosen: Option<PathBuf>,
        data_home: Option<PathBuf>,
        home: Option<PathBuf>,
    ) -> Option<PathBuf> {
        StateDir::default_for(chosen, data_home, home).map(|dir| dir.root().to_path_buf())
    }

    /// The state folder, or None.
    #[getter]
    fn folder(&self) -> Option<PathBuf> {
        self.state.folder().map(|dir| dir.root().to_path_buf())
    }

    /// Where the digest of `kb_id` under `context_id` is kept, or None (in memory).
    fn path(&self, context_id: &str, kb_id: &str) -> Option<PathBuf> {
        self.state.folder().map(|dir| dir.path(context_id, kb_id))
    }

    /// The highest digest seen of `kb_id` under `context_id`: `(version, sealed)`, or None.
    fn seen(&self, context_id: &str, kb_id: &str) -> PyResult<Option<(i64, String)>> {
        let seen = self.state.seen(context_id, kb_id).py_err()?;
        Ok(seen.map(|s| (s.version, s.sealed)))
    }

    /// Whether this owner found `kb_id` rolled back or forked and has not rebuilt its digest
    /// since.
    fn rollback_noted(&self, context_id: &str, kb_id: &str) -> PyResult<bool> {
        self.state.rollback_noted(context_id, kb_id).py_err()
    }

    fn __repr__(&self) -> String {
        match self.state.folder() {
            Some(dir) => format!("OwnerState({:?})", dir.root()),
            None => "OwnerState(None)".into(),
        }
    }
}

/// What a driver ends with, before it becomes a Python value.
enum Outcome {
    Current(Current),
    Written(Written),
    Digest(OwnerDigest),
    Count(u64),
    Ids(Vec<i64>),
    Found(Vec<Found>),
    Pairs(Vec<(i64, String)>),
    Report(RebuildReport),
    Sealed(SealReport),
    Uploaded(UploadedRecords),
    Searched(SearchOutcome),
    Text(String),
    Nothing,
}

/// A driver whose outcome is an [`Outcome`].
trait Run: Send {
    fn run(&mut self, answered: Option<Answered>) -> paillier_gpu::Result<Step<Outcome>>;
}

struct Mapped<D, F>(D, F);

impl<D: Driver + Send, F: Fn(D::Output) -> Outcome + Send> Run for Mapped<D, F> {
    fn run(&mut self, answered: Option<Answered>) -> paillier_gpu::Result<Step<Outcome>> {
        Ok(match self.0.step(answered)? {
            Step::Send(request) => Step::Send(request),
            Step::Done(output) => Step::Done((self.1)(output)),
        })
    }
}

/// A write whose outcome is what its planner gathered.
struct Gathered<P, F>(RecordsWrite<P>, F);

impl<P: Planner + Send, F: Fn(&P) -> Outcome + Send> Run for Gathered<P, F> {
    fn run(&mut self, answered: Option<Answered>) -> paillier_gpu::Result<Step<Outcome>> {
        Ok(match self.0.step(answered)? {
            Step::Send(request) => Step::Send(request),
            Step::Done(_) => Step::Done((self.1)(self.0.planner())),
        })
    }
}

/// One operation of the owner's protocol. `step(answer)` takes the answer to the request the
/// last step gave (None the first time; `(status, body, msgpack)`, or a string saying why none
/// came) and returns `("send", method, route, tail, query, body, msgpack)` (the address is
/// `{url}/v1/{route}/{org}{tail}`, `query` a list of pairs, `body` JSON bytes or None) or
/// `("done", outcome)`.
#[pyclass(module = "paillier_gpu", name = "Driver", frozen)]
pub struct PyDriver {
    run: Mutex<Box<dyn Run>>,
}

#[pymethods]
impl PyDriver {
    /// The next step, given the answer to the request the last one gave (see the class).
    #[pyo3(signature = (answer=None))]
    fn step<'py>(
        &self,
        py: Python<'py>,
        answer: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let answered = answer.map(answered_of).transpose()?;
        let step = py.detach(|| {
            let mut run = self.run.lock().unwrap_or_else(PoisonError::into_inner);
            run.run(answered)
        });
        match step.py_err()? {
            Step::Send(request) => {
                let body = request.body.as_deref().map(|b| PyBytes::new(py, b));
                let query: Vec<(&str, String)> = request.query;
                (
                    "send",
                    request.method.as_str(),
                    request.route,
                    request.tail,
                    query,
                    body,
                    request.msgpack,
                )
                    .into_pyobject(py)
            }
            Step::Done(outcome) => {
                let value = match outcome {
                    Outcome::Current(current) => (
                        PyOwnerDigest {
                            digest: current.digest,
                        },
                        current.next_chunk_id,
                        current.chunks,
                    )
                        .into_pyobject(py)?
                        .into_any(),
                    Outcome::Written(written) => written.chunk_ids.into_pyobject(py)?.into_any(),
                    Outcome::Digest(digest) => {
                        PyOwnerDigest { digest }.into_pyobject(py)?.into_any()
                    }
                    Outcome::Count(count) => count.into_pyobject(py)?.into_any(),
                    Outcome::Ids(ids) => ids.into_pyobject(py)?.into_any(),
                    Outcome::Found(found) => found_json(&found)?.into_pyobject(py)?.into_any(),
                    Outcome::Pairs(pairs) => pairs.into_pyobject(py)?.into_any(),
                    Outcome::Uploaded(uploaded) => {
                        let records: Vec<(i64, String)> = uploaded
                            .records
                            .iter()
                            .map(|&(id, nonce)| (id, nonce.to_hex()))
                            .collect();
                        (records, uploaded.note).into_pyobject(py)?.into_any()
                    }
                    Outcome::Searched(outcome) => {
                        let stats = pyo3::types::PyDict::new(py);
                        stats.set_item("records", outcome.records)?;
                        stats.set_item("answer_bytes", outcome.answer_bytes)?;
                        stats.set_item("partitions", outcome.partitions)?;
                        let times = pyo3::types::PyDict::new(py);
                        for (part, ms) in outcome.times.parts() {
                            times.set_item(part, ms)?;
                        }
                        stats.set_item("times_ms", times)?;
                        (hits_json(&outcome.hits)?, stats)
                            .into_pyobject(py)?
                            .into_any()
                    }
                    Outcome::Text(text) => text.into_pyobject(py)?.into_any(),
                    Outcome::Nothing => py.None().into_bound(py),
                    Outcome::Report(report) => {
                        let dict = pyo3::types::PyDict::new(py);
                        dict.set_item("partitions", report.partitions)?;
                        dict.set_item("records", report.records)?;
                        dict.set_item("moved", report.moved)?;
                        dict.set_item("resumed", report.resumed)?;
                        dict.into_any()
                    }
                    Outcome::Sealed(report) => {
                        let dict = pyo3::types::PyDict::new(py);
                        dict.set_item("records", report.records)?;
                        dict.set_item("moved", report.moved)?;
                        dict.set_item("resumed", report.resumed)?;
                        dict.into_any()
                    }
                };
                ("done", value).into_pyobject(py)
            }
        }
    }

    fn __repr__(&self) -> &'static str {
        "Driver(<an operation of the owner's protocol>)"
    }
}

/// An answer as Python hands it back.
fn answered_of(answer: &Bound<'_, PyAny>) -> PyResult<Answered> {
    if let Ok(why) = answer.extract::<String>() {
        return Ok(Err(Unanswered(why)));
    }
    let refused = || {
        invalid_input(
            "an answer is (status, body bytes, msgpack[, Server-Timing header or None]) or \
             why none came (a string)",
        )
    };
    // The Server-Timing header may be left out: (status, body, msgpack) reads too.
    let (status, body, msgpack, timing): (u16, Vec<u8>, bool, Option<String>) = answer
        .extract()
        .or_else(|_| {
            answer
                .extract::<(u16, Vec<u8>, bool)>()
                .map(|(status, body, msgpack)| (status, body, msgpack, None))
        })
        .map_err(|_| refused())?;
    Ok(Ok(Answer {
        status,
        body,
        msgpack,
        server_us: timing.as_deref().and_then(server_timing_us),
    }))
}

fn driver(run: impl Run + 'static) -> PyDriver {
    PyDriver {
        run: Mutex::new(Box::new(run)),
    }
}

#[pymethods]
impl PyRecordCodec {
    /// The driver of a checked read of this knowledge base's owner's digest (refused when older
    /// than `state` has seen, not extending it, or not opening); it ends with `(digest,
    /// next_chunk_id, chunks)`.
    fn read_digest(&self, state: &PyOwnerState) -> PyDriver {
        let read = DigestRead::new(Arc::clone(&self.codec), Arc::clone(&state.state));
        driver(Mapped(read, Outcome::Current))
    }

    /// The driver of a delete of verifiable records by id: each read back and verified, then
    /// deleted with the owner's digest less their pairs, in one transaction.
    fn delete_records(&self, state: &PyOwnerState, chunk_ids: Vec<i64>) -> PyDriver {
        let plan = DeleteById::new(Arc::clone(&self.codec), &chunk_ids);
        let write = RecordsWrite::new(Arc::clone(&self.codec), Arc::clone(&state.state), plan);
        driver(Mapped(write, Outcome::Written))
    }

    /// The driver of a find by metadata: `filter` (JSON, the owner's) as the service selects
    /// it, verifiable records checked (against the owner's digest, read against `state`, where
    /// it covers the filter, unless `page`, `(sort_by, sort_order, limit)`, asks for one sorted
    /// page); it ends with the records as JSON: `[{"chunk_id", "content", "meta_data", "name",
    /// "nonce"}]`.
    #[pyo3(signature = (state, filter, page=None))]
    fn find_records(
        &self,
        state: &PyOwnerState,
        filter: &str,
        page: Option<(Option<String>, String, Option<usize>)>,
    ) -> PyResult<PyDriver> {
        let filter = json_value(filter)?;
        let codec = Arc::clone(&self.codec);
        let mut find = FindRecords::reading_digest(codec, Arc::clone(&state.state), &filter);
        if let Some((sort_by, sort_order, limit)) = page {
            find = find.paged(Page {
                sort_by,
                sort_order,
                limit,
            });
        }
        let found = |found: FoundRecords| Outcome::Found(found.found);
        Ok(driver(Mapped(find, found)))
    }

    /// The driver of a delete of the verifiable records `filter` (JSON) selects, checked
    /// complete; it ends with how many it deleted.
    fn delete_by_meta(&self, state: &PyOwnerState, filter: &str) -> PyResult<PyDriver> {
        let plan = DeleteByMeta::new(Arc::clone(&self.codec), &json_value(filter)?);
        let write = RecordsWrite::new(Arc::clone(&self.codec), Arc::clone(&state.state), plan);
        let deleted = |plan: &DeleteByMeta| Outcome::Count(plan.deleted());
        Ok(driver(Gathered(write, deleted)))
    }

    /// The driver of a patch (JSON object) of the verifiable records `filter` (JSON) selects,
    /// each encrypted again under a fresh nonce; it ends with the patched ids.
    fn patch_by_meta(&self, state: &PyOwnerState, filter: &str, patch: &str) -> PyResult<PyDriver> {
        let Value::Object(patch) = json_value(patch)? else {
            return Err(invalid_input("a patch is a JSON object"));
        };
        let plan =
            PatchByMeta::new(Arc::clone(&self.codec), &json_value(filter)?, &patch).py_err()?;
        let write = RecordsWrite::new(Arc::clone(&self.codec), Arc::clone(&state.state), plan);
        let patched = |plan: &PatchByMeta| Outcome::Ids(plan.patched().to_vec());
        Ok(driver(Gathered(write, patched)))
    }

    /// The driver of a replacement of verifiable records `chunk_ids` by `vectors` with
    /// `documents` (JSON list, one each, or None): encrypted under fresh nonces, each in the
    /// partition nearest it; it ends with `[(chunk_id, nonce)]`.
    #[pyo3(signature = (state, chunk_ids, vectors, documents=None))]
    fn update_records(
        &self,
        state: &PyOwnerState,
        chunk_ids: Vec<i64>,
        vectors: &Bound<'_, PyAny>,
        documents: Option<&str>,
    ) -> PyResult<PyDriver> {
        let bits = bit_rows(vectors, self.codec.context().embed_len(), true)?;
        let documents: Vec<Document> = match documents {
            Some(text) => serde_json::from_str(text)
                .map_err(|e| invalid_input(format!("documents are not JSON: {e}")))?,
            None => Vec::new(),
        };
        let plan = UpdateById::new(Arc::clone(&self.codec), &chunk_ids, &bits.rows(), documents)
            .py_err()?;
        let write = RecordsWrite::new(Arc::clone(&self.codec), Arc::clone(&state.state), plan);
        let pairs = move |plan: &UpdateById| {
            let nonces = plan.nonces().iter().map(|n| n.to_hex());
            Outcome::Pairs(chunk_ids.iter().copied().zip(nonces).collect())
        };
        Ok(driver(Gathered(write, pairs)))
    }

    /// The driver of an upload of verifiable records: `vectors` with `documents` (JSON list,
    /// one each, or None), placed in the knowledge base's partitions, or in `partitions`
    /// ("auto" or a number) trained over `vectors` (with `balance` and `recall_target`) when
    /// it is empty, `decoys` sealed with them; it ends with `([(chunk_id, nonce)], note)`,
    /// `note` saying why partitions asked for were not trained.
    #[pyo3(signature = (state, vectors, documents=None, partitions=None, balance=None, recall_target=None, decoys=None))]
    #[allow(clippy::too_many_arguments)]
    fn upload_records(
        &self,
        state: &PyOwnerState,
        vectors: &Bound<'_, PyAny>,
        documents: Option<&str>,
        partitions: Option<&Bound<'_, PyAny>>,
        balance: Option<f64>,
        recall_target: Option<f64>,
        decoys: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyDriver> {
        let bits = bit_rows(vectors, self.codec.context().embed_len(), true)?;
        let documents: Vec<Document> = match documents {
            Some(text) => serde_json::from_str(text)
                .map_err(|e| invalid_input(format!("documents are not JSON: {e}")))?,
            None => Vec::new(),
        };
        let placement =
            match partitions {
                None if decoys.is_some() => return Err(invalid_input(
                    "decoys are sealed with the partitions an upload trains: pass partitions too",
                )),
                None => UploadPlacement::Follow,
                Some(count) => {
                    let defaults = TrainOptions::default();
                    // Sealed vectors cost far less a probed record: their default aims higher.
                    let target = match self.codec.holds_sealed_vectors() {
                        true => SEALED_RECALL_TARGET,
                        false => defaults.recall_target,
                    };
                    UploadPlacement::Asked {
                        count: partition_count(count)?,
                        train: TrainOptions {
                            balance: balance.unwrap_or(defaults.balance),
                            recall_target: recall_target.unwrap_or(target),
                            ..defaults
                        },
                        decoys: decoys.map(decoys_of).transpose()?.unwrap_or(0),
                    }
                }
            };
        let upload = UploadRecords::new(
            Arc::clone(&self.codec),
            Arc::clone(&state.state),
            &bits.rows(),
            documents,
            placement,
        )
        .py_err()?;
        Ok(driver(Mapped(upload, Outcome::Uploaded)))
    }

    /// The driver of the owner's search for `vector` (see `Client.search`): `filter` (JSON,
    /// the owner's), `range`, `expect_count`, `probe` (None, "all" or a number) and `decoys`
    /// checked together; verified when this codec's records are verifiable. It ends with
    /// `(hits, stats)`: the hits as JSON (`[{"chunk_id", "distance"}]`, with `"nonce"` when
    /// verified and the document's fields with `with_content`) and `{"records",
    /// "answer_bytes", "partitions"}`.
    #[pyo3(signature = (state, vector, top_k, filter=None, range=None, expect_count=None,
                        with_content=false, probe=None, decoys=None))]
    #[allow(clippy::too_many_arguments)]
    fn search(
        &self,
        state: &PyOwnerState,
        vector: &Bound<'_, PyAny>,
        top_k: usize,
        filter: Option<&str>,
        range: Option<(i64, i64)>,
        expect_count: Option<usize>,
        with_content: bool,
        probe: Option<&Bound<'_, PyAny>>,
        decoys: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyDriver> {
        let decoys = match decoys {
            None => 0,
            Some(decoys) => decoys_of(decoys)?,
        };
        let bits = bit_rows(vector, self.codec.context().embed_len(), false)?;
        let vector: Vec<u8> = bits.rows().concat();
        let ask = SearchAsk {
            filter: filter.map(json_value).transpose()?,
            range,
            top_k,
            expect_count,
            with_content,
            probe: probe_of(probe)?,
            decoys,
        };
        let state = Some(Arc::clone(&state.state));
        let search = RecordSearch::new(Arc::clone(&self.codec), state, &vector, ask).py_err()?;
        Ok(driver(Mapped(search, Outcome::Searched)))
    }

    /// The driver of an insert of records that are not verifiable: `vectors` encrypted, each
    /// with its document (`documents`, a JSON list, one each, or None), in the SDK's requests
    /// (`partitions` refused: they need verifiable records); it ends with the chunk ids.
    #[pyo3(signature = (vectors, documents=None, partitions=None))]
    fn insert_chunks(
        &self,
        py: Python<'_>,
        vectors: &Bound<'_, PyAny>,
        documents: Option<&str>,
        partitions: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyDriver> {
        if partitions.is_some() {
            return Err(invalid_input(
                "partitions are counted by the owner's digest: they need verifiable records \
                 (verifiable=True)",
            ));
        }
        let (batch, sent) = self.sent_records(py, vectors, documents)?;
        let insert =
            InsertChunks::new(Arc::clone(&self.codec), Cow::Owned(batch), sent).py_err()?;
        Ok(driver(Mapped(insert, Outcome::Ids)))
    }

    /// The driver of a replacement of records that are not verifiable: `chunk_ids` each
    /// replaced whole by its vector of `vectors`, encrypted, with its document (`documents`, a
    /// JSON list, one each, or None); it ends with None.
    #[pyo3(signature = (chunk_ids, vectors, documents=None))]
    fn replace_chunks(
        &self,
        py: Python<'_>,
        chunk_ids: Vec<i64>,
        vectors: &Bound<'_, PyAny>,
        documents: Option<&str>,
    ) -> PyResult<PyDriver> {
        let (batch, sent) = self.sent_records(py, vectors, documents)?;
        let codec = Arc::clone(&self.codec);
        let replace = ReplaceChunks::new(codec, &chunk_ids, Cow::Owned(batch), sent).py_err()?;
        Ok(driver(Mapped(replace, |()| Outcome::Nothing)))
    }

    /// The driver of a delete by metadata of records that are not verifiable (found and
    /// opened first), or with `dry_run` of a count (verifiable records checked against the
    /// owner's digest read against `state`); it ends with how many.
    #[pyo3(signature = (state, filter, dry_run=false))]
    fn delete_found(
        &self,
        state: &PyOwnerState,
        filter: &str,
        dry_run: bool,
    ) -> PyResult<PyDriver> {
        let filter = json_value(filter)?;
        let codec = Arc::clone(&self.codec);
        let delete = match (codec.options().verifiable, dry_run) {
            (true, true) => DeleteFound::reading_digest(codec, Arc::clone(&state.state), &filter),
            _ => DeleteFound::new(codec, &filter, dry_run).py_err()?,
        };
        Ok(driver(Mapped(delete, Outcome::Count)))
    }

    /// The driver of a patch (JSON object) by metadata of records that are not verifiable: the
    /// service's own, or for private metadata each record found, opened, patched and sealed
    /// again; it ends with the patched ids.
    fn patch_chunks(&self, filter: &str, patch: &str) -> PyResult<PyDriver> {
        let Value::Object(patch) = json_value(patch)? else {
            return Err(invalid_input("a patch is a JSON object"));
        };
        let codec = Arc::clone(&self.codec);
        let run = PatchChunks::new(codec, &json_value(filter)?, &patch).py_err()?;
        Ok(driver(Mapped(run, Outcome::Ids)))
    }

    /// The driver of a partitions rebuild (see `Client.rebuild_partitions`): `partitions`
    /// trained afresh (None: about √records) with `balance`, `recall_target` and `seed`, or
    /// the rebuild under way resumed; it ends with `{"partitions", "records", "moved",
    /// "resumed"}`.
    #[pyo3(signature = (state, partitions=None, balance=None, recall_target=None, seed=0, decoys=None))]
    #[allow(clippy::too_many_arguments)]
    fn rebuild_partitions(
        &self,
        state: &PyOwnerState,
        partitions: Option<&Bound<'_, PyAny>>,
        balance: Option<f64>,
        recall_target: Option<f64>,
        seed: u64,
        decoys: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyDriver> {
        let decoys = decoys.map(decoys_of).transpose()?.unwrap_or(0);
        let partitions = match partitions.map(partition_count).transpose()? {
            Some(PartitionCount::Exactly(n)) => Some(n),
            Some(PartitionCount::Auto) | None => None,
        };
        let defaults = TrainOptions::default();
        let train = TrainOptions {
            balance: balance.unwrap_or(defaults.balance),
            recall_target: recall_target.unwrap_or(defaults.recall_target),
            seed,
            ..defaults
        };
        let run = PartitionsRebuildRun::new(
            Arc::clone(&self.codec),
            Arc::clone(&state.state),
            partitions,
            train,
            decoys,
        );
        Ok(driver(Mapped(run, Outcome::Report)))
    }

    /// The driver of a rebuild of the owner's digest from the records (see
    /// `Client.rebuild_digest`); it ends with the digest written.
    #[pyo3(signature = (state, counted_field=None, after_rollback=false))]
    fn rebuild_digest(
        &self,
        state: &PyOwnerState,
        counted_field: Option<&str>,
        after_rollback: bool,
    ) -> PyResult<PyDriver> {
        let rebuild = DigestRebuild::new(
            Arc::clone(&self.codec),
            Arc::clone(&state.state),
            counted_field,
            after_rollback,
        )
        .py_err()?;
        Ok(driver(Mapped(rebuild, Outcome::Digest)))
    }

    /// The driver of a move of the knowledge base's Paillier records to sealed vectors (see
    /// `Client.seal_vectors`), `batch` records a write (None: the library's); it ends with
    /// `{"records", "moved", "resumed"}`.
    #[pyo3(signature = (state, batch=None))]
    fn seal_vectors(&self, state: &PyOwnerState, batch: Option<usize>) -> PyResult<PyDriver> {
        let mut run =
            SealVectors::new(Arc::clone(&self.codec), Arc::clone(&state.state)).py_err()?;
        if let Some(records) = batch {
            run = run.with_batch(records);
        }
        Ok(driver(Mapped(run, Outcome::Sealed)))
    }
}

/// The driver of a delete of chunks `chunk_ids` of `kb_id` (records that are not verifiable),
/// in the SDK's requests; it ends with how many the service deleted.
#[pyfunction]
pub fn delete_chunks(kb_id: &str, chunk_ids: Vec<i64>) -> PyDriver {
    driver(Mapped(DeleteChunks::new(kb_id, &chunk_ids), Outcome::Count))
}

impl PyRecordCodec {
    /// `vectors` encrypted as this codec's records, each with what it sends for its document
    /// (`documents`, a JSON list, one each, or None).
    fn sent_records(
        &self,
        py: Python<'_>,
        vectors: &Bound<'_, PyAny>,
        documents: Option<&str>,
    ) -> PyResult<(CiphertextBatch, Vec<SentRecord>)> {
        let bits = bit_rows(vectors, self.codec.context().embed_len(), true)?;
        let rows = bits.rows();
        let documents = documents_of(documents)?;
        if !documents.is_empty() && documents.len() != rows.len() {
            return Err(invalid_input(format!(
                "{} documents for {} vectors",
                documents.len(),
                rows.len()
            )));
        }
        let records = py.detach(|| self.codec.encrypt(&rows)).py_err()?;
        let mut sent = Vec::with_capacity(rows.len());
        for record in 0..rows.len() {
            sent.push(
                self.codec
                    .record(&records, record, documents.get(record))
                    .py_err()?,
            );
        }
        Ok((records.batch, sent))
    }
}

/// The driver of the push of `context` to the service under its id (its file form, secret key
/// sealed); a context already stored there passes when it is this same one. It ends with the
/// id.
#[pyfunction]
pub fn push_context(context: &Bound<'_, PyExecutionContext>) -> PyResult<PyDriver> {
    let context = context.borrow().inner.clone();
    let json = context.to_json().py_err()?;
    let push = ContextPush::new(&context, &json).py_err()?;
    Ok(driver(Mapped(push, Outcome::Text)))
}

/// A search's `decoys` as Python gives them: a number of partitions, at least 0.
fn decoys_of(value: &Bound<'_, PyAny>) -> PyResult<usize> {
    let number = match value.is_instance_of::<pyo3::types::PyBool>() {
        true => None,
        false => value.extract::<usize>().ok(),
    };
    number.ok_or_else(|| {
        invalid_input(format!(
            "decoys is a number of partitions (at least 0), not {value}"
        ))
    })
}

fn documents_of(documents: Option<&str>) -> PyResult<Vec<Document>> {
    match documents {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| invalid_input(format!("documents are not JSON: {e}"))),
        None => Ok(Vec::new()),
    }
}

fn json_value(text: &str) -> PyResult<Value> {
    serde_json::from_str(text).map_err(|e| invalid_input(format!("not JSON: {e}")))
}

/// Found records as JSON for Python.
fn found_json(found: &[Found]) -> PyResult<String> {
    let records: Vec<Value> = found
        .iter()
        .map(|record| {
            serde_json::json!({
                "chunk_id": record.chunk_id,
                "content": record.document.content,
                "meta_data": record.document.meta_data,
                "name": record.document.name,
                "nonce": record.nonce.map(RecordNonce::to_hex),
            })
        })
        .collect();
    serde_json::to_string(&records).map_err(|e| invalid_input(e.to_string()))
}

/// A search's hits as JSON for Python.
fn hits_json(hits: &[SearchHit]) -> PyResult<String> {
    let hits: Vec<Value> = hits
        .iter()
        .map(|hit| {
            let mut item = serde_json::json!({"chunk_id": hit.chunk_id, "distance": hit.distance});
            if let Some(nonce) = hit.nonce {
                item["nonce"] = Value::String(nonce.to_hex());
            }
            if let Some(document) = &hit.document {
                item["content"] = Value::String(document.content.clone());
                item["meta_data"] = Value::Object(document.meta_data.clone());
                item["name"] = serde_json::json!(document.name);
            }
            item
        })
        .collect();
    serde_json::to_string(&hits).map_err(|e| invalid_input(e.to_string()))
}
