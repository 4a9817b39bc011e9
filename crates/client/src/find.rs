//! Records found by metadata, and the documents of records fetched and opened by the library's
//! [`RecordCodec`]: sealed to their nonce (verifiable), sealed without one (private metadata),
//! or the SDK's content encryption.

use paillier_gpu::context::ExecutionContext;
use paillier_gpu::verifiable::{
    covered_tally, Document, Expectation, FetchedRecord, RecordCodec, RecordNonce,
};
use serde_json::Value;
use zeroize::Zeroizing;

use super::digest::Current;
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
    /// tag verified) to find the nonce its sealed document opens under, and, when the filter
    /// selects whole values of the field the owner's digest counts, all of them against it.
    pub fn find_records(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        filter: &Value,
        options: RecordOptions,
    ) -> Result<Vec<Found>> {
        let codec = RecordCodec::new(context, kb_id, options);
        let current = match options.verifiable {
            true => Some(self.current_digest(&codec)?),
            false => None,
        };
        Ok(self.find_stored(&codec, filter, current.as_ref())?.0)
    }

    /// [`find_records`](Self::find_records) with `codec`, against the digest `current` (none
    /// for records that are not verifiable): the records found, and the bits of verifiable
    /// ones (`embed_len` a record, in order), for the owner to encrypt them again.
    pub(crate) fn find_stored(
        &self,
        codec: &RecordCodec,
        filter: &Value,
        current: Option<&Current>,
    ) -> Result<(Vec<Found>, Zeroizing<Vec<u8>>)> {
        let (kb_id, context) = (codec.kb(), codec.context());
        let sent = codec.filter(filter)?;
        let listed = self.meta_search(kb_id, context.id(), &sent, false)?;
        let mut ids = Vec::with_capacity(listed.len());
        for chunk in &listed {
            ids.push(chunk_id_of(chunk).ok_or_else(|| Error::RemoteUnreachable {
                url: self.address("chunk/meta", ""),
                detail: format!("a listed chunk without a chunk_id: {chunk}"),
            })?);
        }
        let (nonces, bits) = match codec.options().verifiable {
            true => {
                let records = self.fetch_record_batch(kb_id, context, &ids)?;
                let digest = current
                    .map(|c| &c.digest)
                    .filter(|d| d.version > 0)
                    .and_then(|d| covered_tally(d, Some(filter), None));
                let expectation = Expectation {
                    digest,
                    ..Expectation::default()
                };
                let stored = codec
                    .stored(&records, &ids, &expectation)
                    .map_err(super::digest::with_rebuild_hint)?;
                (stored.nonces.into_iter().map(Some).collect(), stored.bits)
            }
            false => (vec![None; ids.len()], Zeroizing::new(Vec::new())),
        };
        let records: Vec<(i64, Option<RecordNonce>)> = ids.into_iter().zip(nonces).collect();
        let documents = self
            .open_documents(codec, &records, Some(filter))
            .map_err(|e| super::sniff::explained(codec.options(), &listed, e))?;
        let found = records
            .into_iter()
            .zip(documents)
            .map(|((chunk_id, nonce), document)| Found {
                chunk_id,
                document,
                nonce,
            })
            .collect();
        Ok((found, bits))
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
