//! k-means in Hamming space: greedy k-means++ seeding, then Lloyd iterations whose centroids
//! are the bitwise majority of their members.
//!
//! A bit with as many members for 1 as for 0 keeps the centroid's previous value, so a tie never
//! depends on the order of anything. A cluster left empty is re-seeded with the sample vector
//! farthest from its own centroid (ties: lowest index), as FAISS re-seeds by splitting a large
//! cluster. Everything is deterministic given the random stream: parallel work only sums integers.

use rayon::prelude::*;

use super::bits::{distance, Packed};
use super::sample::Rng;

/// `k` centroids for `sample` (`1 <= k <= sample.len()`), after at most `iterations` Lloyd
/// iterations (fewer when an iteration changes no assignment).
pub(crate) fn train(
    sample: &Packed,
    dim: usize,
    k: usize,
    iterations: usize,
    rng: &mut Rng,
) -> Packed {
    let mut centroids = seed(sample, k, rng);
    let mut previous: Vec<u32> = Vec::new();
    for _ in 0..iterations {
        let nearest: Vec<(u32, u32)> = sample.par_rows().map(|x| centroids.nearest(x)).collect();
        let assignment: Vec<u32> = nearest.iter().map(|&(c, _)| c).collect();
        if assignment == previous {
            break;
        }
        update(&mut centroids, sample, dim, &nearest);
        previous = assignment;
    }
    centroids
}

/// Greedy k-means++ (as scikit-learn does it): the first centroid uniformly at random; then, for
/// each next one, [`candidates`] sample vectors drawn with probability proportional to their
/// squared distance to the nearest centroid so far (uniformly when every vector already sits on
/// a centroid), of which the one that leaves the smallest sum of squared distances is kept.
/// Plain k-means++ (one draw) often puts two seeds in one well-separated cluster and none in
/// another, which Lloyd iterations cannot undo.
fn seed(sample: &Packed, k: usize, rng: &mut Rng) -> Packed {
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

/// Per cluster, how many members have each bit set, and the cluster's size.
struct Counts {
    bits: Vec<u32>,
    sizes: Vec<u32>,
}

impl Counts {
    fn new(k: usize, dim: usize) -> Self {
        Counts {
            bits: vec![0; k * dim],
            sizes: vec![0; k],
        }
    }

    fn merge(mut self, other: Counts) -> Counts {
        self.bits
            .iter_mut()
            .zip(&other.bits)
            .for_each(|(a, b)| *a += b);
        self.sizes
            .iter_mut()
            .zip(&other.sizes)
            .for_each(|(a, b)| *a += b);
        self
    }
}

/// One Lloyd step: each centroid becomes its members' bitwise majority.
fn update(centroids: &mut Packed, sample: &Packed, dim: usize, nearest: &[(u32, u32)]) {
    let k = centroids.len();
    // A few chunks a thread, each with its own counts (k · dim each), summed at the end.
    let chunk = sample
        .len()
        .div_ceil(2 * rayon::current_num_threads())
        .max(1024);
    let counts = sample
        .par_rows()
        .zip(nearest.par_iter())
        .chunks(chunk)
        .map(|members| {
            let mut counts = Counts::new(k, dim);
            for (x, &(c, _)) in members {
                let c = c as usize;
                counts.sizes[c] += 1;
                let base = c * dim;
                for (w, &word) in x.iter().enumerate() {
                    let mut rest = word;
                    while rest != 0 {
                        counts.bits[base + 64 * w + rest.trailing_zeros() as usize] += 1;
                        rest &= rest - 1;
                    }
                }
            }
            counts
        })
        .reduce(|| Counts::new(k, dim), Counts::merge);

    let mut empty = Vec::new();
    for c in 0..k {
        let size = counts.sizes[c];
        if size == 0 {
            empty.push(c);
            continue;
        }
        let row = centroids.row_mut(c);
        for (i, &ones) in counts.bits[c * dim..(c + 1) * dim].iter().enumerate() {
            let (w, b) = (i / 64, i % 64);
            if 2 * ones > size {
                row[w] |= 1 << b;
            } else if 2 * ones < size {
                row[w] &= !(1 << b);
            }
        }
    }
    if empty.is_empty() {
        return;
    }
    // The farthest vectors from their centroids re-seed the empty clusters.
    let mut far: Vec<(std::cmp::Reverse<u32>, usize)> = nearest
        .iter()
        .enumerate()
        .map(|(i, &(_, d))| (std::cmp::Reverse(d), i))
        .collect();
    let taken = empty.len().min(far.len());
    if taken < far.len() {
        far.select_nth_unstable(taken);
    }
    far[..taken].sort_unstable();
    for (&c, &(_, i)) in empty.iter().zip(&far[..taken]) {
        let point = sample.row(i).to_vec();
        centroids.row_mut(c).copy_from_slice(&point);
    }
}
