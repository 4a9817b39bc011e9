//! Decoys that hide which partitions a search wants. A knowledge base's partitions stand in one
//! order drawn under the owner's key, and a search probes whole groups of that order: slices of
//! `g × 2^k` aligned at its start, where `g` is the knowledge base's own group size (sealed in
//! its digest) and `2^k` the least power of two that makes a group of at least `decoys + 1`.
//! So a group of any size asked is a union of the groups of every smaller size: intersecting
//! the partitions one query names under different `decoys` never narrows below the smallest
//! group asked, nor below one of the knowledge base's own groups. Each group is padded to its
//! full size with partitions that do not exist (numbers past the last one, which no record
//! holds), and a probe of P partitions names the groups of its P nearest distinct groups: the
//! number of partitions a search names depends only on P and the group size, never on where
//! its nearest partitions fall.

use hmac::Mac;

use crate::error::{Error, Result};
use crate::verifiable::keys::hmac_sha256;
use crate::verifiable::records::codec::RecordCodec;
use crate::verifiable::RecordKeys;

const GROUP_DOMAIN: &[u8] = b"paillier-gpu/probe-groups/2";

/// The most partitions a knowledge base's own decoy group holds.
pub const MAX_DECOY_GROUP: usize = 1 << 10;

/// The size of the groups a search probes when it asks for `decoys` per wanted partition over
/// a knowledge base whose own groups hold `base` partitions: `base × 2^k` for the least `k`
/// that reaches `decoys + 1`.
///
/// ```
/// use paillier_gpu::verifiable::decoy_group_size;
/// assert_eq!(decoy_group_size(1, 0), 1);
/// assert_eq!(decoy_group_size(1, 2), 4);
/// assert_eq!(decoy_group_size(3, 0), 3);
/// assert_eq!(decoy_group_size(3, 4), 6);
/// ```
pub fn decoy_group_size(base: usize, decoys: usize) -> usize {
    let base = base.clamp(1, MAX_DECOY_GROUP);
    let mut size = base;
    while size < decoys.saturating_add(1) && size < MAX_DECOY_GROUP * MAX_DECOY_GROUP {
        size *= 2;
    }
    size
}

impl RecordCodec {
    /// The partitions a search probes (ascending) over a knowledge base of `partitions`
    /// partitions, given them ranked nearest first (`ranked`, every partition or at least
    /// enough of them), when it wants `wanted` partitions hidden in groups of `group`
    /// ([`decoy_group_size`]): the whole groups of the nearest partitions until `wanted`
    /// distinct groups are named (or every group), each padded to `group` entries with
    /// partition numbers past the last (`partitions` and up), which no record holds.
    ///
    /// ```
    /// # use paillier_gpu::verifiable::{RecordCodec, RecordOptions};
    /// # use paillier_gpu::{ContextOptions, ExecutionContext};
    /// # let options = ContextOptions { key_len: 256, embed_len: 8, allow_insecure: true, ..Default::default() };
    /// # let ctx = ExecutionContext::create_with_passphrase(&options, "pw").unwrap();
    /// let codec = RecordCodec::new(&ctx, "kb-1", RecordOptions { verifiable: true, private_meta: false });
    /// let ranked: Vec<u32> = vec![5, 0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11];
    /// let probed = codec.probe_with_decoys(12, &ranked, 1, 4).unwrap();
    /// assert_eq!(probed.len(), 4);
    /// assert!(probed.contains(&5));
    /// assert_eq!(codec.probe_with_decoys(12, &ranked, 1, 4).unwrap(), probed); // the same group again
    /// assert_eq!(codec.probe_with_decoys(12, &ranked, 2, 4).unwrap().len(), 8); // always 2 × 4
    /// assert_eq!(codec.probe_with_decoys(12, &ranked, 1, 1).unwrap(), vec![5]);
    /// ```
    pub fn probe_with_decoys(
        &self,
        partitions: usize,
        ranked: &[u32],
        wanted: usize,
        group: usize,
    ) -> Result<Vec<u32>> {
        if let Some(&outside) = ranked.iter().find(|&&p| p as usize >= partitions) {
            return Err(Error::InvalidParameter(format!(
                "partition {outside} of a knowledge base of {partitions} partitions"
            )));
        }
        let group = group.max(1);
        let order = keyed_order(self.keys()?, self.kb(), partitions);
        let mut position = vec![0usize; partitions];
        for (at, &partition) in order.iter().enumerate() {
            position[partition as usize] = at;
        }
        let groups = partitions.div_ceil(group);
        let mut named: Vec<usize> = Vec::new();
        for &partition in ranked {
            if named.len() >= wanted.min(groups) {
                break;
            }
            let index = position[partition as usize] / group;
            if !named.contains(&index) {
                named.push(index);
            }
        }
        // The order extended past its end with partitions that do not exist, so that every
        // group has `group` entries and a smaller group stays a slice of a larger one.
        let at = |slot: usize| order.get(slot).copied().unwrap_or(slot as u32);
        let mut probed: Vec<u32> = named
            .iter()
            .flat_map(|index| (index * group..(index + 1) * group).map(at))
            .collect();
        probed.sort_unstable();
        Ok(probed)
    }
}

/// Partitions `0..partitions` in the order of their HMAC under the digest key, for this
/// knowledge base and partition count.
fn keyed_order(keys: &RecordKeys, kb: &str, partitions: usize) -> Vec<u32> {
    let mut order: Vec<([u8; 32], u32)> = (0..partitions as u32)
        .map(|partition| {
            let mut mac = hmac_sha256(&keys.digest);
            mac.update(GROUP_DOMAIN);
            mac.update(&(kb.len() as u64).to_be_bytes());
            mac.update(kb.as_bytes());
            mac.update(&(partitions as u64).to_be_bytes());
            mac.update(&partition.to_be_bytes());
            (mac.finalize().into_bytes().into(), partition)
        })
        .collect();
    order.sort_unstable();
    order.into_iter().map(|(_, partition)| partition).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verifiable::test_codec;
    use std::collections::BTreeSet;

    fn set(probed: Vec<u32>) -> BTreeSet<u32> {
        probed.into_iter().collect()
    }

    #[test]
    fn a_probe_names_the_same_number_of_partitions_wherever_its_nearest_fall() {
        let codec = test_codec();
        let partitions: usize = 13;
        for base in [1, 2, 3] {
            for decoys in [0, 1, 2, 4] {
                let group = decoy_group_size(base, decoys);
                for wanted in 1..=4 {
                    let names = wanted.min(partitions.div_ceil(group)) * group;
                    for first in 0..partitions as u32 {
                        let ranked: Vec<u32> = (0..partitions as u32)
                            .map(|p| (p + first) % partitions as u32)
                            .collect();
                        let probed = codec
                            .probe_with_decoys(partitions, &ranked, wanted, group)
                            .unwrap();
                        assert_eq!(probed.len(), names, "{base} {decoys} {wanted} {first}");
                        assert!(ranked[..wanted].iter().any(|p| probed.contains(p)));
                        assert!(probed.contains(&first));
                    }
                }
            }
        }
    }

    #[test]
    fn intersecting_one_querys_probes_never_narrows_below_the_knowledge_bases_group() {
        let codec = test_codec();
        let partitions: usize = 16;
        for base in [1, 2, 3] {
            for first in 0..partitions as u32 {
                let ranked: Vec<u32> = (0..partitions as u32)
                    .map(|p| (p * 7 + first) % partitions as u32)
                    .collect();
                let mut common: Option<BTreeSet<u32>> = None;
                for decoys in 0..8 {
                    let group = decoy_group_size(base, decoys);
                    let probed = set(codec
                        .probe_with_decoys(partitions, &ranked, 1, group)
                        .unwrap());
                    common = Some(match common {
                        Some(common) => common.intersection(&probed).copied().collect(),
                        None => probed,
                    });
                }
                // What every ask shares is the knowledge base's whole group of the nearest.
                let own = set(codec
                    .probe_with_decoys(partitions, &ranked, 1, base)
                    .unwrap());
                assert_eq!(common.unwrap(), own, "{base} {first}");
            }
        }
    }

    #[test]
    fn partitions_outside_the_knowledge_base_are_refused() {
        let codec = test_codec();
        assert!(codec.probe_with_decoys(4, &[4], 1, 1).is_err());
    }
}
