//! `compute_hamming` (the encrypted query times every selected record, on the service) into a
//! [`CiphertextBatch`], the owner's whole search on top of it, and metadata search.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::Method;
use serde_json::Value;

use super::Client;
use crate::api;
use crate::error::{Error, Result};
use paillier_gpu::context::{ExecutionContext, PublicContext};
use paillier_gpu::owner::read_hamming_answer;
use paillier_gpu::paillier::CiphertextBatch;
use paillier_gpu::Error as LibraryError;

/// What `compute_hamming` answered: one aggregated record per chunk, in the service's order.
#[derive(Debug)]
pub struct HammingAnswer {
    /// The chunk id of each record of `responses`.
    pub chunk_ids: Vec<i64>,
    /// The encrypted distances, one record per chunk (decode them with
    /// [`ExecutionContext::decode_batch`]).
    pub responses: CiphertextBatch,
}

impl Client {
    /// Asks the service to multiply `query` (one encrypted vector under `context`, stored as
    /// `context_id`) into every record of knowledge base `kb_id` that `filter` (the manual's
    /// metadata filter) and `range` (first and last chunk id) select.
    pub fn compute_hamming(
        &self,
        kb_id: &str,
        context_id: &str,
        context: &PublicContext,
        query: &CiphertextBatch,
        filter: Option<&Value>,
        range: Option<(i64, i64)>,
    ) -> Result<HammingAnswer> {
        if query.records() != 1 {
            return Err(LibraryError::ShapeMismatch(format!(
                "compute_hamming takes one encrypted query, not {}",
                query.records()
            ))
            .into());
        }
        let shape = context.try_ciphertext_shape()?;
        let mut bytes = Vec::new();
        query.write_record_le_bytes(0, shape.piece_bytes, &mut bytes)?;
        let pieces: Vec<String> = bytes
            .chunks(shape.piece_bytes)
            .map(|piece| BASE64.encode(piece))
            .collect();
        let body = api::ComputeHamming {
            kb_id: kb_id.to_owned(),
            context_id: context_id.to_owned(),
            query: pieces,
            meta_filter: filter.map(sent_filter).transpose()?,
            range: range.map(|(first, last)| vec![first, last]),
        };
        let address = self.address("compute_hamming", "");
        let request = self
            .request(Method::POST, &address)
            .header(ACCEPT, "application/x-msgpack, application/json")
            .json(&body);
        let response = self.send(request, &address)?;
        let is_json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/json"));
        let answer = response.bytes().map_err(|e| Error::RemoteUnreachable {
            url: address.clone(),
            detail: e.to_string(),
        })?;
        let (chunk_ids, responses) =
            read_hamming_answer(context, &answer, !is_json)?.map_err(|detail| {
                Error::RemoteUnreachable {
                    url: address.clone(),
                    detail: format!("the compute_hamming answer: {detail}"),
                }
            })?;
        Ok(HammingAnswer {
            chunk_ids,
            responses,
        })
    }

    /// The owner's whole search: encrypts `vector` under `context` (stored on the service under
    /// its id), aggregates on the service, decodes here, and returns the `top_k` nearest chunks
    /// as `(chunk_id, Hamming distance)`, nearest first (ties by chunk id): records uploaded
    /// as the SDK does, unverified ([`search_records`](Self::search_records) does the rest).
    pub fn search(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        vector: &[u8],
        filter: Option<&Value>,
        range: Option<(i64, i64)>,
        top_k: usize,
    ) -> Result<Vec<(i64, u32)>> {
        let options = crate::SearchOptions {
            filter: filter.cloned(),
            range,
            top_k,
            ..crate::SearchOptions::default()
        };
        let hits = self.search_records(kb_id, context, vector, &options)?;
        Ok(hits.iter().map(|h| (h.chunk_id, h.distance)).collect())
    }

    /// The chunks of `kb_id` whose metadata passes `filter`, as the service lists them: each
    /// with its `chunk_id`, name and metadata, and with `return_content` its `chunk_content`
    /// (still encrypted: open it with [`ExecutionContext::decrypt_content`]).
    pub fn meta_search(
        &self,
        kb_id: &str,
        context_id: &str,
        filter: &Value,
        return_content: bool,
    ) -> Result<Vec<Value>> {
        let address = self.address("chunk/meta", "");
        let body = api::MetaSearch {
            kb_id: kb_id.to_owned(),
            context_id: context_id.to_owned(),
            meta_filter: Some(sent_filter(filter)?),
            return_content,
            ..api::MetaSearch::default()
        };
        match self.json(self.request(Method::POST, &address).json(&body), &address)? {
            Value::Array(chunks) => Ok(chunks),
            other => Err(Error::RemoteUnreachable {
                url: address,
                detail: format!("expected a list of chunks, got {other}"),
            }),
        }
    }
}

/// A filter as the SDK sends it (a JSON string holding its JSON).
fn sent_filter(filter: &Value) -> Result<Box<serde_json::value::RawValue>> {
    api::filter_as_sent(filter)
        .map_err(|e| Error::InvalidSetting(format!("the filter does not serialise: {e}")))
}
