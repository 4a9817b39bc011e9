//! Decoys that hide which partitions a search wants. A knowledge base's partitions fall into
//! groups of `decoys + 1`, in an order drawn under the owner's key, and a search probes every
//! group that holds one of the partitions it wants, whole. The same query, or two queries near
//! the same partitions, names the same groups: repeating a query shows nothing finer than a
//! group. Decoys drawn afresh for each query would not hold: a few runs of one query intersect in
//! the partitions it wants.

use hmac::Mac;

use crate::error::{Error, Result};
use crate::verifiable::keys::hmac_sha256;
use crate::verifiable::records::codec::RecordCodec;
use crate::verifiable::RecordKeys;

const GROUP_DOMAIN: &[u8] = b"paillier-gpu/probe-groups/1";

impl RecordCodec {
    /// The partitions a search probes (ascending) when it wants `nearest` of a knowledge base of
    /// `partitions` partitions, with `decoys` more per group: each wanted partition's whole
    /// group of at least `decoys + 1` (a short last group joins the one before it, so no group
    /// is smaller), grouped under this owner's key for this knowledge base and partition count.
    ///
    /// ```
    /// # use paillier_gpu::verifiable::{RecordCodec, RecordOptions};
    /// # use paillier_gpu::{ContextOptions, ExecutionContext};
    /// # let options = ContextOptions { key_len: 256, embed_len: 8, allow_insecure: true, ..Default::default() };
    /// # let ctx = ExecutionContext::create_with_passphrase(&options, "pw").unwrap();
    /// let codec = RecordCodec::new(&ctx, "kb-1", RecordOptions { verifiable: true, private_meta: false });
    /// let probed = codec.probe_with_decoys(12, &[5], 2).unwrap();
    /// assert_eq!(probed.len(), 3);
    /// assert!(probed.contains(&5));
    /// assert_eq!(codec.probe_with_decoys(12, &[5], 2).unwrap(), probed); // the same group again
    /// assert_eq!(codec.probe_with_decoys(12, &[5], 0).unwrap(), vec![5]);
    /// ```
    pub fn probe_with_decoys(
        &self,
        partitions: usize,
        nearest: &[u32],
        decoys: usize,
    ) -> Result<Vec<u32>> {
        if let Some(&outside) = nearest.iter().find(|&&p| p as usize >= partitions) {
            return Err(Error::InvalidParameter(format!(
                "partition {outside} of a knowledge base of {partitions} partitions"
            )));
        }
        let groups = decoy_groups(
            self.keys()?,
            self.kb(),
            partitions,
            decoys.saturating_add(1),
        );
        let mut probed: Vec<u32> = groups
            .into_iter()
            .filter(|group| group.iter().any(|p| nearest.contains(p)))
            .flatten()
            .collect();
        probed.sort_unstable();
        Ok(probed)
    }
}

/// Partitions `0..partitions` in groups of `size` (the last one larger where `size` does not
/// divide them), in the order of their HMAC under the digest key.
fn decoy_groups(keys: &RecordKeys, kb: &str, partitions: usize, size: usize) -> Vec<Vec<u32>> {
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
    let mut groups: Vec<Vec<u32>> = order
        .chunks(size.max(1))
        .map(|group| group.iter().map(|&(_, partition)| partition).collect())
        .collect();
    if groups.len() > 1 && groups.last().is_some_and(|last| last.len() < size) {
        if let Some(short) = groups.pop() {
            if let Some(previous) = groups.last_mut() {
                previous.extend(short);
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::DataKey;

    #[test]
    fn groups_cover_every_partition_once_none_smaller_than_asked() {
        let keys = RecordKeys::for_knowledge_base(&DataKey::new([9; 32]), "fp", "kb");
        for (partitions, size) in [(12, 3), (13, 3), (14, 3), (5, 1), (4, 9), (1000, 4)] {
            let groups = decoy_groups(&keys, "kb", partitions, size);
            let mut all: Vec<u32> = groups.iter().flatten().copied().collect();
            all.sort_unstable();
            assert_eq!(all, (0..partitions as u32).collect::<Vec<_>>());
            let least = size.min(partitions);
            assert!(groups
                .iter()
                .all(|g| g.len() >= least && g.len() < size + least.max(size)));
        }
        // Another key or knowledge base groups otherwise.
        let other = RecordKeys::for_knowledge_base(&DataKey::new([8; 32]), "fp", "kb");
        assert_ne!(
            decoy_groups(&keys, "kb", 1000, 4),
            decoy_groups(&other, "kb", 1000, 4)
        );
        assert_ne!(
            decoy_groups(&keys, "kb", 1000, 4),
            decoy_groups(&keys, "kb-2", 1000, 4)
        );
    }
}
