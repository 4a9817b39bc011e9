//! The owner's digest counted afresh from the records the service holds: for a knowledge base
//! written before digests, one whose digest and records disagree after the owner has looked at
//! them, or to start counting a field per value. Every record is verified on the way (a zero
//! query with a fresh nonce), so only records the owner wrote are counted; which ones the
//! service holds is taken as it says, which is why the owner looks first.

use paillier_gpu::context::ExecutionContext;
use paillier_gpu::verifiable::{
    self, CountedRecord, Document, Expectation, LayoutKind, OwnerDigest, RecordCodec, RecordOptions,
};

use super::SeenDigest;
use crate::api;
use crate::error::{Error, Result};
use crate::Client;

/// What a rebuilt digest counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestSummary {
    /// Its version on the service.
    pub version: i64,
    /// How many records it counts.
    pub records: u64,
    /// The field it counts per value, and how many values it holds.
    pub counted: Option<(String, usize)>,
    /// The layout of the knowledge base's records.
    pub layout: LayoutKind,
}

impl DigestSummary {
    /// What `digest` counts.
    pub(crate) fn of(digest: &OwnerDigest) -> Self {
        Self {
            version: digest.version(),
            records: digest.count(),
            counted: digest
                .counted_field()
                .map(|field| (field.to_owned(), digest.counted_values())),
            layout: digest.layout(),
        }
    }
}

impl Client {
    /// Counts the owner's digest of `kb_id` afresh from its records, verified one by one, per
    /// value of `counted_field` too when given, and stores it as a version past both the
    /// service's and the highest this owner has seen (its record of versions seen is replaced
    /// by it). Refused after a rollback (this owner saw a later version than the service
    /// holds, now or at any time since its last rebuild), a fork (the service's version does
    /// not extend the one seen) or a digest that does not open, unless `after_rollback`:
    /// [`RecordCodec::plan_rebuild`]. Verifiable records only.
    pub fn rebuild_digest(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        options: RecordOptions,
        counted_field: Option<&str>,
        after_rollback: bool,
    ) -> Result<DigestSummary> {
        if !options.verifiable {
            return Err(Error::InvalidSetting(
                "the owner's digest counts verifiable records: pass --verifiable".into(),
            ));
        }
        self.state_folder()?;
        let codec = RecordCodec::new(context, kb_id, options);
        let seen = self.seen_digest(context.id(), kb_id)?;
        let stored = match &seen {
            Some(seen) => self.owner_digest_since(kb_id, context.id(), seen.version)?,
            None => self.owner_digest(kb_id, context.id())?,
        };
        let rollback_noted = self.rollback_noted(context.id(), kb_id)?;
        let plan = codec
            .plan_rebuild(
                stored.version,
                stored.sealed.as_deref(),
                seen.as_ref().map(|s| (s.version, s.sealed.as_str())),
                &super::links_of(&stored.links),
                counted_field,
                rollback_noted,
                after_rollback,
            )
            .map_err(|e| self.noting_rollback(context.id(), kb_id, e))?;
        // Every record, under the digest's layout (or, where it did not open, the first layout
        // its records verify under).
        let layouts = codec.layouts_to_try();
        let mut outcome = Err(Error::InvalidSetting(
            "verifiable records do not fit this context".into(),
        ));
        for (tried, &layout) in layouts.iter().enumerate() {
            let codec = RecordCodec::new(context, kb_id, options).with_layout(layout);
            let (query, answer) = self.zero_query_answer(&codec)?;
            let all = answer.chunk_ids.len();
            let expectation = Expectation::default();
            outcome = codec
                .rank(
                    &query,
                    &answer.responses,
                    &answer.chunk_ids,
                    &expectation,
                    all,
                )
                .map(|ranked| (codec, ranked))
                .map_err(Error::from);
            let rejected = matches!(
                &outcome,
                Err(Error::Library(paillier_gpu::Error::AnswerRejected(_)))
            );
            if !rejected || tried + 1 == layouts.len() {
                break;
            }
        }
        let (codec, ranked) = outcome?;
        let records: Vec<_> = ranked.iter().map(|r| (r.chunk_id, r.nonce)).collect();
        let counted_field = plan.counted_field();
        let documents = match counted_field {
            Some(_) => self.open_documents(&codec, &records, None)?,
            None => Vec::new(),
        };
        let counted: Vec<CountedRecord> = ranked
            .iter()
            .enumerate()
            .filter_map(|(i, hit)| {
                let value = counted_value(documents.get(i), counted_field);
                hit.nonce.map(|nonce| ((hit.chunk_id, nonce), value))
            })
            .collect();
        let (digest, sealed) = codec.rebuilt_digest(&plan, &counted)?;
        let write = api::DigestWrite {
            expected_version: plan.expected_version,
            version: digest.version(),
            sealed: sealed.clone(),
            link: super::wire_link(&digest),
        };
        self.put_owner_digest(kb_id, context.id(), &write)?;
        let seen = SeenDigest {
            version: digest.version(),
            sealed,
        };
        self.replace_seen(context.id(), kb_id, &seen)?;
        Ok(DigestSummary::of(&digest))
    }
}

/// A document's value of the counted field (the library's [`verifiable::counted_value`]), if
/// the digest counts one and the document holds a string there.
pub(crate) fn counted_value(document: Option<&Document>, field: Option<&str>) -> Option<String> {
    verifiable::counted_value(&document?.meta_data, field)
}
