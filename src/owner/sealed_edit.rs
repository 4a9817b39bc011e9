//! A write that changes some records of a knowledge base of sealed vectors, as a planner of
//! [`RecordsWrite`](super::RecordsWrite). A page is sealed under one tag, so a change to some of
//! its records seals the page again whole. The records changed are read back by id
//! ([`SealedById`]), which says their partitions (a knowledge base without partitions is one);
//! every page of those partitions is read and checked against the owner's digest
//! ([`CheckedPartitions`]: a page kept from before a later write, even served with its documents
//! of then, does not pass), and the changed records' pages are taken from there with their
//! other records. Every one of their documents is opened under
//! its nonce, and every record that stays, changed or not, is sealed in new pages under fresh
//! nonces, its document sealed anew to its new nonce, the digest trading each old pair for its
//! new one.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::digest_read::Current;
use super::documents::DocumentsRead;
use super::http::{Answered, Driver, Step};
use super::sealed_by_id::SealedById;
use super::sealed_checked::{pages_holding, CheckedPartitions};
use super::sent_pages::{sealed_for_sending, sealed_update};
use super::write::not_started;
use super::write::{Planned, Planner};
use crate::error::{AnswerFailure, AnswerRejection, Error, FailureKind, Result};
use crate::verifiable::{
    check_unreserved, counted_value, document_partition, in_partition, Document, Expectation,
    OwnerDigest, PagedRecords, RecordCodec, RecordNonce,
};

/// What a write does to one record it names.
pub(super) enum Change {
    /// Deletes it.
    Delete,
    /// Gives it a new vector (one 0/1 value a dimension) and document (none: an empty one).
    Replace(Zeroizing<Vec<u8>>, Option<Document>),
    /// Merges these fields into its metadata.
    Patch(Map<String, Value>),
}

/// A record as the write leaves it: its vector, partition and document.
struct Staying {
    chunk_id: i64,
    bits: Zeroizing<Vec<u8>>,
    partition: Option<u32>,
    document: Document,
}

enum Phase {
    Idle,
    /// The records' own pages: where they are.
    Pages(SealedById),
    /// Their partitions' pages, checked against the digest: what they are.
    Checked(CheckedPartitions),
    Documents(PagedRecords, DocumentsRead),
}

/// A write of `changes` to records of a knowledge base of sealed vectors (see the module's
/// documentation).
pub(super) struct SealedEdit {
    codec: Arc<RecordCodec>,
    ids: Vec<i64>,
    changes: Vec<Change>,
    field: Option<String>,
    digest: Option<OwnerDigest>,
    /// The replacements placed against the digest read: each one's partition and document.
    placed: HashMap<i64, (Option<u32>, Document)>,
    nonces: HashMap<i64, RecordNonce>,
    phase: Phase,
}

impl SealedEdit {
    /// The write of `changes` (one each) to records `ids`.
    pub(super) fn new(codec: Arc<RecordCodec>, ids: Vec<i64>, changes: Vec<Change>) -> Self {
        Self {
            codec,
            ids,
            changes,
            field: None,
            digest: None,
            placed: HashMap::new(),
            nonces: HashMap::new(),
            phase: Phase::Idle,
        }
    }

    /// The write of deleting records `ids`.
    pub(super) fn deleting(codec: Arc<RecordCodec>, ids: Vec<i64>) -> Self {
        let changes = ids.iter().map(|_| Change::Delete).collect();
        Self::new(codec, ids, changes)
    }

    /// Record `chunk_id`'s new nonce (once planned; none when it is deleted).
    pub(super) fn nonce_of(&self, chunk_id: i64) -> Option<RecordNonce> {
        self.nonces.get(&chunk_id).copied()
    }

    /// Starts planning against `digest`, the one read for this attempt.
    pub(super) fn begin(&mut self, digest: &OwnerDigest) -> Result<()> {
        if self.changes.len() != self.ids.len() {
            return Err(Error::ShapeMismatch(format!(
                "{} changes for {} records",
                self.changes.len(),
                self.ids.len()
            )));
        }
        self.field = digest.counted_field().map(str::to_owned);
        self.digest = Some(digest.clone());
        let model = digest.partition_model();
        self.placed.clear();
        for (&chunk_id, change) in self.ids.iter().zip(&self.changes) {
            if let Change::Replace(bits, document) = change {
                let placed = match model {
                    Some(model) => {
                        let partition = model.assign(bits)?;
                        (Some(partition), in_partition(document.as_ref(), partition)?)
                    }
                    None => {
                        let document = document.clone().unwrap_or_default();
                        check_unreserved(&document.meta_data)?;
                        (None, document)
                    }
                };
                self.placed.insert(chunk_id, placed);
            }
        }
        let read = SealedById::new(Arc::clone(&self.codec), &self.ids, Expectation::default());
        self.phase = Phase::Pages(read);
        Ok(())
    }

    fn plan(&mut self, paged: PagedRecords, documents: Vec<Document>) -> Result<Planned> {
        let field = self.field.as_deref();
        let records = paged.asked.iter().chain(&paged.mates);
        let mut misplaced = Vec::new();
        let mut planned = Planned::default();
        let mut staying = Vec::with_capacity(documents.len());
        let changes = self.changes.iter().map(Some).chain(std::iter::repeat(None));
        for ((record, document), change) in records.zip(documents).zip(changes) {
            if document_partition(&document) != record.partition {
                misplaced.push(record.chunk_id);
            }
            let value = counted_value(&document.meta_data, field);
            planned
                .removed
                .push(((record.chunk_id, record.nonce), value));
            let (bits, partition, document) = match change {
                Some(Change::Delete) => {
                    planned.delete.push(record.chunk_id);
                    continue;
                }
                Some(Change::Replace(bits, _)) => {
                    let (partition, document) = self
                        .placed
                        .remove(&record.chunk_id)
                        .ok_or_else(not_started)?;
                    (bits.clone(), partition, document)
                }
                Some(Change::Patch(patch)) => {
                    let mut patched = document;
                    patched.meta_data.extend(patch.clone());
                    (record.bits.clone(), record.partition, patched)
                }
                None => (record.bits.clone(), record.partition, document),
            };
            staying.push(Staying {
                chunk_id: record.chunk_id,
                bits,
                partition,
                document,
            });
        }
        if !misplaced.is_empty() {
            return Err(Error::AnswerRejected(AnswerRejection {
                failures: vec![AnswerFailure {
                    kind: FailureKind::ContentMismatch,
                    chunk_ids: misplaced,
                    detail: Some(
                        "their pages and their documents name other partitions: one of them \
                         is from before a later write"
                            .into(),
                    ),
                }],
            }));
        }
        let entries: Vec<(i64, &[u8], Option<u32>)> = staying
            .iter()
            .map(|s| (s.chunk_id, &s.bits[..], s.partition))
            .collect();
        let (pages, nonces) = sealed_for_sending(&self.codec, &entries)?;
        planned.pages = pages;
        self.nonces.clear();
        for (record, nonce) in staying.iter().zip(nonces) {
            let chunk = sealed_update(&self.codec, record.chunk_id, nonce, &record.document)?;
            let value = counted_value(&record.document.meta_data, field);
            planned
                .update
                .push((chunk, ((record.chunk_id, nonce), value)));
            self.nonces.insert(record.chunk_id, nonce);
        }
        Ok(planned)
    }
}

impl Planner for SealedEdit {
    fn start(&mut self, current: &Current) -> Result<()> {
        self.begin(&current.digest)
    }

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<Planned>> {
        match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::Idle => Err(not_started()),
            Phase::Pages(mut read) => match read.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Pages(read);
                    Ok(Step::Send(request))
                }
                Step::Done(paged) => {
                    // Their partitions (none: a knowledge base without partitions).
                    let records = paged.asked.iter().chain(&paged.mates);
                    let partitions: Option<BTreeSet<u32>> = records.map(|r| r.partition).collect();
                    let digest = self.digest.as_ref().ok_or_else(not_started)?;
                    let partitions = partitions.map(|p| p.into_iter().collect());
                    let check =
                        CheckedPartitions::new(Arc::clone(&self.codec), digest, partitions)?;
                    self.phase = Phase::Checked(check);
                    self.step(None)
                }
            },
            Phase::Checked(mut check) => match check.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Checked(check);
                    Ok(Step::Send(request))
                }
                Step::Done(checked) => {
                    let paged = pages_holding(checked, &self.ids)?;
                    let records = paged.asked.iter().chain(&paged.mates);
                    let records = records.map(|r| (r.chunk_id, Some(r.nonce))).collect();
                    let documents = DocumentsRead::new(Arc::clone(&self.codec), records, None);
                    self.phase = Phase::Documents(paged, documents);
                    self.step(None)
                }
            },
            Phase::Documents(paged, mut documents) => match documents.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Documents(paged, documents);
                    Ok(Step::Send(request))
                }
                Step::Done(documents) => Ok(Step::Done(self.plan(paged, documents)?)),
            },
        }
    }
}
