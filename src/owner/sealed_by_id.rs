//! Sealed vectors read back by chunk id: the pages holding them asked for in ascending id
//! order, as many a request as full pages of theirs fit in an answer, at most
//! [`MAX_SEALED_IDS`](api::MAX_SEALED_IDS) (a page answered again for ids of a later request
//! is kept once) ([`PagesById`]); then opened and checked by the codec
//! ([`RecordCodec::stored_sealed`]): each asked record once, beside its pages' other records
//! ([`SealedById`]).

use std::collections::HashMap;
use std::sync::Arc;

use paillier_gpu_api as api;

use super::http::{expect_answer, Answered, Driver, Method, Request, Step};
use crate::error::Result;
use crate::verifiable::{Expectation, PagedRecords, RecordCodec, SealedPage, PAGE_RECORDS};

/// The pages holding some chunks of a knowledge base of sealed vectors, one after another
/// (not opened).
pub(super) struct PagesById {
    codec: Arc<RecordCodec>,
    sorted: Vec<i64>,
    asked: usize,
    pages: Vec<u8>,
    /// Each page kept, by its first chunk id: where it lies in `pages`, and which answer
    /// brought it.
    kept: HashMap<i64, (usize, usize, usize)>,
    /// The service's own time on the answers, where it said.
    pub(super) server_us: Option<u64>,
}

impl PagesById {
    /// The pages holding chunks `ids` of `codec`'s knowledge base.
    pub(super) fn new(codec: Arc<RecordCodec>, ids: &[i64]) -> Self {
        let mut sorted = ids.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        Self {
            codec,
            sorted,
            asked: 0,
            pages: Vec::new(),
            kept: HashMap::new(),
            server_us: None,
        }
    }

    /// How many ids a request names: each may select a page of its own, and a full page of
    /// each must fit in an answer.
    fn ids_a_request(&self) -> usize {
        let vector_bytes = self.codec.context().embed_len().div_ceil(8);
        let page = PAGE_RECORDS * (8 + vector_bytes) + 64;
        (api::MAX_SEALED_ANSWER_BYTES / page).clamp(1, api::MAX_SEALED_IDS)
    }

    fn request(&mut self) -> Result<Step<Vec<u8>>> {
        let end = (self.asked + self.ids_a_request()).min(self.sorted.len());
        let body = api::SealedPages {
            kb_id: self.codec.kb().to_owned(),
            context_id: self.codec.context().id().to_owned(),
            tokens: None,
            after: None,
            ids: Some(self.sorted[self.asked..end].to_vec()),
            range: None,
        };
        self.asked = end;
        let request = Request::new(Method::Post, "sealed_pages", String::new()).with_json(&body)?;
        Ok(Step::Send(request))
    }

    /// `body`'s pages added to those read: a page the same as one an earlier answer brought
    /// (it holds ids of both requests) is passed over; any other page is kept, one with the
    /// same first chunk id too, for the codec to refuse.
    fn keep(&mut self, body: &[u8]) -> Result<()> {
        let answer = self.asked;
        let vector_bytes = self.codec.context().embed_len().div_ceil(8);
        let mut at = 0;
        while at < body.len() {
            let (page, used) = SealedPage::from_bytes(&body[at..], vector_bytes)?;
            let bytes = &body[at..at + used];
            at += used;
            let first = page.ids().first().copied().unwrap_or(i64::MIN);
            let same = self.kept.get(&first).is_some_and(|&(start, len, brought)| {
                brought != answer && &self.pages[start..start + len] == bytes
            });
            if !same {
                self.kept.insert(first, (self.pages.len(), used, answer));
                self.pages.extend_from_slice(bytes);
            }
        }
        Ok(())
    }
}

impl Driver for PagesById {
    type Output = Vec<u8>;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<Vec<u8>>> {
        if self.sorted.is_empty() {
            return Ok(Step::Done(Vec::new()));
        }
        if answered.is_none() && self.asked == 0 {
            return self.request();
        }
        let answer = expect_answer(answered, "sealed_pages", "")?;
        answer.check_status()?;
        if let Some(us) = answer.server_us {
            self.server_us = Some(self.server_us.unwrap_or(0) + us);
        }
        self.keep(&answer.body)?;
        match self.asked < self.sorted.len() {
            true => self.request(),
            false => Ok(Step::Done(std::mem::take(&mut self.pages))),
        }
    }
}

/// The records `ids` of a knowledge base of sealed vectors and their pages' other records.
pub(super) struct SealedById {
    codec: Arc<RecordCodec>,
    ids: Vec<i64>,
    expectation: Expectation,
    pages: PagesById,
}

impl SealedById {
    /// The records `ids` (each once) of `codec`'s knowledge base, checked against
    /// `expectation`.
    pub(super) fn new(codec: Arc<RecordCodec>, ids: &[i64], expectation: Expectation) -> Self {
        Self {
            pages: PagesById::new(Arc::clone(&codec), ids),
            codec,
            ids: ids.to_vec(),
            expectation,
        }
    }
}

impl Driver for SealedById {
    type Output = PagedRecords;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<PagedRecords>> {
        match self.pages.step(answered)? {
            Step::Send(request) => Ok(Step::Send(request)),
            Step::Done(pages) => self
                .codec
                .stored_sealed(&pages, &self.ids, &self.expectation)
                .map(Step::Done),
        }
    }
}
