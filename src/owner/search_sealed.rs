//! The search's steps over sealed vectors: the probed partitions' pages asked for by their
//! tokens (a query is never sent), then opened, checked whole against the owner's digest and
//! ranked, each step timed.

use std::time::Instant;

use paillier_gpu_api as api;

use super::times::ms_since;
use super::{Phase, RecordSearch, SearchOutcome};
use crate::error::{Error, Result};
use crate::owner::find::with_rebuild_hint;
use crate::owner::http::{expect_answer, Answered, Method, Request, Step};
use crate::verifiable::{covered_tally, partitions_filter, Expectation};

impl RecordSearch {
    /// The pages of sealed vectors of the partitions `probed` (none: every page) asked for.
    pub(super) fn sealed_query(&mut self, probed: Option<Vec<u32>>) -> Result<Step<SearchOutcome>> {
        if self.ask.filter.is_some() || self.ask.range.is_some() {
            return Err(Error::SealedVectors(format!(
                "knowledge base {} holds sealed vectors, whose search reads whole partitions: \
                 a search by metadata filter or chunk range over them is not built yet",
                self.codec.kb()
            )));
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
        };
        let request = Request::new(Method::Post, "sealed_pages", String::new()).with_json(&body)?;
        self.phase = Phase::Sealed(probed);
        self.since = Instant::now();
        Ok(Step::Send(request))
    }

    /// The pages opened, checked and ranked; then the top k's documents asked for.
    pub(super) fn ranked_sealed(
        &mut self,
        probed: Option<Vec<u32>>,
        answered: Option<Answered>,
    ) -> Result<Step<SearchOutcome>> {
        let answer = expect_answer(answered, "sealed_pages", "")?;
        self.outcome.times.answered(self.since, answer.server_us);
        answer.check_status()?;
        self.outcome.answer_bytes = answer.body.len();
        let expectation = Expectation {
            range: None,
            count: self.ask.expect_count,
            digest: self
                .digest
                .as_ref()
                .and_then(|d| covered_tally(d, self.owner_filter.as_ref(), None)),
        };
        let opening = Instant::now();
        let opened = self
            .codec
            .open_sealed(&answer.body, &self.vector, probed.as_deref(), &expectation)
            .map_err(with_rebuild_hint)?;
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
