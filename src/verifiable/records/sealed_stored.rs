//! Stored sealed vectors read back by chunk id: the pages holding them opened, each asked
//! record found once, and the other records of those pages kept beside them, since a write
//! that changes some of a page's records seals the page again whole.

use std::collections::{HashMap, HashSet};

use crate::error::{AnswerFailure, AnswerRejection, Error, FailureKind, Result};
use crate::verifiable::records::answer::Expectation;
use crate::verifiable::records::codec::RecordCodec;
use crate::verifiable::records::sealed_read::SealedRecord;

/// Records read back by id from their pages ([`RecordCodec::stored_sealed`]).
#[derive(Debug, Default)]
pub struct PagedRecords {
    /// The records asked for, in the order asked.
    pub asked: Vec<SealedRecord>,
    /// The other records of their pages, in the answer's order.
    pub mates: Vec<SealedRecord>,
}

impl RecordCodec {
    /// The records `chunk_ids` (each once) from `pages`, the answer to a read of their pages
    /// (wire forms one after another), each page opened under the owner's keys. Refused: a
    /// page that does not open, a chunk in two places, a chunk asked for and missing, and a
    /// page holding none of them; then the records asked for are checked against
    /// `expectation`'s digest tally, where it has one.
    pub fn stored_sealed(
        &self,
        pages: &[u8],
        chunk_ids: &[i64],
        expectation: &Expectation,
    ) -> Result<PagedRecords> {
        let asked: HashSet<i64> = chunk_ids.iter().copied().collect();
        if asked.len() != chunk_ids.len() {
            return Err(Error::InvalidParameter(
                "a chunk id is asked for twice".into(),
            ));
        }
        let records = self.open_pages(pages)?;
        let mut failures: Vec<AnswerFailure> = Vec::new();
        let mut fail = |kind: FailureKind, chunk_ids: Vec<i64>, detail: &str| {
            if !chunk_ids.is_empty() {
                failures.push(AnswerFailure {
                    kind,
                    chunk_ids,
                    detail: Some(detail.to_owned()),
                });
            }
        };
        let mut seen = HashSet::with_capacity(records.len());
        let twice: Vec<i64> = records
            .iter()
            .filter(|r| !seen.insert(r.chunk_id))
            .map(|r| r.chunk_id)
            .collect();
        fail(FailureKind::DuplicatedId, twice, "a chunk in two pages");
        let missing: Vec<i64> = chunk_ids
            .iter()
            .copied()
            .filter(|id| !seen.contains(id))
            .collect();
        fail(FailureKind::Missing, missing, "no page holds them");
        let useful: HashSet<usize> = records
            .iter()
            .filter(|r| asked.contains(&r.chunk_id))
            .map(|r| r.page)
            .collect();
        let stray: Vec<i64> = records
            .iter()
            .filter(|r| !useful.contains(&r.page))
            .map(|r| r.chunk_id)
            .collect();
        fail(
            FailureKind::Unexpected,
            stray,
            "a page that holds none of the chunks asked for",
        );
        if !failures.is_empty() {
            return Err(Error::AnswerRejected(AnswerRejection { failures }));
        }
        let mut by_id: HashMap<i64, SealedRecord> = HashMap::with_capacity(asked.len());
        let mut mates = Vec::new();
        for record in records {
            match asked.contains(&record.chunk_id) {
                true => {
                    by_id.insert(record.chunk_id, record);
                }
                false => mates.push(record),
            }
        }
        let asked: Vec<SealedRecord> = chunk_ids.iter().filter_map(|id| by_id.remove(id)).collect();
        self.check_digest_claim(chunk_ids)?;
        if let Some(counted) = &expectation.digest {
            let nonces: Vec<_> = asked.iter().map(|r| r.nonce).collect();
            counted.check(&self.tally(chunk_ids, &nonces)?)?;
        }
        Ok(PagedRecords { asked, mates })
    }
}

#[cfg(test)]
#[path = "sealed_stored_tests.rs"]
mod tests;
