//! A partitions rebuild carried over the API: every record read and verified, then each write
//! the library's [`PartitionsRebuild`] plans sent with the owner's digest. What a rebuild does,
//! and why a moved record takes a fresh nonce, is the library's to say.

use std::sync::Arc;

use paillier_gpu::partitions::TrainOptions;
use paillier_gpu::verifiable::{
    PartitionsRebuild, RebuildRecord, RebuildReport, RecordCodec, RecordOptions,
};
use paillier_gpu::ExecutionContext;
use serde_json::{json, Value};

use super::checked_options;
use crate::digest::{Current, Planned};
use crate::error::{Error, Result};
use crate::{Client, UPLOAD_BATCH};

impl Client {
    /// Trains `kb_id`'s partitions afresh over all its records (`partitions` of them, about
    /// √records when none; `train` says the rest) and moves each record whose partition
    /// changes, resuming a rebuild cut short instead when one is under way. Every record is
    /// verified on the way and all of them against the owner's digest. Another writer in
    /// between stops it (nothing is lost: run it again to resume). The steps are the library's
    /// [`PartitionsRebuild`]; this carries them.
    pub fn rebuild_partitions(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        options: RecordOptions,
        partitions: Option<usize>,
        train: &TrainOptions,
    ) -> Result<RebuildReport> {
        let codec = Arc::new(RecordCodec::new(context, kb_id, checked_options(options)?));
        let current = self.current_digest(&codec)?;
        current.digest.check_partitions_counted()?;
        let (stored, bits) = self.stored_records(&codec, &current)?;
        let mut rebuild = PartitionsRebuild::plan(
            &codec,
            &current.digest,
            stored,
            bits,
            partitions,
            train,
            UPLOAD_BATCH,
        )?;
        while rebuild.step().is_some() {
            self.write_with_digest(&codec, |current| {
                if let Some(conflict) = rebuild.conflict(&current.digest) {
                    return Err(Error::InvalidSetting(conflict));
                }
                let write = rebuild.write(&codec)?;
                let mut planned = Planned {
                    partitions: write.partitions,
                    removed: write.removed,
                    ..Planned::default()
                };
                for (chunk, (pair, value)) in write.updates {
                    planned
                        .update
                        .push((crate::raw_json(&chunk)?, (pair, value)));
                }
                Ok(planned)
            })?;
            rebuild.written();
        }
        Ok(rebuild.report())
    }

    /// Every record of the knowledge base, in chunk id order: each verified on its own (its
    /// nonce, bits and document), all of them against the owner's digest.
    fn stored_records(
        &self,
        codec: &std::sync::Arc<RecordCodec>,
        current: &Current,
    ) -> Result<(Vec<RebuildRecord>, zeroize::Zeroizing<Vec<u8>>)> {
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
                stored.push(RebuildRecord {
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
            .records()
            .check(&answered)
            .map_err(crate::digest::with_rebuild_hint)?;
        Ok((stored, bits))
    }
}
