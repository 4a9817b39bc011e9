//! The owner's digest as a client reads and advances it, with no I/O: the service's sealed copy
//! checked against the highest one this owner has seen and opened, and the next version made
//! from what a write adds and removes. Both clients carry these over HTTP.

use crate::error::{Error, FailureKind, Result};
use crate::verifiable::records::answer::refused;
use crate::verifiable::records::codec::RecordCodec;
use crate::verifiable::records::record_layout::LayoutKind;
use crate::verifiable::{DigestLink, OwnerDigest, RecordNonce};

/// How many times a write of records is planned again (the digest read afresh) after other
/// writers moved the owner's digest on between its read and its compare-and-set; past it the
/// write gives up, having written nothing.
pub const WRITE_ATTEMPTS: usize = 8;

/// A record as the digest counts it: its chunk id and nonce, and its value of the counted field
/// (when the digest counts one and the record's metadata holds a string there).
pub type CountedRecord = ((i64, RecordNonce), Option<String>);

/// A record's value of the digest's counted field `field` (none: it counts none), by the rule
/// the service's filter selects with ([`field_string`](crate::meta_filter::field_string)): a
/// string as it is, a number or a boolean as its JSON text, so that `{"tag1": "5"}` selects
/// exactly the records counted under "5"; none when the field is absent, null, a list or an
/// object (which no equality filter selects).
///
/// ```
/// use paillier_gpu::verifiable::counted_value;
/// let meta = serde_json::json!({"tag1": "a", "tag2": 3, "tag3": [1]});
/// let meta = meta.as_object().unwrap();
/// assert_eq!(counted_value(meta, Some("tag1")).as_deref(), Some("a"));
/// assert_eq!(counted_value(meta, Some("tag2")).as_deref(), Some("3"));
/// assert_eq!(counted_value(meta, Some("tag3")), None);
/// assert_eq!(counted_value(meta, None), None);
/// ```
pub fn counted_value(
    meta_data: &serde_json::Map<String, serde_json::Value>,
    field: Option<&str>,
) -> Option<String> {
    crate::meta_filter::field_string(meta_data, field?).map(std::borrow::Cow::into_owned)
}

/// Refuses counting `field` per value unless it is one of the string fields an equality filter
/// selects whole values of ([`STRING_FIELDS`](crate::meta_filter::STRING_FIELDS): the five
/// tags and the partition): a count of `facets`, or of a field no filter tests, would cover a
/// search it does not count.
///
/// ```
/// use paillier_gpu::verifiable::check_countable;
/// assert!(check_countable("tag1").is_ok());
/// assert!(check_countable("facets").is_err());
/// ```
pub fn check_countable(field: &str) -> Result<()> {
    match crate::meta_filter::STRING_FIELDS.contains(&field) {
        true => Ok(()),
        false => Err(Error::InvalidParameter(format!(
            "the owner's digest counts one of {} per value, not {field}: a filter selects \
             whole values of those only",
            crate::meta_filter::STRING_FIELDS.join(", ")
        ))),
    }
}

/// What one write changes: the records it takes out (updated or deleted) and puts in (inserted
/// or updated).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DigestChange {
    /// Records taken out.
    pub removed: Vec<CountedRecord>,
    /// Records put in.
    pub added: Vec<CountedRecord>,
}

impl RecordCodec {
    /// The owner's digest from the service's copy (`version`, 0 for none, and its `sealed`
    /// bytes), checked against `seen`, the highest version this owner has seen and its bytes:
    /// an older version is refused as [`FailureKind::RolledBack`]; the seen version with other
    /// bytes, or a copy that does not open, as [`FailureKind::DigestMismatch`].
    ///
    /// A version later than the one seen must extend it: that takes the service's links
    /// between them, which this form does not have, so it accepts a later version only when
    /// that version was written on the one seen. [`open_digest_holding`](Self::open_digest_holding)
    /// takes the links.
    pub fn open_digest(
        &self,
        version: i64,
        sealed: Option<&str>,
        seen: Option<(i64, &str)>,
    ) -> Result<OwnerDigest> {
        self.open_digest_with(version, sealed, seen, &[], None)
    }

    /// [`open_digest`](Self::open_digest), `none_layout` the layout a knowledge base without a
    /// digest is taken to hold (none: this codec's, else the context's preferred). The layout
    /// is learnt only once every check has passed.
    fn open_digest_with(
        &self,
        version: i64,
        sealed: Option<&str>,
        seen: Option<(i64, &str)>,
        links: &[DigestLink],
        none_layout: Option<LayoutKind>,
    ) -> Result<OwnerDigest> {
        if let Some((seen_version, _)) = seen.filter(|&(seen_version, _)| version < seen_version) {
            return Err(refused(
                FailureKind::RolledBack,
                format!("the service holds version {version}, this owner has seen version {seen_version}"),
            ));
        }
        if version == 0 {
            // A knowledge base without records: its first digest fixes the layout, the one
            // this codec was given or else the context's preferred one.
            let layout = match self.known_layout().or(none_layout) {
                Some(layout) => layout,
                None => self.context().preferred_layout()?.kind(),
            };
            self.learn_layout(layout)?;
            self.note_digest(0);
            return Ok(OwnerDigest {
                layout,
                ..OwnerDigest::default()
            });
        }
        let Some(sealed) = sealed else {
            return Err(refused(
                FailureKind::DigestMismatch,
                format!("the service says version {version} and holds no digest"),
            ));
        };
        if let Some((_, seen_sealed)) = seen.filter(|&(v, bytes)| v == version && bytes != sealed) {
            // Another digest under the number seen: a fork where both open with other chain
            // values (another machine wrote this version after a restore), else not this
            // owner's.
            let keys = self.keys()?;
            let shown = OwnerDigest::open(keys, self.kb(), version, sealed);
            let seen = OwnerDigest::open(keys, self.kb(), version, seen_sealed);
            if let (Ok(shown), Ok(seen)) = (shown, seen) {
                if shown.chain.is_some() {
                    shown.check_extends(&seen, &[])?;
                }
            }
            return Err(refused(
                FailureKind::DigestMismatch,
                format!(
                    "the service's digest at version {version} is not the one this owner wrote"
                ),
            ));
        }
        let digest =
            OwnerDigest::open(self.keys()?, self.kb(), version, sealed).map_err(|e| match e {
                Error::NewerFormat(_) => e,
                _ => refused(
                    FailureKind::DigestMismatch,
                    format!(
                        "the service's digest at version {version} does not open under this \
                         owner's key"
                    ),
                ),
            })?;
        if let Some((seen_version, seen_sealed)) = seen.filter(|&(v, _)| v > 0 && v < version) {
            let seen = OwnerDigest::open(self.keys()?, self.kb(), seen_version, seen_sealed)
                .map_err(|e| match e {
                    Error::NewerFormat(_) => e,
                    _ => Error::InvalidParameter(format!(
                        "this owner's record of version {seen_version} of the digest of \
                         knowledge base {} does not open under its key",
                        self.kb()
                    )),
                })?;
            digest.check_extends(&seen, links)?;
        }
        check_partitions(&digest, self.context().embed_len())?;
        self.learn_layout(digest.layout)?;
        self.note_digest(version);
        Ok(digest)
    }

    /// [`open_digest`](Self::open_digest) where the service also says how many chunks the
    /// knowledge base holds. With no digest and some chunks, its records were written before
    /// digests, so before layouts were named: two-bit. (A service that lies about the count
    /// only picks the layout a first write takes, or has older records refused: either layout
    /// refuses every altered answer.)
    ///
    /// `links`: the service's links from after the seen version on, through which a later
    /// version must extend the one seen ([`FailureKind::Forked`] otherwise, or where one is
    /// missing).
    pub fn open_digest_holding(
        &self,
        version: i64,
        sealed: Option<&str>,
        seen: Option<(i64, &str)>,
        chunks: u64,
        links: &[DigestLink],
    ) -> Result<OwnerDigest> {
        let none_layout = (chunks > 0).then_some(LayoutKind::TwoBit);
        self.open_digest_with(version, sealed, seen, links, none_layout)
    }

    /// The version a rebuild of the digest writes over the service's `stored` version, given
    /// `seen`, the highest version this owner has seen: one past both, so that a rebuild never
    /// lowers or reuses a version (another digest under a number once seen would pass as it).
    /// Where the owner has seen a later version than the service holds (a rollback), the
    /// records the service holds are an earlier copy, and counting them would bring back what
    /// was deleted since: refused as [`FailureKind::RolledBack`] unless `after_rollback` (the
    /// owner has looked at them and takes them as they are).
    ///
    /// ```
    /// # use paillier_gpu::verifiable::{RecordCodec, RecordOptions};
    /// # use paillier_gpu::{ContextOptions, ExecutionContext};
    /// # let options = ContextOptions { key_len: 256, embed_len: 8, allow_insecure: true, ..Default::default() };
    /// # let ctx = ExecutionContext::create_with_passphrase(&options, "pw").unwrap();
    /// let codec = RecordCodec::new(&ctx, "kb-1", RecordOptions { verifiable: true, private_meta: false });
    /// assert_eq!(codec.rebuild_version(3, Some(3), false).unwrap(), 4);
    /// assert!(codec.rebuild_version(1, Some(3), false).is_err()); // rolled back
    /// assert_eq!(codec.rebuild_version(1, Some(3), true).unwrap(), 4);
    /// ```
    pub fn rebuild_version(
        &self,
        stored: i64,
        seen: Option<i64>,
        after_rollback: bool,
    ) -> Result<i64> {
        let seen = seen.unwrap_or(0);
        if seen > stored && !after_rollback {
            return Err(refused(
                FailureKind::RolledBack,
                format!(
                    "the service holds version {stored}, this owner has seen version {seen}: \
                     the records it holds are an earlier copy, and a rebuild would count them \
                     as they are (records deleted since come back); look at them, then rebuild \
                     with --after-rollback (after_rollback) to take them"
                ),
            ));
        }
        stored.max(seen).checked_add(1).ok_or_else(|| {
            Error::InvalidParameter(format!(
                "digest version {} has no successor",
                stored.max(seen)
            ))
        })
    }

    /// The digest after `change`, one version on from `current`, and its sealed bytes.
    pub fn next_digest(
        &self,
        current: &OwnerDigest,
        change: &DigestChange,
    ) -> Result<(OwnerDigest, String)> {
        let keys = self.keys()?;
        let mut next = current.clone();
        for (record, value) in &change.removed {
            next.remove(keys, self.kb(), *record, value.as_deref());
        }
        for (record, value) in &change.added {
            next.add(keys, self.kb(), *record, value.as_deref());
        }
        next.version = current.version + 1;
        next.chain_onto(keys, self.kb(), current)?;
        let sealed = next.seal(keys, self.kb())?;
        Ok((next, sealed))
    }
}

/// Refuses a digest whose partitions do not hold together or are not of `embed_len`
/// dimensions: it opened, so the owner sealed it, but under another version of this library
/// or for another context's vectors.
pub(in crate::verifiable) fn check_partitions(
    digest: &OwnerDigest,
    embed_len: usize,
) -> Result<()> {
    let Some(partitioning) = &digest.partitions else {
        return Ok(());
    };
    for model in partitioning.model.iter().chain(&partitioning.next) {
        model.check().map_err(|e| {
            Error::InvalidParameter(format!(
                "the owner's digest holds partitions that do not read: {e}"
            ))
        })?;
        if model.dim() != embed_len {
            return Err(Error::InvalidParameter(format!(
                "the owner's digest holds partitions of {}-dimension vectors; this context's have {embed_len}",
                model.dim()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verifiable::test_codec;

    fn kind(result: Result<OwnerDigest>) -> FailureKind {
        match result {
            Err(Error::AnswerRejected(rejection)) => rejection.failures[0].kind,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_digest_is_refused_when_older_than_seen_or_not_the_one_seen() {
        let codec = test_codec();
        let change = DigestChange {
            added: vec![((1, RecordNonce(5)), None)],
            ..DigestChange::default()
        };
        let (first, sealed_1) = codec.next_digest(&OwnerDigest::default(), &change).unwrap();
        let (second, sealed_2) = codec.next_digest(&first, &change).unwrap();
        assert_eq!((first.version, second.version), (1, 2));
        let open = |v, s: &str, seen| codec.open_digest(v, Some(s), seen);
        assert_eq!(
            open(2, &sealed_2, Some((1, sealed_1.as_str()))).unwrap(),
            second
        );
        assert_eq!(
            open(2, &sealed_2, Some((2, sealed_2.as_str()))).unwrap(),
            second
        );
        assert_eq!(
            kind(open(1, &sealed_1, Some((2, &sealed_2)))),
            FailureKind::RolledBack
        );
        assert_eq!(
            kind(codec.open_digest(0, None, Some((2, &sealed_2)))),
            FailureKind::RolledBack
        );
        // Another version 2 written on version 1 (a fork at the number seen); bytes under
        // another version's number.
        let (_, other_2) = codec.next_digest(&first, &DigestChange::default()).unwrap();
        assert_eq!(
            kind(open(2, &other_2, Some((2, &sealed_2)))),
            FailureKind::Forked
        );
        assert_eq!(kind(open(3, &sealed_2, None)), FailureKind::DigestMismatch);
        assert_eq!(
            codec.open_digest(0, None, None).unwrap(),
            OwnerDigest::default()
        );
    }
}
