//! The documents of records, fetched in id order and opened by the library's [`RecordCodec`]:
//! sealed to their nonce (verifiable), sealed without one (private metadata), or the SDK's
//! content encryption.

use paillier_gpu::verifiable::{Document, FetchedRecord, RecordCodec, RecordNonce};
use serde_json::Value;

use super::records::by_chunk_id;
use super::Client;
use crate::error::{Error, Result};

impl Client {
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
        // Asked in id order, whatever order the caller's records are in (a ranking, say).
        let mut ids: Vec<i64> = records.iter().map(|&(id, _)| id).collect();
        ids.sort_unstable();
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
