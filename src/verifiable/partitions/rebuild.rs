//! A partitions rebuild as a sequence of writes, with no I/O: the model trained afresh over
//! every record (or, resuming a rebuild cut short, the one its digest already moves records
//! to), then each record whose partition changes moved, a batch a write, then the model made
//! the one searches probe. A client reads the records and the digest, and sends each write
//! this plans; both clients drive this one plan.
//!
//! A moved record is encrypted again from its checked bits under a fresh nonce, and its
//! document sealed anew under that nonce with its new partition: nothing from before the move
//! (the record, its ciphertext or its document) verifies after it, so a service cannot serve an
//! old copy to hide the record from its new partition. The model records move to waits in the
//! digest (`Partitioning::next`) until every record is in place, so a rebuild cut short loses
//! nothing and is resumed by running it again.

use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::partitions::{auto_partitions, PartitionModel, TrainOptions};
use crate::verifiable::{
    document_partition, partition_value, CountedRecord, Document, OwnerDigest, Partitioning,
    RecordCodec, RecordNonce, PARTITION_FIELD,
};

/// One stored record as a rebuild reads it: verified on its own (nonce, bits and document) and,
/// all of them together, against the owner's digest.
#[derive(Clone, Debug)]
pub struct RebuildRecord {
    /// The chunk id the service stores it under.
    pub chunk_id: i64,
    /// Its nonce, as its answer to a verified query showed it.
    pub nonce: RecordNonce,
    /// Its document, opened under that nonce.
    pub document: Document,
}

/// The write a rebuild takes next.
#[derive(Clone, Debug, PartialEq)]
pub enum RebuildStep {
    /// Store the trained model as the one records move to.
    Install,
    /// Move these records (indexes into the rebuild's records, each with its new partition).
    Move(Vec<(usize, u32)>),
    /// Make the model records moved to the one searches probe.
    Finish,
}

/// What one step writes: the knowledge base's partitions from it on (none: as they are), the
/// moved records' chunks (each replaced whole, with its `chunk_id`) with the pairs they put
/// into the digest, and the pairs they take out.
#[derive(Clone, Debug, Default)]
pub struct RebuildWrite {
    /// The partitions from this write on (none: as they are).
    pub partitions: Option<Partitioning>,
    /// Each moved record's chunk, replaced whole, with its new (id, nonce) pair and partition.
    pub updates: Vec<(Value, CountedRecord)>,
    /// The moved records' old pairs and partitions.
    pub removed: Vec<CountedRecord>,
}

/// What a rebuild did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// A knowledge base's partitions rebuilt: planned by [`PartitionsRebuild::plan`], then each
/// [`step`](Self::step) checked against the digest as the service holds it
/// ([`conflict`](Self::conflict)), written ([`write`](Self::write)) and marked
/// [`written`](Self::written) until none is left.
#[derive(Debug)]
pub struct PartitionsRebuild {
    kb: String,
    records: Vec<RebuildRecord>,
    bits: Zeroizing<Vec<u8>>,
    embed_len: usize,
    /// The model searches probe while records move (kept in the digest beside the target).
    probed: Option<PartitionModel>,
    target: PartitionModel,
    moves: Vec<(usize, u32)>,
    /// How many records change partition (sealed vectors move their pages' others too).
    changed: usize,
    /// Each record's page, for sealed vectors: a write never splits one.
    pages: Option<Vec<usize>>,
    batch: usize,
    /// The digest's version the next step expects: the rebuild's own last write.
    version: i64,
    installed: bool,
    moves_written: usize,
    finished: bool,
    resumed: bool,
}

impl PartitionsRebuild {
    /// Plans the rebuild of `codec`'s knowledge base from `digest`, the owner's digest as the
    /// service holds it (opened and checked), and `records` with their `bits` (the context's
    /// embedding length a record, in the same order): every record it holds, checked against
    /// that digest. Resumes the rebuild the
    /// digest shows under way; otherwise trains `partitions` (about √records when none) under
    /// `train`'s other options. Moves go `batch` records a write.
    pub fn plan(
        codec: &RecordCodec,
        digest: &OwnerDigest,
        records: Vec<RebuildRecord>,
        bits: Zeroizing<Vec<u8>>,
        partitions: Option<usize>,
        train: &TrainOptions,
        batch: usize,
    ) -> Result<Self> {
        digest.check_partitions_counted()?;
        let (kb, embed_len) = (codec.kb(), codec.context().embed_len().max(1));
        if records.is_empty() {
            return Err(Error::InvalidParameter(format!(
                "knowledge base {kb} holds no records to partition"
            )));
        }
        if bits.len() != records.len() * embed_len {
            return Err(Error::ShapeMismatch(format!(
                "{} bits for {} records of {embed_len} dimensions",
                bits.len(),
                records.len()
            )));
        }
        let vectors: Vec<&[u8]> = bits.chunks(embed_len).collect();
        let partitioning = digest.partitions.as_ref();
        let probed = partitioning.and_then(|p| p.model.clone());
        let under_way = partitioning.and_then(|p| p.next.clone());
        let resumed = under_way.is_some();
        let target = match under_way {
            Some(model) => model,
            None => {
                let options = TrainOptions {
                    partitions: partitions.unwrap_or_else(|| auto_partitions(records.len())),
                    ..train.clone()
                };
                PartitionModel::train(&vectors, &options)?.0
            }
        };
        let moves: Vec<(usize, u32)> = target
            .assign_balanced(&vectors)?
            .into_iter()
            .enumerate()
            .filter(|&(i, to)| document_partition(&records[i].document) != Some(to))
            .collect();
        let changed = moves.len();
        Ok(Self {
            kb: kb.to_owned(),
            records,
            bits,
            embed_len,
            probed,
            target,
            moves,
            changed,
            pages: None,
            batch: batch.max(1),
            version: digest.version,
            installed: resumed,
            moves_written: 0,
            finished: false,
            resumed,
        })
    }

    /// The same rebuild over sealed vectors, sealed a page at a time (`pages`: each record's
    /// page, in the records' order): every record of a page that holds a record changing
    /// partition moves too (to its own partition, where it stays), so that each write seals
    /// its pages again whole; a write's batch ends at a page's end.
    pub fn in_pages(mut self, pages: Vec<usize>) -> Result<Self> {
        if pages.len() != self.records.len() {
            return Err(Error::ShapeMismatch(format!(
                "{} pages named for {} records",
                pages.len(),
                self.records.len()
            )));
        }
        let mut to: Vec<Option<u32>> = self
            .records
            .iter()
            .map(|r| document_partition(&r.document))
            .collect();
        let mut moving = std::collections::HashSet::new();
        for &(i, partition) in &self.moves {
            to[i] = Some(partition);
            moving.insert(pages[i]);
        }
        let mut moves = Vec::new();
        for (i, &page) in pages.iter().enumerate() {
            if moving.contains(&page) {
                let partition = to[i].ok_or_else(|| {
                    Error::InvalidParameter(format!(
                        "record {} has no partition to stay in",
                        self.records[i].chunk_id
                    ))
                })?;
                moves.push((i, partition));
            }
        }
        moves.sort_by_key(|&(i, _)| (pages[i], i));
        self.moves = moves;
        self.pages = Some(pages);
        Ok(self)
    }

    /// Record `i` of the rebuild (an index of a [`RebuildStep::Move`]) and its bits.
    pub fn record(&self, i: usize) -> Option<(&RebuildRecord, &[u8])> {
        let bits = self
            .bits
            .get(i * self.embed_len..(i + 1) * self.embed_len)?;
        Some((self.records.get(i)?, bits))
    }

    /// The write to take next; none when the rebuild is done.
    pub fn step(&self) -> Option<RebuildStep> {
        if !self.installed {
            return Some(RebuildStep::Install);
        }
        if self.moves_written < self.moves.len() {
            let mut end = (self.moves_written + self.batch).min(self.moves.len());
            if let Some(pages) = &self.pages {
                let page_of = |k: usize| pages[self.moves[k].0];
                while end < self.moves.len() && page_of(end) == page_of(end - 1) {
                    end += 1;
                }
            }
            return Some(RebuildStep::Move(
                self.moves[self.moves_written..end].to_vec(),
            ));
        }
        (!self.finished).then_some(RebuildStep::Finish)
    }

    /// Why the next step cannot be written over `current`, the digest as the service holds it
    /// now: another writer came between (see [`OwnerDigest::rebuild_step_conflict`]). `None`
    /// when it can.
    pub fn conflict(&self, current: &OwnerDigest) -> Option<String> {
        let moving_to = self.installed.then_some(&self.target);
        current.rebuild_step_conflict(&self.kb, self.version, moving_to)
    }

    /// What the next step writes, its moved records encrypted again under fresh nonces by
    /// `codec` (the knowledge base's, verifiable); an empty write when the rebuild is done.
    pub fn write(&self, codec: &RecordCodec) -> Result<RebuildWrite> {
        match self.step() {
            None => Ok(RebuildWrite::default()),
            Some(RebuildStep::Install) => Ok(RebuildWrite {
                partitions: Some(Partitioning {
                    model: self.probed.clone(),
                    next: Some(self.target.clone()),
                    ..Partitioning::default()
                }),
                ..RebuildWrite::default()
            }),
            Some(RebuildStep::Finish) => Ok(RebuildWrite {
                partitions: Some(Partitioning {
                    model: Some(self.target.clone()),
                    next: None,
                    ..Partitioning::default()
                }),
                ..RebuildWrite::default()
            }),
            Some(RebuildStep::Move(batch)) => self.moved(codec, &batch),
        }
    }

    /// Marks the next step written: the digest is now one version on.
    pub fn written(&mut self) {
        match self.step() {
            None => return,
            Some(RebuildStep::Install) => self.installed = true,
            Some(RebuildStep::Move(batch)) => self.moves_written += batch.len(),
            Some(RebuildStep::Finish) => self.finished = true,
        }
        self.version += 1;
    }

    /// What the rebuild does (did, once every step is written).
    pub fn report(&self) -> RebuildReport {
        RebuildReport {
            partitions: self.target.partitions(),
            records: self.records.len(),
            moved: self.changed,
            resumed: self.resumed,
        }
    }

    /// The model records move to.
    pub fn target(&self) -> &PartitionModel {
        &self.target
    }

    fn moved(&self, codec: &RecordCodec, batch: &[(usize, u32)]) -> Result<RebuildWrite> {
        let vectors: Vec<&[u8]> = self.bits.chunks(self.embed_len).collect();
        let mut chosen = Vec::with_capacity(batch.len());
        for &(i, _) in batch {
            chosen.push(
                *vectors.get(i).ok_or_else(|| {
                    Error::ShapeMismatch(format!("record {i} of {}", vectors.len()))
                })?,
            );
        }
        let again = codec.encrypt(&chosen)?;
        let nonces = again.nonces.as_deref().unwrap_or_default();
        if nonces.len() != batch.len() {
            return Err(Error::InvalidParameter(
                "records are moved between partitions only by a codec of verifiable records"
                    .to_owned(),
            ));
        }
        let mut write = RebuildWrite::default();
        for (k, (&(i, to), &nonce)) in batch.iter().zip(nonces).enumerate() {
            let record = &self.records[i];
            let value = partition_value(to);
            let mut patch = Map::new();
            patch.insert(PARTITION_FIELD.into(), Value::String(value.clone()));
            let sent = codec
                .patched(&record.document, &patch, Some(nonce))
                .map_err(|e| {
                    Error::InvalidParameter(format!(
                        "record {} cannot move to partition {to}: {e}; then run the rebuild \
                         again to resume (`paillier-gpu remote partitions rebuild`, \
                         `Client.rebuild_partitions` in Python)",
                        record.chunk_id
                    ))
                })?;
            let chunk = json!({
                "chunk_id": record.chunk_id,
                "chunk_content": sent.content,
                "index": codec.index(&again.batch, k)?,
                "meta_data": sent.meta_data,
            });
            let old = record
                .document
                .meta_data
                .get(PARTITION_FIELD)
                .and_then(Value::as_str)
                .map(str::to_owned);
            write.removed.push(((record.chunk_id, record.nonce), old));
            write
                .updates
                .push((chunk, ((record.chunk_id, nonce), Some(value))));
        }
        Ok(write)
    }
}

impl OwnerDigest {
    /// Refuses partitions over a digest that counts another field per value (partitions are
    /// counted per partition).
    pub fn check_partitions_counted(&self) -> Result<()> {
        match self.counted_field.as_deref() {
            None => Ok(()),
            Some(field) if field == PARTITION_FIELD => Ok(()),
            Some(field) => Err(Error::InvalidParameter(format!(
                "the owner's digest counts {field} per value, and partitions are counted per \
                 partition: count nothing first (`paillier-gpu remote digest rebuild` without \
                 --count, `Client.rebuild_digest` without counted_field in Python)"
            ))),
        }
    }
}

#[cfg(test)]
#[path = "rebuild_tests.rs"]
mod tests;
