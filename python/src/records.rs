//! `RecordCodec`: what the Python client (`paillier_gpu.client`) does with records the owner can
//! check and metadata the service cannot read, in the library; the client itself only speaks
//! HTTP. JSON crosses as text (the client loads and dumps it).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use paillier_gpu::verifiable::{
    check_filter, check_private_sort, open_document, open_records, seal_document, tokenise_filter,
    tokenise_metadata, Document, Expectation, RecordKeys, RecordNonce,
};
use paillier_gpu::ExecutionContext;
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
    ctx: ExecutionContext,
    kb_id: String,
    keys: RecordKeys,
    verifiable: bool,
    private_meta: bool,
}

fn json_error(what: &str, e: serde_json::Error) -> PyErr {
    invalid_input(format!("{what} is not JSON: {e}"))
}

fn nonce_of(hex: &str) -> PyResult<RecordNonce> {
    u128::from_str_radix(hex, 16)
        .map(|value| RecordNonce::from_bytes(value.to_le_bytes()))
        .map_err(|_| invalid_input(format!("{hex:?} is not a record nonce (32 hex digits)")))
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
        if verifiable {
            ctx.tagged_layout().py_err()?;
        }
        let keys = ctx.record_keys().py_err()?;
        Ok(Self {
            ctx,
            kb_id: kb_id.to_owned(),
            keys,
            verifiable,
            private_meta,
        })
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
        let bits = bit_rows(vectors, self.ctx.embed_len(), true)?;
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
        let (batch, nonces) = py
            .detach(|| match self.verifiable {
                true => self
                    .ctx
                    .encrypt_records(&self.kb_id, &rows)
                    .map(|(b, n)| (b, Some(n))),
                false => self.ctx.encrypt_batch(&rows).map(|b| (b, None)),
            })
            .py_err()?;
        let width = self.ctx.ciphertext_shape().piece_bytes;
        let mut chunks = Vec::with_capacity(rows.len());
        let mut bytes = Vec::new();
        for record in 0..rows.len() {
            bytes.clear();
            batch
                .write_record_le_bytes(record, width, &mut bytes)
                .py_err()?;
            let index: Vec<String> = bytes.chunks(width).map(|p| BASE64.encode(p)).collect();
            let mut document = documents.get(record).cloned().unwrap_or_default();
            let sealed = self.verifiable || self.private_meta;
            if document.name.is_none() && !self.private_meta {
                document.name = Some(format!("default_name_chunk_{record}"));
            }
            let meta_data: Map<String, Value> = match self.private_meta {
                true => tokenise_metadata(&self.keys, &document.meta_data).py_err()?,
                false => document.meta_data.clone(),
            };
            let content = match sealed {
                true => {
                    let nonce = nonces.as_ref().map(|n| n[record]);
                    seal_document(&self.keys, &self.kb_id, nonce, &document).py_err()?
                }
                false => self
                    .ctx
                    .encrypt_content(document.content.as_bytes())
                    .py_err()?,
            };
            let name = document.name.filter(|_| !self.private_meta);
            chunks.push(json!({
                "chunk_content": content, "index": index, "meta_data": meta_data, "name": name,
            }));
        }
        Ok(Value::Array(chunks).to_string())
    }

    /// `filter` (JSON) as the service must get it: tokenised for private metadata (order,
    /// prefix and substring operators refused), as it is otherwise.
    fn filter(&self, filter: &str) -> PyResult<String> {
        let value: Value = serde_json::from_str(filter).map_err(|e| json_error("the filter", e))?;
        match self.private_meta {
            true => Ok(tokenise_filter(&self.keys, &value).py_err()?.to_string()),
            false => Ok(value.to_string()),
        }
    }

    /// Refuses sorting a page by a private field.
    #[pyo3(signature = (sort_by=None))]
    fn check_sort(&self, sort_by: Option<&str>) -> PyResult<()> {
        match self.private_meta {
            true => check_private_sort(sort_by).py_err(),
            false => Ok(()),
        }
    }

    /// Decodes `compute_hamming`'s answer (`responses`: its pieces, one row a record, as
    /// integers or base64; `chunk_ids`: its ids) to `query`: `[(chunk_id, distance, nonce)]`,
    /// every record and the whole answer checked for verifiable records (raising
    /// `AnswerRejectedError` naming what failed), nonces None otherwise.
    #[pyo3(signature = (query, responses, chunk_ids, range=None, expect_count=None))]
    fn decode(
        &self,
        py: Python<'_>,
        query: &Bound<'_, PyAny>,
        responses: &Bound<'_, PyAny>,
        chunk_ids: Vec<i64>,
        range: Option<(i64, i64)>,
        expect_count: Option<usize>,
    ) -> PyResult<Vec<(i64, u32, Option<String>)>> {
        let bits = bit_rows(query, self.ctx.embed_len(), false)?;
        let query: Vec<u8> = bits.rows().concat();
        let ctx = Bound::new(
            py,
            PyExecutionContext {
                inner: self.ctx.clone(),
            },
        )?;
        let batch = Ciphertexts::from_b64_rows(ctx.as_any(), responses)?.batch;
        if !self.verifiable {
            let distances = py.detach(|| self.ctx.decode_batch(&batch)).py_err()?;
            if distances.len() != chunk_ids.len() {
                return Err(invalid_input("one chunk id a record".to_owned()));
            }
            return Ok(chunk_ids
                .into_iter()
                .zip(distances)
                .map(|(i, d)| (i, d, None))
                .collect());
        }
        let expectation = Expectation {
            range,
            count: expect_count,
        };
        let verified = py
            .detach(|| {
                self.ctx
                    .verify_answer(&self.kb_id, &query, &batch, &chunk_ids, &expectation)
            })
            .py_err()?;
        Ok(verified
            .chunk_ids
            .into_iter()
            .zip(verified.distances)
            .zip(verified.nonces)
            .map(|((id, d), n)| (id, d, Some(n.to_hex())))
            .collect())
    }

    /// The documents of `records` (`[(chunk_id, nonce or None, the service's chunk_content or
    /// None)]`), as a JSON list in order: verifiable records opened under their nonces (a
    /// content missing or not opening raises `AnswerRejectedError`), private ones sealed
    /// without a nonce, others decrypted (their metadata and name are the service's: the client
    /// adds them). With `filter` (JSON), sealed documents that do not pass it raise
    /// `AnswerRejectedError`.
    #[pyo3(signature = (records, filter=None))]
    fn open(
        &self,
        records: Vec<(i64, Option<String>, Option<String>)>,
        filter: Option<&str>,
    ) -> PyResult<String> {
        let documents: Vec<Document> = if self.verifiable {
            let nonces = records
                .iter()
                .map(|(_, nonce, _)| match nonce {
                    Some(hex) => nonce_of(hex),
                    None => Err(invalid_input(
                        "a verifiable record needs its nonce".to_owned(),
                    )),
                })
                .collect::<PyResult<Vec<_>>>()?;
            let sealed: Vec<(i64, RecordNonce, Option<&str>)> = records
                .iter()
                .zip(nonces)
                .map(|((id, _, content), nonce)| (*id, nonce, content.as_deref()))
                .collect();
            open_records(&self.keys, &self.kb_id, &sealed).py_err()?
        } else {
            let mut documents = Vec::with_capacity(records.len());
            for (id, _, content) in &records {
                let content = content.as_deref().ok_or_else(|| {
                    invalid_input(format!("chunk {id} came back without content"))
                })?;
                documents.push(match self.private_meta {
                    true => open_document(&self.keys, &self.kb_id, None, content).py_err()?,
                    false => Document {
                        content: String::from_utf8_lossy(
                            &self.ctx.decrypt_content(content).py_err()?,
                        )
                        .into_owned(),
                        ..Document::default()
                    },
                });
            }
            documents
        };
        // Sealed documents hold the metadata as the owner wrote it: each must pass the filter
        // that selected it (raising AnswerRejectedError otherwise).
        if let (Some(filter), true) = (filter, self.verifiable || self.private_meta) {
            let filter: Value =
                serde_json::from_str(filter).map_err(|e| json_error("the filter", e))?;
            let opened: Vec<(i64, &Document)> =
                records.iter().map(|r| r.0).zip(&documents).collect();
            check_filter(&filter, &opened).py_err()?;
        }
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
        let ctx = Bound::new(
            py,
            PyExecutionContext {
                inner: self.ctx.clone(),
            },
        )?;
        let batch = Ciphertexts::from_b64_rows(ctx.as_any(), indexes)?.batch;
        let zero = vec![0u8; self.ctx.embed_len()];
        let verified = py
            .detach(|| {
                self.ctx.verify_answer(
                    &self.kb_id,
                    &zero,
                    &batch,
                    &chunk_ids,
                    &Expectation::default(),
                )
            })
            .py_err()?;
        Ok(verified
            .nonces
            .into_iter()
            .map(RecordNonce::to_hex)
            .collect())
    }

    /// A document (JSON `{content, meta_data, name}`) sealed again for record `nonce` (None:
    /// not verifiable), with the metadata the service must get: `(chunk_content, meta_data)`.
    #[pyo3(signature = (document, nonce=None))]
    fn reseal(&self, document: &str, nonce: Option<&str>) -> PyResult<(String, String)> {
        let document: Document =
            serde_json::from_str(document).map_err(|e| json_error("the document", e))?;
        let nonce = nonce.map(nonce_of).transpose()?;
        let sealed = seal_document(&self.keys, &self.kb_id, nonce, &document).py_err()?;
        let meta_data = match self.private_meta {
            true => tokenise_metadata(&self.keys, &document.meta_data).py_err()?,
            false => document.meta_data,
        };
        Ok((sealed, Value::Object(meta_data).to_string()))
    }
}
