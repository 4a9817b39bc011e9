//! The checks on a whole answer: every record's own, then no record and no chunk id twice, ids
//! inside the range, and the caller's count.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use crate::error::{AnswerFailure, AnswerRejection, Error, FailureKind, Result};
use crate::verifiable::records::check::DecodedRecord;
use crate::verifiable::records::layout::RecordNonce;
use crate::verifiable::records::seal::Document;

/// What the caller knows of the answer it asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expectation {
    /// The owner's tally of the records the answer must hold, exactly: from its digest, for a
    /// search of the whole knowledge base or of whole counted values
    /// ([`RecordCodec`](crate::verifiable::RecordCodec) checks it).
    pub digest: Option<crate::verifiable::Tally>,
    /// The asked range of chunk ids, first and last included.
    pub range: Option<(i64, i64)>,
    /// How many records the knowledge base holds (a search with no filter and no range): a
    /// record missing, or one more, fails.
    pub count: Option<usize>,
}

/// A verified answer: every record's chunk id, distance and nonce, in the service's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedRecords {
    /// Chunk ids.
    pub chunk_ids: Vec<i64>,
    /// Hamming distances.
    pub distances: Vec<u32>,
    /// Record nonces (what opens each record's sealed content).
    pub nonces: Vec<RecordNonce>,
}

impl VerifiedRecords {
    /// The `k` nearest as `(chunk id, distance, nonce)`, nearest first, ties by chunk id.
    pub fn top_k(&self, k: usize) -> Vec<(i64, u32, RecordNonce)> {
        let mut ranked: Vec<(i64, u32, RecordNonce)> = self
            .chunk_ids
            .iter()
            .zip(&self.distances)
            .zip(&self.nonces)
            .map(|((&id, &distance), &nonce)| (id, distance, nonce))
            .collect();
        let order = |&(id, distance, _): &(i64, u32, RecordNonce)| (distance, id);
        // The k nearest first, then only they sorted.
        if k < ranked.len() {
            ranked.select_nth_unstable_by_key(k, order);
            ranked.truncate(k);
        }
        ranked.sort_by_key(order);
        ranked
    }
}

/// Checks a decoded answer as a whole; any failure refuses all of it.
pub(crate) fn check_answer(
    decoded: &[DecodedRecord],
    chunk_ids: &[i64],
    expectation: &Expectation,
) -> Result<VerifiedRecords> {
    if decoded.len() != chunk_ids.len() {
        return Err(Error::ShapeMismatch(format!(
            "{} decoded records for {} chunk ids",
            decoded.len(),
            chunk_ids.len()
        )));
    }
    let mut failures: BTreeMap<FailureKind, AnswerFailure> = BTreeMap::new();
    let mut fail = |kind: FailureKind, id: Option<i64>, detail: Option<String>| {
        let failure = failures.entry(kind).or_insert_with(|| AnswerFailure {
            kind,
            chunk_ids: Vec::new(),
            detail: None,
        });
        failure.chunk_ids.extend(id);
        if detail.is_some() {
            failure.detail = detail;
        }
    };
    for (record, &id) in decoded.iter().zip(chunk_ids) {
        if !record.valid {
            fail(FailureKind::InvalidRecord, Some(id), None);
        }
    }
    let mut seen_ids = HashSet::with_capacity(chunk_ids.len());
    for &id in chunk_ids {
        if !seen_ids.insert(id) {
            fail(FailureKind::DuplicatedId, Some(id), None);
        }
    }
    let mut by_nonce: HashMap<RecordNonce, Vec<i64>> = HashMap::new();
    for (record, &id) in decoded.iter().zip(chunk_ids) {
        if record.valid {
            by_nonce.entry(record.nonce).or_default().push(id);
        }
    }
    // One id twice is the failure above; a record under several ids is this one.
    let mut shared: Vec<Vec<i64>> = by_nonce
        .into_values()
        .map(|mut ids| {
            ids.sort_unstable();
            ids.dedup();
            ids
        })
        .filter(|ids| ids.len() > 1)
        .collect();
    shared.sort();
    for ids in shared {
        for id in ids {
            fail(FailureKind::DuplicatedRecord, Some(id), None);
        }
    }
    if let Some((first, last)) = expectation.range {
        for &id in chunk_ids {
            if id < first || id > last {
                fail(
                    FailureKind::OutsideRange,
                    Some(id),
                    Some(format!("asked {first} to {last}")),
                );
            }
        }
    }
    if let Some(expected) = expectation.count {
        let answered = seen_ids.len();
        let detail = Some(format!("{answered} records answered, {expected} expected"));
        if answered < expected {
            fail(FailureKind::Missing, None, detail);
        } else if answered > expected {
            fail(FailureKind::Unexpected, None, detail);
        }
    }
    if !failures.is_empty() {
        return Err(Error::AnswerRejected(AnswerRejection {
            failures: failures.into_values().collect(),
        }));
    }
    Ok(VerifiedRecords {
        chunk_ids: chunk_ids.to_vec(),
        distances: decoded.iter().map(|r| r.distance).collect(),
        nonces: decoded.iter().map(|r| r.nonce).collect(),
    })
}

/// Refuses records selected by `filter` whose documents, opened from their seals (the metadata
/// as the owner wrote it), do not pass it: the service evaluates filters, and one that lies
/// could include records the filter excludes.
///
/// ```
/// use paillier_gpu::verifiable::{check_filter, Document};
/// let report = Document { meta_data: serde_json::json!({"tag1": "report"}).as_object().unwrap().clone(), ..Default::default() };
/// assert!(check_filter(&serde_json::json!({"tag1": "report"}), &[(7, &report)]).is_ok());
/// assert!(check_filter(&serde_json::json!({"tag1": "memo"}), &[(7, &report)]).is_err());
/// ```
pub fn check_filter(filter: &Value, found: &[(i64, &Document)]) -> Result<()> {
    let filter = crate::meta_filter::Filter::parse(filter)
        .map_err(|why| Error::InvalidParameter(format!("the metadata filter: {why}")))?;
    let outside: Vec<i64> = found
        .iter()
        .filter(|(_, document)| !filter.matches(&document.meta_data))
        .map(|&(id, _)| id)
        .collect();
    if outside.is_empty() {
        return Ok(());
    }
    Err(Error::AnswerRejected(AnswerRejection {
        failures: vec![AnswerFailure {
            kind: FailureKind::OutsideFilter,
            chunk_ids: outside,
            detail: None,
        }],
    }))
}
/// Whether `filter` selects a record of metadata `meta_data` (the owner's own, as sealed), by
/// the rule the service's filter follows.
///
/// ```
/// use paillier_gpu::verifiable::filter_selects;
/// use serde_json::json;
/// let meta = json!({"tag1": "a", "tag2": 5});
/// let meta = meta.as_object().unwrap();
/// assert!(filter_selects(&json!({"tag2": "5"}), meta).unwrap());
/// assert!(!filter_selects(&json!({"tag1": "b"}), meta).unwrap());
/// assert!(filter_selects(&json!({"tag1": {"$oops": 1}}), meta).is_err());
/// ```
pub fn filter_selects(filter: &Value, meta_data: &serde_json::Map<String, Value>) -> Result<bool> {
    let filter = crate::meta_filter::Filter::parse(filter)
        .map_err(|why| Error::InvalidParameter(format!("the metadata filter: {why}")))?;
    Ok(filter.matches(meta_data))
}

/// An answer refused for `kind`, with `detail`.
pub(crate) fn refused(kind: FailureKind, detail: String) -> Error {
    Error::AnswerRejected(AnswerRejection {
        failures: vec![AnswerFailure {
            kind,
            chunk_ids: Vec::new(),
            detail: Some(detail),
        }],
    })
}
