//! Every page of sealed vectors of a knowledge base, read a few at a time (`after` the last
//! page's first chunk id) until an answer holds none: what a digest rebuild and a move read,
//! with no bound on the knowledge base's size.

use paillier_gpu_api as api;

use super::http::{expect_answer, Answered, Driver, Method, Request, Step};
use crate::error::{Error, Result};
use crate::verifiable::{RecordCodec, SealedPage};

/// Every page of a knowledge base, one after another in order of their first chunk id.
pub(super) struct EveryPage {
    kb: String,
    context_id: String,
    vector_bytes: usize,
    /// The last page's first chunk id: the next read starts above it.
    after: i64,
    pages: Vec<u8>,
    asked: bool,
}

impl EveryPage {
    /// Every page of `codec`'s knowledge base under its context.
    pub(super) fn new(codec: &RecordCodec) -> Self {
        Self {
            kb: codec.kb().to_owned(),
            context_id: codec.context().id().to_owned(),
            vector_bytes: codec.context().embed_len().div_ceil(8),
            after: i64::MIN,
            pages: Vec::new(),
            asked: false,
        }
    }

    fn request(&mut self) -> Result<Step<Vec<u8>>> {
        let body = api::SealedPages {
            kb_id: self.kb.clone(),
            context_id: self.context_id.clone(),
            tokens: None,
            after: Some(self.after),
            ids: None,
            range: None,
        };
        self.asked = true;
        let request = Request::new(Method::Post, "sealed_pages", String::new()).with_json(&body)?;
        Ok(Step::Send(request))
    }
}

impl Driver for EveryPage {
    type Output = Vec<u8>;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<Vec<u8>>> {
        if !self.asked {
            return self.request();
        }
        let answer = expect_answer(answered, "sealed_pages", "")?;
        answer.check_status()?;
        if answer.body.is_empty() {
            return Ok(Step::Done(std::mem::take(&mut self.pages)));
        }
        // Each page's first chunk id above the one before: the read moves on, and a service
        // answering the same pages again is refused rather than read for ever.
        let mut at = 0;
        while at < answer.body.len() {
            let (page, used) = SealedPage::from_bytes(&answer.body[at..], self.vector_bytes)?;
            let first = page.ids().first().copied().unwrap_or(i64::MIN);
            if first <= self.after {
                return Err(Error::Unreachable {
                    route: "sealed_pages".into(),
                    detail: format!(
                        "a page starting at chunk {first} answered after chunk {}: the pages \
                         do not move on",
                        self.after
                    ),
                });
            }
            self.after = first;
            at += used;
        }
        self.pages.extend_from_slice(&answer.body);
        self.request()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::owner::test_pages::{answered, page};
    use crate::verifiable::test_codec;

    fn after_of(step: Step<Vec<u8>>) -> Option<i64> {
        match step {
            Step::Send(request) => {
                let sent: api::SealedPages =
                    serde_json::from_slice(&request.body.unwrap()).unwrap();
                assert!(sent.tokens.is_none());
                sent.after
            }
            Step::Done(_) => panic!("done early"),
        }
    }

    #[test]
    fn every_page_is_read_a_few_at_a_time_until_an_answer_holds_none() {
        let codec = test_codec();
        let (a, b, c) = (
            page(&codec, &[1, 2]),
            page(&codec, &[3]),
            page(&codec, &[7, 9]),
        );
        let mut read = EveryPage::new(&codec);
        assert_eq!(after_of(read.step(None).unwrap()), Some(i64::MIN));
        assert_eq!(
            after_of(
                read.step(answered([a.clone(), b.clone()].concat()))
                    .unwrap()
            ),
            Some(3)
        );
        assert_eq!(after_of(read.step(answered(c.clone())).unwrap()), Some(7));
        match read.step(answered(Vec::new())).unwrap() {
            Step::Done(pages) => assert_eq!(pages, [a, b, c].concat()),
            Step::Send(_) => panic!("read on after an empty answer"),
        }
    }

    #[test]
    fn pages_answered_again_are_refused_not_read_for_ever() {
        let codec = test_codec();
        let a = page(&codec, &[4, 5]);
        let mut read = EveryPage::new(&codec);
        read.step(None).unwrap();
        read.step(answered(a.clone())).unwrap();
        let again = read.step(answered(a)).unwrap_err();
        assert!(again.to_string().contains("do not move on"), "{again}");
    }
}
