//! Deterministic randomness for training: SplitMix64 streams derived from the caller's seed, and
//! sampling without replacement. Written here rather than taken from `rand` so that a seed gives
//! the same partitions whatever version of `rand` the crate is built with.

use std::collections::BTreeSet;

/// The stream that draws the k-means training sample.
pub(crate) const TRAIN_SAMPLE: u64 = 1;
/// The stream that picks the k-means++ seeds.
pub(crate) const SEEDING: u64 = 2;
/// The stream that draws the held-out queries of the recall estimate.
pub(crate) const QUERIES: u64 = 3;

/// SplitMix64 (Steele, Lea and Flood): small, fast and good enough to pick samples and seeds.
pub(crate) struct Rng(u64);

impl Rng {
    /// The stream `stream` of `seed`: streams of one seed are unrelated to each other.
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        let mut rng = Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        rng.next_u64();
        rng
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (Lemire's multiply-and-reject); 0 when `bound` is 0.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(bound);
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }

    /// [`below`](Self::below) for indices.
    pub(crate) fn index_below(&mut self, bound: usize) -> usize {
        self.below(bound as u64) as usize
    }
}

/// `m` distinct indices of `0..n`, ascending, uniformly drawn (Floyd's algorithm: memory in `m`,
/// not `n`); all of `0..n` when `m >= n`.
pub(crate) fn sample_indices(n: usize, m: usize, rng: &mut Rng) -> Vec<usize> {
    if m >= n {
        return (0..n).collect();
    }
    let mut chosen = BTreeSet::new();
    for j in n - m..n {
        let t = rng.index_below(j + 1);
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    chosen.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_distinct_sorted_and_deterministic() {
        let a = sample_indices(1000, 100, &mut Rng::new(7, TRAIN_SAMPLE));
        let b = sample_indices(1000, 100, &mut Rng::new(7, TRAIN_SAMPLE));
        assert_eq!(a, b);
        assert_eq!(a.len(), 100);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert!(a.iter().all(|&i| i < 1000));
        assert_eq!(
            sample_indices(5, 9, &mut Rng::new(7, 1)),
            vec![0, 1, 2, 3, 4]
        );
        assert_ne!(a, sample_indices(1000, 100, &mut Rng::new(7, QUERIES)));
    }

    #[test]
    fn below_stays_below() {
        let mut rng = Rng::new(3, SEEDING);
        assert_eq!(rng.below(0), 0);
        for bound in [1u64, 2, 3, 10, 1 << 40, u64::MAX] {
            for _ in 0..100 {
                assert!(rng.below(bound) < bound);
            }
        }
    }
}
