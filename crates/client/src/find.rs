//! Records found by metadata: verifiable ones checked against the owner's digest where it
//! covers the filter, their documents opened (`documents.rs`).

use paillier_gpu::context::ExecutionContext;
use paillier_gpu::verifiable::{covered_tally, Document, Expectation, RecordCodec, RecordNonce};
use serde_json::Value;
use zeroize::Zeroizing;

use super::digest::Current;
use super::records::{chunk_id_of, RecordOptions};
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
        let codec = std::sync::Arc::new(RecordCodec::new(context, kb_id, options));
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
        codec: &std::sync::Arc<RecordCodec>,
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
                    .filter(|d| d.version() > 0)
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
}
