//! An upload of verifiable records as one driver: the digest read (it fixes the records'
//! layout, and says whether the knowledge base is partitioned or empty), the partitions
//! trained over the upload's vectors when it asks for them on an empty knowledge base, the
//! vectors encrypted, then a [`RecordsWrite`] a batch of [`UPLOAD_BATCH`](api::UPLOAD_BATCH)
//! ([`SEALED_UPLOAD_BATCH`](api::SEALED_UPLOAD_BATCH) for sealed vectors),
//! each record placed in its partition (sealed in its document, counted by the digest) at
//! each attempt. A knowledge base of sealed vectors gets no Paillier ciphertext: each attempt
//! seals the batch's vectors in pages, under fresh nonces, once its chunk ids are known.

use std::sync::Arc;

use paillier_gpu_api as api;
use zeroize::Zeroizing;

use super::chunks::stored_before;
use super::digest_read::{Current, DigestRead};
use super::http::{Answered, Driver, Step};
use super::state::OwnerState;
use super::stored::record_bits;
use super::upload_batch::{InsertBatch, TrainedBatch};
use super::upload_order::{by_partition, in_given_order, permuted};
use super::write::not_started;
use super::write::RecordsWrite;
use crate::error::{Error, Result};
use crate::partitions::{PartitionModel, TrainOptions};
use crate::verifiable::{
    Document, EncryptedRecords, PartitionCount, RecordCodec, RecordNonce, UploadPartitions,
};

/// Where an upload's records go.
#[derive(Clone, Debug)]
pub enum UploadPlacement {
    /// Where the knowledge base's partitions put them (the nearest partition at each write),
    /// or nowhere when it is not partitioned.
    Follow,
    /// Into `partitions` (one per record) of `model`, just trained on the first upload to an
    /// empty knowledge base: the first batch stores the model with the owner's digest.
    Trained {
        /// The model.
        model: PartitionModel,
        /// Each record's partition.
        partitions: Vec<u32>,
        /// The fewest decoys every search takes, sealed with the model.
        decoys: usize,
    },
    /// The partitions asked for: trained over the upload's vectors (`count` of them, `train`
    /// the rest) when the knowledge base is empty, followed otherwise
    /// ([`OwnerDigest::upload_partitions`](crate::verifiable::OwnerDigest::upload_partitions)).
    Asked {
        /// How many partitions.
        count: PartitionCount,
        /// The training's other options.
        train: TrainOptions,
        /// The fewest decoys every search takes, sealed with the model when one is trained
        /// (a knowledge base already partitioned keeps its own: a partitions rebuild raises
        /// them).
        decoys: usize,
    },
}

/// What an upload stored.
#[derive(Clone, Debug, Default)]
pub struct UploadedRecords {
    /// Each record's chunk id and nonce, in order.
    pub records: Vec<(i64, RecordNonce)>,
    /// Why partitions asked for were not trained, for the owner.
    pub note: Option<String>,
    /// The model trained over the upload's vectors, if it was.
    pub trained: Option<PartitionModel>,
}

enum Phase {
    Digest(DigestRead),
    Writing(Box<RecordsWrite<InsertBatch>>),
    Over,
}

/// An upload of verifiable records (see the module's documentation).
pub struct UploadRecords {
    codec: Arc<RecordCodec>,
    state: Arc<OwnerState>,
    vectors: Arc<Zeroizing<Vec<u8>>>,
    documents: Arc<Vec<Document>>,
    placement: UploadPlacement,
    /// The vectors as Paillier records (none: sealed vectors, sealed at each attempt).
    records: Option<Arc<EncryptedRecords>>,
    /// Whether the digest was read (the vectors are then encrypted or to be sealed).
    started: bool,
    /// The order the records are sent in, where it is not theirs: `order[k]` is the record
    /// sent k-th (sealed vectors go by partition).
    order: Option<Arc<Vec<usize>>>,
    uploaded: UploadedRecords,
    phase: Phase,
}

impl UploadRecords {
    /// The upload of `vectors` (one record each) with `documents` (one each, or none) into
    /// `codec`'s knowledge base (verifiable records), placed as `placement` says.
    pub fn new<V: AsRef<[u8]>>(
        codec: Arc<RecordCodec>,
        state: Arc<OwnerState>,
        vectors: &[V],
        documents: Vec<Document>,
        placement: UploadPlacement,
    ) -> Result<Self> {
        if !codec.options().verifiable {
            return Err(Error::InvalidParameter(
                "an upload with the owner's digest is of verifiable records".into(),
            ));
        }
        let bits = record_bits(&codec, vectors)?;
        if !(documents.is_empty() || documents.len() == vectors.len()) {
            return Err(Error::ShapeMismatch(format!(
                "{} documents for {} vectors",
                documents.len(),
                vectors.len()
            )));
        }
        if let UploadPlacement::Trained { partitions, .. } = &placement {
            if partitions.len() != vectors.len() {
                return Err(Error::ShapeMismatch(format!(
                    "{} partitions for {} records",
                    partitions.len(),
                    vectors.len()
                )));
            }
        }
        let read = DigestRead::new(Arc::clone(&codec), Arc::clone(&state));
        Ok(Self {
            codec,
            state,
            vectors: Arc::new(bits),
            documents: Arc::new(documents),
            placement,
            records: None,
            started: false,
            order: None,
            uploaded: UploadedRecords::default(),
            phase: Phase::Digest(read),
        })
    }

    /// What the upload stored so far (all of it, once it ended): for an error's message.
    pub fn uploaded(&self) -> &UploadedRecords {
        &self.uploaded
    }

    fn count(&self) -> usize {
        self.vectors.len() / self.codec.context().embed_len().max(1)
    }

    fn rows(&self) -> Vec<&[u8]> {
        self.vectors
            .chunks(self.codec.context().embed_len().max(1))
            .collect()
    }

    /// The placement decided over the digest as read, trained where it says so.
    fn decide(&mut self, current: &Current) -> Result<()> {
        let UploadPlacement::Asked {
            count,
            train,
            decoys,
        } = &self.placement
        else {
            return Ok(());
        };
        match current
            .digest
            .upload_partitions(self.codec.kb(), Some(*count))?
        {
            UploadPartitions::Follow { note } => {
                self.uploaded.note = note;
                self.placement = UploadPlacement::Follow;
            }
            UploadPartitions::Train { .. } if self.count() == 0 => {
                self.placement = UploadPlacement::Follow;
            }
            UploadPartitions::Train { partitions } => {
                let options = TrainOptions {
                    partitions: partitions.resolve(self.count()),
                    ..train.clone()
                };
                let (model, partitions) = PartitionModel::train(&self.rows(), &options)?;
                self.uploaded.trained = Some(model.clone());
                self.placement = UploadPlacement::Trained {
                    model,
                    partitions,
                    decoys: *decoys,
                };
            }
        }
        Ok(())
    }

    /// Sealed vectors sent partition by partition (each record's chunk id follows that order),
    /// so that a partition's records fill as few pages as the writes allow: the vectors,
    /// documents and trained partitions put in that order, `order` kept to give each record
    /// its id back. Records with no partition yet (the knowledge base has none) keep theirs.
    fn order_by_partition(&mut self, current: &Current) -> Result<()> {
        let partitions = match (&self.placement, current.digest.partition_model()) {
            (UploadPlacement::Trained { partitions, .. }, _) => partitions.clone(),
            (_, Some(model)) => self
                .rows()
                .iter()
                .map(|v| model.assign(v))
                .collect::<Result<Vec<u32>>>()?,
            _ => return Ok(()),
        };
        let order = by_partition(&partitions);
        let embed_len = self.codec.context().embed_len().max(1);
        let rows: Vec<&[u8]> = self.vectors.chunks(embed_len).collect();
        let mut vectors = Zeroizing::new(Vec::with_capacity(self.vectors.len()));
        for &record in &order {
            vectors.extend_from_slice(rows[record]);
        }
        self.vectors = Arc::new(vectors);
        if !self.documents.is_empty() {
            self.documents = Arc::new(permuted(&self.documents, &order));
        }
        if let UploadPlacement::Trained { partitions, .. } = &mut self.placement {
            *partitions = permuted(partitions, &order);
        }
        self.order = Some(Arc::new(order));
        Ok(())
    }

    /// The write of the next batch, or the upload's end; the first is planned over the digest
    /// the upload read (`current`), the others read it again.
    fn next_batch(&mut self, current: Option<Current>) -> Result<Step<UploadedRecords>> {
        let (start, count) = (self.uploaded.records.len(), self.count());
        if !self.started {
            return Err(not_started());
        }
        if start >= count {
            let mut uploaded = std::mem::take(&mut self.uploaded);
            if let Some(order) = &self.order {
                uploaded.records = in_given_order(&uploaded.records, order);
            }
            return Ok(Step::Done(uploaded));
        }
        let batch = match self.records {
            Some(_) => api::UPLOAD_BATCH,
            None => api::SEALED_UPLOAD_BATCH,
        };
        let end = (start + batch).min(count);
        let plan = InsertBatch {
            codec: Arc::clone(&self.codec),
            vectors: Arc::clone(&self.vectors),
            documents: Arc::clone(&self.documents),
            records: self.records.clone(),
            placement: match &self.placement {
                UploadPlacement::Trained {
                    model,
                    partitions,
                    decoys,
                } => Some(TrainedBatch {
                    model: model.clone(),
                    partitions: partitions.get(start..end).unwrap_or_default().to_vec(),
                    decoys: *decoys,
                }),
                _ => None,
            },
            range: (start, end),
            order: self.order.clone(),
            nonces: Vec::new(),
            planned: None,
        };
        let mut write = RecordsWrite::new(Arc::clone(&self.codec), Arc::clone(&self.state), plan);
        if let Some(current) = current {
            write = write.over(current);
        }
        self.phase = Phase::Writing(Box::new(write));
        self.next(None)
    }
}

impl Driver for UploadRecords {
    type Output = UploadedRecords;

    /// As [`Driver::step`]; an error past the first batch says which chunks were stored before
    /// it (they stay: the upload is not undone).
    fn step(&mut self, answered: Option<Answered>) -> Result<Step<UploadedRecords>> {
        self.next(answered).map_err(|error| {
            let ids: Vec<i64> = self.uploaded.records.iter().map(|r| r.0).collect();
            stored_before(error, &ids)
        })
    }
}

impl UploadRecords {
    fn next(&mut self, answered: Option<Answered>) -> Result<Step<UploadedRecords>> {
        match std::mem::replace(&mut self.phase, Phase::Over) {
            Phase::Digest(mut read) => match read.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Digest(read);
                    Ok(Step::Send(request))
                }
                Step::Done(current) => {
                    self.decide(&current)?;
                    match self.codec.holds_sealed_vectors() {
                        true => self.order_by_partition(&current)?,
                        false => {
                            let records = self.codec.encrypt(&self.rows())?;
                            self.records = Some(Arc::new(records));
                        }
                    }
                    self.started = true;
                    self.next_batch(Some(current))
                }
            },
            Phase::Writing(mut write) => match write.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Writing(write);
                    Ok(Step::Send(request))
                }
                Step::Done(written) => {
                    let nonces = &write.planner().nonces;
                    let stored = written.chunk_ids.into_iter().zip(nonces.iter().copied());
                    self.uploaded.records.extend(stored);
                    self.next_batch(None)
                }
            },
            Phase::Over => Err(Error::InvalidParameter(
                "the upload is over: a driver is not stepped after its end".into(),
            )),
        }
    }
}
