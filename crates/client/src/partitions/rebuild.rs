//! Partitions trained again over every record the service holds, and the records whose
//! partition changes moved: each one encrypted again from its checked bits under a fresh nonce,
//! its document sealed anew under that nonce with its new partition token, its old (id, nonce)
//! pair taken out of the digest and the new one counted in its new partition, a batch per
//! transaction. A fresh nonce, not the same one: a copy of the record or of its document from
//! before the move then verifies nowhere, so a service cannot serve one to hide the record
//! from its new partition. The model the records move to waits in the digest until every
//! record is in place, so a rebuild cut short (kill -9 included) loses nothing and is resumed
//! by running it again.

use paillier_gpu::partitions::{auto_partitions, PartitionModel, TrainOptions};
use paillier_gpu::verifiable::{
    document_partition, partition_value, Document, Partitioning, RecordCodec, RecordNonce,
    RecordOptions, PARTITION_FIELD,
};
use paillier_gpu::ExecutionContext;
use serde_json::{json, Map, Value};

use super::{check_counted_field, checked_options};
use crate::digest::{Current, Planned};
use crate::error::{Error, Result};
use crate::{Client, UPLOAD_BATCH};

/// What a rebuild did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RebuildReport {
    /// The partitions of the new model.
    pub partitions: usize,
    /// The records it placed.
    pub records: usize,
    /// How many of them changed partition.
    pub moved: usize,
    /// Whether it resumed a rebuild cut short (the model was already trained).
    pub resumed: bool,
}

/// One stored record as a rebuild reads it.
struct Stored {
    chunk_id: i64,
    nonce: RecordNonce,
    document: Document,
}

impl Client {
    /// Trains `kb_id`'s partitions afresh over all its records (`partitions` of them, about
    /// √records when none; `train` says the rest) and moves each record whose partition
    /// changes, resuming a rebuild cut short instead when one is under way. Every record is
    /// verified on the way and all of them against the owner's digest. Another writer in
    /// between stops it (nothing is lost: run it again to resume).
    pub fn rebuild_partitions(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        options: RecordOptions,
        partitions: Option<usize>,
        train: &TrainOptions,
    ) -> Result<RebuildReport> {
        let codec = RecordCodec::new(context, kb_id, checked_options(options)?);
        let current = self.current_digest(&codec)?;
        check_counted_field(&current.digest)?;
        let (stored, bits) = self.stored_records(&codec, &current)?;
        let embed_len = context.embed_len().max(1);
        let vectors: Vec<&[u8]> = bits.chunks(embed_len).collect();
        let mut version = current.digest.version;
        let under_way = current
            .digest
            .partitions
            .as_ref()
            .and_then(|p| p.next.clone());
        let resumed = under_way.is_some();
        let next = match under_way {
            Some(next) => next,
            None => {
                let count = partitions.unwrap_or_else(|| auto_partitions(stored.len()));
                let options = TrainOptions {
                    partitions: count,
                    ..train.clone()
                };
                let (model, _) = PartitionModel::train(&vectors, &options)?;
                let model_now = current
                    .digest
                    .partitions
                    .as_ref()
                    .and_then(|p| p.model.clone());
                let install = Partitioning {
                    model: model_now,
                    next: Some(model.clone()),
                };
                self.write_partition_step(&codec, &mut version, None, |_| {
                    Ok(Planned {
                        partitions: Some(install.clone()),
                        ..Planned::default()
                    })
                })?;
                model
            }
        };
        let targets = next.assign_balanced(&vectors)?;
        let moves: Vec<(usize, u32)> = targets
            .into_iter()
            .enumerate()
            .filter(|&(i, target)| document_partition(&stored[i].document) != Some(target))
            .collect();
        for batch in moves.chunks(UPLOAD_BATCH) {
            self.write_partition_step(&codec, &mut version, Some(&next), |_| {
                // Each moved record encrypted again from its checked bits, under a fresh nonce.
                let moved: Vec<&[u8]> = batch.iter().map(|&(i, _)| vectors[i]).collect();
                let again = codec.encrypt(&moved)?;
                let nonces = again.nonces.as_deref().unwrap_or_default();
                let mut planned = Planned::default();
                for (k, (&(i, target), &nonce)) in batch.iter().zip(nonces).enumerate() {
                    let record = &stored[i];
                    let old = record
                        .document
                        .meta_data
                        .get(PARTITION_FIELD)
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    let mut patch = Map::new();
                    patch.insert(PARTITION_FIELD.into(), json!(partition_value(target)));
                    let sent = codec
                        .patched(&record.document, &patch, Some(nonce))
                        .map_err(|e| {
                            Error::InvalidSetting(format!(
                                "record {} cannot move to partition {target}: {e}; then run \
                                 `paillier-gpu remote partitions rebuild` again to resume",
                                record.chunk_id
                            ))
                        })?;
                    let chunk = json!({
                        "chunk_id": record.chunk_id,
                        "chunk_content": sent.content,
                        "index": codec.index(&again.batch, k)?,
                        "meta_data": sent.meta_data,
                    });
                    planned.removed.push(((record.chunk_id, record.nonce), old));
                    planned.update.push((
                        chunk,
                        (record.chunk_id, nonce),
                        Some(partition_value(target)),
                    ));
                }
                Ok(planned)
            })?;
        }
        let done = Partitioning {
            model: Some(next.clone()),
            next: None,
        };
        self.write_partition_step(&codec, &mut version, Some(&next), |_| {
            Ok(Planned {
                partitions: Some(done.clone()),
                ..Planned::default()
            })
        })?;
        Ok(RebuildReport {
            partitions: next.partitions(),
            records: stored.len(),
            moved: moves.len(),
            resumed,
        })
    }

    /// One write of a rebuild, refused (nothing written) unless the digest is still at
    /// `version`, the rebuild's own last, and moving records to `next` when given.
    fn write_partition_step(
        &self,
        codec: &RecordCodec,
        version: &mut i64,
        next: Option<&PartitionModel>,
        mut plan: impl FnMut(&Current) -> Result<Planned>,
    ) -> Result<()> {
        let expected = *version;
        self.write_with_digest(codec, |current| {
            match current
                .digest
                .rebuild_step_conflict(codec.kb(), expected, next)
            {
                Some(conflict) => Err(Error::InvalidSetting(conflict)),
                None => plan(current),
            }
        })?;
        *version = expected + 1;
        Ok(())
    }

    /// Every record of the knowledge base, in chunk id order: each verified on its own (its
    /// nonce, bits and document), all of them against the owner's digest.
    fn stored_records(
        &self,
        codec: &RecordCodec,
        current: &Current,
    ) -> Result<(Vec<Stored>, zeroize::Zeroizing<Vec<u8>>)> {
        let listed = self.meta_search(codec.kb(), codec.context().id(), &json!({}), false)?;
        let mut ids = Vec::with_capacity(listed.len());
        for chunk in &listed {
            ids.push(
                chunk
                    .get("chunk_id")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| Error::RemoteUnreachable {
                        url: self.address("chunk/meta", ""),
                        detail: format!("a listed chunk without a chunk_id: {chunk}"),
                    })?,
            );
        }
        drop(listed);
        ids.sort_unstable();
        if ids.is_empty() {
            return Err(Error::InvalidSetting(format!(
                "knowledge base {} holds no records to partition",
                codec.kb()
            )));
        }
        let mut stored = Vec::with_capacity(ids.len());
        let mut bits = zeroize::Zeroizing::new(Vec::new());
        let mut nonces = Vec::with_capacity(ids.len());
        for page in ids.chunks(UPLOAD_BATCH) {
            let records = self.fetch_record_batch(codec.kb(), codec.context(), page)?;
            let read = codec.stored(&records, page, &Default::default())?;
            let pairs: Vec<_> = page
                .iter()
                .zip(&read.nonces)
                .map(|(&id, &n)| (id, Some(n)))
                .collect();
            let documents = self.open_documents(codec, &pairs, None)?;
            bits.extend_from_slice(&read.bits);
            for ((&chunk_id, &nonce), document) in page.iter().zip(&read.nonces).zip(documents) {
                nonces.push(nonce);
                stored.push(Stored {
                    chunk_id,
                    nonce,
                    document,
                });
            }
        }
        // Every record the digest counts, and no other.
        let answered = codec.tally(&ids, &nonces)?;
        current
            .digest
            .records
            .check(&answered)
            .map_err(crate::digest::with_rebuild_hint)?;
        Ok((stored, bits))
    }
}
