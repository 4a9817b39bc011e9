//! A knowledge base of Paillier records moved to sealed vectors, as one driver: the digest read
//! (a knowledge base of sealed vectors already is left as it is), every record listed, read and
//! verified a page at a time (its nonce, bits and document; those a move cut short already
//! sealed read from their pages) and all of them against the digest, then written back a batch
//! at a time: each batch's vectors sealed in pages of their partitions under fresh nonces,
//! their chunks' Paillier indexes emptied and their documents sealed anew to the new nonces,
//! the digest trading each old pair for its new one; the last write also names the knowledge
//! base's layout sealed vectors. Each record is decrypted once. Another writer in between
//! stops it ([`Error::ConcurrentWrite`]); run again, it resumes.

use std::collections::HashMap;
use std::sync::Arc;

use paillier_gpu_api as api;
use serde_json::Value;
use zeroize::Zeroizing;

use super::digest_read::{Current, DigestRead};
use super::documents::{by_chunk_id, ChunksById, DocumentsRead};
use super::every_id::{every_id_request, listed_ids};
use super::every_page::EveryPage;
use super::find::with_rebuild_hint;
use super::http::{Answered, Driver, Step};
use super::seal_vectors_batch::{Held, SealBatch};
use super::state::OwnerState;
use super::stored::stored_batch;
use super::write::RecordsWrite;
use crate::error::{Error, Result};
use crate::verifiable::{document_partition, Document, Expectation, RecordCodec, RecordNonce};

/// What a move to sealed vectors did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SealReport {
    /// The records the knowledge base holds.
    pub records: usize,
    /// The records this run sealed (the others were sealed already).
    pub moved: usize,
    /// Whether it took up a move cut short (some records were sealed already).
    pub resumed: bool,
}

enum Phase {
    Digest(DigestRead),
    Listing(Current),
    Pages(Current, EveryPage),
    Indexes(Current, ChunksById),
    Documents(Current, Vec<Held>, DocumentsRead),
    Writing(Box<RecordsWrite<SealBatch>>),
    Over,
}

/// The move of a knowledge base to sealed vectors (see the module's documentation).
pub struct SealVectors {
    codec: Arc<RecordCodec>,
    state: Arc<OwnerState>,
    ids: Vec<i64>,
    /// Records a move cut short sealed already, by id: their nonce and bits.
    sealed: HashMap<i64, (RecordNonce, Zeroizing<Vec<u8>>)>,
    held: Vec<Held>,
    /// Records per write.
    batch: usize,
    report: SealReport,
    phase: Phase,
}

impl SealVectors {
    /// The move of `codec`'s knowledge base (verifiable records).
    pub fn new(codec: Arc<RecordCodec>, state: Arc<OwnerState>) -> Result<Self> {
        if !codec.options().verifiable {
            return Err(Error::InvalidParameter(
                "sealed vectors are verifiable records: a move to them reads verifiable records"
                    .into(),
            ));
        }
        let read = DigestRead::new(Arc::clone(&codec), Arc::clone(&state));
        Ok(Self {
            codec,
            state,
            ids: Vec::new(),
            sealed: HashMap::new(),
            held: Vec::new(),
            batch: api::SEALED_UPLOAD_BATCH,
            report: SealReport::default(),
            phase: Phase::Digest(read),
        })
    }

    /// The same move, `records` a write (at least 1; [`SEALED_UPLOAD_BATCH`](api::SEALED_UPLOAD_BATCH)
    /// by default).
    pub fn with_batch(mut self, records: usize) -> Self {
        self.batch = records.max(1);
        self
    }

    /// Every record's id, from the service's list of the whole knowledge base, ascending.
    fn listed(&mut self, answered: Option<Answered>) -> Result<()> {
        self.ids = listed_ids(answered)?;
        self.report.records = self.ids.len();
        Ok(())
    }

    /// The next page of records to read; once all are read, checked against the digest, the
    /// first write.
    fn next_page(&mut self, current: Current) -> Result<Step<SealReport>> {
        let read = self.held.len();
        if read < self.ids.len() {
            let end = (read + api::UPLOAD_BATCH).min(self.ids.len());
            let chunks = ChunksById::new(self.codec.kb(), &self.ids[read..end], &["index"]);
            self.phase = Phase::Indexes(current, chunks);
            return self.step(None);
        }
        let nonces: Vec<RecordNonce> = self.held.iter().map(|r| r.nonce).collect();
        let answered = self.codec.tally(&self.ids, &nonces)?;
        current
            .digest
            .records()
            .check(&answered)
            .map_err(with_rebuild_hint)?;
        self.held.retain(|record| !record.sealed);
        // Each partition's records together, so that a batch's pages fill (as uploads do).
        self.held
            .sort_by_key(|record| (document_partition(&record.document), record.chunk_id));
        self.next_write(current.digest.version())
    }

    /// A page of chunks read: the Paillier ones decrypted and checked, the sealed ones taken
    /// from their pages; then their documents asked for.
    fn indexes(&mut self, current: Current, chunks: &[Value]) -> Result<Step<SealReport>> {
        let read = self.held.len();
        let end = (read + api::UPLOAD_BATCH).min(self.ids.len());
        let page = self.ids[read..end].to_vec();
        let by_id = by_chunk_id(chunks);
        let empty_index = |id: i64| {
            by_id
                .get(&id)
                .and_then(|c| c.get("index"))
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
        };
        let paillier: Vec<i64> = page
            .iter()
            .copied()
            .filter(|&id| !empty_index(id))
            .collect();
        let mut decrypted = HashMap::new();
        if !paillier.is_empty() {
            let batch = stored_batch(self.codec.context(), chunks, &paillier)?;
            let stored = self
                .codec
                .stored(&batch, &paillier, &Expectation::default())?;
            let embed_len = self.codec.context().embed_len().max(1);
            for ((id, nonce), bits) in paillier
                .iter()
                .zip(&stored.nonces)
                .zip(stored.bits.chunks(embed_len))
            {
                decrypted.insert(*id, (*nonce, Zeroizing::new(bits.to_vec())));
            }
        }
        let mut records = Vec::with_capacity(page.len());
        for id in page {
            let (nonce, bits, sealed) = match decrypted.remove(&id) {
                Some((nonce, bits)) => (nonce, bits, false),
                None => {
                    let (nonce, bits) = self.sealed.remove(&id).ok_or_else(|| {
                        unreadable(
                            "chunk",
                            format!("chunk {id} has neither a Paillier index nor a sealed vector"),
                        )
                    })?;
                    (nonce, bits, true)
                }
            };
            records.push(Held {
                chunk_id: id,
                nonce,
                bits,
                sealed,
                document: Document::default(),
            });
        }
        let asked = records
            .iter()
            .map(|r| (r.chunk_id, Some(r.nonce)))
            .collect();
        let documents = DocumentsRead::new(Arc::clone(&self.codec), asked, None);
        self.phase = Phase::Documents(current, records, documents);
        self.step(None)
    }

    /// The next batch's write, or the move's end.
    fn next_write(&mut self, expected_version: i64) -> Result<Step<SealReport>> {
        let moved = self.report.moved;
        if moved >= self.held.len() && moved > 0 {
            return Ok(Step::Done(self.report.clone()));
        }
        let end = (moved + self.batch).min(self.held.len());
        let batch: Vec<Held> = self.held[moved..end]
            .iter()
            .map(|r| Held {
                chunk_id: r.chunk_id,
                nonce: r.nonce,
                bits: r.bits.clone(),
                sealed: false,
                document: r.document.clone(),
            })
            .collect();
        let plan = SealBatch {
            codec: Arc::clone(&self.codec),
            records: batch,
            last: end == self.held.len(),
            expected_version,
            planned: None,
        };
        let write = RecordsWrite::new(Arc::clone(&self.codec), Arc::clone(&self.state), plan);
        self.phase = Phase::Writing(Box::new(write));
        self.step(None)
    }
}

impl Driver for SealVectors {
    type Output = SealReport;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<SealReport>> {
        match std::mem::replace(&mut self.phase, Phase::Over) {
            Phase::Digest(mut read) => match read.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Digest(read);
                    Ok(Step::Send(request))
                }
                Step::Done(current) if self.codec.holds_sealed_vectors() => {
                    Ok(Step::Done(SealReport {
                        records: current.digest.count() as usize,
                        ..SealReport::default()
                    }))
                }
                Step::Done(current) => {
                    let request = every_id_request(&self.codec)?;
                    self.phase = Phase::Listing(current);
                    Ok(Step::Send(request))
                }
            },
            Phase::Listing(current) => {
                self.listed(answered)?;
                // The records a move cut short sealed already.
                self.phase = Phase::Pages(current, EveryPage::new(&self.codec));
                self.step(None)
            }
            Phase::Pages(current, mut pages) => match pages.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Pages(current, pages);
                    Ok(Step::Send(request))
                }
                Step::Done(read) => {
                    for record in self.codec.open_pages(&read)? {
                        self.sealed
                            .insert(record.chunk_id, (record.nonce, record.bits));
                    }
                    self.report.resumed = !self.sealed.is_empty();
                    self.next_page(current)
                }
            },
            Phase::Indexes(current, mut chunks) => match chunks.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Indexes(current, chunks);
                    Ok(Step::Send(request))
                }
                Step::Done(chunks) => self.indexes(current, &chunks),
            },
            Phase::Documents(current, mut records, mut documents) => {
                match documents.step(answered)? {
                    Step::Send(request) => {
                        self.phase = Phase::Documents(current, records, documents);
                        Ok(Step::Send(request))
                    }
                    Step::Done(opened) => {
                        for (record, document) in records.iter_mut().zip(opened) {
                            record.document = document;
                        }
                        self.held.extend(records);
                        self.next_page(current)
                    }
                }
            }
            Phase::Writing(mut write) => match write.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Writing(write);
                    Ok(Step::Send(request))
                }
                Step::Done(_) => {
                    let plan = (*write).into_planner();
                    self.report.moved += plan.records.len();
                    if plan.last {
                        return Ok(Step::Done(self.report.clone()));
                    }
                    self.next_write(plan.expected_version + 1)
                }
            },
            Phase::Over => Err(Error::InvalidParameter(
                "the move is over: a driver is not stepped after its end".into(),
            )),
        }
    }
}

fn unreadable(route: &str, detail: String) -> Error {
    Error::Unreachable {
        route: route.into(),
        detail,
    }
}
