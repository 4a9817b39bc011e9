//! The documents of records, fetched in id order and opened by the library's
//! [`DocumentsRead`] driver: sealed to their nonce (verifiable), sealed without one (private
//! metadata), or the SDK's content encryption.

use std::sync::Arc;

use paillier_gpu::owner::DocumentsRead;
use paillier_gpu::verifiable::{Document, RecordCodec, RecordNonce};
use serde_json::Value;

use super::Client;
use crate::error::Result;

impl Client {
    /// Fetches and opens the documents of `records` (chunk id, and nonce when verifiable), in
    /// order, checked against `filter` where they are sealed ([`RecordCodec::open`]). Only the
    /// content of verifiable records is fetched: their sealed document holds the rest.
    pub(crate) fn open_documents(
        &self,
        codec: &Arc<RecordCodec>,
        records: &[(i64, Option<RecordNonce>)],
        filter: Option<&Value>,
    ) -> Result<Vec<Document>> {
        let read = DocumentsRead::new(Arc::clone(codec), records.to_vec(), filter.cloned());
        self.drive(read)
    }
}
