//! The search's steps over sealed vectors, each timed; a query is never sent. Without a filter
//! the probed partitions' pages are asked for by their tokens (every page without partitions);
//! with a chunk range, the pages holding a chunk of it. With a metadata filter, the records it
//! selects are listed first, then the pages holding them read. Pages are read whole, so the
//! records a filter or range did not select are set aside, each listed record must be there,
//! and what is left is checked whole against the owner's digest and ranked.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use paillier_gpu_api as api;

use super::times::ms_since;
use super::{Phase, RecordSearch, SearchOutcome};
use crate::error::{FailureKind, Result};
use crate::owner::every_id::{ids_request, listed_ids};
use crate::owner::find::with_rebuild_hint;
use crate::owner::http::{expect_answer, Answered, Driver, Method, Request, Step};
use crate::owner::sealed_by_id::PagesById;
use crate::verifiable::{covered_tally, partitions_filter, refused, Expectation};

impl RecordSearch {
    /// The first request of a search of sealed vectors: the filter's records listed, or the
    /// pages of the partitions `probed` (none: every page, or the range's).
    pub(super) fn sealed_query(&mut self, probed: Option<Vec<u32>>) -> Result<Step<SearchOutcome>> {
        self.since = Instant::now();
        if let Some(filter) = self.ask.filter.clone() {
            let request = ids_request(&self.codec, &filter)?;
            self.owner_filter = Some(filter);
            self.phase = Phase::SealedListing;
            return Ok(Step::Send(request));
        }
        self.owner_filter = probed.as_deref().map(partitions_filter);
        let tokens = match &probed {
            Some(partitions) => Some(self.codec.partition_tokens(partitions)?),
            None => None,
        };
        let body = api::SealedPages {
            kb_id: self.codec.kb().to_owned(),
            context_id: self.codec.context().id().to_owned(),
            tokens,
            after: None,
            ids: None,
            range: self.ask.range,
        };
        let request = Request::new(Method::Post, "sealed_pages", String::new()).with_json(&body)?;
        self.phase = Phase::Sealed(probed);
        Ok(Step::Send(request))
    }

    /// The filter's records as the service lists them (those of the range, if any): the pages
    /// holding them asked for.
    pub(super) fn listed_sealed(
        &mut self,
        answered: Option<Answered>,
    ) -> Result<Step<SearchOutcome>> {
        let mut ids = listed_ids(answered)?;
        if let Some((first, last)) = self.ask.range {
            ids.retain(|id| (first..=last).contains(id));
        }
        ids.dedup();
        let pages = PagesById::new(Arc::clone(&self.codec), &ids);
        self.phase = Phase::SealedPages(ids, pages);
        self.step(None)
    }

    /// A step of the read of the listed records' pages; once read, they are ranked.
    pub(super) fn paged_sealed(
        &mut self,
        listed: Vec<i64>,
        mut pages: PagesById,
        answered: Option<Answered>,
    ) -> Result<Step<SearchOutcome>> {
        match pages.step(answered)? {
            Step::Send(request) => {
                self.phase = Phase::SealedPages(listed, pages);
                Ok(Step::Send(request))
            }
            Step::Done(bytes) => {
                self.outcome.times.answered(self.since, pages.server_us);
                self.rank_pages(&bytes, None, Some(&listed))
            }
        }
    }

    /// The answer of pages read; then ranked.
    pub(super) fn ranked_sealed(
        &mut self,
        probed: Option<Vec<u32>>,
        answered: Option<Answered>,
    ) -> Result<Step<SearchOutcome>> {
        let answer = expect_answer(answered, "sealed_pages", "")?;
        self.outcome.times.answered(self.since, answer.server_us);
        answer.check_status()?;
        self.rank_pages(&answer.body, probed.as_deref(), None)
    }

    /// `pages` opened, the records the search selects kept (`listed`, or the range's), checked
    /// and ranked; then the top k's documents asked for.
    fn rank_pages(
        &mut self,
        pages: &[u8],
        probed: Option<&[u32]>,
        listed: Option<&[i64]>,
    ) -> Result<Step<SearchOutcome>> {
        self.outcome.answer_bytes = pages.len();
        let expectation = Expectation {
            range: self.ask.range,
            count: self.ask.expect_count,
            digest: self
                .digest
                .as_ref()
                .and_then(|d| covered_tally(d, self.owner_filter.as_ref(), self.ask.range)),
        };
        let opening = Instant::now();
        let mut opened = self
            .codec
            .open_sealed(pages, &self.vector, probed, &expectation)
            .map_err(with_rebuild_hint)?;
        match (listed, self.ask.range) {
            (Some(listed), _) => {
                let wanted: HashSet<i64> = listed.iter().copied().collect();
                opened.retain(|id| wanted.contains(&id));
                let found: HashSet<i64> = opened.chunk_ids().iter().copied().collect();
                let missing: Vec<String> = listed
                    .iter()
                    .filter(|id| !found.contains(id))
                    .map(i64::to_string)
                    .collect();
                if !missing.is_empty() {
                    return Err(refused(
                        FailureKind::Missing,
                        format!("no page holds the listed chunks {}", missing.join(", ")),
                    ));
                }
            }
            (None, Some((first, last))) => opened.retain(|id| (first..=last).contains(&id)),
            (None, None) => {}
        }
        self.outcome.times.opening_ms = Some(ms_since(opening));
        self.outcome.records = opened.records();
        let ranking = Instant::now();
        let top = self
            .codec
            .rank_opened(&opened, &expectation, self.ask.top_k)
            .map_err(with_rebuild_hint)?;
        self.outcome.times.ranking_ms = Some(ms_since(ranking));
        self.documents_of(top)
    }
}
