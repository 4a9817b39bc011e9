//! The owner's search as one driver: the options checked, the digest read (a verified search),
//! the partitions to probe chosen with their decoy groups, the query encrypted with a fresh
//! nonce, `compute_hamming` asked, the answer read, verified record by record and, where the
//! owner's digest covers the search, as a whole against it, and the top k's documents fetched
//! in id order (not in rank order, which would show the service the ranking) and opened.
//!
//! An answer that does not read is a lie on a verified search ([`Error::AnswerRejected`]) and
//! an answer the client cannot read otherwise ([`Error::Unreachable`]): the same in both
//! clients.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use paillier_gpu_api as api;
use serde_json::Value;
use zeroize::Zeroizing;

use super::digest_read::DigestRead;
use super::documents::DocumentsRead;
use super::find::with_rebuild_hint;
use super::hamming_answer::read_hamming_answer;
use super::http::{expect_answer, Answered, Driver, Method, Request, Step};
use super::state::OwnerState;
use crate::error::{Error, FailureKind, Result};
use crate::verifiable::refused;
use crate::verifiable::{
    covered_tally, partitions_filter, Document, Expectation, KeyDerivation, OwnerDigest, Probe,
    Ranked, RecordCodec, RecordNonce, SearchAsked, VerifiableQuery,
};
use times::ms_since;
pub use times::SearchTimes;

/// What a search asks for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchAsk {
    /// The owner's metadata filter (tokenised first for private metadata).
    pub filter: Option<Value>,
    /// First and last chunk id.
    pub range: Option<(i64, i64)>,
    /// How many nearest records to return.
    pub top_k: usize,
    /// How many records the knowledge base holds (only without filter and range).
    pub expect_count: Option<usize>,
    /// Return each hit's document (a verified search opens them anyway).
    pub with_content: bool,
    /// How many partitions of a partitioned knowledge base a search with no filter and no
    /// range probes.
    pub probe: Probe,
    /// How many partitions hide each one it wants (its decoy group).
    pub decoys: usize,
}

/// One nearest record.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchHit {
    /// Its chunk id.
    pub chunk_id: i64,
    /// Its Hamming distance to the query.
    pub distance: u32,
    /// Its record nonce, for a verifiable record.
    pub nonce: Option<RecordNonce>,
    /// Its document as the owner wrote it, when asked for.
    pub document: Option<Document>,
}

/// What a search found, and what it cost.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchOutcome {
    /// The nearest records, nearest first (ties by chunk id).
    pub hits: Vec<SearchHit>,
    /// The records the service answered (each decoded here).
    pub records: usize,
    /// The answer's ciphertext bytes.
    pub answer_bytes: usize,
    /// The partitions probed (none: every record the search selects).
    pub partitions: Option<usize>,
    /// Where its time went.
    pub times: SearchTimes,
}

enum Phase {
    Start,
    Digest(DigestRead),
    Answer(Box<VerifiableQuery>),
    /// Asked for the pages of sealed vectors of these partitions (none: all of them, or the
    /// range's).
    Sealed(Option<Vec<u32>>),
    /// Asked for the list of the sealed vectors a filter selects.
    SealedListing,
    /// Reading the pages of the sealed vectors listed.
    SealedPages(Vec<i64>, super::sealed_by_id::PagesById),
    Documents(Vec<Ranked>, DocumentsRead),
    Over,
}

/// The owner's search for `vector` (see the module's documentation).
pub struct RecordSearch {
    codec: Arc<RecordCodec>,
    state: Option<Arc<OwnerState>>,
    vector: Zeroizing<Vec<u8>>,
    ask: SearchAsk,
    digest: Option<OwnerDigest>,
    owner_filter: Option<Value>,
    outcome: SearchOutcome,
    /// When the phase being timed began (the digest's read, the answer's request, the
    /// documents').
    since: Instant,
    phase: Phase,
}

impl RecordSearch {
    /// A search of `codec`'s knowledge base for `vector`; a verified one (verifiable records)
    /// reads the owner's digest against `state`.
    pub fn new(
        codec: Arc<RecordCodec>,
        state: Option<Arc<OwnerState>>,
        vector: &[u8],
        ask: SearchAsk,
    ) -> Result<Self> {
        let verified = codec.options().verifiable;
        SearchAsked {
            verified,
            probe: ask.probe,
            decoys: ask.decoys,
            filtered: ask.filter.is_some() || ask.range.is_some(),
            expect_count: ask.expect_count.is_some(),
        }
        .check()?;
        if verified && state.is_none() {
            return Err(Error::OwnerState(
                "a verified search reads the owner's digest: choose where the versions seen are \
                 kept"
                    .into(),
            ));
        }
        Ok(Self {
            codec,
            state,
            vector: Zeroizing::new(vector.to_vec()),
            ask,
            digest: None,
            owner_filter: None,
            outcome: SearchOutcome::default(),
            since: Instant::now(),
            phase: Phase::Start,
        })
    }

    /// The partitions to probe, the query and its request.
    fn query(&mut self) -> Result<Step<SearchOutcome>> {
        let ask = &self.ask;
        let filtered = ask.filter.is_some() || ask.range.is_some();
        let probe = match ask.expect_count {
            // A count is of the whole knowledge base.
            Some(_) if ask.probe == Probe::Recommended => Probe::All,
            _ => ask.probe,
        };
        let probed = self.codec.probed_partitions(
            self.digest.as_ref(),
            &self.vector,
            probe,
            filtered || ask.expect_count.is_some(),
            ask.decoys,
        )?;
        self.outcome.partitions = probed.as_ref().map(Vec::len);
        if self.codec.holds_sealed_vectors() {
            return self.sealed_query(probed);
        }
        self.owner_filter = match &probed {
            Some(partitions) => Some(partitions_filter(partitions)),
            None => ask.filter.clone(),
        };
        let meta_filter = match &self.owner_filter {
            Some(filter) => Some(super::find::sent_filter(&self.codec, filter)?),
            None => None,
        };
        let query = self.codec.encrypt_query(&self.vector)?;
        let body = api::ComputeHamming {
            kb_id: self.codec.kb().to_owned(),
            context_id: self.codec.context().id().to_owned(),
            query: self.codec.index(query.encrypted(), 0)?,
            meta_filter,
            range: ask.range.map(|(first, last)| vec![first, last]),
        };
        let mut request =
            Request::new(Method::Post, "compute_hamming", String::new()).with_json(&body)?;
        request.msgpack = true;
        self.phase = Phase::Answer(Box::new(query));
        self.since = Instant::now();
        Ok(Step::Send(request))
    }

    /// The answer read, verified and ranked; then the top k's documents asked for.
    fn ranked(
        &mut self,
        query: &VerifiableQuery,
        answered: Option<Answered>,
    ) -> Result<Step<SearchOutcome>> {
        let verified = self.codec.options().verifiable;
        let answer = expect_answer(answered, "compute_hamming", "")?;
        self.outcome.times.answered(self.since, answer.server_us);
        answer.check_status()?;
        let public = self.codec.context().public_context();
        let (chunk_ids, responses) = read_hamming_answer(&public, &answer.body, answer.msgpack)?
            .map_err(|detail| match verified {
                true => refused(FailureKind::InvalidRecord, detail),
                false => Error::Unreachable {
                    route: "compute_hamming".into(),
                    detail: format!("the compute_hamming answer: {detail}"),
                },
            })?;
        let shape = self.codec.context().ciphertext_shape();
        self.outcome.records = chunk_ids.len();
        self.outcome.answer_bytes = chunk_ids.len() * shape.pieces * shape.piece_bytes;
        let expectation = Expectation {
            range: self.ask.range,
            count: self.ask.expect_count,
            digest: self
                .digest
                .as_ref()
                .and_then(|d| covered_tally(d, self.owner_filter.as_ref(), self.ask.range)),
        };
        let opening = Instant::now();
        let top = self
            .codec
            .rank(query, &responses, &chunk_ids, &expectation, self.ask.top_k)
            .map_err(|e| match (verified, &self.digest) {
                (true, None) => self.earlier_keys_hint(query, &responses, &chunk_ids, e),
                (true, Some(_)) => with_rebuild_hint(located(e, &chunk_ids, true)),
                (false, _) => located(e, &chunk_ids, false),
            })?;
        // Decrypting, checking and ranking are one step for Paillier answers.
        self.outcome.times.opening_ms = Some(ms_since(opening));
        self.documents_of(top)
    }

    /// The top k's documents asked for, where they are opened; else the hits.
    fn documents_of(&mut self, top: Vec<Ranked>) -> Result<Step<SearchOutcome>> {
        if !self.codec.opens_documents(self.ask.with_content) {
            return Ok(Step::Done(self.hits(top, Vec::new())));
        }
        // Fetched in id order: the service learns which records are the top k, not their
        // ranking.
        let mut records: Vec<_> = top.iter().map(|hit| (hit.chunk_id, hit.nonce)).collect();
        records.sort_unstable_by_key(|&(id, _)| id);
        let documents =
            DocumentsRead::new(Arc::clone(&self.codec), records, self.owner_filter.clone());
        self.phase = Phase::Documents(top, documents);
        self.since = Instant::now();
        self.step(None)
    }

    /// The hits, each with its document where asked for (`opened`: the top k's in id order).
    fn hits(&mut self, top: Vec<Ranked>, opened: Vec<Document>) -> SearchOutcome {
        let mut ids: Vec<i64> = top.iter().map(|hit| hit.chunk_id).collect();
        ids.sort_unstable();
        let mut documents: HashMap<i64, Document> = ids.into_iter().zip(opened).collect();
        let with_content = self.ask.with_content;
        let hits = top
            .into_iter()
            .map(|hit| SearchHit {
                chunk_id: hit.chunk_id,
                distance: hit.distance,
                nonce: hit.nonce,
                document: documents.remove(&hit.chunk_id).filter(|_| with_content),
            })
            .collect();
        SearchOutcome {
            hits,
            ..std::mem::take(&mut self.outcome)
        }
    }

    /// A verified search refused over a knowledge base with no digest may be over records
    /// written under the earlier key derivation: if they verify under it, say which command
    /// seals them again (a service cannot forge that: it would need the old keys).
    fn earlier_keys_hint(
        &self,
        query: &VerifiableQuery,
        responses: &crate::paillier::CiphertextBatch,
        chunk_ids: &[i64],
        error: Error,
    ) -> Error {
        if !matches!(error, Error::AnswerRejected(_)) {
            return located(error, chunk_ids, true);
        }
        let Ok(layout) = self.codec.layout() else {
            return error;
        };
        let codec = &self.codec;
        let legacy = RecordCodec::new(codec.context(), codec.kb(), codec.options())
            .with_derivation(KeyDerivation::Legacy)
            .with_layout(layout.kind());
        match legacy.rank(query, responses, chunk_ids, &Expectation::default(), 0) {
            Ok(_) => Error::InvalidParameter(format!(
                "the records of knowledge base {} were written under the earlier key derivation \
                 (keys not bound to their context and knowledge base): seal them again with \
                 `paillier-gpu remote digest reseal` (`Client.reseal_records`), then search",
                codec.kb()
            )),
            Err(_) => error,
        }
    }
}

/// A decoding error of one response named by its chunk id: on a verified search a lie like
/// any other, otherwise a response this client cannot read (a verifiable record's, searched
/// without verification, says so).
fn located(error: Error, chunk_ids: &[i64], verified: bool) -> Error {
    let (index, reason) = match error {
        Error::InvalidResponse { index, reason } | Error::InvalidCiphertext { index, reason } => {
            (index, reason)
        }
        other => return other,
    };
    let chunk = chunk_ids
        .get(index)
        .map_or(format!("record {index}"), |id| format!("chunk {id}"));
    match verified {
        true => refused(FailureKind::InvalidRecord, format!("{chunk}: {reason}")),
        false => Error::Unreachable {
            route: "compute_hamming".into(),
            detail: format!(
                "{chunk}: {reason} (records uploaded as verifiable are searched with \
                 verification: --verify, verify=True)"
            ),
        },
    }
}

impl Driver for RecordSearch {
    type Output = SearchOutcome;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<SearchOutcome>> {
        match std::mem::replace(&mut self.phase, Phase::Over) {
            Phase::Start => match (&self.state, self.codec.options().verifiable) {
                (Some(state), true) => {
                    let read = DigestRead::new(Arc::clone(&self.codec), Arc::clone(state));
                    self.phase = Phase::Digest(read);
                    self.step(None)
                }
                _ => self.query(),
            },
            Phase::Digest(mut read) => match read.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Digest(read);
                    Ok(Step::Send(request))
                }
                Step::Done(current) => {
                    self.outcome.times.digest_ms = Some(ms_since(self.since));
                    self.digest = Some(current.digest).filter(|d| d.version() > 0);
                    self.query()
                }
            },
            Phase::Answer(query) => self.ranked(&query, answered),
            Phase::Sealed(probed) => self.ranked_sealed(probed, answered),
            Phase::SealedListing => self.listed_sealed(answered),
            Phase::SealedPages(listed, pages) => self.paged_sealed(listed, pages, answered),
            Phase::Documents(top, mut documents) => match documents.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Documents(top, documents);
                    Ok(Step::Send(request))
                }
                Step::Done(opened) => {
                    self.outcome.times.documents_ms = Some(ms_since(self.since));
                    Ok(Step::Done(self.hits(top, opened)))
                }
            },
            Phase::Over => Err(Error::InvalidParameter(
                "the search is over: a driver is not stepped after its end".into(),
            )),
        }
    }
}

#[path = "search_sealed.rs"]
mod sealed;
#[path = "search_times.rs"]
mod times;
