//! Chunk upload: each record of a [`CiphertextBatch`] with its document (content AES-GCM-encrypted
//! under the context's data key, as the SDK's `DataLoader` does; metadata and name in the clear),
//! sent in the SDK's batches of [`UPLOAD_BATCH`].

use reqwest::Method;
use serde_json::Value;

use super::{answer_of, Client};
use crate::api;
use crate::error::{Error, Result};
use paillier_gpu::context::ExecutionContext;
use paillier_gpu::paillier::CiphertextBatch;
pub use paillier_gpu::verifiable::Document;
use paillier_gpu::verifiable::{RecordCodec, RecordOptions, SentRecord};
use paillier_gpu::Error as LibraryError;

pub use crate::api::UPLOAD_BATCH;

impl Client {
    /// Uploads `batch` (vectors encrypted under `context`) into knowledge base `kb_id`, with one
    /// [`Document`] per record, or none at all (empty content and metadata). Returns the chunk ids
    /// the service gave, in the batch's order. Each request of [`UPLOAD_BATCH`] chunks is
    /// committed on its own: after an error, the ids of the batches before it are in the error's
    /// message, and those chunks are stored.
    pub fn upload(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        batch: &CiphertextBatch,
        documents: &[Document],
    ) -> Result<Vec<i64>> {
        if !documents.is_empty() && documents.len() != batch.records() {
            return Err(LibraryError::ShapeMismatch(format!(
                "{} documents for {} encrypted vectors",
                documents.len(),
                batch.records()
            ))
            .into());
        }
        if batch.key() != context.public().public_key().fingerprint() {
            return Err(LibraryError::KeyMismatch {
                what: "the batch was encrypted under the key".into(),
                found: batch.key().to_string(),
                holder: "the context holds".into(),
                expected: context.public().public_key().fingerprint().to_string(),
            }
            .into());
        }
        let codec = RecordCodec::new(context, kb_id, RecordOptions::default());
        self.send_records(&codec, batch, |record| {
            Ok(codec.fields(record, None, documents.get(record))?)
        })
    }

    /// Sends each record of `batch` (encrypted by `codec`'s context) into `codec`'s knowledge
    /// base with the fields `fields` makes for it, in requests of [`UPLOAD_BATCH`]. Never sends
    /// a request twice: after an answer it did not see, the error says which chunks were stored
    /// before it, and those of the unseen request may be too.
    pub(crate) fn send_records(
        &self,
        codec: &RecordCodec,
        batch: &CiphertextBatch,
        mut fields: impl FnMut(usize) -> Result<SentRecord>,
    ) -> Result<Vec<i64>> {
        let address = self.address("chunk", "");
        let mut ids = Vec::with_capacity(batch.records());
        let mut seen = std::collections::HashSet::with_capacity(batch.records());
        for start in (0..batch.records()).step_by(UPLOAD_BATCH) {
            let end = (start + UPLOAD_BATCH).min(batch.records());
            let mut chunks = Vec::with_capacity(end - start);
            for record in start..end {
                let index = codec.index(batch, record)?;
                let sent = fields(record)?;
                chunks.push(api::Chunk {
                    chunk_content: sent.content,
                    index,
                    meta_data: Some(Value::Object(sent.meta_data)),
                    name: sent.name,
                });
            }
            let body = api::InsertChunks {
                kb_id: codec.kb().to_owned(),
                context_id: codec.context().id().to_owned(),
                chunks: serde_json::value::to_raw_value(&chunks).map_err(|e| {
                    Error::InvalidSetting(format!("the chunks do not serialise: {e}"))
                })?,
            };
            let answer = self
                .json(self.request(Method::POST, &address).json(&body), &address)
                .map_err(|e| after_stored(outcome_unknown(e, start, end), &ids))?;
            let given = answer_of::<api::Inserted>(answer, &address)
                .map_err(|e| after_stored(e, &ids))?
                .chunk_ids;
            if given.len() != end - start {
                return Err(Error::RemoteUnreachable {
                    url: address,
                    detail: format!("{} chunks sent, {} ids answered", end - start, given.len()),
                });
            }
            if let Some(repeated) = given.iter().find(|&&id| !seen.insert(id)) {
                return Err(after_stored(
                    Error::RemoteUnreachable {
                        url: address,
                        detail: format!(
                            "the service answered chunk id {repeated} for two records: its ids \
                             cannot name them"
                        ),
                    },
                    &ids,
                ));
            }
            ids.extend(given);
        }
        Ok(ids)
    }
}

/// A request whose answer never came may have been stored: it is not sent again, and the error
/// says so (sending it again could leave its records twice).
fn outcome_unknown(error: Error, start: usize, end: usize) -> Error {
    match error {
        Error::RemoteUnreachable { url, detail } => Error::RemoteUnreachable {
            url,
            detail: format!(
                "{detail}; the request for records {start} to {} got no answer and may have \
                 been stored: it is not sent again (uploading them again would store second \
                 copies; a verified search given the expected count says whether they are there)",
                end - 1
            ),
        },
        other => other,
    }
}

/// An upload error, saying which chunks were stored before it.
pub(crate) fn after_stored(error: Error, ids: &[i64]) -> Error {
    if ids.is_empty() {
        return error;
    }
    let stored = format!(
        "{} chunks were stored before this (ids {} to {})",
        ids.len(),
        ids[0],
        ids[ids.len() - 1]
    );
    match error {
        Error::Remote { status, message } => Error::Remote {
            status,
            message: format!("{message}; {stored}"),
        },
        Error::RemoteUnreachable { url, detail } => Error::RemoteUnreachable {
            url,
            detail: format!("{detail}; {stored}"),
        },
        other => other,
    }
}
