//! Sealed vectors read back by chunk id: the pages holding them asked for in ascending id
//! order, [`MAX_SEALED_IDS`](api::MAX_SEALED_IDS) ids a request (a page answered again for
//! ids of a later request is kept once), then opened and checked by the codec
//! ([`RecordCodec::stored_sealed`]): each asked record once, beside its pages' other records.

use std::collections::HashMap;
use std::sync::Arc;

use paillier_gpu_api as api;

use super::http::{expect_answer, Answered, Driver, Method, Request, Step};
use crate::error::{Error, Result};
use crate::verifiable::{Expectation, PagedRecords, RecordCodec, SealedPage};

/// The records `ids` of a knowledge base of sealed vectors and their pages' other records.
pub(super) struct SealedById {
    codec: Arc<RecordCodec>,
    ids: Vec<i64>,
    sorted: Vec<i64>,
    expectation: Expectation,
    asked: usize,
    pages: Vec<u8>,
    /// Each page kept, by its first chunk id: where it lies in `pages`, and which answer
    /// brought it.
    kept: HashMap<i64, (usize, usize, usize)>,
}

impl SealedById {
    /// The records `ids` (each once) of `codec`'s knowledge base, checked against
    /// `expectation`.
    pub(super) fn new(codec: Arc<RecordCodec>, ids: &[i64], expectation: Expectation) -> Self {
        let mut sorted = ids.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        Self {
            codec,
            ids: ids.to_vec(),
            sorted,
            expectation,
            asked: 0,
            pages: Vec::new(),
            kept: HashMap::new(),
        }
    }

    fn request(&mut self) -> Result<Step<PagedRecords>> {
        let end = (self.asked + api::MAX_SEALED_IDS).min(self.sorted.len());
        let body = api::SealedPages {
            kb_id: self.codec.kb().to_owned(),
            context_id: self.codec.context().id().to_owned(),
            tokens: None,
            after: None,
            ids: Some(self.sorted[self.asked..end].to_vec()),
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

impl Driver for SealedById {
    type Output = PagedRecords;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<PagedRecords>> {
        if answered.is_none() && self.asked == 0 && !self.sorted.is_empty() {
            return self.request();
        }
        if !self.sorted.is_empty() {
            let answer = expect_answer(answered, "sealed_pages", "")?;
            answer.check_status()?;
            self.keep(&answer.body)?;
            if self.asked < self.sorted.len() {
                return self.request();
            }
        }
        if self.sorted.len() != self.ids.len() {
            return Err(Error::InvalidParameter(
                "a chunk id is asked for twice".into(),
            ));
        }
        let pages = std::mem::take(&mut self.pages);
        self.codec
            .stored_sealed(&pages, &self.ids, &self.expectation)
            .map(Step::Done)
    }
}
