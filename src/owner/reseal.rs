//! Records written under the earlier key derivation (the data key alone, shared by every
//! knowledge base and context with that key) sealed again under keys bound to their context
//! and knowledge base, as one driver: each record read and verified under the old keys,
//! encrypted again from its bits under a fresh nonce, its document opened and sealed anew, and
//! written with the owner's digest, a batch a transaction. Run again after an interruption, it
//! finishes what is left: records that already verify under the new keys are counted, not
//! touched. The digest says the records' layout, which both derivations share; records with no
//! digest at all were written before layouts were named, so two-bit; sealed vectors were never
//! written under the earlier keys, and a knowledge base of them has nothing to reseal.

use std::sync::Arc;

use paillier_gpu_api as api;
use serde_json::{json, Value};

use super::digest_read::{Current, DigestRead};
use super::documents::{ChunksById, DocumentsRead};
use super::hamming_answer::read_hamming_answer;
use super::http::{expect_answer, Answered, Driver, Method, Request, Step};
use super::state::OwnerState;
use super::stored::stored_batch;
use super::write::{not_started, raw};
use super::write::{Planned, Planner, RecordsWrite};
use crate::error::{Error, FailureKind, Result};
use crate::verifiable::{
    counted_value, refused, Expectation, KeyDerivation, LayoutKind, OwnerDigest, RecordCodec,
    RecordNonce, StoredRecords,
};

enum Phase {
    Digest(DigestRead),
    Ids,
    Writing(Box<RecordsWrite<ResealBatch>>),
    Summary(DigestRead),
    Over,
}

/// The reseal of a knowledge base's records (see the module's documentation); it ends with
/// the digest after it.
pub struct ResealRecords {
    codec: Arc<RecordCodec>,
    state: Arc<OwnerState>,
    bound: Option<Arc<RecordCodec>>,
    legacy: Option<Arc<RecordCodec>>,
    ids: Vec<i64>,
    written: usize,
    phase: Phase,
}

impl ResealRecords {
    /// The reseal of `codec`'s knowledge base (verifiable records only).
    pub fn new(codec: Arc<RecordCodec>, state: Arc<OwnerState>) -> Result<Self> {
        if !codec.options().verifiable {
            return Err(Error::InvalidParameter(
                "only verifiable records are sealed to their keys: pass --verifiable".into(),
            ));
        }
        let read = DigestRead::new(Arc::clone(&codec), Arc::clone(&state));
        Ok(Self {
            codec,
            state,
            bound: None,
            legacy: None,
            ids: Vec::new(),
            written: 0,
            phase: Phase::Digest(read),
        })
    }

    /// Both codecs in the digest's layout, and the zero query whose answer names every record
    /// (not checked here: each record is fetched and verified in its batch).
    fn list(&mut self, current: &Current) -> Result<Step<OwnerDigest>> {
        let layout = match current.digest.version() {
            0 => LayoutKind::TwoBit,
            _ => current.digest.layout(),
        };
        // Sealed vectors came after the keys were bound: none was written under the earlier.
        if layout == LayoutKind::Sealed {
            return Ok(Step::Done(current.digest.clone()));
        }
        let codec = &self.codec;
        let fresh = || RecordCodec::new(codec.context(), codec.kb(), codec.options());
        let bound = Arc::new(fresh().with_layout(layout));
        let legacy = fresh()
            .with_derivation(KeyDerivation::Legacy)
            .with_layout(layout);
        let query = bound.encrypt_query(&vec![0u8; codec.context().embed_len()])?;
        let body = api::ComputeHamming {
            kb_id: codec.kb().to_owned(),
            context_id: codec.context().id().to_owned(),
            query: bound.index(query.encrypted(), 0)?,
            meta_filter: None,
            range: None,
        };
        let mut request =
            Request::new(Method::Post, "compute_hamming", String::new()).with_json(&body)?;
        request.msgpack = true;
        self.bound = Some(bound);
        self.legacy = Some(Arc::new(legacy));
        self.phase = Phase::Ids;
        Ok(Step::Send(request))
    }

    fn next_batch(&mut self) -> Result<Step<OwnerDigest>> {
        let bound = self.bound.clone().ok_or_else(not_started)?;
        if self.written >= self.ids.len() {
            let read = DigestRead::new(bound, Arc::clone(&self.state));
            self.phase = Phase::Summary(read);
            return self.step(None);
        }
        let end = (self.written + api::UPLOAD_BATCH).min(self.ids.len());
        let plan = ResealBatch {
            bound: Arc::clone(&bound),
            legacy: self.legacy.clone().ok_or_else(not_started)?,
            batch: self.ids[self.written..end].to_vec(),
            field: None,
            phase: BatchPhase::Waiting,
        };
        let write = RecordsWrite::new(bound, Arc::clone(&self.state), plan).allowing_uncounted();
        self.written = end;
        self.phase = Phase::Writing(Box::new(write));
        self.step(None)
    }
}

impl Driver for ResealRecords {
    type Output = OwnerDigest;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<OwnerDigest>> {
        match std::mem::replace(&mut self.phase, Phase::Over) {
            Phase::Digest(mut read) => match read.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Digest(read);
                    Ok(Step::Send(request))
                }
                Step::Done(current) => self.list(&current),
            },
            Phase::Ids => {
                let answer = expect_answer(answered, "compute_hamming", "")?;
                answer.check_status()?;
                let public = self.codec.context().public_context();
                let (ids, _) = read_hamming_answer(&public, &answer.body, answer.msgpack)?
                    .map_err(|detail| Error::Unreachable {
                        route: "compute_hamming".into(),
                        detail: format!("the compute_hamming answer: {detail}"),
                    })?;
                self.ids = ids;
                self.next_batch()
            }
            Phase::Writing(mut write) => match write.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Writing(write);
                    Ok(Step::Send(request))
                }
                Step::Done(_) => self.next_batch(),
            },
            Phase::Summary(mut read) => match read.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Summary(read);
                    Ok(Step::Send(request))
                }
                Step::Done(current) => Ok(Step::Done(current.digest)),
            },
            Phase::Over => Err(Error::InvalidParameter(
                "the reseal is over: a driver is not stepped after its end".into(),
            )),
        }
    }
}

enum BatchPhase {
    Waiting,
    Indexes(ChunksById),
    Documents(Vec<i64>, StoredRecords, DocumentsRead),
}

/// One batch of a reseal as a write's plan: its records read and checked under both key
/// derivations, those under the old one encrypted and sealed again.
struct ResealBatch {
    bound: Arc<RecordCodec>,
    legacy: Arc<RecordCodec>,
    batch: Vec<i64>,
    field: Option<String>,
    phase: BatchPhase,
}

impl ResealBatch {
    /// The records of the batch under the old keys, checked; none when every one is resealed.
    fn stale(&mut self, chunks: &[Value]) -> Result<Option<Step<Planned>>> {
        let context = self.bound.context();
        let records = stored_batch(context, chunks, &self.batch)?;
        let old = self.legacy.stored_validity(&records)?;
        let new = self.bound.stored_validity(&records)?;
        if let Some(i) = (0..self.batch.len()).find(|&i| !old[i] && !new[i]) {
            return Err(refused(
                FailureKind::InvalidRecord,
                format!(
                    "chunk {} verifies under neither key derivation",
                    self.batch[i]
                ),
            ));
        }
        let stale: Vec<i64> = (0..self.batch.len())
            .filter(|&i| old[i])
            .map(|i| self.batch[i])
            .collect();
        if stale.is_empty() {
            return Ok(Some(Step::Done(Planned::default())));
        }
        let records = stored_batch(context, chunks, &stale)?;
        let stored = self
            .legacy
            .stored(&records, &stale, &Expectation::default())?;
        let opened = stale
            .iter()
            .zip(&stored.nonces)
            .map(|(&id, &n)| (id, Some(n)));
        let documents = DocumentsRead::new(Arc::clone(&self.legacy), opened.collect(), None);
        self.phase = BatchPhase::Documents(stale, stored, documents);
        Ok(None)
    }

    /// The stale records encrypted and sealed again under the current keys.
    fn planned(
        &self,
        stale: &[i64],
        stored: &StoredRecords,
        documents: &[crate::verifiable::Document],
    ) -> Result<Planned> {
        let bound = &self.bound;
        let embed_len = bound.context().embed_len().max(1);
        let vectors: Vec<&[u8]> = stored.bits.chunks(embed_len).collect();
        let records = bound.encrypt(&vectors)?;
        let nonces: &[RecordNonce] = records.nonces.as_deref().unwrap_or_default();
        let mut planned = Planned::default();
        for (i, (&chunk_id, &nonce)) in stale.iter().zip(nonces).enumerate() {
            let document = documents.get(i);
            let sent = bound.record(&records, i, document)?;
            let chunk = json!({
                "chunk_id": chunk_id,
                "chunk_content": sent.content,
                "index": bound.index(&records.batch, i)?,
                "meta_data": sent.meta_data,
                "name": sent.name,
            });
            let value = document.and_then(|d| counted_value(&d.meta_data, self.field.as_deref()));
            planned
                .update
                .push((raw(&chunk)?, ((chunk_id, nonce), value)));
        }
        Ok(planned)
    }
}

impl Planner for ResealBatch {
    fn start(&mut self, current: &Current) -> Result<()> {
        self.field = current.digest.counted_field().map(str::to_owned);
        let chunks = ChunksById::new(self.bound.kb(), &self.batch, &["index"]);
        self.phase = BatchPhase::Indexes(chunks);
        Ok(())
    }

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<Planned>> {
        match std::mem::replace(&mut self.phase, BatchPhase::Waiting) {
            BatchPhase::Waiting => Err(not_started()),
            BatchPhase::Indexes(mut chunks) => match chunks.step(answered)? {
                Step::Send(request) => {
                    self.phase = BatchPhase::Indexes(chunks);
                    Ok(Step::Send(request))
                }
                Step::Done(chunks) => match self.stale(&chunks)? {
                    Some(done) => Ok(done),
                    None => self.step(None),
                },
            },
            BatchPhase::Documents(stale, stored, mut documents) => {
                match documents.step(answered)? {
                    Step::Send(request) => {
                        self.phase = BatchPhase::Documents(stale, stored, documents);
                        Ok(Step::Send(request))
                    }
                    Step::Done(documents) => {
                        Ok(Step::Done(self.planned(&stale, &stored, &documents)?))
                    }
                }
            }
        }
    }
}
