//! Chunk upload: each record of a [`CiphertextBatch`] with its document (content AES-GCM-encrypted
//! under the context's data key, as the SDK's `DataLoader` does; metadata and name in the clear),
//! sent in the SDK's batches of [`UPLOAD_BATCH`].

use std::borrow::Cow;
use std::sync::Arc;

use super::Client;
use crate::error::Result;
use paillier_gpu::context::ExecutionContext;
use paillier_gpu::owner::InsertChunks;
use paillier_gpu::paillier::CiphertextBatch;
pub use paillier_gpu::verifiable::Document;
use paillier_gpu::verifiable::{RecordCodec, RecordOptions};
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
        let codec = Arc::new(RecordCodec::new(context, kb_id, RecordOptions::default()));
        let mut sent = Vec::with_capacity(batch.records());
        for record in 0..batch.records() {
            sent.push(codec.fields(record, None, documents.get(record))?);
        }
        self.drive(InsertChunks::new(codec, Cow::Borrowed(batch), sent)?)
    }
}
