//! The owner's digest counted afresh from the records the service holds: for a knowledge base
//! written before digests, one whose digest and records disagree after the owner has looked at
//! them, or to start counting a field per value. Every record is verified on the way (a zero
//! query with a fresh nonce, under the digest's layout or, where it did not open, the first
//! layout the records verify under), so only records the owner wrote are counted; which ones
//! the service holds is taken as it says, which is why the owner looks first. The rules (what
//! is refused after a rollback, a fork, a digest that does not open) are
//! [`RecordCodec::plan_rebuild`]'s. Sealed vectors are read whole instead (every page, each
//! opened under the owner's key).

use std::sync::Arc;

use paillier_gpu_api as api;

use super::digest_read::{digest_write, DigestFetch};
use super::documents::DocumentsRead;
use super::every_page::EveryPage;
use super::hamming_answer::read_hamming_answer;
use super::http::{expect_answer, Answered, Driver, Method, Request, Step};
use super::state::OwnerState;
use super::state_dir::SeenDigest;
use crate::error::{Error, Result};
use crate::verifiable::{
    counted_value, CountedRecord, DigestRebuild as RebuildPlan, Expectation, LayoutKind,
    OwnerDigest, Ranked, RecordCodec, VerifiableQuery,
};

/// What the rebuild waits for.
enum Phase {
    Fetching(DigestFetch),
    /// The answer to a zero query under `layouts[tried]`.
    Ranking {
        codec: Arc<RecordCodec>,
        query: Box<VerifiableQuery>,
    },
    /// Every page of sealed vectors.
    Pages(Arc<RecordCodec>, EveryPage),
    Opening {
        codec: Arc<RecordCodec>,
        ranked: Vec<Ranked>,
        documents: DocumentsRead,
    },
    Putting {
        digest: Box<OwnerDigest>,
        sealed: String,
    },
    Over,
}

/// A rebuild of the owner's digest of `codec`'s knowledge base, per value of `counted_field`
/// too when given, stored as a version past both the service's and the highest this owner has
/// seen (its record of versions seen is replaced by it). Ends with the digest written.
pub struct DigestRebuild {
    codec: Arc<RecordCodec>,
    state: Arc<OwnerState>,
    counted_field: Option<String>,
    after_rollback: bool,
    plan: Option<RebuildPlan>,
    layouts: Vec<LayoutKind>,
    tried: usize,
    phase: Phase,
}

impl DigestRebuild {
    /// The rebuild of `codec`'s knowledge base (verifiable records only).
    pub fn new(
        codec: Arc<RecordCodec>,
        state: Arc<OwnerState>,
        counted_field: Option<&str>,
        after_rollback: bool,
    ) -> Result<Self> {
        if !codec.options().verifiable {
            return Err(Error::InvalidParameter(
                "the owner's digest counts verifiable records: pass --verifiable".into(),
            ));
        }
        let fetch = DigestFetch::new(codec.kb(), codec.context().id(), Arc::clone(&state));
        Ok(Self {
            codec,
            state,
            counted_field: counted_field.map(str::to_owned),
            after_rollback,
            plan: None,
            layouts: Vec::new(),
            tried: 0,
            phase: Phase::Fetching(fetch),
        })
    }

    /// The zero query under the next layout to try, and its request.
    fn next_query(&mut self) -> Result<Step<OwnerDigest>> {
        let codec = self.codec.as_ref();
        let layout = self.layouts[self.tried];
        let codec = Arc::new(
            RecordCodec::new(codec.context(), codec.kb(), codec.options()).with_layout(layout),
        );
        if layout == LayoutKind::Sealed {
            let pages = EveryPage::new(&codec);
            self.phase = Phase::Pages(codec, pages);
            return self.step(None);
        }
        let query = codec.encrypt_query(&vec![0u8; codec.context().embed_len()])?;
        let body = api::ComputeHamming {
            kb_id: codec.kb().to_owned(),
            context_id: codec.context().id().to_owned(),
            query: codec.index(query.encrypted(), 0)?,
            meta_filter: None,
            range: None,
        };
        let mut request =
            Request::new(Method::Post, "compute_hamming", String::new()).with_json(&body)?;
        request.msgpack = true;
        self.phase = Phase::Ranking {
            codec,
            query: Box::new(query),
        };
        Ok(Step::Send(request))
    }

    /// The answer to the zero query: every record ranked (verified), or the next layout tried.
    fn ranked(
        &mut self,
        codec: Arc<RecordCodec>,
        query: Box<VerifiableQuery>,
        answered: Option<Answered>,
    ) -> Result<Step<OwnerDigest>> {
        let answer = expect_answer(answered, "compute_hamming", "")?;
        answer.check_status()?;
        let public = codec.context().public_context();
        let (chunk_ids, responses) = read_hamming_answer(&public, &answer.body, answer.msgpack)?
            .map_err(|detail| Error::Unreachable {
                route: "compute_hamming".into(),
                detail: format!("the compute_hamming answer: {detail}"),
            })?;
        let all = chunk_ids.len();
        match codec.rank(&query, &responses, &chunk_ids, &Expectation::default(), all) {
            Err(Error::AnswerRejected(_)) if self.tried + 1 < self.layouts.len() => {
                self.tried += 1;
                self.next_query()
            }
            Err(error) => Err(error),
            Ok(ranked) => self.counted(codec, ranked),
        }
    }

    /// Every page of sealed vectors opened (each page must open: the owner's own), every
    /// record taken with its nonce.
    fn paged(&mut self, codec: Arc<RecordCodec>, pages: &[u8]) -> Result<Step<OwnerDigest>> {
        let zeros = vec![0u8; codec.context().embed_len()];
        let expectation = Expectation::default();
        let opened = codec.open_sealed(pages, &zeros, None, &expectation)?;
        if opened.records() == 0 && self.tried + 1 < self.layouts.len() {
            self.tried += 1;
            return self.next_query();
        }
        let ranked = codec.rank_opened(&opened, &expectation, opened.records())?;
        self.counted(codec, ranked)
    }

    /// The verified records `ranked`, with their documents' counted values where the digest
    /// counts a field, then the digest put.
    fn counted(
        &mut self,
        codec: Arc<RecordCodec>,
        ranked: Vec<Ranked>,
    ) -> Result<Step<OwnerDigest>> {
        let field = self.plan.as_ref().and_then(RebuildPlan::counted_field);
        if field.is_none() {
            return self.put(&codec, &ranked, &[]);
        }
        let records = ranked.iter().map(|r| (r.chunk_id, r.nonce)).collect();
        let mut documents = DocumentsRead::new(Arc::clone(&codec), records, None);
        let first = documents.step(None)?;
        self.phase = Phase::Opening {
            codec,
            ranked,
            documents,
        };
        self.forward(first)
    }

    /// The digest of `ranked` (each with its document's counted value, when given), and the
    /// request that stores it.
    fn put(
        &mut self,
        codec: &RecordCodec,
        ranked: &[Ranked],
        documents: &[crate::verifiable::Document],
    ) -> Result<Step<OwnerDigest>> {
        let plan = self.plan.as_ref().ok_or_else(not_planned)?;
        let field = plan.counted_field();
        let counted: Vec<CountedRecord> = ranked
            .iter()
            .enumerate()
            .filter_map(|(i, hit)| {
                let value = documents
                    .get(i)
                    .and_then(|d| counted_value(&d.meta_data, field));
                hit.nonce.map(|nonce| ((hit.chunk_id, nonce), value))
            })
            .collect();
        let (digest, sealed) = codec.rebuilt_digest(plan, &counted)?;
        let write = digest_write(&digest, &sealed, plan.expected_version);
        let tail = format!("/{}/{}", codec.kb(), codec.context().id());
        let request = Request::new(Method::Put, "owner_digest", tail).with_json(&write)?;
        self.phase = Phase::Putting {
            digest: Box::new(digest),
            sealed,
        };
        Ok(Step::Send(request))
    }

    fn forward(
        &mut self,
        step: Step<Vec<crate::verifiable::Document>>,
    ) -> Result<Step<OwnerDigest>> {
        match step {
            Step::Send(request) => Ok(Step::Send(request)),
            Step::Done(documents) => match std::mem::replace(&mut self.phase, Phase::Over) {
                Phase::Opening { codec, ranked, .. } => self.put(&codec, &ranked, &documents),
                _ => Err(not_planned()),
            },
        }
    }
}

impl Driver for DigestRebuild {
    type Output = OwnerDigest;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<OwnerDigest>> {
        match std::mem::replace(&mut self.phase, Phase::Over) {
            Phase::Fetching(mut fetch) => {
                let fetched = match fetch.step(answered)? {
                    Step::Send(request) => {
                        self.phase = Phase::Fetching(fetch);
                        return Ok(Step::Send(request));
                    }
                    Step::Done(fetched) => fetched,
                };
                let (kb, context_id) = (self.codec.kb(), self.codec.context().id());
                let noted = self.state.rollback_noted(context_id, kb)?;
                let plan = self
                    .codec
                    .plan_rebuild(
                        fetched.stored.version,
                        fetched.stored.sealed.as_deref(),
                        fetched.seen_pair(),
                        fetched.links(),
                        self.counted_field.as_deref(),
                        noted,
                        self.after_rollback,
                    )
                    .map_err(|e| self.state.noting_rollback(context_id, kb, e))?;
                self.plan = Some(plan);
                self.layouts = self.codec.layouts_to_try();
                // A digest that did not open names no layout: sealed vectors are tried first
                // (their pages, if any), then the Paillier layouts.
                if self.codec.layout_kind().is_none() {
                    self.layouts.insert(0, LayoutKind::Sealed);
                }
                if self.layouts.is_empty() {
                    return Err(Error::InvalidParameter(
                        "verifiable records do not fit this context".into(),
                    ));
                }
                self.next_query()
            }
            Phase::Ranking { codec, query } => self.ranked(codec, query, answered),
            Phase::Pages(codec, mut pages) => match pages.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Pages(codec, pages);
                    Ok(Step::Send(request))
                }
                Step::Done(read) => self.paged(codec, &read),
            },
            Phase::Opening {
                codec,
                ranked,
                mut documents,
            } => {
                let step = documents.step(answered)?;
                self.phase = Phase::Opening {
                    codec,
                    ranked,
                    documents,
                };
                self.forward(step)
            }
            Phase::Putting { digest, sealed } => {
                let answer = expect_answer(
                    answered,
                    "owner_digest",
                    "; the rebuilt digest got no answer and may have been stored: read the \
                     owner's digest, or run the rebuild again",
                )?;
                if answer.status == 409 {
                    return Err(Error::ConcurrentWrite(format!(
                        "knowledge base {}: another writer moved the owner's digest on while it \
                         was rebuilt; nothing was written, run the rebuild again",
                        self.codec.kb()
                    )));
                }
                answer.json::<api::PutOwnerDigest>("owner_digest")?;
                let (kb, context_id) = (self.codec.kb(), self.codec.context().id());
                let seen = SeenDigest {
                    version: digest.version(),
                    sealed,
                };
                self.state.replace(context_id, kb, &seen)?;
                Ok(Step::Done(*digest))
            }
            Phase::Over => Err(Error::InvalidParameter(
                "the rebuild is over: a driver is not stepped after its end".into(),
            )),
        }
    }
}

fn not_planned() -> Error {
    Error::InvalidParameter("the rebuild was stepped out of order".into())
}
