//! An upload of verifiable records as one driver: the digest read (it fixes the records'
//! layout, and says whether the knowledge base is partitioned or empty), the partitions
//! trained over the upload's vectors when it asks for them on an empty knowledge base, the
//! vectors encrypted, then a [`RecordsWrite`] a batch of [`UPLOAD_BATCH`](api::UPLOAD_BATCH)
//! ([`SEALED_UPLOAD_BATCH`](api::SEALED_UPLOAD_BATCH) for sealed vectors),
//! each record placed in its partition (sealed in its document, counted by the digest) at
//! each attempt. A knowledge base of sealed vectors gets no Paillier ciphertext: each attempt
//! seals the batch's vectors in pages, under fresh nonces, once its chunk ids are known.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use paillier_gpu_api as api;
use serde_json::Value;
use zeroize::Zeroizing;

use super::chunks::stored_before;
use super::digest_read::{Current, DigestRead};
use super::edits::not_started;
use super::http::{Answered, Driver, Step};
use super::state::OwnerState;
use super::stored::record_bits;
use super::upload_order::{by_partition, in_given_order, permuted};
use super::write::{Planned, Planner, RecordsWrite};
use crate::error::{Error, Result};
use crate::partitions::{PartitionModel, TrainOptions};
use crate::verifiable::{
    check_unreserved, counted_value, in_partition, Document, EncryptedRecords, PartitionCount,
    Partitioning, PlacedWrite, RecordCodec, RecordNonce, UploadPartitions,
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

/// A batch's share of a model just trained.
struct TrainedBatch {
    model: PartitionModel,
    /// The batch's records' partitions.
    partitions: Vec<u32>,
    decoys: usize,
}

/// One batch of an upload as a write's plan.
struct InsertBatch {
    codec: Arc<RecordCodec>,
    vectors: Arc<Zeroizing<Vec<u8>>>,
    documents: Arc<Vec<Document>>,
    /// The vectors as Paillier records (none: sealed vectors).
    records: Option<Arc<EncryptedRecords>>,
    /// The model just trained and this batch's partitions in it (none: follow the digest's).
    placement: Option<TrainedBatch>,
    range: (usize, usize),
    /// The upload's order, where it is not the records' (see [`UploadRecords`]).
    order: Option<Arc<Vec<usize>>>,
    /// The batch's records' nonces, as the last attempt planned them.
    nonces: Vec<RecordNonce>,
    planned: Option<Planned>,
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
        let pages = self.codec.seal_pages(&records)?;
        let mut nonce_of = std::collections::HashMap::with_capacity(records.len());
        let mut sent = Vec::with_capacity(pages.len());
        for page in &pages {
            nonce_of.extend(page.ids().iter().copied().zip(page.nonces()));
            let token = match page.partition() {
                Some(partition) => self.codec.partition_tokens(&[partition])?.pop(),
                None => None,
            };
            sent.push(api::SentPage {
                page: BASE64.encode(page.to_bytes()),
                token,
            });
        }
        let nonces = records
            .iter()
            .map(|(id, _, _)| nonce_of.get(id).copied().ok_or_else(not_started))
            .collect::<Result<Vec<_>>>()?;
        Ok((sent, nonces))
    }
}
