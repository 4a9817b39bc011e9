//! `RecordCodec`: the library's [`RecordCodec`] for the Python client (`paillier_gpu.client`),
//! which only speaks HTTP. This binding converts and nothing more: JSON crosses as text (the
//! client loads and dumps it), nonces as 32 hexadecimal digits.

use paillier_gpu::verifiable::{
    Document, Expectation, FetchedRecord, RecordCodec, RecordNonce, RecordOptions,
};
use pyo3::prelude::*;
use serde_json::{json, Map, Value};

use crate::ciphertexts::Ciphertexts;
use crate::context_state::PyExecutionContext;
use crate::convert::bit_rows;
use crate::errors::{invalid_input, IntoPy};

/// The records of one knowledge base as one owner writes and reads them: verifiable (a nonce
/// and a tag in each plaintext, the document sealed to the record), with private metadata
/// (tokens), both or neither.
#[pyclass(module = "paillier_gpu", name = "RecordCodec", frozen)]
pub struct PyRecordCodec {
    codec: RecordCodec,
}

fn json_error(what: &str, e: serde_json::Error) -> PyErr {
    invalid_input(format!("{what} is not JSON: {e}"))
}

fn nonce_of(hex: &str) -> PyResult<RecordNonce> {
    u128::from_str_radix(hex, 16)
        .map(|value| RecordNonce::from_bytes(value.to_le_bytes()))
        .map_err(|_| invalid_input(format!("{hex:?} is not a record nonce (32 hex digits)")))
}

impl PyRecordCodec {
    /// The codec's context as the Python object the ciphertext readers take.
    fn py_context<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyExecutionContext>> {
        Bound::new(
            py,
            PyExecutionContext {
                inner: self.codec.context().clone(),
            },
        )
    }
}

#[pymethods]
impl PyRecordCodec {
    #[new]
    #[pyo3(signature = (context, kb_id, verifiable=false, private_meta=false))]
    fn new(
        context: &Bound<'_, PyExecutionContext>,
        kb_id: &str,
        verifiable: bool,
        private_meta: bool,
    ) -> PyResult<Self> {
        let ctx = context.borrow().inner.clone();
        // Refused here, before the client sends anything: a layout that does not fit, or keys
        // that cannot be derived.
        if verifiable {
            ctx.tagged_layout().py_err()?;
        }
        let options = RecordOptions {
            verifiable,
            private_meta,
        };
        let codec = RecordCodec::new(&ctx, kb_id, options);
        codec.keys().py_err()?;
        Ok(Self { codec })
    }

    /// The chunks to send for `vectors` and `documents` (a JSON list of `{content, meta_data,
    /// name}`, one per vector, or None): a JSON list of `{chunk_content, index, meta_data,
    /// name}`, new nonces drawn for verifiable records.
    #[pyo3(signature = (vectors, documents=None))]
    fn chunks(
        &self,
        py: Python<'_>,
        vectors: &Bound<'_, PyAny>,
        documents: Option<&str>,
    ) -> PyResult<String> {
        let bits = bit_rows(vectors, self.codec.context().embed_len(), true)?;
        let rows = bits.rows();
        let documents: Vec<Document> = match documents {
            Some(text) => serde_json::from_str(text).map_err(|e| json_error("documents", e))?,
            None => Vec::new(),
        };
        if !documents.is_empty() && documents.len() != rows.len() {
            return Err(invalid_input(format!(
                "{} documents for {} vectors",
                documents.len(),
                rows.len()
            )));
        }
        let records = py.detach(|| self.codec.encrypt(&rows)).py_err()?;
        let mut chunks = Vec::with_capacity(rows.len());
        for record in 0..rows.len() {
            let index = self.codec.index(&records.batch, record).py_err()?;
            let sent = self
                .codec
                .record(&records, record, documents.get(record))
                .py_err()?;
            chunks.push(json!({
                "chunk_content": sent.content, "index": index, "meta_data": sent.meta_data,
                "name": sent.name,
            }));
        }
        Ok(Value::Array(chunks).to_string())
    }

    /// `filter` (JSON) as the service must get it: tokenised for private metadata (order,
    /// prefix and substring operators refused), as it is otherwise.
    fn filter(&self, filter: &str) -> PyResult<String> {
        let value: Value = serde_json::from_str(filter).map_err(|e| json_error("the filter", e))?;
        Ok(self.codec.filter(&value).py_err()?.to_string())
    }

    /// Refuses sorting a page by a private field.
    #[pyo3(signature = (sort_by=None))]
    fn check_sort(&self, sort_by: Option<&str>) -> PyResult<()> {
        self.codec.check_sort(sort_by).py_err()
    }

    /// Whether a search opens its top records' documents (always for verifiable records).
    fn opens_documents(&self, with_content: bool) -> bool {
        self.codec.opens_documents(with_content)
    }

    /// The `top_k` nearest of `compute_hamming`'s answer (`responses`: its pieces, one row a
    /// record, as integers or base64; `chunk_ids`: its ids) to `query`, nearest first (ties by
    /// chunk id): `[(chunk_id, distance, nonce)]`. Verifiable records are verified first, every
    /// record and the whole answer (raising `AnswerRejectedError` naming what failed); nonces
    /// are None otherwise.
    #[pyo3(signature = (query, responses, chunk_ids, top_k, range=None, expect_count=None))]
    #[allow(clippy::too_many_arguments)]
    fn rank(
        &self,
        py: Python<'_>,
        query: &Bound<'_, PyAny>,
        responses: &Bound<'_, PyAny>,
        chunk_ids: Vec<i64>,
        top_k: usize,
        range: Option<(i64, i64)>,
        expect_count: Option<usize>,
    ) -> PyResult<Vec<(i64, u32, Option<String>)>> {
        let bits = bit_rows(query, self.codec.context().embed_len(), false)?;
        let query: Vec<u8> = bits.rows().concat();
        let ctx = self.py_context(py)?;
        let batch = Ciphertexts::from_b64_rows(ctx.as_any(), responses)?.batch;
        let expectation = Expectation {
            range,
            count: expect_count,
        };
        let ranked = py
            .detach(|| {
                self.codec
                    .rank(&query, &batch, &chunk_ids, &expectation, top_k)
            })
            .py_err()?;
        Ok(ranked
            .into_iter()
            .map(|hit| {
                (
                    hit.chunk_id,
                    hit.distance,
                    hit.nonce.map(RecordNonce::to_hex),
                )
            })
            .collect())
    }

    /// The documents of `records` (a JSON list of `{chunk_id, nonce, chunk_content, meta_data,
    /// name}`: the nonce as `nonces` gave it or null, the rest as the service returned it), as a
    /// JSON list of `{content, meta_data, name}` in order, as the owner wrote them. Verifiable
    /// records open under their nonces (a content missing or not opening raises
    /// `AnswerRejectedError`), private ones are sealed without a nonce, the SDK's are decrypted
    /// and keep the service's metadata and name. With `filter` (JSON), sealed documents that do
    /// not pass it raise `AnswerRejectedError`.
    #[pyo3(signature = (records, filter=None))]
    fn open(&self, records: &str, filter: Option<&str>) -> PyResult<String> {
        let records: Vec<Map<String, Value>> =
            serde_json::from_str(records).map_err(|e| json_error("the records", e))?;
        let mut fetched = Vec::with_capacity(records.len());
        for record in &records {
            let chunk_id = record
                .get("chunk_id")
                .and_then(Value::as_i64)
                .ok_or_else(|| invalid_input("a record without its chunk_id".to_owned()))?;
            let nonce = match record.get("nonce").and_then(Value::as_str) {
                Some(hex) => Some(nonce_of(hex)?),
                None => None,
            };
            fetched.push(FetchedRecord {
                chunk_id,
                nonce,
                content: record.get("chunk_content").and_then(Value::as_str),
                meta_data: record.get("meta_data").and_then(Value::as_object),
                name: record.get("name").and_then(Value::as_str),
            });
        }
        let filter: Option<Value> = filter
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| json_error("the filter", e))?;
        let documents = self.codec.open(&fetched, filter.as_ref()).py_err()?;
        serde_json::to_string(&documents).map_err(|e| invalid_input(e.to_string()))
    }

    /// The nonces of stored verifiable records (`indexes`: each record's `index` pieces, as
    /// `GET /v1/chunk` answers them), each record's own tag checked first.
    fn nonces(
        &self,
        py: Python<'_>,
        indexes: &Bound<'_, PyAny>,
        chunk_ids: Vec<i64>,
    ) -> PyResult<Vec<String>> {
        if chunk_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ctx = self.py_context(py)?;
        let batch = Ciphertexts::from_b64_rows(ctx.as_any(), indexes)?.batch;
        let nonces = py
            .detach(|| self.codec.nonces(&batch, &chunk_ids))
            .py_err()?;
        Ok(nonces.into_iter().map(RecordNonce::to_hex).collect())
    }

    /// What a record found by metadata sends once `patch` (JSON object) is merged into its
    /// `document` (JSON `{content, meta_data, name}`): `{chunk_id, chunk_content, meta_data}`
    /// (JSON), its document sealed again for `nonce` (None: not verifiable).
    #[pyo3(signature = (chunk_id, document, patch, nonce=None))]
    fn patched(
        &self,
        chunk_id: i64,
        document: &str,
        patch: &str,
        nonce: Option<&str>,
    ) -> PyResult<String> {
        let document: Document =
            serde_json::from_str(document).map_err(|e| json_error("the document", e))?;
        let patch: Map<String, Value> =
            serde_json::from_str(patch).map_err(|e| json_error("the patch", e))?;
        let nonce = nonce.map(nonce_of).transpose()?;
        let sent = self.codec.patched(&document, &patch, nonce).py_err()?;
        Ok(json!({
            "chunk_id": chunk_id, "chunk_content": sent.content, "meta_data": sent.meta_data,
        })
        .to_string())
    }
}
