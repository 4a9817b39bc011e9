//! Records found by metadata, and the documents of records fetched and opened by the library's
//! [`RecordCodec`]: sealed to their nonce (verifiable), sealed without one (private metadata),
//! or the SDK's content encryption.

use paillier_gpu::context::ExecutionContext;
use paillier_gpu::verifiable::{Document, FetchedRecord, RecordCodec, RecordNonce};
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
        let codec = RecordCodec::new(context, kb_id, options);
        let sent = codec.filter(filter)?;
        let listed = self.meta_search(kb_id, context.id(), &sent, false)?;
        let mut ids = Vec::with_capacity(listed.len());
        for chunk in &listed {
            ids.push(chunk_id_of(chunk).ok_or_else(|| Error::RemoteUnreachable {
                url: self.address("chunk/meta", ""),
                detail: format!("a listed chunk without a chunk_id: {chunk}"),
            })?);
        }
        let nonces: Vec<Option<RecordNonce>> = match options.verifiable {
            true => {
                let records = self.fetch_record_batch(kb_id, context, &ids)?;
                codec
                    .nonces(&records, &ids)?
                    .into_iter()
                    .map(Some)
                    .collect()
            }
            false => vec![None; ids.len()],
        };
        let records: Vec<(i64, Option<RecordNonce>)> = ids.into_iter().zip(nonces).collect();
        let documents = self
            .open_documents(&codec, &records, Some(filter))
            .map_err(|e| super::sniff::explained(options, &listed, e))?;
        Ok(records
            .into_iter()
            .zip(documents)
            .map(|((chunk_id, nonce), document)| Found {
                chunk_id,
                document,
                nonce,
            })
            .collect())
    }

    /// Fetches and opens the documents of `records` (chunk id, and nonce when verifiable), in
    /// order, checked against `filter` where they are sealed ([`RecordCodec::open`]). Only the
    /// content of verifiable records is fetched: their sealed document holds the rest.
    pub(crate) fn open_documents(
        &self,
        codec: &RecordCodec,
        records: &[(i64, Option<RecordNonce>)],
        filter: Option<&Value>,
    ) -> Result<Vec<Document>> {
        let verifiable = codec.options().verifiable;
        let projection: &[&str] = match verifiable {
            true => &["chunk_content"],
            false => &["chunk_content", "meta_data", "name"],
        };
        let ids: Vec<i64> = records.iter().map(|&(id, _)| id).collect();
        let chunks = self.chunks_by_id(codec.kb(), &ids, projection)?;
        let chunks = by_chunk_id(&chunks);
        let mut fetched = Vec::with_capacity(records.len());
        for &(chunk_id, nonce) in records {
            let chunk = chunks.get(&chunk_id).copied();
            let field = |name: &str| chunk.and_then(|c| c.get(name));
            let content = field("chunk_content").and_then(Value::as_str);
            // A verifiable record's missing content is a failure of the answer, which the codec
            // names; any other's is an answer this client cannot read.
            if content.is_none() && !verifiable {
                return Err(Error::RemoteUnreachable {
                    url: self.address("chunk", ""),
                    detail: format!("chunk {chunk_id} came back without its content"),
                });
            }
            fetched.push(FetchedRecord {
                chunk_id,
                nonce,
                content,
                meta_data: field("meta_data").and_then(Value::as_object),
                name: field("name").and_then(Value::as_str),
            });
        }
        Ok(codec.open(&fetched, filter)?)
    }
}
