//! One write of records planned against the owner's digest as the service holds it: the chunk
//! ids its inserted records take, the digest one version on (with the partitions the write
//! installs, counted per partition), the check of the ids the service answers with, and the
//! attempts a write makes when other writers move the digest on ([`WriteAttempts`]). Both
//! clients run these; what stays theirs is the transport: reading the digest and sending the
//! write with the chunks.

use crate::error::{Error, Result};
use crate::verifiable::records::answer::refused;
use crate::verifiable::{
    CountedRecord, DigestChange, FailureKind, LayoutKind, OwnerDigest, Partitioning, RecordCodec,
    RecordNonce, WRITE_ATTEMPTS,
};

/// What one write puts into and takes out of the owner's digest.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordWrite {
    /// The inserted records' nonces and counted values, in the order sent: they take the
    /// service's chunk ids from its next one on.
    pub inserted: Vec<(RecordNonce, Option<String>)>,
    /// The records replaced in place (updated or patched: their ids stay), with their new
    /// nonces and values.
    pub replaced: Vec<CountedRecord>,
    /// The records the updates, patches and deletes take out, as the digest counts them.
    pub removed: Vec<CountedRecord>,
    /// The knowledge base's partitions from this write on (none: as they are); the digest then
    /// counts the partition per value.
    pub partitions: Option<Partitioning>,
    /// The layout of the knowledge base's records from this write on (none: as it is): the
    /// last write of a move to sealed vectors.
    pub layout: Option<LayoutKind>,
}

/// A write planned against the digest the service holds: what it sends and what it expects
/// back.
#[derive(Clone, Debug)]
pub struct PlannedWrite {
    /// The digest after the write.
    pub digest: OwnerDigest,
    /// Its sealed bytes.
    pub sealed: String,
    /// The version the service must still hold for the write to commit.
    pub expected_version: i64,
    /// The ids the inserted records take, in order (empty for a write without inserts).
    pub chunk_ids: Vec<i64>,
}

impl PlannedWrite {
    /// The first inserted record's id, where the write inserts any (the service refuses the
    /// write when its next id is another).
    pub fn first_chunk_id(&self) -> Option<i64> {
        self.chunk_ids.first().copied()
    }

    /// What is wrong with `stored`, the ids the service says it stored the inserted records
    /// under, where they are not the ones the digest counts; `None` when they are. The write
    /// committed either way: the next verified search says what the service holds.
    pub fn ids_mismatch(&self, stored: &[i64]) -> Option<String> {
        (stored != self.chunk_ids).then(|| {
            let shown = |ids: &[i64]| format!("{:?}", &ids[..ids.len().min(20)]);
            format!(
                "the records were stored under ids {}, not the {} the owner's digest counts: \
                 the next verified search will say so",
                shown(stored),
                shown(&self.chunk_ids)
            )
        })
    }
}

/// The attempts of one write of records: each plans the write against the digest as read and
/// sends it; another writer moving the digest on in between (the service refuses the
/// compare-and-set) costs an attempt, and past [`WRITE_ATTEMPTS`] the write gives up, having
/// written nothing.
///
/// ```
/// use paillier_gpu::verifiable::{WriteAttempts, WRITE_ATTEMPTS};
/// let mut attempts = WriteAttempts::new("kb");
/// for _ in 0..WRITE_ATTEMPTS {
///     attempts.start().unwrap(); // plan, send; a refused compare-and-set goes round again
/// }
/// assert!(attempts.start().unwrap_err().to_string().contains("nothing was written"));
/// ```
#[derive(Clone, Debug)]
pub struct WriteAttempts {
    kb: String,
    made: usize,
}

impl WriteAttempts {
    /// No attempt made yet at a write into knowledge base `kb`.
    pub fn new(kb: &str) -> Self {
        Self {
            kb: kb.to_owned(),
            made: 0,
        }
    }

    /// Starts the next attempt, or refuses as [`Error::ConcurrentWrite`] once every attempt was
    /// refused because other writers moved the digest on.
    pub fn start(&mut self) -> Result<()> {
        if self.made == WRITE_ATTEMPTS {
            return Err(Error::ConcurrentWrite(format!(
                "knowledge base {}: other writers moved the owner's digest on {WRITE_ATTEMPTS} \
                 times while this write was planned; nothing was written, run it again",
                self.kb
            )));
        }
        self.made += 1;
        Ok(())
    }
}

impl RecordCodec {
    /// Refuses, as [`FailureKind::DigestMismatch`], to write into a knowledge base that holds
    /// `chunks` chunks but no owner's digest (`current` at version 0: written before digests,
    /// or by another client) until the owner has counted them. [`plan_write`](Self::plan_write)
    /// checks it; a client checks it first too, before it plans (and pays for) a write.
    pub fn check_chunks_counted(&self, current: &OwnerDigest, chunks: u64) -> Result<()> {
        if current.version == 0 && chunks > 0 {
            return Err(refused(
                FailureKind::DigestMismatch,
                format!(
                    "knowledge base {} holds {chunks} chunks and no owner's digest (written \
                     before digests, or by another client): look at them, then count them with \
                     a digest rebuild (`paillier-gpu remote digest rebuild`, \
                     `Client.rebuild_digest` in Python)",
                    self.kb()
                ),
            ));
        }
        Ok(())
    }

    /// `write` planned against `current`, the digest the service holds (opened and checked),
    /// whose knowledge base holds `chunks` chunks and gives the next one `next_chunk_id`. A
    /// knowledge base that holds chunks but no digest (written before digests, or by another
    /// client) is refused as [`FailureKind::DigestMismatch`] until the owner has counted them,
    /// unless `uncounted_ok` (the write that counts them).
    ///
    /// ```
    /// use paillier_gpu::verifiable::{OwnerDigest, RecordCodec, RecordNonce, RecordOptions, RecordWrite};
    /// # use paillier_gpu::{ContextOptions, ExecutionContext};
    /// # let options = ContextOptions { key_len: 256, embed_len: 8, allow_insecure: true, ..Default::default() };
    /// # let ctx = ExecutionContext::create_with_passphrase(&options, "pw").unwrap();
    /// let codec = RecordCodec::new(&ctx, "kb", RecordOptions { verifiable: true, private_meta: false });
    /// let write = RecordWrite {
    ///     inserted: vec![(RecordNonce::random(), None), (RecordNonce::random(), None)],
    ///     ..RecordWrite::default()
    /// };
    /// let planned = codec.plan_write(&OwnerDigest::new(None), 40, 0, write, false).unwrap();
    /// assert_eq!((planned.digest.version(), planned.expected_version), (1, 0));
    /// assert_eq!(planned.chunk_ids, vec![40, 41]);
    /// assert!(planned.ids_mismatch(&[40, 41]).is_none());
    /// ```
    pub fn plan_write(
        &self,
        current: &OwnerDigest,
        next_chunk_id: i64,
        chunks: u64,
        write: RecordWrite,
        uncounted_ok: bool,
    ) -> Result<PlannedWrite> {
        if !uncounted_ok {
            self.check_chunks_counted(current, chunks)?;
        }
        let chunk_ids: Vec<i64> = (next_chunk_id..).take(write.inserted.len()).collect();
        let mut added: Vec<CountedRecord> = chunk_ids
            .iter()
            .zip(write.inserted)
            .map(|(&id, (nonce, value))| ((id, nonce), value))
            .collect();
        added.extend(write.replaced);
        let mut base = match write.partitions {
            Some(mut partitions) => {
                // The sealed decoys never go down: a lower group would undo what earlier
                // queries' groups hid.
                let sealed = current.partitions.as_ref().map_or(0, |p| p.decoys);
                partitions.decoys = partitions.decoys.max(sealed);
                current.clone().with_partitions(partitions)
            }
            None => current.clone(),
        };
        if let Some(layout) = write.layout {
            base.layout = layout;
        }
        let change = DigestChange {
            removed: write.removed,
            added,
        };
        let (digest, sealed) = self.next_digest(&base, &change)?;
        Ok(PlannedWrite {
            digest,
            sealed,
            expected_version: current.version,
            chunk_ids,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::meta_filter::PARTITION_FIELD;
    use crate::verifiable::test_codec;

    /// Inserts take the ids from the next one on, replacements keep theirs, and the digest is
    /// the one `next_digest` makes of the same change.
    #[test]
    fn a_write_counts_what_it_inserts_replaces_and_removes() {
        let codec = test_codec();
        let first = codec
            .plan_write(
                &OwnerDigest::new(None),
                10,
                0,
                RecordWrite {
                    inserted: (1..=3).map(|n| (RecordNonce(n), None)).collect(),
                    ..RecordWrite::default()
                },
                false,
            )
            .unwrap();
        assert_eq!(first.chunk_ids, vec![10, 11, 12]);
        assert_eq!(first.first_chunk_id(), Some(10));
        assert_eq!(first.digest.link().map(|l| l.version), Some(1));
        let write = RecordWrite {
            inserted: vec![(RecordNonce(9), None)],
            replaced: vec![((11, RecordNonce(4)), None)],
            removed: vec![((11, RecordNonce(2)), None), ((12, RecordNonce(3)), None)],
            partitions: None,
            layout: None,
        };
        let second = codec
            .plan_write(&first.digest, 13, 3, write, false)
            .unwrap();
        let change = DigestChange {
            removed: vec![((11, RecordNonce(2)), None), ((12, RecordNonce(3)), None)],
            added: vec![((13, RecordNonce(9)), None), ((11, RecordNonce(4)), None)],
        };
        let (expected, _) = codec.next_digest(&first.digest, &change).unwrap();
        assert_eq!(second.digest.records, expected.records);
        assert_eq!((second.digest.version, second.expected_version), (2, 1));
        assert_eq!(second.digest.records.count, 3);
        assert_eq!(second.chunk_ids, vec![13]);
        assert!(second.ids_mismatch(&[13]).is_none());
        let wrong = second.ids_mismatch(&[14]).unwrap();
        assert!(wrong.contains("[14], not the [13]"), "{wrong}");
        let none = codec
            .plan_write(&second.digest, 14, 3, RecordWrite::default(), false)
            .unwrap();
        assert_eq!((none.first_chunk_id(), none.chunk_ids.len()), (None, 0));
    }

    #[test]
    fn chunks_without_a_digest_are_refused_unless_the_write_counts_them() {
        let codec = test_codec();
        let write = RecordWrite {
            inserted: vec![(RecordNonce(1), None)],
            ..RecordWrite::default()
        };
        match codec.plan_write(&OwnerDigest::new(None), 5, 5, write.clone(), false) {
            Err(Error::AnswerRejected(rejection)) => {
                assert!(rejection.has(FailureKind::DigestMismatch));
                assert!(rejection
                    .to_string()
                    .contains("holds 5 chunks and no owner's digest"));
            }
            other => panic!("not refused: {other:?}"),
        }
        let counted = codec
            .plan_write(&OwnerDigest::new(None), 5, 5, write, true)
            .unwrap();
        assert_eq!(counted.chunk_ids, vec![5]);
    }

    #[test]
    fn new_partitions_are_counted_per_partition() {
        let codec = test_codec();
        let write = RecordWrite {
            inserted: vec![(RecordNonce(1), Some("0".to_owned()))],
            partitions: Some(Partitioning::default()),
            ..RecordWrite::default()
        };
        let planned = codec
            .plan_write(&OwnerDigest::new(None), 0, 0, write, false)
            .unwrap();
        assert_eq!(
            planned.digest.counted_field.as_deref(),
            Some(PARTITION_FIELD)
        );
        assert!(planned.digest.partitions.is_some());
        assert_eq!(planned.digest.values.len(), 1);
    }

    #[test]
    fn a_write_naming_a_layout_changes_the_digests_and_one_naming_none_keeps_it() {
        let codec = test_codec();
        let first = codec
            .plan_write(&OwnerDigest::new(None), 1, 0, RecordWrite::default(), false)
            .unwrap();
        let kept = first.digest.layout;
        let moved = RecordWrite {
            layout: Some(LayoutKind::Sealed),
            ..RecordWrite::default()
        };
        let sealed = codec.plan_write(&first.digest, 1, 0, moved, false).unwrap();
        assert_eq!(
            (kept, sealed.digest.layout),
            (LayoutKind::TwoBit, LayoutKind::Sealed)
        );
        let later = codec
            .plan_write(&sealed.digest, 1, 0, RecordWrite::default(), false)
            .unwrap();
        assert_eq!(later.digest.layout, LayoutKind::Sealed);
    }
}
