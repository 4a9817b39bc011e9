//! Records found by metadata, and the documents of records opened: sealed to their nonce
//! (verifiable), sealed without one (private metadata), or the SDK's content encryption.

use paillier_gpu::context::ExecutionContext;
use paillier_gpu::verifiable::{
    check_filter, open_document, open_records, tokenise_filter, Document, Expectation, RecordKeys,
    RecordNonce,
};
use serde_json::Value;

use super::records::{by_chunk_id, chunk_id_of, RecordOptions};
use super::Client;
use crate::error::{Error, Result};

/// One record's document found by metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// Its chunk id.
    pub chunk_id: i64,
    /// Its document as the owner wrote it.
    pub document: Document,
    /// Its record nonce, for a verifiable record.
    pub nonce: Option<RecordNonce>,
}

impl Client {
    /// The records of `kb_id` whose metadata passes `filter`, with their documents as the owner
    /// wrote them. Verifiable records are checked first: each one's own ciphertext decoded (its
    /// tag verified) to find the nonce its sealed document opens under.
    pub fn find_records(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        filter: &Value,
        options: RecordOptions,
    ) -> Result<Vec<Found>> {
        let keys = context.record_keys()?;
        let sent = match options.private_meta {
            true => tokenise_filter(&keys, filter)?,
            false => filter.clone(),
        };
        let listed = self.meta_search(kb_id, context.id(), &sent, false)?;
        let mut ids = Vec::with_capacity(listed.len());
        for chunk in &listed {
            ids.push(chunk_id_of(chunk).ok_or_else(|| Error::RemoteUnreachable {
                url: self.address("chunk/meta", ""),
                detail: format!("a listed chunk without a chunk_id: {chunk}"),
            })?);
        }
        if !options.verifiable {
            let found = self.open_unverified(kb_id, context, &keys, &ids, options)?;
            if options.private_meta {
                check_found(filter, &found)?;
            }
            return Ok(found);
        }
        let records = self.fetch_record_batch(kb_id, context, &ids)?;
        let zero_query = vec![0u8; context.embed_len()];
        let verified =
            context.verify_answer(kb_id, &zero_query, &records, &ids, &Expectation::default())?;
        let top: Vec<(i64, u32, RecordNonce)> = ids
            .iter()
            .zip(&verified.nonces)
            .map(|(&id, &nonce)| (id, 0, nonce))
            .collect();
        let documents = self.open_sealed(kb_id, &keys, &top)?;
        let found: Vec<Found> = top
            .into_iter()
            .zip(documents)
            .map(|((chunk_id, _, nonce), document)| Found {
                chunk_id,
                document,
                nonce: Some(nonce),
            })
            .collect();
        check_found(filter, &found)?;
        Ok(found)
    }

    /// Opens the sealed documents of `records` (chunk id and nonce), in order; a document
    /// missing, or not opening under its record, fails them all.
    pub(crate) fn open_sealed(
        &self,
        kb_id: &str,
        keys: &RecordKeys,
        records: &[(i64, u32, RecordNonce)],
    ) -> Result<Vec<Document>> {
        let ids: Vec<i64> = records.iter().map(|&(id, _, _)| id).collect();
        let chunks = self.chunks_by_id(kb_id, &ids, &["chunk_content"])?;
        let chunks = by_chunk_id(&chunks);
        let sealed: Vec<(i64, RecordNonce, Option<&str>)> = records
            .iter()
            .map(|&(id, _, nonce)| {
                let content = chunks
                    .get(&id)
                    .and_then(|c| c.get("chunk_content"))
                    .and_then(Value::as_str);
                (id, nonce, content)
            })
            .collect();
        Ok(open_records(keys, kb_id, &sealed)?)
    }

    /// Documents of records that are not verifiable: sealed without a nonce (private
    /// metadata), or the SDK's content encryption with the service's metadata and name.
    pub(crate) fn open_unverified(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        keys: &RecordKeys,
        ids: &[i64],
        options: RecordOptions,
    ) -> Result<Vec<Found>> {
        let chunks = self.chunks_by_id(kb_id, ids, &["chunk_content", "meta_data", "name"])?;
        let chunks = by_chunk_id(&chunks);
        let mut found = Vec::with_capacity(ids.len());
        for &id in ids {
            let chunk = chunks.get(&id).copied();
            let content = chunk
                .and_then(|c| c.get("chunk_content"))
                .and_then(Value::as_str)
                .ok_or_else(|| Error::RemoteUnreachable {
                    url: self.address("chunk", ""),
                    detail: format!("chunk {id} came back without its content"),
                })?;
            let document = match options.private_meta {
                true => open_document(keys, kb_id, None, content)?,
                false => Document {
                    content: String::from_utf8_lossy(&context.decrypt_content(content)?)
                        .into_owned(),
                    meta_data: chunk
                        .and_then(|c| c.get("meta_data"))
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default(),
                    name: chunk
                        .and_then(|c| c.get("name"))
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                },
            };
            found.push(Found {
                chunk_id: id,
                document,
                nonce: None,
            });
        }
        Ok(found)
    }
}

/// Every found record's document, as the owner wrote it, passes `filter`: a service that
/// ignored the filter fails the search.
fn check_found(filter: &Value, found: &[Found]) -> Result<()> {
    let opened: Vec<(i64, &Document)> = found.iter().map(|f| (f.chunk_id, &f.document)).collect();
    Ok(check_filter(filter, &opened)?)
}
