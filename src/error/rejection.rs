//! Why a verified search refused an answer: each failure's kind and the chunk ids it concerns.

use std::fmt;

/// What a failed check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureKind {
    /// Not a record of this knowledge base answering this query: forged, shifted by `E(δ)`, a
    /// record of another knowledge base, another query's answer (replayed), or a record
    /// uploaded without verification. One kind for every way a record fails (a bit above the
    /// fields, a slot the query cannot give, a tag that does not match or is absent): which of
    /// them failed would say something of the plaintext a service had the owner decrypt.
    InvalidRecord,
    /// One record answered under several chunk ids.
    DuplicatedRecord,
    /// The same chunk id answered twice.
    DuplicatedId,
    /// A chunk id outside the asked range.
    OutsideRange,
    /// Fewer records than the caller's count.
    Missing,
    /// More records than the caller's count.
    Unexpected,
    /// A record's metadata, as the owner wrote it, does not pass the filter it was selected by.
    OutsideFilter,
    /// A top-k record's content does not open under its nonce: swapped or altered.
    ContentMismatch,
    /// The service did not return a top-k record's content.
    ContentMissing,
    /// The answer's records are not those the owner's digest counts: one missing, one more, or
    /// one relabelled, stale or deleted and brought back.
    DigestMismatch,
    /// The service's copy of the owner's digest is older than one this owner has seen: the
    /// knowledge base was rolled back (or its digest deleted).
    RolledBack,
    /// The service says the knowledge base has no owner's digest, yet answers with verifiable
    /// records: a knowledge base of verifiable records always has one, so the completeness
    /// checks it carries cannot be skipped by claiming there is none.
    NoDigest,
    /// The service's copy of the owner's digest is later than one this owner has seen but does
    /// not extend it: the knowledge base's history forked (a store restored to an earlier copy
    /// and written again), or the service cannot show the links between them.
    Forked,
}

impl FailureKind {
    /// What the kind means, as the message says it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::InvalidRecord => {
                "forged, altered, foreign, replayed or uploaded without verification (not a \
                 record of this knowledge base answering this query)"
            }
            Self::DuplicatedRecord => "duplicated (one record under several ids)",
            Self::DuplicatedId => "duplicated (the same id twice)",
            Self::OutsideRange => "outside the asked range",
            Self::Missing => "missing (fewer records than expected)",
            Self::Unexpected => "unexpected (more records than expected)",
            Self::OutsideFilter => {
                "outside the filter (its metadata, as the owner wrote it, does not pass)"
            }
            Self::ContentMismatch => {
                "content mismatch (its content does not open under its record: swapped or altered)"
            }
            Self::ContentMissing => "content missing (the service did not return it)",
            Self::DigestMismatch => {
                "not the records the owner's digest counts (one missing, one more, or one \
                 relabelled, stale or deleted and brought back)"
            }
            Self::RolledBack => {
                "rolled back (the service's copy of the owner's digest is older than one this \
                 owner has seen)"
            }
            Self::Forked => {
                "forked (the service's copy of the owner's digest does not extend the one this \
                 owner has seen: the knowledge base's history forked)"
            }
            Self::NoDigest => {
                "no owner's digest (the service says the knowledge base has none, yet answers \
                 with verifiable records, which always have one)"
            }
        }
    }
}

/// One failed check: its kind, the chunk ids it concerns (none for a count), and a detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerFailure {
    /// What failed.
    pub kind: FailureKind,
    /// The chunk ids concerned, in the order met.
    pub chunk_ids: Vec<i64>,
    /// More, such as the counts of a missing record.
    pub detail: Option<String>,
}

/// Every check an answer failed; the search that got it shows none of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerRejection {
    /// The failures, one per kind.
    pub failures: Vec<AnswerFailure>,
}

/// Ids shown per failure before "and N more".
const SHOWN_IDS: usize = 12;

impl fmt::Display for AnswerRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, failure) in self.failures.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            f.write_str(failure.kind.describe())?;
            let ids = &failure.chunk_ids;
            if !ids.is_empty() {
                let shown: Vec<String> = ids.iter().take(SHOWN_IDS).map(i64::to_string).collect();
                let noun = if ids.len() == 1 { "chunk" } else { "chunks" };
                write!(f, ": {noun} {}", shown.join(", "))?;
                if ids.len() > SHOWN_IDS {
                    write!(f, " and {} more", ids.len() - SHOWN_IDS)?;
                }
            }
            if let Some(detail) = &failure.detail {
                write!(f, " ({detail})")?;
            }
        }
        Ok(())
    }
}

impl AnswerRejection {
    /// Whether a failure of `kind` is among them.
    pub fn has(&self, kind: FailureKind) -> bool {
        self.failures.iter().any(|f| f.kind == kind)
    }

    /// Whether it shows the service rolled the knowledge base back or forked its history: the
    /// owner's client keeps that in its state, and a plain digest rebuild is refused until the
    /// owner takes the records as they are (`after_rollback`), whatever digest the service
    /// shows later.
    pub fn shows_rollback(&self) -> bool {
        self.has(FailureKind::RolledBack) || self.has(FailureKind::Forked)
    }
}

impl crate::Error {
    /// Whether this is an answer refused because the service rolled back or forked the
    /// knowledge base ([`AnswerRejection::shows_rollback`]).
    pub fn shows_rollback(&self) -> bool {
        matches!(self, crate::Error::AnswerRejected(rejection) if rejection.shows_rollback())
    }
}
