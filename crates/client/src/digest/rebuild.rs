//! The owner's digest counted afresh from the records the service holds: the library's
//! [`DigestRebuild`] driver, carried by this client, and what it reports.

use std::sync::Arc;

use paillier_gpu::context::ExecutionContext;
use paillier_gpu::owner::DigestRebuild;
use paillier_gpu::verifiable::{LayoutKind, OwnerDigest, RecordCodec, RecordOptions};

use crate::error::Result;
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
        let codec = Arc::new(RecordCodec::new(context, kb_id, options));
        let rebuild =
            DigestRebuild::new(codec, self.owner_state()?, counted_field, after_rollback)?;
        Ok(DigestSummary::of(&self.drive(rebuild)?))
    }
}
