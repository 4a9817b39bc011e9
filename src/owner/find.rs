//! Records found by metadata: the service's list (`POST chunk/meta`, or a page of
//! `chunk/meta/page`) for the owner's filter (tokenised for private metadata), verifiable
//! records checked one by one (Paillier records by their indexes, sealed vectors by their
//! pages) and, where the owner's digest covers the filter, all of them against it, and their documents opened and checked against the filter. A reader in the
//! wrong mode is told the mode the records were written with.

use std::sync::Arc;

use paillier_gpu_api as api;
use serde_json::Value;
use zeroize::Zeroizing;

use super::documents::{ChunksById, DocumentsRead};
use super::http::{expect_answer, Answered, Driver, Method, Request, Step};
use super::sealed_by_id::SealedById;
use super::stored::stored_batch;
use crate::error::{Error, FailureKind, Result};
use crate::verifiable::refused;
use crate::verifiable::{
    covered_tally, explain_failure, Document, Expectation, OwnerDigest, RecordCodec, RecordNonce,
    Tally,
};

/// One record's document found by metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// Its chunk id.
    pub chunk_id: i64,
    /// Its document as the owner wrote it.
    pub document: Document,
    /// Its record nonce, for a verifiable record.
    pub nonce: Option<RecordNonce>,
}

/// What a find read: the records, and the bits of verifiable ones (`embed_len` a record, in
/// order), for an owner that encrypts them again.
#[derive(Debug, Default)]
pub struct FoundRecords {
    /// The records, in the service's order.
    pub found: Vec<Found>,
    /// Their bits (verifiable records only).
    pub bits: Zeroizing<Vec<u8>>,
}

/// A page of what a filter selects, sorted (`chunk/meta/page`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// The field sorted by (none: the chunk id); a private field is refused.
    pub sort_by: Option<String>,
    /// `asc` or `desc`.
    pub sort_order: String,
    /// How many records at most.
    pub limit: Option<usize>,
}

enum Phase {
    Digest(super::digest_read::DigestRead),
    Start,
    Listing,
    Indexes(Vec<Value>, ChunksById),
    Pages(Vec<Value>, SealedById),
    Documents(Vec<Value>, Vec<Option<RecordNonce>>, DocumentsRead),
    Over,
}

/// The records of `codec`'s knowledge base whose metadata passes a filter (see the module's
/// documentation).
pub struct FindRecords {
    codec: Arc<RecordCodec>,
    filter: Value,
    digest: Option<OwnerDigest>,
    page: Option<Page>,
    ids: Vec<i64>,
    bits: Zeroizing<Vec<u8>>,
    phase: Phase,
}

impl FindRecords {
    /// The records `filter` (the owner's, not its tokens) selects; verifiable ones are checked
    /// against `digest` (the one read for this operation) where it covers the filter.
    pub fn new(codec: Arc<RecordCodec>, filter: &Value, digest: Option<&OwnerDigest>) -> Self {
        Self {
            codec,
            filter: filter.clone(),
            digest: digest.cloned(),
            page: None,
            ids: Vec::new(),
            bits: Zeroizing::default(),
            phase: Phase::Start,
        }
    }

    /// The records `filter` selects, verifiable ones checked against the owner's digest read
    /// first against `state` (the records of a codec that is not verifiable are not checked,
    /// and no digest is read).
    pub fn reading_digest(
        codec: Arc<RecordCodec>,
        state: Arc<super::state::OwnerState>,
        filter: &Value,
    ) -> Self {
        let verifiable = codec.options().verifiable;
        let read = super::digest_read::DigestRead::new(Arc::clone(&codec), state);
        let mut find = Self::new(codec, filter, None);
        if verifiable {
            find.phase = Phase::Digest(read);
        }
        find
    }

    /// The knowledge base searched.
    pub fn kb(&self) -> &str {
        self.codec.kb()
    }

    /// The same find, one sorted page of it (the digest then checks nothing: a page is part of
    /// what the filter selects).
    pub fn paged(mut self, page: Page) -> Self {
        self.page = Some(page);
        self
    }

    fn list(&mut self) -> Result<Step<FoundRecords>> {
        let meta_filter = sent_filter(&self.codec, &self.filter)?;
        let mut body = api::MetaSearch {
            kb_id: self.codec.kb().to_owned(),
            context_id: self.codec.context().id().to_owned(),
            meta_filter: Some(meta_filter),
            ..api::MetaSearch::default()
        };
        let route = match &self.page {
            None => "chunk/meta",
            Some(page) => {
                self.codec.check_sort(page.sort_by.as_deref())?;
                body.sort_by = Some(page.sort_by.clone().unwrap_or_else(|| "chunk_id".into()));
                body.sort_order = Some(page.sort_order.clone());
                body.limit = page.limit;
                "chunk/meta/page"
            }
        };
        self.phase = Phase::Listing;
        Ok(Step::Send(
            Request::new(Method::Post, route, String::new()).with_json(&body)?,
        ))
    }

    /// The service's list, and each listed chunk's id.
    fn listed(&mut self, answered: Option<Answered>) -> Result<Vec<Value>> {
        let route = if self.page.is_some() {
            "chunk/meta/page"
        } else {
            "chunk/meta"
        };
        let answer = expect_answer(answered, route, "")?;
        let listed = match (answer.json::<Value>(route)?, &self.page) {
            (Value::Array(listed), None) => listed,
            (Value::Object(mut page), Some(_)) => match page.remove("results") {
                Some(Value::Array(listed)) => listed,
                _ => return Err(unreadable(route, "a page without its results".into())),
            },
            (other, _) => {
                return Err(unreadable(
                    route,
                    format!("expected a list of chunks, got {other}"),
                ))
            }
        };
        self.ids = Vec::with_capacity(listed.len());
        for chunk in &listed {
            let id = chunk.get("chunk_id").and_then(Value::as_i64);
            let id = id.ok_or_else(|| {
                unreadable(route, format!("a listed chunk without a chunk_id: {chunk}"))
            })?;
            self.ids.push(id);
        }
        Ok(listed)
    }

    /// What the digest expects of the records found, where it covers the filter.
    fn expectation(&self) -> Expectation {
        let digest = match &self.page {
            None => self.digest.as_ref().filter(|d| d.version() > 0),
            Some(_) => None,
        };
        Expectation {
            digest: digest.and_then(|d| covered_tally(d, Some(&self.filter), None)),
            ..Expectation::default()
        }
    }

    /// The verified records' nonces (their bits kept), from their fetched indexes.
    fn verified(&mut self, chunks: &[Value]) -> Result<Vec<Option<RecordNonce>>> {
        let expectation = self.expectation();
        if self.ids.is_empty() {
            // No records: the digest, where it covers the filter, must count none.
            if let Some(counted) = &expectation.digest {
                counted
                    .check(&Tally::default())
                    .map_err(with_rebuild_hint)?;
            }
            return Ok(Vec::new());
        }
        let batch = stored_batch(self.codec.context(), chunks, &self.ids)?;
        let stored = self
            .codec
            .stored(&batch, &self.ids, &expectation)
            .map_err(with_rebuild_hint)?;
        self.bits = stored.bits;
        Ok(stored.nonces.into_iter().map(Some).collect())
    }

    fn open(
        &mut self,
        listed: Vec<Value>,
        nonces: Vec<Option<RecordNonce>>,
    ) -> Result<Step<FoundRecords>> {
        let records = self
            .ids
            .iter()
            .copied()
            .zip(nonces.iter().copied())
            .collect();
        let documents =
            DocumentsRead::new(Arc::clone(&self.codec), records, Some(self.filter.clone()));
        self.phase = Phase::Documents(listed, nonces, documents);
        self.step(None)
    }
}

impl Driver for FindRecords {
    type Output = FoundRecords;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<FoundRecords>> {
        match std::mem::replace(&mut self.phase, Phase::Over) {
            Phase::Digest(mut read) => match read.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Digest(read);
                    Ok(Step::Send(request))
                }
                Step::Done(current) => {
                    self.digest = Some(current.digest);
                    self.list()
                }
            },
            Phase::Start => self.list(),
            Phase::Listing => {
                let listed = self.listed(answered)?;
                let sealed = self.codec.holds_sealed_vectors();
                match self.codec.options().verifiable {
                    true if sealed => {
                        let mut seen = std::collections::HashSet::new();
                        if let Some(twice) = self.ids.iter().find(|&&id| !seen.insert(id)) {
                            return Err(refused(
                                FailureKind::DuplicatedId,
                                format!("chunk {twice} is listed twice"),
                            ));
                        }
                        let read =
                            SealedById::new(Arc::clone(&self.codec), &self.ids, self.expectation());
                        self.phase = Phase::Pages(listed, read);
                        self.step(None)
                    }
                    true => {
                        let chunks = ChunksById::new(self.codec.kb(), &self.ids, &["index"]);
                        self.phase = Phase::Indexes(listed, chunks);
                        self.step(None)
                    }
                    false => {
                        let nonces = vec![None; self.ids.len()];
                        self.open(listed, nonces)
                    }
                }
            }
            Phase::Indexes(listed, mut chunks) => match chunks.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Indexes(listed, chunks);
                    Ok(Step::Send(request))
                }
                Step::Done(chunks) => {
                    let nonces = self.verified(&chunks)?;
                    self.open(listed, nonces)
                }
            },
            Phase::Pages(listed, mut read) => match read.step(answered) {
                Ok(Step::Send(request)) => {
                    self.phase = Phase::Pages(listed, read);
                    Ok(Step::Send(request))
                }
                Ok(Step::Done(paged)) => {
                    let mut bits = Zeroizing::new(Vec::with_capacity(self.bits.capacity()));
                    for record in &paged.asked {
                        bits.extend_from_slice(&record.bits);
                    }
                    self.bits = bits;
                    let nonces = paged.asked.iter().map(|r| Some(r.nonce)).collect();
                    self.open(listed, nonces)
                }
                Err(error) => Err(with_rebuild_hint(error)),
            },
            Phase::Documents(listed, nonces, mut documents) => {
                let step = documents.step(answered).map_err(|e| {
                    let meta_data = listed
                        .iter()
                        .filter_map(|chunk| chunk.get("meta_data").and_then(Value::as_object));
                    explain_failure(self.codec.options(), e, meta_data)
                });
                match step? {
                    Step::Send(request) => {
                        self.phase = Phase::Documents(listed, nonces, documents);
                        Ok(Step::Send(request))
                    }
                    Step::Done(documents) => {
                        let found = self
                            .ids
                            .iter()
                            .zip(nonces)
                            .zip(documents)
                            .map(|((&chunk_id, nonce), document)| Found {
                                chunk_id,
                                document,
                                nonce,
                            })
                            .collect();
                        Ok(Step::Done(FoundRecords {
                            found,
                            bits: std::mem::take(&mut self.bits),
                        }))
                    }
                }
            }
            Phase::Over => Err(Error::InvalidParameter(
                "the find is over: a driver is not stepped after its end".into(),
            )),
        }
    }
}

/// `filter` as the service takes it: tokenised as `codec`'s records are, then as the SDK sends
/// a filter (a JSON string holding its JSON).
pub(crate) fn sent_filter(
    codec: &RecordCodec,
    filter: &Value,
) -> Result<Box<serde_json::value::RawValue>> {
    api::filter_as_sent(&codec.filter(filter)?)
        .map_err(|e| Error::InvalidParameter(format!("the filter does not serialise: {e}")))
}

fn unreadable(route: &str, detail: String) -> Error {
    Error::Unreachable {
        route: route.to_owned(),
        detail,
    }
}

/// `error` with, where it says that the records and the owner's digest disagree, the command
/// that reconciles them, for after the owner has looked: a write cut short by another client
/// (or by one written before digests) is reconciled so, and a service that lies is not, which
/// is why the owner looks first.
pub fn with_rebuild_hint(error: Error) -> Error {
    let Error::AnswerRejected(mut rejection) = error else {
        return error;
    };
    for failure in &mut rejection.failures {
        if failure.kind == FailureKind::DigestMismatch {
            let detail = failure.detail.take().unwrap_or_default();
            failure.detail = Some(format!(
                "{detail}{}if you trust which records the service holds after looking at \
                 them, a digest rebuild (`paillier-gpu remote digest rebuild`, \
                 `Client.rebuild_digest` in Python) counts them afresh",
                if detail.is_empty() { "" } else { "; " }
            ));
        }
    }
    Error::AnswerRejected(rejection)
}
