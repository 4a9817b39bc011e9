//! The pages of the partitions an edit of sealed vectors touches, read whole and checked
//! against the owner's digest, so that what the edit seals again is what the digest counts: a
//! page the service kept from before a later write, served with the documents of its time,
//! opens under the owner's keys, and only the digest's tally tells it is stale. A knowledge
//! base without partitions is one partition: every page is read.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use paillier_gpu_api as api;

use super::every_page::EveryPage;
use super::http::{expect_answer, Answered, Driver, Method, Request, Step};
use crate::error::{Error, FailureKind, Result};
use crate::verifiable::{
    covered_tally, partitions_filter, refused, OwnerDigest, PagedRecords, RecordCodec,
    SealedRecord, Tally,
};

enum Reading {
    /// The partitions' tokens, asked for or not yet.
    Tokens(Vec<String>, bool),
    Every(EveryPage),
}

/// Every record of some partitions (none: of the whole knowledge base), checked against the
/// digest's tally of them.
pub(super) struct CheckedPartitions {
    codec: Arc<RecordCodec>,
    expected: Tally,
    reading: Reading,
}

impl CheckedPartitions {
    /// The records of `partitions` (none: every record) of `codec`'s knowledge base, checked
    /// against `digest`.
    pub(super) fn new(
        codec: Arc<RecordCodec>,
        digest: &OwnerDigest,
        partitions: Option<Vec<u32>>,
    ) -> Result<Self> {
        let filter = partitions.as_deref().map(partitions_filter);
        let expected = covered_tally(digest, filter.as_ref(), None).ok_or_else(|| {
            Error::SealedVectors(format!(
                "knowledge base {}: the owner's digest does not count these records' partitions \
                 apart (a partitions rebuild under way?), so the pages an edit seals again \
                 cannot be checked: finish the rebuild (`paillier-gpu remote partitions \
                 rebuild`), then edit",
                codec.kb()
            ))
        })?;
        let reading = match partitions {
            Some(partitions) => Reading::Tokens(codec.partition_tokens(&partitions)?, false),
            None => Reading::Every(EveryPage::new(&codec)),
        };
        Ok(Self {
            codec,
            expected,
            reading,
        })
    }

    fn checked(&self, pages: &[u8]) -> Result<Vec<SealedRecord>> {
        let records = self.codec.open_pages(pages)?;
        let ids: Vec<i64> = records.iter().map(|r| r.chunk_id).collect();
        let nonces: Vec<_> = records.iter().map(|r| r.nonce).collect();
        self.expected.check(&self.codec.tally(&ids, &nonces)?)?;
        Ok(records)
    }
}

impl Driver for CheckedPartitions {
    type Output = Vec<SealedRecord>;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<Vec<SealedRecord>>> {
        let pages = match &mut self.reading {
            Reading::Every(every) => match every.step(answered)? {
                Step::Send(request) => return Ok(Step::Send(request)),
                Step::Done(pages) => pages,
            },
            Reading::Tokens(tokens, asked @ false) => {
                *asked = true;
                let body = api::SealedPages {
                    kb_id: self.codec.kb().to_owned(),
                    context_id: self.codec.context().id().to_owned(),
                    tokens: Some(std::mem::take(tokens)),
                    ..api::SealedPages::default()
                };
                let request = Request::new(Method::Post, "sealed_pages", String::new());
                return Ok(Step::Send(request.with_json(&body)?));
            }
            Reading::Tokens(_, true) => {
                let answer = expect_answer(answered, "sealed_pages", "")?;
                answer.check_status()?;
                answer.body
            }
        };
        self.checked(&pages).map(Step::Done)
    }
}

/// The records `ids` (each once, in that order) and the other records of their pages, from
/// `checked` (every record of their partitions, as [`CheckedPartitions`] reads them); an id
/// none of them holds is refused.
pub(super) fn pages_holding(checked: Vec<SealedRecord>, ids: &[i64]) -> Result<PagedRecords> {
    let page_of: HashMap<i64, usize> = checked.iter().map(|r| (r.chunk_id, r.page)).collect();
    let asked: HashSet<i64> = ids.iter().copied().collect();
    let mut pages = HashSet::new();
    let mut missing = Vec::new();
    for id in ids {
        match page_of.get(id) {
            Some(&page) => {
                pages.insert(page);
            }
            None => missing.push(id.to_string()),
        }
    }
    if !missing.is_empty() {
        return Err(refused(
            FailureKind::Missing,
            format!(
                "chunks {} are on no page of their partitions that the owner's digest counts",
                missing.join(", ")
            ),
        ));
    }
    let mut by_id = HashMap::with_capacity(ids.len());
    let mut mates = Vec::new();
    for record in checked.into_iter().filter(|r| pages.contains(&r.page)) {
        match asked.contains(&record.chunk_id) {
            true => {
                by_id.insert(record.chunk_id, record);
            }
            false => mates.push(record),
        }
    }
    let asked = ids.iter().filter_map(|id| by_id.remove(id)).collect();
    Ok(PagedRecords { asked, mates })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::owner::test_pages::{answered, page};
    use crate::verifiable::test_codec;

    /// What a read of every page checked against a digest counting `counted` gives when the
    /// service answers `pages`.
    fn read(codec: &Arc<RecordCodec>, counted: &[u8], pages: &[u8]) -> Result<Vec<SealedRecord>> {
        let records = codec.open_pages(counted).unwrap();
        let ids: Vec<i64> = records.iter().map(|r| r.chunk_id).collect();
        let nonces: Vec<_> = records.iter().map(|r| r.nonce).collect();
        let mut digest = OwnerDigest::new(None);
        digest.records = codec.tally(&ids, &nonces).unwrap();
        let mut check = CheckedPartitions::new(Arc::clone(codec), &digest, None).unwrap();
        assert!(matches!(check.step(None)?, Step::Send(_)));
        assert!(matches!(
            check.step(answered(pages.to_vec()))?,
            Step::Send(_)
        ));
        match check.step(answered(Vec::new()))? {
            Step::Done(records) => Ok(records),
            Step::Send(_) => panic!("read on after an empty answer"),
        }
    }

    #[test]
    fn a_page_from_before_a_later_write_is_refused_however_well_it_opens() {
        let codec = Arc::new(test_codec());
        let (now, mates) = (page(&codec, &[1, 2, 3]), page(&codec, &[4, 5]));
        let counted = [now.clone(), mates.clone()].concat();
        let checked = read(&codec, &counted, &counted).unwrap();
        let paged = pages_holding(checked, &[2]).unwrap();
        let mates: Vec<i64> = paged.mates.iter().map(|r| r.chunk_id).collect();
        assert_eq!((paged.asked[0].chunk_id, mates), (2, vec![1, 3]));
        // The same records sealed before: they open, and the digest does not count them.
        let before = [page(&codec, &[1, 2, 3]), page(&codec, &[4, 5])].concat();
        match read(&codec, &counted, &before) {
            Err(Error::AnswerRejected(r)) => assert!(r.has(FailureKind::DigestMismatch)),
            other => panic!("{other:?}"),
        }
        let checked = read(&codec, &counted, &counted).unwrap();
        assert!(matches!(
            pages_holding(checked, &[2, 9]),
            Err(Error::AnswerRejected(r)) if r.has(FailureKind::Missing)
        ));
    }
}
