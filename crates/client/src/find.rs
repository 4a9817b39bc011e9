//! Records found by metadata: the library's [`FindRecords`] driver (verifiable ones checked
//! against the owner's digest where it covers the filter, their documents opened), carried by
//! this client.

use std::sync::Arc;

use paillier_gpu::context::ExecutionContext;
use paillier_gpu::owner::FindRecords;
pub use paillier_gpu::owner::Found;
use paillier_gpu::verifiable::RecordCodec;
use serde_json::Value;

use super::records::RecordOptions;
use super::Client;
use crate::error::Result;

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
        let codec = Arc::new(RecordCodec::new(context, kb_id, options));
        let find = match options.verifiable {
            true => FindRecords::reading_digest(codec, self.owner_state()?, filter),
            false => FindRecords::new(codec, filter, None),
        };
        Ok(self.drive(find)?.found)
    }
}
