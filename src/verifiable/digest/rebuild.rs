//! A rebuild of the owner's digest, with no I/O: planned from what the service holds and what
//! this owner has seen (the version it writes, the field it counts, the partitions it keeps,
//! the history it continues), then counted from the records the owner verified.

use crate::error::{Error, FailureKind, Result};
use crate::meta_filter::PARTITION_FIELD;
use crate::verifiable::records::answer::refused;
use crate::verifiable::{
    CountedRecord, DigestLink, LayoutKind, OwnerDigest, Partitioning, RecordCodec,
};

/// A rebuild of the owner's digest as planned by [`RecordCodec::plan_rebuild`]: the write it
/// makes and what it keeps of the digest it replaces.
#[derive(Clone, Debug)]
pub struct DigestRebuild {
    /// The version the service holds (0: none), which the write expects.
    pub expected_version: i64,
    /// The version it writes: past both the service's and the highest this owner has seen.
    pub version: i64,
    counted_field: Option<String>,
    partitions: Option<Partitioning>,
    /// The digest the rebuilt one is chained onto: the service's where it opens, else the one
    /// this owner saw, else none.
    base: OwnerDigest,
}

impl DigestRebuild {
    /// The field the rebuilt digest counts per value ([`PARTITION_FIELD`] for a partitioned
    /// knowledge base): the records' documents must be opened for it.
    pub fn counted_field(&self) -> Option<&str> {
        self.counted_field.as_deref()
    }
}

impl RecordCodec {
    /// Plans a rebuild of the owner's digest over the service's `stored_version` (0: none) and
    /// its `stored_sealed` bytes, given `seen` (the highest version this owner has seen and its
    /// bytes) and the service's `links` after it, counting `counted_field` per value if given
    /// (one of the fields [`check_countable`](crate::verifiable::check_countable) allows).
    ///
    /// Unless `after_rollback` (the owner has looked at the records and takes them as they
    /// are), it refuses:
    /// - a rollback: the version written is [`rebuild_version`](Self::rebuild_version)'s;
    /// - a rollback this owner noted earlier (`rollback_noted`, kept in its state), whatever the
    ///   service shows now: a service that rolled the records back can later show the digest
    ///   it kept of the later version;
    /// - a service's digest that does not extend the one seen ([`FailureKind::Forked`]), since
    ///   a rebuild would take that branch's records;
    /// - a service's digest that does not open under this owner's key
    ///   ([`FailureKind::DigestMismatch`]): nothing then says what it counted, or which
    ///   partitions it kept.
    ///
    /// A partitioned knowledge base keeps its partitions (the service's digest's, else, after a
    /// rollback, the ones this owner saw), counted per partition (another `counted_field` is
    /// refused). The rebuilt digest continues the history of the service's digest where it
    /// opens under this owner's key (whose layout this codec then holds), else of the one seen.
    #[allow(clippy::too_many_arguments)]
    pub fn plan_rebuild(
        &self,
        stored_version: i64,
        stored_sealed: Option<&str>,
        seen: Option<(i64, &str)>,
        links: &[DigestLink],
        counted_field: Option<&str>,
        rollback_noted: bool,
        after_rollback: bool,
    ) -> Result<DigestRebuild> {
        if let Some(field) = counted_field {
            crate::verifiable::check_countable(field)?;
        }
        let version = self.rebuild_version(stored_version, seen.map(|s| s.0), after_rollback)?;
        let keys = self.keys()?;
        let stored = match (stored_version, stored_sealed) {
            (0, _) => None,
            (version, sealed) => {
                let opened = sealed.map(|s| OwnerDigest::open(keys, self.kb(), version, s));
                match opened {
                    Some(Ok(digest)) => Some(digest),
                    // A newer version's digest is not replaced by an older one's count.
                    Some(Err(newer @ Error::NewerFormat(_))) => return Err(newer),
                    _ if after_rollback => None,
                    _ => {
                        return Err(refused(
                            FailureKind::DigestMismatch,
                            format!(
                                "the service's digest at version {version} does not open under \
                                 this owner's key (or is missing), so nothing says what it \
                                 counted or which partitions it kept; look at the records, then \
                                 rebuild with --after-rollback (after_rollback) to replace it"
                            ),
                        ))
                    }
                }
            }
        };
        // A seen digest a newer version wrote is refused as the stored one is; one that does
        // not open leaves nothing to check against.
        let seen = match seen.filter(|&(v, _)| v > 0) {
            Some((v, sealed)) => match OwnerDigest::open(keys, self.kb(), v, sealed) {
                Ok(digest) => Some(digest),
                Err(newer @ Error::NewerFormat(_)) => return Err(newer),
                Err(_) => None,
            },
            None => None,
        };
        if let (Some(stored), Some(seen)) = (&stored, &seen) {
            if seen.version <= stored.version && !after_rollback {
                stored
                    .check_extends(seen, links)
                    .map_err(|error| after_rollback_hint(error, stored.version))?;
            }
        }
        if rollback_noted && !after_rollback {
            return Err(refused(
                FailureKind::RolledBack,
                format!(
                    "this owner found knowledge base {} rolled back or forked earlier, and has \
                     not rebuilt its digest since: whatever digest the service shows now, the \
                     records it holds may be an earlier copy (records deleted since come \
                     back); look at them, then rebuild with --after-rollback (after_rollback) \
                     to take them",
                    self.kb()
                ),
            ));
        }
        if let Some(stored) = &stored {
            // Its records are read in the layout it names, not guessed.
            self.learn_layout(stored.layout)?;
        }
        let partitions = match &stored {
            Some(stored) => stored.partitions.clone(),
            None => seen.as_ref().and_then(|d| d.partitions.clone()),
        };
        let counted_field = match (&partitions, counted_field) {
            (None, field) => field,
            (Some(_), None) => Some(PARTITION_FIELD),
            (Some(_), Some(field)) if field == PARTITION_FIELD => Some(field),
            (Some(_), Some(field)) => {
                return Err(Error::InvalidParameter(format!(
                    "knowledge base {} is partitioned: its digest counts {PARTITION_FIELD} per \
                     value, not {field}",
                    self.kb()
                )))
            }
        };
        Ok(DigestRebuild {
            expected_version: stored_version,
            version,
            counted_field: counted_field.map(str::to_owned),
            partitions,
            base: stored.or(seen).unwrap_or_default(),
        })
    }

    /// The digest `plan` rebuilds, counting `records` (verified, with their values of the
    /// counted field), and its sealed bytes.
    pub fn rebuilt_digest(
        &self,
        plan: &DigestRebuild,
        records: &[CountedRecord],
    ) -> Result<(OwnerDigest, String)> {
        let keys = self.keys()?;
        let mut digest = OwnerDigest::new(plan.counted_field());
        digest.layout = match self.known_layout() {
            Some(LayoutKind::Sealed) => LayoutKind::Sealed,
            _ => self.layout()?.kind(),
        };
        for (record, value) in records {
            digest.add(keys, self.kb(), *record, value.as_deref());
        }
        digest.version = plan.version;
        digest.partitions = plan.partitions.clone();
        digest.chain_onto(keys, self.kb(), &plan.base)?;
        let sealed = digest.seal(keys, self.kb())?;
        Ok((digest, sealed))
    }
}

/// A fork found while planning a rebuild, with what the owner does to take that branch.
fn after_rollback_hint(error: Error, stored: i64) -> Error {
    let Error::AnswerRejected(rejection) = &error else {
        return error;
    };
    let detail = rejection
        .failures
        .first()
        .and_then(|f| f.detail.clone())
        .unwrap_or_default();
    refused(
        FailureKind::Forked,
        format!(
            "{detail}; a rebuild would count the records of the branch at version {stored} as \
             they are: look at them, then rebuild with --after-rollback (after_rollback) to \
             take them"
        ),
    )
}
