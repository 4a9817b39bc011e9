//! One batch of an upload as a write's plan: each record placed in its partition (sealed in
//! its document, counted by the digest), its vector encrypted or, for sealed vectors, sealed in
//! pages under fresh nonces once the batch's chunk ids are known, at each attempt.

use std::sync::Arc;

use paillier_gpu_api as api;
use serde_json::Value;
use zeroize::Zeroizing;

use super::digest_read::Current;
use super::http::{Answered, Step};
use super::sent_pages::sealed_for_sending;
use super::write::not_started;
use super::write::{Planned, Planner};
use crate::error::{Error, Result};
use crate::partitions::PartitionModel;
use crate::verifiable::{
    check_unreserved, counted_value, in_partition, Document, EncryptedRecords, Partitioning,
    PlacedWrite, RecordCodec, RecordNonce,
};

/// A batch's share of a model just trained.
pub(super) struct TrainedBatch {
    pub(super) model: PartitionModel,
    /// The batch's records' partitions.
    pub(super) partitions: Vec<u32>,
    pub(super) decoys: usize,
}

/// One batch of an upload as a write's plan.
pub(super) struct InsertBatch {
    pub(super) codec: Arc<RecordCodec>,
    pub(super) vectors: Arc<Zeroizing<Vec<u8>>>,
    pub(super) documents: Arc<Vec<Document>>,
    /// The vectors as Paillier records (none: sealed vectors).
    pub(super) records: Option<Arc<EncryptedRecords>>,
    /// The model just trained and this batch's partitions in it (none: follow the digest's).
    pub(super) placement: Option<TrainedBatch>,
    pub(super) range: (usize, usize),
    /// The upload's order, where it is not the records' (see [`UploadRecords`](super::UploadRecords)).
    pub(super) order: Option<Arc<Vec<usize>>>,
    /// The batch's records' nonces, as the last attempt planned them.
    pub(super) nonces: Vec<RecordNonce>,
    pub(super) planned: Option<Planned>,
}

impl Planner for InsertBatch {
    fn start(&mut self, current: &Current) -> Result<()> {
        let codec = &self.codec;
        let (start, end) = self.range;
        let embed_len = codec.context().embed_len().max(1);
        let (partitions, installed) = match &self.placement {
            Some(trained) => {
                let installed = current.digest.check_placement(
                    Some(&trained.model),
                    true,
                    PlacedWrite::Upload,
                )?;
                let sealed = installed.map(|partitioning| Partitioning {
                    decoys: trained.decoys,
                    ..partitioning
                });
                (Some(trained.partitions.clone()), sealed)
            }
            None => match current.digest.partition_model() {
                Some(model) => {
                    let rows = self.vectors[start * embed_len..end * embed_len].chunks(embed_len);
                    let assigned = rows
                        .map(|v| model.assign(v))
                        .collect::<Result<Vec<u32>>>()?;
                    (Some(assigned), None)
                }
                None => (None, None),
            },
        };
        let field = current.digest.write_counted_field(partitions.is_some());
        let sealed = match &self.records {
            Some(records) => {
                let nonces = records.nonces.as_deref().unwrap_or_default();
                self.nonces = nonces.get(start..end).ok_or_else(not_started)?.to_vec();
                None
            }
            None => {
                let (pages, nonces) = self.sealed_pages(current, partitions.as_deref())?;
                self.nonces = nonces;
                Some(pages)
            }
        };
        let mut planned = Planned {
            partitions: installed,
            pages: sealed.unwrap_or_default(),
            ..Planned::default()
        };
        for record in start..end {
            let given = self.documents.get(record);
            let document = match &partitions {
                Some(partitions) => Some(in_partition(given, partitions[record - start])?),
                None => {
                    // The partition field is the partitions' own, partitioned or not.
                    if let Some(document) = given {
                        check_unreserved(&document.meta_data)?;
                    }
                    given.cloned()
                }
            };
            let nonce = self.nonces[record - start];
            // A default name is the record's own place in the upload.
            let given_at = self.order.as_ref().map_or(record, |order| order[record]);
            let sent = codec.fields(given_at, Some(nonce), document.as_ref())?;
            let index = match &self.records {
                Some(records) => codec.index(&records.batch, record)?,
                None => Vec::new(),
            };
            let chunk = api::Chunk {
                chunk_content: sent.content,
                index,
                meta_data: Some(Value::Object(sent.meta_data)),
                name: sent.name,
            };
            let chunk = serde_json::value::to_raw_value(&chunk).map_err(|e| {
                Error::InvalidParameter(format!("a record does not serialise: {e}"))
            })?;
            let value = document.and_then(|d| counted_value(&d.meta_data, field));
            planned.insert.push((chunk, nonce, value));
        }
        self.planned = Some(planned);
        Ok(())
    }

    fn step(&mut self, _: Option<Answered>) -> Result<Step<Planned>> {
        self.planned.take().map(Step::Done).ok_or_else(not_started)
    }
}

impl InsertBatch {
    /// The batch's vectors sealed in pages under fresh nonces, numbered from the knowledge
    /// base's next chunk id as `current` has it (each in its partition of `partitions`, when
    /// partitioned), each page with its partition's token; and each record's nonce.
    fn sealed_pages(
        &self,
        current: &Current,
        partitions: Option<&[u32]>,
    ) -> Result<(Vec<api::SentPage>, Vec<RecordNonce>)> {
        let (start, end) = self.range;
        let embed_len = self.codec.context().embed_len().max(1);
        let rows = self.vectors[start * embed_len..end * embed_len].chunks(embed_len);
        let records: Vec<(i64, &[u8], Option<u32>)> = (current.next_chunk_id..)
            .zip(rows)
            .enumerate()
            .map(|(i, (id, bits))| (id, bits, partitions.map(|p| p[i])))
            .collect();
        sealed_for_sending(&self.codec, &records)
    }
}
