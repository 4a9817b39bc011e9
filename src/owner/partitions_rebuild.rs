//! A partitions rebuild carried as one driver: the digest read, every record read and verified
//! a page at a time (its nonce, bits and document) and all of them against the digest, then
//! each write the library's [`PartitionsRebuild`] plans sent with the digest, one
//! [`RecordsWrite`] a step. Sealed vectors are read a few pages at a time and move a whole page
//! a time, every record of it sealed again in its target partition. Another writer in between stops it ([`Error::ConcurrentWrite`]):
//! nothing is lost, and running it again resumes it.

use std::sync::Arc;

use paillier_gpu_api as api;
use zeroize::Zeroizing;

use super::digest_read::{Current, DigestRead};
use super::documents::{ChunksById, DocumentsRead};
use super::every_id::{every_id_request, listed_ids};
use super::every_page::EveryPage;
use super::find::with_rebuild_hint;
use super::http::{Answered, Driver, Step};
use super::partitions_sealed::sealed_moves;
use super::state::OwnerState;
use super::stored::stored_batch;
use super::write::{not_started, raw};
use super::write::{Planned, Planner, RecordsWrite};
use crate::error::{Error, FailureKind, Result};
use crate::partitions::TrainOptions;
use crate::verifiable::{
    document_partition, refused, Document, Expectation, PartitionsRebuild, RebuildRecord,
    RebuildReport, RebuildStep, RecordCodec, RecordNonce, SealedRecord,
};

/// What the rebuild reads or writes.
enum Phase {
    Digest(DigestRead),
    Listing(Current),
    Indexes(Current, ChunksById),
    Documents(Current, Vec<RecordNonce>, DocumentsRead),
    /// Sealed vectors: every page read, then every record's document.
    Pages(Current, EveryPage),
    SealedDocuments(Current, Vec<SealedRecord>, DocumentsRead),
    Writing(Box<RecordsWrite<StepPlan>>),
    Over,
}

/// The rebuild of a knowledge base's partitions (see the module's documentation).
pub struct PartitionsRebuildRun {
    codec: Arc<RecordCodec>,
    state: Arc<OwnerState>,
    partitions: Option<usize>,
    train: TrainOptions,
    decoys: usize,
    ids: Vec<i64>,
    read: usize,
    records: Vec<RebuildRecord>,
    bits: Zeroizing<Vec<u8>>,
    phase: Phase,
}

impl PartitionsRebuildRun {
    /// The rebuild of `codec`'s knowledge base: `partitions` trained afresh (about √records
    /// when none) under `train`'s other options, or the rebuild under way resumed; `decoys`
    /// sealed as the fewest every search takes from then on (a knowledge base's sealed decoys
    /// never go down).
    pub fn new(
        codec: Arc<RecordCodec>,
        state: Arc<OwnerState>,
        partitions: Option<usize>,
        train: TrainOptions,
        decoys: usize,
    ) -> Self {
        let read = DigestRead::new(Arc::clone(&codec), Arc::clone(&state));
        Self {
            codec,
            state,
            partitions,
            train,
            decoys,
            ids: Vec::new(),
            read: 0,
            records: Vec::new(),
            bits: Zeroizing::default(),
            phase: Phase::Digest(read),
        }
    }

    /// Every record's id, from the service's list of the whole knowledge base, ascending.
    fn listed(&mut self, answered: Option<Answered>) -> Result<()> {
        self.ids = listed_ids(answered)?;
        if self.ids.is_empty() {
            return Err(Error::InvalidParameter(format!(
                "knowledge base {} holds no records to partition",
                self.codec.kb()
            )));
        }
        Ok(())
    }

    /// The next page of records to read, or the rebuild planned once all are read.
    fn next_page(&mut self, current: Current) -> Result<Step<RebuildReport>> {
        if self.read < self.ids.len() {
            let end = (self.read + api::UPLOAD_BATCH).min(self.ids.len());
            let chunks = ChunksById::new(self.codec.kb(), &self.ids[self.read..end], &["index"]);
            self.phase = Phase::Indexes(current, chunks);
            return self.step(None);
        }
        self.planned(current, None)
    }

    /// The rebuild planned over every record read (sealed vectors in `pages`: each record's
    /// page), once they are checked against the digest: every record it counts, and no other.
    fn planned(
        &mut self,
        current: Current,
        pages: Option<Vec<usize>>,
    ) -> Result<Step<RebuildReport>> {
        let nonces: Vec<RecordNonce> = self.records.iter().map(|r| r.nonce).collect();
        let answered = self.codec.tally(&self.ids, &nonces)?;
        current
            .digest
            .records()
            .check(&answered)
            .map_err(with_rebuild_hint)?;
        let batch = match pages {
            Some(_) => api::SEALED_UPLOAD_BATCH,
            None => api::UPLOAD_BATCH,
        };
        let mut rebuild = PartitionsRebuild::plan(
            &self.codec,
            &current.digest,
            std::mem::take(&mut self.records),
            std::mem::take(&mut self.bits),
            self.partitions,
            &self.train,
            batch,
        )?;
        if let Some(pages) = pages {
            rebuild = rebuild.in_pages(pages)?;
        }
        self.next_write(rebuild)
    }

    /// `sealed` records with their `documents` (one each) kept as the rebuild reads records;
    /// each record's page. A document that names another partition than its page is refused:
    /// one of the two is from before a later write.
    fn read_sealed(
        &mut self,
        sealed: Vec<SealedRecord>,
        documents: Vec<Document>,
    ) -> Result<Vec<usize>> {
        let mut pages = Vec::with_capacity(sealed.len());
        for (record, document) in sealed.into_iter().zip(documents) {
            if document_partition(&document) != record.partition {
                return Err(refused(
                    FailureKind::ContentMismatch,
                    format!(
                        "record {}: its page and its document name other partitions",
                        record.chunk_id
                    ),
                ));
            }
            self.ids.push(record.chunk_id);
            self.bits.extend_from_slice(&record.bits);
            pages.push(record.page);
            self.records.push(RebuildRecord {
                chunk_id: record.chunk_id,
                nonce: record.nonce,
                document,
            });
        }
        if self.ids.is_empty() {
            return Err(Error::InvalidParameter(format!(
                "knowledge base {} holds no records to partition",
                self.codec.kb()
            )));
        }
        Ok(pages)
    }

    fn page(&self) -> &[i64] {
        let end = (self.read + api::UPLOAD_BATCH).min(self.ids.len());
        &self.ids[self.read..end]
    }

    fn next_write(&mut self, rebuild: PartitionsRebuild) -> Result<Step<RebuildReport>> {
        if rebuild.step().is_none() {
            return Ok(Step::Done(rebuild.report()));
        }
        let plan = StepPlan {
            codec: Arc::clone(&self.codec),
            rebuild,
            decoys: self.decoys,
            planned: None,
        };
        let write = RecordsWrite::new(Arc::clone(&self.codec), Arc::clone(&self.state), plan);
        self.phase = Phase::Writing(Box::new(write));
        self.step(None)
    }
}

impl Driver for PartitionsRebuildRun {
    type Output = RebuildReport;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<RebuildReport>> {
        match std::mem::replace(&mut self.phase, Phase::Over) {
            Phase::Digest(mut read) => match read.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Digest(read);
                    Ok(Step::Send(request))
                }
                Step::Done(current) => {
                    current.digest.check_partitions_counted()?;
                    if self.codec.holds_sealed_vectors() {
                        self.phase = Phase::Pages(current, EveryPage::new(&self.codec));
                        return self.step(None);
                    }
                    let request = every_id_request(&self.codec)?;
                    self.phase = Phase::Listing(current);
                    Ok(Step::Send(request))
                }
            },
            Phase::Listing(current) => {
                self.listed(answered)?;
                self.next_page(current)
            }
            Phase::Indexes(current, mut chunks) => match chunks.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Indexes(current, chunks);
                    Ok(Step::Send(request))
                }
                Step::Done(chunks) => {
                    let page = self.page().to_vec();
                    let batch = stored_batch(self.codec.context(), &chunks, &page)?;
                    let stored = self.codec.stored(&batch, &page, &Expectation::default())?;
                    self.bits.extend_from_slice(&stored.bits);
                    let records = page
                        .iter()
                        .zip(&stored.nonces)
                        .map(|(&id, &n)| (id, Some(n)));
                    let documents =
                        DocumentsRead::new(Arc::clone(&self.codec), records.collect(), None);
                    self.phase = Phase::Documents(current, stored.nonces, documents);
                    self.step(None)
                }
            },
            Phase::Documents(current, nonces, mut documents) => match documents.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Documents(current, nonces, documents);
                    Ok(Step::Send(request))
                }
                Step::Done(documents) => {
                    let page = self.page().to_vec();
                    for ((chunk_id, nonce), document) in page.into_iter().zip(nonces).zip(documents)
                    {
                        self.records.push(RebuildRecord {
                            chunk_id,
                            nonce,
                            document,
                        });
                    }
                    self.read = self.records.len();
                    self.next_page(current)
                }
            },
            Phase::Pages(current, mut pages) => match pages.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Pages(current, pages);
                    Ok(Step::Send(request))
                }
                Step::Done(pages) => {
                    let sealed = self.codec.open_pages(&pages)?;
                    let records = sealed.iter().map(|r| (r.chunk_id, Some(r.nonce)));
                    let documents =
                        DocumentsRead::new(Arc::clone(&self.codec), records.collect(), None);
                    self.phase = Phase::SealedDocuments(current, sealed, documents);
                    self.step(None)
                }
            },
            Phase::SealedDocuments(current, sealed, mut documents) => {
                match documents.step(answered)? {
                    Step::Send(request) => {
                        self.phase = Phase::SealedDocuments(current, sealed, documents);
                        Ok(Step::Send(request))
                    }
                    Step::Done(documents) => {
                        let pages = self.read_sealed(sealed, documents)?;
                        self.planned(current, Some(pages))
                    }
                }
            }
            Phase::Writing(mut write) => match write.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Writing(write);
                    Ok(Step::Send(request))
                }
                Step::Done(_) => {
                    let mut rebuild = (*write).into_planner().rebuild;
                    rebuild.written();
                    self.next_write(rebuild)
                }
            },
            Phase::Over => Err(Error::InvalidParameter(
                "the rebuild is over: a driver is not stepped after its end".into(),
            )),
        }
    }
}

/// One step of a partitions rebuild as a write's plan.
struct StepPlan {
    codec: Arc<RecordCodec>,
    rebuild: PartitionsRebuild,
    decoys: usize,
    planned: Option<Planned>,
}

impl Planner for StepPlan {
    fn start(&mut self, current: &Current) -> Result<()> {
        if let Some(conflict) = self.rebuild.conflict(&current.digest) {
            return Err(Error::ConcurrentWrite(conflict));
        }
        if let (true, Some(RebuildStep::Move(batch))) =
            (self.codec.holds_sealed_vectors(), self.rebuild.step())
        {
            self.planned = Some(sealed_moves(&self.codec, &self.rebuild, &batch)?);
            return Ok(());
        }
        let mut write = self.rebuild.write(&self.codec)?;
        if let Some(partitions) = &mut write.partitions {
            partitions.decoys = self.decoys;
        }
        let mut planned = Planned {
            partitions: write.partitions,
            removed: write.removed,
            ..Planned::default()
        };
        for (chunk, pair) in write.updates {
            planned.update.push((raw(&chunk)?, pair));
        }
        self.planned = Some(planned);
        Ok(())
    }

    fn step(&mut self, _: Option<Answered>) -> Result<Step<Planned>> {
        self.planned.take().map(Step::Done).ok_or_else(not_started)
    }
}
