//! Batches of limbs, and the exponents of a batched exponentiation.

use std::fmt;

use crate::error::{Error, Result};

/// A batch of equally wide integers stored as one flat vector of little-endian `u64` limbs.
#[derive(Clone, PartialEq, Eq)]
pub struct LimbBatch {
    pub(super) limbs_per_item: usize,
    pub(super) data: Vec<u64>,
}

impl fmt::Debug for LimbBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Items may be secret (noise, plaintexts): show only the shape.
        f.debug_struct("LimbBatch")
            .field("items", &self.len())
            .field("limbs_per_item", &self.limbs_per_item)
            .finish_non_exhaustive()
    }
}

impl LimbBatch {
    /// An empty batch of `limbs_per_item`-limb items.
    pub fn new(limbs_per_item: usize) -> Self {
        Self {
            limbs_per_item: limbs_per_item.max(1),
            data: Vec::new(),
        }
    }

    /// A batch over `data`, whose length must be a multiple of `limbs_per_item`.
    pub fn from_flat(limbs_per_item: usize, data: Vec<u64>) -> Result<Self> {
        if limbs_per_item == 0 || !data.len().is_multiple_of(limbs_per_item) {
            return Err(Error::InvalidParameter(format!(
                "{} limbs do not split into items of {limbs_per_item}",
                data.len()
            )));
        }
        Ok(Self {
            limbs_per_item,
            data,
        })
    }

    /// A batch holding one item.
    pub fn single(item: Vec<u64>) -> Self {
        Self {
            limbs_per_item: item.len().max(1),
            data: item,
        }
    }

    /// Appends one item of exactly `limbs_per_item` limbs.
    pub fn push(&mut self, item: &[u64]) -> Result<()> {
        if item.len() != self.limbs_per_item {
            return Err(Error::InvalidParameter(format!(
                "item of {} limbs pushed into a batch of {}-limb items",
                item.len(),
                self.limbs_per_item
            )));
        }
        self.data.extend_from_slice(item);
        Ok(())
    }

    /// Appends one item of zeros and returns it, to be filled in place.
    pub fn push_zeroed(&mut self) -> &mut [u64] {
        let start = self.data.len();
        self.data.resize(start + self.limbs_per_item, 0);
        &mut self.data[start..]
    }

    /// Removes the last item, if any.
    pub fn pop(&mut self) {
        let len = self.data.len().saturating_sub(self.limbs_per_item);
        self.data.truncate(len);
    }

    /// Keeps the first `items` items.
    pub fn truncate(&mut self, items: usize) {
        self.data
            .truncate(items.saturating_mul(self.limbs_per_item));
    }

    /// Removes the items at `items` (ascending, each below [`len`](Self::len)), moving the
    /// others down in order; an index out of order or out of range is an error and removes
    /// nothing.
    pub fn remove_items(&mut self, items: &[usize]) -> Result<()> {
        let ascending = items.windows(2).all(|pair| pair[0] < pair[1]);
        if !ascending || items.last().is_some_and(|&last| last >= self.len()) {
            return Err(Error::InvalidSelection(format!(
                "items to remove must be ascending and below {}",
                self.len()
            )));
        }
        let width = self.limbs_per_item;
        let mut kept = items.first().copied().unwrap_or(self.len());
        for (i, &removed) in items.iter().enumerate() {
            let next = items.get(i + 1).copied().unwrap_or(self.len());
            let moved = (removed + 1) * width..next * width;
            let count = moved.len();
            self.data.copy_within(moved, kept * width);
            kept += count / width;
        }
        self.truncate(kept);
        Ok(())
    }

    /// Removes every item, keeping the allocation for the next fill.
    pub fn clear(&mut self) {
        self.data.clear();
    }

    /// Reserves room for `items` more items.
    pub fn reserve(&mut self, items: usize) {
        self.data.reserve(items.saturating_mul(self.limbs_per_item));
    }

    /// Gives back the room reserved beyond the items held.
    pub fn shrink_to_fit(&mut self) {
        self.data.shrink_to_fit();
    }

    /// Bytes of memory the batch holds (its allocation, not only its items).
    pub fn allocated_bytes(&self) -> usize {
        self.data.capacity() * std::mem::size_of::<u64>()
    }

    /// Appends every item of `other`, which must have items of the same width.
    pub fn extend(&mut self, other: &LimbBatch) -> Result<()> {
        if other.limbs_per_item != self.limbs_per_item {
            return Err(Error::InvalidParameter(format!(
                "items of {} limbs appended to a batch of {}-limb items",
                other.limbs_per_item, self.limbs_per_item
            )));
        }
        self.data.extend_from_slice(&other.data);
        Ok(())
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.data.len() / self.limbs_per_item
    }

    /// True when the batch holds no item.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Limbs per item.
    pub fn limbs_per_item(&self) -> usize {
        self.limbs_per_item
    }

    /// Item `i`.
    pub fn item(&self, i: usize) -> &[u64] {
        &self.data[i * self.limbs_per_item..(i + 1) * self.limbs_per_item]
    }

    /// Item `i`, mutable.
    pub fn item_mut(&mut self, i: usize) -> &mut [u64] {
        &mut self.data[i * self.limbs_per_item..(i + 1) * self.limbs_per_item]
    }

    /// Iterates over the items.
    pub fn iter(&self) -> std::slice::ChunksExact<'_, u64> {
        self.data.chunks_exact(self.limbs_per_item)
    }

    /// The flat limbs.
    pub fn as_flat(&self) -> &[u64] {
        &self.data
    }

    /// The flat limbs, mutable.
    pub fn as_flat_mut(&mut self) -> &mut [u64] {
        &mut self.data
    }

    /// Makes the batch hold `items` items: the first ones kept, any new ones zero, the
    /// allocation reused when it is large enough (a caller refilling one output per call).
    pub fn resize(&mut self, items: usize) {
        let len = items.saturating_mul(self.limbs_per_item);
        if self.data.capacity() == 0 {
            // A fresh allocation of zeros comes zeroed from the allocator (untouched pages),
            // where growing writes every zero on one thread: for a million responses, 512 MB
            // written once more before the device's results are.
            self.data = vec![0; len];
        } else {
            self.data.resize(len, 0);
        }
    }

    /// Consumes the batch into its flat limbs.
    pub fn into_flat(self) -> Vec<u64> {
        self.data
    }

    /// Overwrites the limbs with zeros (for batches holding secrets).
    pub fn wipe(&mut self) {
        use zeroize::Zeroize;
        self.data.zeroize();
    }
}

/// So that a batch of secrets can live in a `Zeroizing<LimbBatch>`, wiped when dropped on every
/// path, errors included.
impl zeroize::Zeroize for LimbBatch {
    fn zeroize(&mut self) {
        self.wipe();
    }
}

/// Whether an exponent may drive the control flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secrecy {
    /// Public exponent (e.g. `n` in `r^n`): the fastest algorithm may branch on its bits.
    Public,
    /// Secret exponent (e.g. `p - 1` in CRT decryption): the CPU backend runs in constant time.
    Secret,
}

/// The exponents of a batched exponentiation.
#[derive(Clone, Debug)]
pub struct Exponents {
    /// One item shared by every base, or one item per base.
    pub values: LimbBatch,
    /// Upper bound on the exponents' bit length (a secret exponent is processed over exactly this
    /// many bits).
    pub bits: usize,
    /// Public or secret.
    pub secrecy: Secrecy,
}

impl Drop for Exponents {
    /// Secret exponents (noise, `p − 1`, …) are wiped when dropped, on every path.
    fn drop(&mut self) {
        if self.secrecy == Secrecy::Secret {
            self.values.wipe();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn removing_items_keeps_the_others_in_order(
            width in 1usize..4,
            len in 0usize..40,
            picks in proptest::collection::vec(any::<bool>(), 40),
        ) {
            let items: Vec<Vec<u64>> = (0..len)
                .map(|i| (0..width).map(|l| (i * 10 + l) as u64).collect())
                .collect();
            let mut batch = LimbBatch::from_flat(width, items.concat()).unwrap();
            let removed: Vec<usize> = (0..len).filter(|&i| picks[i]).collect();
            batch.remove_items(&removed).unwrap();
            let kept: Vec<Vec<u64>> = (0..len)
                .filter(|i| !picks[*i])
                .map(|i| items[i].clone())
                .collect();
            let kept = kept.concat();
            prop_assert_eq!(batch.as_flat(), kept.as_slice());
        }
    }

    #[test]
    fn a_removal_out_of_order_or_range_removes_nothing() {
        let mut batch = LimbBatch::from_flat(2, (0..10).collect()).unwrap();
        for bad in [&[3usize, 1][..], &[1, 1], &[5]] {
            assert!(batch.remove_items(bad).is_err(), "{bad:?}");
            assert_eq!(batch.len(), 5);
        }
    }
}
