//! Greedy k-means++ seeding (as scikit-learn does it), on a subsample of the k-means sample.

use rayon::prelude::*;

use super::bits::{distance, Packed};
use super::sample::{sample_indices, Rng};

/// Seeds are drawn from at most this many sample vectors per partition: each greedy step makes
/// `3 + ln k` passes over them. On the whole sample (256 a partition) seeding took 5 s where
/// ten Lloyd iterations took 7 (100,000 vectors of 512 bits, k = 316, 2 busy cores).
pub(crate) const SEED_SAMPLE_PER_PARTITION: usize = 64;

/// `k` seeds drawn from `sample` (`1 <= k <= sample.len()`) by [`greedy_plus_plus`], on a random
/// subsample of [`SEED_SAMPLE_PER_PARTITION`] vectors per partition when the sample is larger.
pub(crate) fn seeds(sample: &Packed, k: usize, rng: &mut Rng) -> Packed {
    let bound = k.saturating_mul(SEED_SAMPLE_PER_PARTITION);
    if sample.len() > bound {
        let chosen = sample_indices(sample.len(), bound, rng);
        greedy_plus_plus(&sample.gather(&chosen), k, rng)
    } else {
        greedy_plus_plus(sample, k, rng)
    }
}

/// Greedy k-means++ (as scikit-learn does it): the first centroid uniformly at random; then, for
/// each next one, [`candidates`] sample vectors drawn with probability proportional to their
/// squared distance to the nearest centroid so far (uniformly when every vector already sits on
/// a centroid), of which the one that leaves the smallest sum of squared distances is kept.
/// Plain k-means++ (one draw) often puts two seeds in one well-separated cluster and none in
/// another, which Lloyd iterations cannot undo.
fn greedy_plus_plus(sample: &Packed, k: usize, rng: &mut Rng) -> Packed {
    let m = sample.len();
    let words = sample.words();
    let trials = candidates(k);
    let mut chosen = Vec::with_capacity(k * words);
    let first = rng.index_below(m);
    chosen.extend_from_slice(sample.row(first));
    let mut nearest: Vec<u32> = sample
        .par_rows()
        .map(|x| distance(x, sample.row(first)))
        .collect();
    let mut cumulative = vec![0u64; m];
    for _ in 1..k {
        let mut total = 0u64;
        for (sum, &d) in cumulative.iter_mut().zip(&nearest) {
            total += u64::from(d) * u64::from(d);
            *sum = total;
        }
        let drawn: Vec<usize> = (0..trials)
            .map(|_| match total {
                0 => rng.index_below(m),
                _ => {
                    let target = rng.below(total);
                    cumulative.partition_point(|&sum| sum <= target)
                }
            })
            .collect();
        let pick = if drawn.len() == 1 {
            drawn[0]
        } else {
            let potentials = sample
                .par_rows()
                .zip(nearest.par_iter())
                .fold(
                    || vec![0u64; drawn.len()],
                    |mut sums, (x, &best)| {
                        for (sum, &c) in sums.iter_mut().zip(&drawn) {
                            let d = u64::from(best.min(distance(x, sample.row(c))));
                            *sum += d * d;
                        }
                        sums
                    },
                )
                .reduce(
                    || vec![0u64; drawn.len()],
                    |mut a, b| {
                        a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                        a
                    },
                );
            let best = (0..drawn.len())
                .min_by_key(|&t| (potentials[t], t))
                .unwrap_or(0);
            drawn[best]
        };
        let centre = sample.row(pick);
        chosen.extend_from_slice(centre);
        nearest
            .par_iter_mut()
            .zip(sample.par_rows())
            .for_each(|(best, x)| *best = (*best).min(distance(x, centre)));
    }
    Packed::from_words(words, chosen)
}

/// How many draws each greedy k-means++ step weighs: `2 + ln k`, scikit-learn's choice.
fn candidates(k: usize) -> usize {
    2 + (k as f64).ln() as usize
}
