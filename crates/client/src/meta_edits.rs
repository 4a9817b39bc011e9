//! Deletes and patches chosen by metadata, with private metadata's filters tokenised: the
//! library's drivers ([`DeleteByMeta`] and [`PatchByMeta`] with the owner's digest for
//! verifiable records, [`DeleteFound`] and [`PatchChunks`] for the rest), carried by this
//! client.

use std::sync::Arc;

use paillier_gpu::context::ExecutionContext;
use paillier_gpu::owner::{DeleteByMeta, DeleteFound, PatchByMeta, PatchChunks, RecordsWrite};
use paillier_gpu::verifiable::RecordCodec;
use serde_json::{Map, Value};

use super::records::RecordOptions;
use super::Client;
use crate::error::Result;

impl Client {
    /// Deletes the records of `kb_id` whose metadata passes `filter` (tokenised for private
    /// metadata); how many were deleted, or with `dry_run` would be. The records are found
    /// first as [`find_records`](Self::find_records) finds them (each document opened, each
    /// verifiable record checked, each checked against the filter), then deleted by id: a
    /// filter given in the wrong mode (a private knowledge base without `private_meta`, where a
    /// `$ne` on plain values would select every record) fails to open them and deletes
    /// nothing. A verifiable delete is checked complete: where the owner's digest does not
    /// count what the filter selects (whole values of its counted field), every record is read,
    /// checked against the digest, and selected here, so a record the service hides from the
    /// selection is still deleted.
    pub fn delete_by_meta(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        filter: &Value,
        options: RecordOptions,
        dry_run: bool,
    ) -> Result<u64> {
        let codec = Arc::new(RecordCodec::new(context, kb_id, options));
        match (options.verifiable, dry_run) {
            (false, _) => return self.drive(DeleteFound::new(codec, filter, dry_run)?),
            (true, true) => {
                let state = self.owner_state()?;
                return self.drive(DeleteFound::reading_digest(codec, state, filter));
            }
            (true, false) => {}
        }
        let plan = DeleteByMeta::new(Arc::clone(&codec), filter);
        let mut write = RecordsWrite::new(codec, self.owner_state()?, plan);
        write = self.drive_write(write)?;
        Ok(write.planner().deleted())
    }

    /// Merges `patch` into the metadata of the records of `kb_id` whose metadata passes
    /// `filter`; the patched chunk ids. With private metadata or verifiable records the sealed
    /// documents are patched too (the records found, opened, sealed again, patched by id; not
    /// atomic with writers in between).
    pub fn patch_by_meta(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        filter: &Value,
        patch: &Map<String, Value>,
        options: RecordOptions,
    ) -> Result<Vec<i64>> {
        let codec = Arc::new(RecordCodec::new(context, kb_id, options));
        match options.verifiable {
            true => self.patch_verifiable(&codec, filter, patch),
            false => self.drive(PatchChunks::new(codec, filter, patch)?),
        }
    }
}

impl Client {
    /// Patches the verifiable records `filter` finds: each encrypted again from its checked
    /// bits under a fresh nonce, its document patched and sealed to it, and the digest trading
    /// the old pairs for the new, in one transaction.
    fn patch_verifiable(
        &self,
        codec: &Arc<RecordCodec>,
        filter: &Value,
        patch: &Map<String, Value>,
    ) -> Result<Vec<i64>> {
        let plan = PatchByMeta::new(Arc::clone(codec), filter, patch)?;
        let write = RecordsWrite::new(Arc::clone(codec), self.owner_state()?, plan);
        Ok(self.drive_write(write)?.planner().patched().to_vec())
    }
}
