//! Which partitions a search probes: the nearest ones to its vector (as many as the owner's
//! recommendation, sealed with the model, unless the caller says), each with its whole decoy
//! group; or every record the search selects, for a knowledge base that is not partitioned, a
//! search with a filter or a range, and `Probe::All`. Both clients ask this one rule.

use crate::error::{Error, Result};
use crate::verifiable::{decoy_group_size, OwnerDigest, RecordCodec};

/// How many partitions a search probes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Probe {
    /// The owner's recommendation, sealed with the partitions: the fewest whose estimated
    /// recall@10 reached the target when they were trained (every record when the knowledge
    /// base is not partitioned, or the search has a filter or a range).
    #[default]
    Recommended,
    /// The `n` partitions nearest the query.
    Partitions(usize),
    /// Every record: the exhaustive search.
    All,
}

/// What a search asks, as the rules that combine its options see it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SearchAsked {
    /// A verified search (verifiable records).
    pub verified: bool,
    /// How many partitions it probes.
    pub probe: Probe,
    /// How many partitions hide each one it wants.
    pub decoys: usize,
    /// It has a filter or a range.
    pub filtered: bool,
    /// The caller gave the count of records the answer must hold.
    pub expect_count: bool,
}

impl SearchAsked {
    /// Refuses options that do not go together: an expected count with a filter, a range, an
    /// unverified search or a probe of some partitions (a count is of the whole knowledge
    /// base), and partitions or decoys on an unverified search (the owner's digest holds the
    /// partitions).
    ///
    /// ```
    /// use paillier_gpu::verifiable::{Probe, SearchAsked};
    /// let asked = SearchAsked { verified: true, probe: Probe::Partitions(2), ..Default::default() };
    /// assert!(asked.check().is_ok());
    /// assert!(SearchAsked { expect_count: true, ..asked }.check().is_err());
    /// assert!(SearchAsked { verified: false, ..asked }.check().is_err());
    /// ```
    pub fn check(&self) -> Result<()> {
        let refused = |why: &str| Err(Error::InvalidParameter(why.to_owned()));
        if self.expect_count && self.filtered {
            return refused(
                "an expected count only holds for a search with no filter and no range",
            );
        }
        if self.expect_count && !self.verified {
            return refused(
                "an expected count is checked only on a verified search (of verifiable records)",
            );
        }
        if self.expect_count && matches!(self.probe, Probe::Partitions(_)) {
            return refused(
                "an expected count is of the whole knowledge base: probe every record (the \
                 recommended probe or all) to check it",
            );
        }
        if !self.verified && (matches!(self.probe, Probe::Partitions(_)) || self.decoys > 0) {
            return refused(
                "partitions are probed by a verified search only (of verifiable records): the \
                 owner's digest holds them",
            );
        }
        Ok(())
    }
}

impl RecordCodec {
    /// The partitions a search of `vector` probes, ascending, or none when it reads every
    /// record it selects. `digest` is the knowledge base's (none or version 0: it has none),
    /// `filtered` says the search has a filter or a range (which select records otherwise), and
    /// `decoys` how many partitions hide each one it wants: the nearest are probed with their
    /// whole groups of at least `decoys + 1` ([`decoy_group_size`]), as many groups as partitions
    /// probed ([`probe_with_decoys`](Self::probe_with_decoys)). Refused, except a probe of every
    /// record, while a partitions rebuild is under way.
    ///
    /// ```
    /// use paillier_gpu::verifiable::{OwnerDigest, Probe, RecordCodec, RecordOptions};
    /// # use paillier_gpu::{ContextOptions, ExecutionContext};
    /// # let options = ContextOptions { key_len: 256, embed_len: 8, allow_insecure: true, ..Default::default() };
    /// # let ctx = ExecutionContext::create_with_passphrase(&options, "pw").unwrap();
    /// let codec = RecordCodec::new(&ctx, "kb", RecordOptions { verifiable: true, private_meta: false });
    /// let none = OwnerDigest::new(None);
    /// // Not partitioned: the search reads every record, and a probe of some is refused.
    /// assert_eq!(codec.probed_partitions(Some(&none), &[0; 8], Probe::Recommended, false, 0).unwrap(), None);
    /// assert!(codec.probed_partitions(Some(&none), &[0; 8], Probe::Partitions(2), false, 0).is_err());
    /// ```
    pub fn probed_partitions(
        &self,
        digest: Option<&OwnerDigest>,
        vector: &[u8],
        probe: Probe,
        filtered: bool,
        decoys: usize,
    ) -> Result<Option<Vec<u32>>> {
        let partitioning = digest.and_then(|d| d.partitions.as_ref());
        let model = partitioning.and_then(|p| p.model.as_ref());
        let wanted = match (probe, model) {
            (Probe::Partitions(0), _) => {
                return Err(Error::InvalidParameter(
                    "a search probes at least 1 partition (or all)".into(),
                ))
            }
            (Probe::All, _) | (Probe::Recommended, None) => None,
            (Probe::Recommended, Some(_)) if filtered => None,
            (Probe::Partitions(_), _) if filtered => {
                return Err(Error::InvalidParameter(
                    "a search with a filter or a range reads every record it selects: probe \
                     partitions without one"
                        .into(),
                ))
            }
            (Probe::Partitions(n), None) => {
                return Err(Error::InvalidParameter(format!(
                    "probing {n} partitions of a knowledge base that is not partitioned (upload \
                     with --partitions, or run `paillier-gpu remote partitions rebuild`; in \
                     Python, upload with partitions=N or \"auto\", or \
                     Client.rebuild_partitions)"
                )))
            }
            (Probe::Recommended, Some(model)) => Some((model, model.default_probe())),
            (Probe::Partitions(n), Some(model)) => Some((model, n)),
        };
        if wanted.is_some() && partitioning.is_some_and(|p| p.next.is_some()) {
            // Records are moving between two models: a probe of either misses the others'.
            return Err(Error::InvalidParameter(format!(
                "knowledge base {} is between two partition models (a partitions rebuild did \
                 not finish): `paillier-gpu remote partitions rebuild` (Python: \
                 Client.rebuild_partitions) finishes it; meanwhile search with --probe all \
                 (probe=\"all\")",
                self.kb()
            )));
        }
        match wanted {
            Some((model, wanted)) => {
                // The knowledge base's sealed decoys are the fewest any query takes.
                let sealed = partitioning.map_or(0, |p| p.decoys);
                let ranked = model.nearest(vector, model.partitions())?;
                Ok(Some(self.probe_with_decoys(
                    model.partitions(),
                    &ranked,
                    wanted,
                    decoy_group_size(1, decoys.max(sealed)),
                )?))
            }
            None if decoys > 0 => Err(Error::InvalidParameter(
                "decoys hide which partitions a search probes: they need a partitioned \
                 knowledge base and a search that probes some of its partitions"
                    .into(),
            )),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verifiable::{test_codec, test_model, Partitioning};

    fn partitioned(partitions: usize) -> OwnerDigest {
        let model = test_model(partitions);
        let mut digest = OwnerDigest::new(None);
        digest.partitions = Some(Partitioning {
            model: Some(model),
            next: None,
            ..Partitioning::default()
        });
        digest
    }

    #[test]
    fn a_search_probes_the_nearest_partitions_with_their_decoy_groups() {
        let codec = test_codec();
        let digest = partitioned(6);
        let model = digest.partitions.as_ref().unwrap().model.as_ref().unwrap();
        let vector = [1, 0, 1, 0, 1, 0, 1, 0];
        let probe = |probe, filtered, decoys| {
            codec.probed_partitions(Some(&digest), &vector, probe, filtered, decoys)
        };
        let mut nearest = model.nearest(&vector, 2).unwrap();
        nearest.sort_unstable();
        assert_eq!(
            probe(Probe::Partitions(2), false, 0).unwrap(),
            Some(nearest)
        );
        let recommended = probe(Probe::Recommended, false, 0).unwrap().unwrap();
        assert_eq!(recommended.len(), model.default_probe());
        let hidden = probe(Probe::Partitions(1), false, 2).unwrap().unwrap();
        assert_eq!(hidden.len(), 4);
        assert_eq!(
            probe(Probe::Partitions(2), false, 1)
                .unwrap()
                .unwrap()
                .len(),
            4
        );
        assert_eq!(
            hidden,
            probe(Probe::Partitions(1), false, 2).unwrap().unwrap()
        );
        assert_eq!(probe(Probe::All, false, 0).unwrap(), None);
        // A filter or a range reads every record it selects.
        assert_eq!(probe(Probe::Recommended, true, 0).unwrap(), None);
        let filtered = probe(Probe::Partitions(2), true, 0)
            .unwrap_err()
            .to_string();
        assert!(filtered.contains("without one"), "{filtered}");
        let zero = probe(Probe::Partitions(0), false, 0)
            .unwrap_err()
            .to_string();
        assert!(zero.contains("at least 1 partition"), "{zero}");
        let decoys = probe(Probe::All, false, 1).unwrap_err().to_string();
        assert!(decoys.contains("decoys hide"), "{decoys}");
    }

    /// A knowledge base's sealed decoys are the fewest every query takes: a query asking none
    /// names the same group as one asking them, one asking more a larger group around it, and
    /// a write never lowers them.
    #[test]
    fn the_sealed_decoys_are_the_fewest_a_query_takes_and_never_go_down() {
        let codec = test_codec();
        let mut digest = partitioned(16);
        let vector = [1, 0, 1, 1, 0, 0, 1, 0];
        let probe = |digest: &OwnerDigest, decoys| {
            let probed =
                codec.probed_partitions(Some(digest), &vector, Probe::Partitions(1), false, decoys);
            probed.unwrap().unwrap()
        };
        let open = probe(&digest, 0);
        assert_eq!(open.len(), 1);
        digest.partitions.as_mut().unwrap().decoys = 3;
        let sealed = probe(&digest, 0);
        assert_eq!(sealed.len(), 4);
        assert!(sealed.contains(&open[0]));
        assert_eq!(
            probe(&digest, 1),
            sealed,
            "asking fewer than sealed takes the sealed group"
        );
        let more = probe(&digest, 7);
        assert_eq!(more.len(), 8);
        assert!(
            sealed.iter().all(|p| more.contains(p)),
            "a larger group holds the sealed one"
        );
        // A write installing partitions without decoys keeps the sealed ones.
        let (keys_digest, _) = codec.next_digest(&digest, &Default::default()).unwrap();
        let write = crate::verifiable::RecordWrite {
            partitions: Some(
                digest
                    .partitions
                    .clone()
                    .map(|p| Partitioning { decoys: 0, ..p })
                    .unwrap(),
            ),
            ..Default::default()
        };
        let planned = codec.plan_write(&keys_digest, 0, 0, write, true).unwrap();
        assert_eq!(planned.digest.partitions.as_ref().unwrap().decoys, 3);
    }

    #[test]
    fn a_probe_of_some_partitions_is_refused_between_two_models() {
        let codec = test_codec();
        let mut digest = partitioned(6);
        if let Some(partitions) = digest.partitions.as_mut() {
            partitions.next = Some(test_model(4));
        }
        for probe in [Probe::Recommended, Probe::Partitions(1)] {
            let refused = codec
                .probed_partitions(Some(&digest), &[0; 8], probe, false, 0)
                .unwrap_err()
                .to_string();
            assert!(refused.contains("partitions rebuild"), "{refused}");
        }
        assert_eq!(
            codec
                .probed_partitions(Some(&digest), &[0; 8], Probe::All, false, 0)
                .unwrap(),
            None
        );
    }

    #[test]
    fn a_knowledge_base_without_partitions_is_read_whole() {
        let codec = test_codec();
        for digest in [None, Some(OwnerDigest::new(None))] {
            let probe = |probe, decoys| {
                codec.probed_partitions(digest.as_ref(), &[0; 8], probe, false, decoys)
            };
            assert_eq!(probe(Probe::Recommended, 0).unwrap(), None);
            let some = probe(Probe::Partitions(3), 0).unwrap_err().to_string();
            assert!(some.contains("not partitioned"), "{some}");
            assert!(probe(Probe::Recommended, 2).is_err());
        }
    }
}
