//! Deletes and patches chosen by metadata, with private metadata's filters tokenised. A patch
//! of private records is made here: each chosen record's sealed document opened, patched and
//! sealed again, its tokens recomputed, and the records patched by id (the service could only
//! change the tokens and leave the sealed values behind). A verifiable record patched is
//! encrypted again from its checked bits under a fresh nonce, so that its earlier document no
//! longer opens; deletes and patches of verifiable records go with the owner's digest, in one
//! transaction each.

use std::sync::Arc;

use paillier_gpu::context::ExecutionContext;
use paillier_gpu::verifiable::{self, check_unreserved, Document, RecordCodec};
use reqwest::Method;
use serde_json::{json, Map, Value};

use super::digest::{counted_value, Planned};
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
        let mut deleted = 0;
        self.write_with_digest(&codec, |current| {
            // What the service lists, each record checked (and a filter given in the wrong
            // mode refused); where the digest cannot check that list complete, every record,
            // checked complete, selected here.
            let listed = self.find_stored(&codec, filter, Some(current))?.0;
            let found = match verifiable::covers_filter(&current.digest, filter) {
                true => listed,
                false => {
                    let every = Value::Object(Default::default());
                    let (every, _) = self.find_stored(&codec, &every, Some(current))?;
                    let mut selected = Vec::with_capacity(every.len());
                    for record in every {
                        if verifiable::filter_selects(filter, &record.document.meta_data)? {
                            selected.push(record);
                        }
                    }
                    selected
                }
            };
            let field = current.digest.counted_field();
            deleted = found.len() as u64;
            let mut planned = Planned::default();
            for record in found {
                if let Some(nonce) = record.nonce {
                    let value = counted_value(Some(&record.document), field);
                    planned.removed.push(((record.chunk_id, nonce), value));
                }
                planned.delete.push(record.chunk_id);
            }
            Ok(planned)
        })?;
        Ok(deleted)
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
        let embed_len = codec.context().embed_len().max(1);
        let mut patched = Vec::new();
        self.write_with_digest(codec, |current| {
            let (found, bits) = self.find_stored(codec, filter, Some(current))?;
            let vectors: Vec<&[u8]> = bits.chunks(embed_len).collect();
            let records = codec.encrypt(&vectors)?;
            let nonces = records.nonces.as_deref().unwrap_or_default();
            let field = current.digest.counted_field();
            let mut planned = Planned::default();
            for (i, (record, &nonce)) in found.iter().zip(nonces).enumerate() {
                let sent = codec.patched(&record.document, patch, Some(nonce))?;
                let mut document: Document = record.document.clone();
                document.meta_data.extend(patch.clone());
                let chunk = json!({
                    "chunk_id": record.chunk_id,
                    "chunk_content": sent.content,
                    "index": codec.index(&records.batch, i)?,
                    "meta_data": sent.meta_data,
                    "name": sent.name,
                });
                let value = counted_value(Some(&document), field);
                planned
                    .update
                    .push((crate::raw_json(&chunk)?, ((record.chunk_id, nonce), value)));
                if let Some(old) = record.nonce {
                    let value = counted_value(Some(&record.document), field);
                    planned.removed.push(((record.chunk_id, old), value));
                }
            }
            patched = found.iter().map(|record| record.chunk_id).collect();
            Ok(planned)
        })?;
        Ok(patched)
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
