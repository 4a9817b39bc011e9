//! `RecordCodec`: the library's [`RecordCodec`] for the Python client (`paillier_gpu.client`),
//! which only speaks HTTP. This binding converts and nothing more: JSON crosses as text (the
//! client loads and dumps it), nonces as 32 hexadecimal digits.

use paillier_gpu::paillier::CiphertextBatch;
use paillier_gpu::verifiable::{
    Document, FetchedRecord, LayoutKind, RecordCodec, RecordNonce, RecordOptions, Tally,
};
use pyo3::prelude::*;
use serde_json::{json, Map, Value};

use crate::ciphertexts::Ciphertexts;
use crate::context_state::PyExecutionContext;
use crate::convert::bit_rows;
use crate::errors::{invalid_input, IntoPy};
use crate::partitions::placed_documents;
use crate::record_state::{expectation, nonce_of, PyOwnerDigest, PyQuery, PyStoredRecords};

/// The records of one knowledge base as one owner writes and reads them: verifiable (a nonce
/// and a tag in each plaintext, the document sealed to the record), with private metadata
/// (tokens), both or neither.
#[pyclass(module = "paillier_gpu", name = "RecordCodec", frozen)]
pub struct PyRecordCodec {
    pub(crate) codec: std::sync::Arc<RecordCodec>,
}

fn json_error(what: &str, e: serde_json::Error) -> PyErr {
    invalid_input(format!("{what} is not JSON: {e}"))
}

fn json_of(what: &str, text: Option<&str>) -> PyResult<Option<Value>> {
    text.map(serde_json::from_str)
        .transpose()
        .map_err(|e| json_error(what, e))
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

    /// Pieces as the service returned them (one row a record, integers or base64) as a batch.
    fn batch(&self, py: Python<'_>, rows: &Bound<'_, PyAny>) -> PyResult<CiphertextBatch> {
        let ctx = self.py_context(py)?;
        Ok(Ciphertexts::from_b64_rows(ctx.as_any(), rows)?.batch)
    }

    /// A digest and its sealed bytes as Python gets them.
    pub(crate) fn sealed(
        made: (paillier_gpu::verifiable::OwnerDigest, String),
    ) -> (PyOwnerDigest, String) {
        (PyOwnerDigest { digest: made.0 }, made.1)
    }
}

#[pymethods]
impl PyRecordCodec {
    #[new]
    #[pyo3(signature = (context, kb_id, verifiable=false, private_meta=false, layout=None))]
    fn new(
        context: &Bound<'_, PyExecutionContext>,
        kb_id: &str,
        verifiable: bool,
        private_meta: bool,
        layout: Option<&str>,
    ) -> PyResult<Self> {
        let ctx = context.borrow().inner.clone();
        let kind = layout.map(str::parse::<LayoutKind>).transpose().py_err()?;
        // Refused here, before the client sends anything: Paillier records that fit no layout,
        // or keys that cannot be derived.
        let paillier = kind.is_none_or(LayoutKind::is_paillier);
        if verifiable && paillier {
            ctx.preferred_layout().py_err()?;
        }
        let options = RecordOptions {
            verifiable,
            private_meta,
        };
        let mut codec = RecordCodec::new(&ctx, kb_id, options);
        if let Some(kind) = kind {
            if kind.is_paillier() {
                ctx.record_layout(kind).py_err()?;
            }
            codec = codec.with_layout(kind);
        }
        codec.keys().py_err()?;
        Ok(Self {
            codec: std::sync::Arc::new(codec),
        })
    }

    /// The layout of the knowledge base's verifiable records (`"one-bit"`, `"two-bit"` or
    /// `"sealed-vectors"`), as its digest (`open_digest`) or the constructor gave it; None
    /// before either.
    #[getter]
    fn layout(&self) -> Option<String> {
        self.codec.layout_kind().map(|kind| kind.name().to_owned())
    }

    /// The layouts the records may be in where their digest did not open (a rebuild), to try
    /// in order: the one held, or every layout the context fits, its preferred first.
    fn layouts_to_try(&self) -> Vec<String> {
        let kinds = self.codec.layouts_to_try();
        kinds
            .into_iter()
            .map(|kind| kind.name().to_owned())
            .collect()
    }

    /// The chunks to send for `vectors` and `documents` (a JSON list of `{content, meta_data,
    /// name}`, one per vector, or None), each document placed in its partition of
    /// `partitions` (one per vector) when given: a JSON list of `{chunk_content, index,
    /// meta_data, name}` and, for verifiable records, each one's fresh nonce (None otherwise).
    #[pyo3(signature = (vectors, documents=None, partitions=None))]
    fn chunks(
        &self,
        py: Python<'_>,
        vectors: &Bound<'_, PyAny>,
        documents: Option<&str>,
        partitions: Option<Vec<u32>>,
    ) -> PyResult<(String, Option<Vec<String>>)> {
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
        let documents = placed_documents(documents, partitions.as_deref(), rows.len())?;
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
        let nonces = records
            .nonces
            .map(|nonces| nonces.into_iter().map(RecordNonce::to_hex).collect());
        Ok((Value::Array(chunks).to_string(), nonces))
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

    /// `vector` encrypted as this codec's query: with a fresh nonce above the records' fields
    /// for verifiable records (kept inside the `Query`, with the vector), as the SDK encrypts it
    /// otherwise.
    fn encrypt_query(&self, py: Python<'_>, vector: &Bound<'_, PyAny>) -> PyResult<PyQuery> {
        let bits = bit_rows(vector, self.codec.context().embed_len(), false)?;
        let vector: Vec<u8> = bits.rows().concat();
        let query = py.detach(|| self.codec.encrypt_query(&vector)).py_err()?;
        let pieces = self.codec.index(query.encrypted(), 0).py_err()?;
        Ok(PyQuery { query, pieces })
    }

    /// The `top_k` nearest of `compute_hamming`'s answer to `query` (`responses`: its pieces,
    /// one row a record, as integers or base64; `chunk_ids`: its ids), nearest first (ties by
    /// chunk id): `[(chunk_id, distance, nonce)]`. Verifiable records are verified first, every
    /// record and the whole answer (raising `AnswerRejectedError` naming what failed): against
    /// `query`'s nonce, `range`, `expect_count` and, when `digest` covers a search with the
    /// owner's `filter` (JSON, not its tokens) and `range`, the digest. Nonces are None for
    /// records that are not verifiable.
    #[pyo3(signature = (query, responses, chunk_ids, top_k, range=None, expect_count=None,
                        digest=None, filter=None))]
    #[allow(clippy::too_many_arguments)]
    fn rank(
        &self,
        py: Python<'_>,
        query: &PyQuery,
        responses: &Bound<'_, PyAny>,
        chunk_ids: Vec<i64>,
        top_k: usize,
        range: Option<(i64, i64)>,
        expect_count: Option<usize>,
        digest: Option<&PyOwnerDigest>,
        filter: Option<&str>,
    ) -> PyResult<Vec<(i64, u32, Option<String>)>> {
        let batch = self.batch(py, responses)?;
        let filter = json_of("the filter", filter)?;
        let expectation = expectation(digest, filter.as_ref(), range, expect_count);
        let ranked = py
            .detach(|| {
                self.codec
                    .rank(&query.query, &batch, &chunk_ids, &expectation, top_k)
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

    /// Stored verifiable records (`indexes`: each record's `index` pieces, as `GET /v1/chunk`
    /// answers them), each checked on its own (its tag, and no query's answer in its place)
    /// and, when `digest` covers the owner's `filter` (JSON; None: the whole knowledge base),
    /// all of them against it: their nonces, and their bits kept for `encrypt_again`.
    #[pyo3(signature = (indexes, chunk_ids, digest=None, filter=None))]
    fn stored(
        &self,
        py: Python<'_>,
        indexes: &Bound<'_, PyAny>,
        chunk_ids: Vec<i64>,
        digest: Option<&PyOwnerDigest>,
        filter: Option<&str>,
    ) -> PyResult<PyStoredRecords> {
        let filter = json_of("the filter", filter)?;
        let expectation = expectation(digest, filter.as_ref(), None, None);
        if chunk_ids.is_empty() {
            // No records: the digest, where it covers the filter, must count none.
            if let Some(counted) = &expectation.digest {
                counted.check(&Tally::default()).py_err()?;
            }
            return Ok(PyStoredRecords {
                nonces: Vec::new(),
                bits: Default::default(),
            });
        }
        let batch = self.batch(py, indexes)?;
        let stored = py
            .detach(|| self.codec.stored(&batch, &chunk_ids, &expectation))
            .py_err()?;
        Ok(PyStoredRecords {
            nonces: stored.nonces,
            bits: stored.bits,
        })
    }

    /// `stored`'s records encrypted again from their checked bits, each under a fresh nonce:
    /// `[(index, nonce)]` in order, the index as `index` pieces (base64).
    fn encrypt_again(
        &self,
        py: Python<'_>,
        stored: &PyStoredRecords,
    ) -> PyResult<Vec<(Vec<String>, String)>> {
        let embed_len = self.codec.context().embed_len().max(1);
        if stored.bits.len() != stored.nonces.len() * embed_len {
            return Err(invalid_input(
                "these stored records were read by a codec of another context".to_owned(),
            ));
        }
        let vectors: Vec<&[u8]> = stored.bits.chunks(embed_len).collect();
        let records = py.detach(|| self.codec.encrypt(&vectors)).py_err()?;
        let nonces = records.nonces.clone().unwrap_or_default();
        if nonces.len() != vectors.len() {
            return Err(invalid_input(
                "records are encrypted again only by a codec of verifiable records".to_owned(),
            ));
        }
        nonces
            .into_iter()
            .enumerate()
            .map(|(i, nonce)| {
                Ok((
                    self.codec.index(&records.batch, i).py_err()?,
                    nonce.to_hex(),
                ))
            })
            .collect()
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
        let filter = json_of("the filter", filter)?;
        let documents = self.codec.open(&fetched, filter.as_ref()).py_err()?;
        serde_json::to_string(&documents).map_err(|e| invalid_input(e.to_string()))
    }

    /// What a record found by metadata sends once `patch` (JSON object) is merged into its
    /// `document` (JSON `{content, meta_data, name}`): `{chunk_id, chunk_content, meta_data,
    /// name}` (JSON), its document sealed again for `nonce` (a verifiable record's new nonce,
    /// from `encrypt_again`; None: not verifiable).
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
        let sent = self
            .codec
            .patched(&document, &patch, nonce)
            .map_err(|e| match e {
                paillier_gpu::Error::InvalidParameter(message) => {
                    paillier_gpu::Error::InvalidParameter(format!("record {chunk_id}: {message}"))
                }
                other => other,
            })
            .py_err()?;
        Ok(json!({
            "chunk_id": chunk_id, "chunk_content": sent.content, "meta_data": sent.meta_data,
            "name": sent.name,
        })
        .to_string())
    }
}
