//! Deletes and patches chosen by metadata, with private metadata's filters tokenised. A patch
//! of private records is made here: each chosen record's sealed document opened, patched and
//! sealed again, its tokens recomputed, and the records patched by id (the service could only
//! change the tokens and leave the sealed values behind). A verifiable record patched is
//! encrypted again from its checked bits under a fresh nonce, so that its earlier document no
//! longer opens; deletes and patches of verifiable records go with the owner's digest, in one
//! transaction each.

use std::sync::Arc;

use paillier_gpu::context::ExecutionContext;
use paillier_gpu::owner::{DeleteByMeta, PatchByMeta, RecordsWrite};
use paillier_gpu::verifiable::{check_unreserved, RecordCodec};
use reqwest::Method;
use serde_json::{json, Map, Value};

use super::records::RecordOptions;
use super::Client;
use crate::api;
use crate::error::{Error, Result};

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
        if dry_run || !options.verifiable {
            let found = self.find_records(kb_id, context, filter, options)?;
            if dry_run {
                return Ok(found.len() as u64);
            }
            let ids: Vec<i64> = found.iter().map(|record| record.chunk_id).collect();
            return self.delete_chunks(kb_id, &ids);
        }
        let codec = Arc::new(RecordCodec::new(context, kb_id, options));
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
        check_unreserved(patch)?;
        if !(options.private_meta || options.verifiable) {
            let address = self.address("chunk/by-meta", "");
            let body = api::MetaSearch {
                kb_id: kb_id.to_owned(),
                context_id: context.id().to_owned(),
                meta_filter: Some(sent_filter(filter)?),
                patch: Some(sent_value(&Value::Object(patch.clone()))?),
                ..api::MetaSearch::default()
            };
            let answer = self.json(self.request(Method::PATCH, &address).json(&body), &address)?;
            return Ok(answer
                .get("chunk_ids")
                .and_then(Value::as_array)
                .map(|ids| ids.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default());
        }
        let codec = Arc::new(RecordCodec::new(context, kb_id, options));
        if options.verifiable {
            return self.patch_verifiable(&codec, filter, patch);
        }
        let found = self.find_records(kb_id, context, filter, options)?;
        if found.is_empty() {
            return Ok(Vec::new());
        }
        let mut patches = Vec::with_capacity(found.len());
        for record in &found {
            let sent = codec.patched(&record.document, patch, None)?;
            patches.push(json!({
                "chunk_id": record.chunk_id,
                "chunk_content": sent.content,
                "meta_data": sent.meta_data,
            }));
        }
        let address = self.address("chunk", "");
        let body = json!({ "kb_id": kb_id, "context_id": context.id(), "chunk_patches": patches });
        self.json(self.request(Method::PATCH, &address).json(&body), &address)?;
        Ok(found.iter().map(|f| f.chunk_id).collect())
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

fn sent_filter(filter: &Value) -> Result<Box<serde_json::value::RawValue>> {
    api::filter_as_sent(filter)
        .map_err(|e| Error::InvalidSetting(format!("the filter does not serialise: {e}")))
}

fn sent_value(value: &Value) -> Result<Box<serde_json::value::RawValue>> {
    serde_json::value::to_raw_value(value)
        .map_err(|e| Error::InvalidSetting(format!("the patch does not serialise: {e}")))
}
