//! k-means in Hamming space: Lloyd iterations whose centroids are the bitwise majority of their
//! members, from [greedy k-means++ seeds](super::seeding).
//!
//! A bit with as many members for 1 as for 0 keeps the centroid's previous value, so a tie never
//! depends on the order of anything. A cluster left empty is re-seeded with the sample vector
//! farthest from its centroid (ties: lowest index), as FAISS re-seeds by splitting a large
//! cluster.
//!
//! The assignment step skips what cannot change, as Hamerly's algorithm does: each vector keeps
//! an upper bound on its distance to its centroid and a lower bound on its distance to every
//! other one, moved by how far the centroids moved; while the first is strictly below the second
//! (or below half the distance from its centroid to the nearest other one), its centroid is
//! still strictly the nearest, and no distance is computed. The result is exactly that of a full
//! scan with ties to the lowest index. Everything is deterministic given the random stream:
//! parallel work only sums integers.

use rayon::prelude::*;

use super::bits::{distance, Packed};
use super::sample::Rng;
use super::seeding;

/// `k` centroids for `sample` (`1 <= k <= sample.len()`), after at most `iterations` Lloyd
/// iterations (fewer when an iteration changes no assignment).
pub(crate) fn train(
    sample: &Packed,
    dim: usize,
    k: usize,
    iterations: usize,
    rng: &mut Rng,
) -> Packed {
    let mut centroids = seeding::seeds(sample, k, rng);
    if iterations == 0 {
        return centroids;
    }
    let mut bounds: Vec<Bounds> = sample
        .par_rows()
        .map(|x| Bounds::scan(x, &centroids))
        .collect();
    for iteration in 0..iterations {
        let before = centroids.clone();
        update(&mut centroids, sample, dim, &bounds);
        if iteration + 1 == iterations {
            break;
        }
        let moves = Moves::new(&before, &centroids);
        let changed = bounds
            .par_iter_mut()
            .zip(sample.par_rows())
            .map(|(bound, x)| usize::from(bound.reassign(x, &centroids, &moves)))
            .sum::<usize>();
        if changed == 0 {
            break;
        }
    }
    centroids
}

/// A vector's centroid, an upper bound on its distance to it, and a lower bound on its distance
/// to any other centroid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Bounds {
    pub(crate) centroid: u32,
    upper: u32,
    lower: u32,
}

impl Bounds {
    /// Exact bounds from a full scan: the nearest centroid (ties: lowest index), its distance,
    /// and the second smallest distance (`u32::MAX` with one centroid).
    pub(crate) fn scan(x: &[u64], centroids: &Packed) -> Self {
        let (mut best, mut second) = ((u32::MAX, 0u32), u32::MAX);
        for (j, row) in centroids.rows().enumerate() {
            let d = distance(x, row);
            if d < best.0 {
                second = best.0;
                best = (d, j as u32);
            } else if d < second {
                second = d;
            }
        }
        Bounds {
            centroid: best.1,
            upper: best.0,
            lower: second,
        }
    }

    /// Brings the bounds up to date after the centroids moved, and the centroid where it may
    /// have changed; whether it did.
    fn reassign(&mut self, x: &[u64], centroids: &Packed, moves: &Moves) -> bool {
        let a = self.centroid as usize;
        self.upper = self.upper.saturating_add(moves.distance[a]);
        self.lower = self.lower.saturating_sub(moves.largest_other(a));
        let clear = |b: &Bounds| {
            b.upper < b.lower || u64::from(b.upper) * 2 < u64::from(moves.separation[a])
        };
        if clear(self) {
            return false;
        }
        self.upper = distance(x, centroids.row(a));
        if clear(self) {
            return false;
        }
        *self = Bounds::scan(x, centroids);
        self.centroid as usize != a
    }
}

/// How far each centroid moved in an update, and how far each new centroid is from its nearest
/// neighbour.
struct Moves {
    distance: Vec<u32>,
    /// The largest move, its centroid, and the second largest.
    largest: (u32, usize, u32),
    separation: Vec<u32>,
}

impl Moves {
    fn new(before: &Packed, after: &Packed) -> Self {
        let moved: Vec<u32> = before
            .rows()
            .zip(after.rows())
            .map(|(a, b)| distance(a, b))
            .collect();
        let mut largest = (0, usize::MAX, 0);
        for (j, &d) in moved.iter().enumerate() {
            if d > largest.0 || largest.1 == usize::MAX {
                largest = (d, j, largest.0);
            } else if d > largest.2 {
                largest.2 = d;
            }
        }
        let separation = (0..after.len())
            .into_par_iter()
            .map(|j| {
                after
                    .rows()
                    .enumerate()
                    .filter(|&(i, _)| i != j)
                    .map(|(_, row)| distance(after.row(j), row))
                    .min()
                    .unwrap_or(u32::MAX)
            })
            .collect();
        Moves {
            distance: moved,
            largest,
            separation,
        }
    }

    /// The largest move of a centroid other than `a`.
    fn largest_other(&self, a: usize) -> u32 {
        if self.largest.1 == a {
            self.largest.2
        } else {
            self.largest.0
        }
    }
}

/// One Lloyd step: each centroid becomes its members' bitwise majority, computed cluster by
/// cluster in parallel (the members grouped first by a counting sort), so that memory stays at
/// one count per dimension a thread whatever `k`.
pub(crate) fn update(centroids: &mut Packed, sample: &Packed, dim: usize, bounds: &[Bounds]) {
    let k = centroids.len();
    let mut starts = vec![0usize; k + 1];
    for bound in bounds {
        starts[bound.centroid as usize + 1] += 1;
    }
    for c in 0..k {
        starts[c + 1] += starts[c];
    }
    let mut members = vec![0u32; bounds.len()];
    let mut next = starts.clone();
    for (i, bound) in bounds.iter().enumerate() {
        let c = bound.centroid as usize;
        members[next[c]] = i as u32;
        next[c] += 1;
    }

    let empty: Vec<usize> = (0..k).filter(|&c| starts[c] == starts[c + 1]).collect();
    let far = farthest(centroids, sample, bounds, empty.len());

    centroids.par_rows_mut().enumerate().for_each(|(c, row)| {
        let mine = &members[starts[c]..starts[c + 1]];
        if mine.is_empty() {
            return;
        }
        let mut ones = vec![0u32; dim];
        for &i in mine {
            for (w, &word) in sample.row(i as usize).iter().enumerate() {
                let mut rest = word;
                while rest != 0 {
                    ones[64 * w + rest.trailing_zeros() as usize] += 1;
                    rest &= rest - 1;
                }
            }
        }
        let size = mine.len() as u32;
        for (i, &count) in ones.iter().enumerate() {
            let (w, b) = (i / 64, i % 64);
            if 2 * count > size {
                row[w] |= 1 << b;
            } else if 2 * count < size {
                row[w] &= !(1 << b);
            }
        }
    });
    for (&c, &i) in empty.iter().zip(&far) {
        centroids.row_mut(c).copy_from_slice(sample.row(i));
    }
}

/// The `count` sample vectors farthest from their centroids (ties: lowest index), farthest
/// first: they re-seed the empty clusters.
fn farthest(centroids: &Packed, sample: &Packed, bounds: &[Bounds], count: usize) -> Vec<usize> {
    if count == 0 {
        return Vec::new();
    }
    let mut far: Vec<(std::cmp::Reverse<u32>, usize)> = sample
        .par_rows()
        .zip(bounds.par_iter())
        .enumerate()
        .map(|(i, (x, bound))| {
            let d = distance(x, centroids.row(bound.centroid as usize));
            (std::cmp::Reverse(d), i)
        })
        .collect();
    let taken = count.min(far.len());
    if taken < far.len() {
        far.select_nth_unstable(taken);
    }
    far.truncate(taken);
    far.sort_unstable();
    far.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partitions::tests::random_vectors;

    /// Lloyd with a full scan at every step: what [`train`] must equal.
    fn plain(sample: &Packed, dim: usize, mut centroids: Packed, iterations: usize) -> Packed {
        let mut bounds: Vec<Bounds> = sample.rows().map(|x| Bounds::scan(x, &centroids)).collect();
        for iteration in 0..iterations {
            update(&mut centroids, sample, dim, &bounds);
            let next: Vec<Bounds> = sample.rows().map(|x| Bounds::scan(x, &centroids)).collect();
            let same = next
                .iter()
                .zip(&bounds)
                .all(|(a, b)| a.centroid == b.centroid);
            bounds = next;
            if iteration + 1 == iterations || same {
                break;
            }
        }
        centroids
    }

    #[test]
    fn pruned_iterations_equal_full_scans() {
        for (n, dim, k, seed) in [
            (300, 64, 10, 1),
            (500, 200, 37, 2),
            (200, 9, 20, 3),
            (50, 130, 1, 4),
            (50, 3, 20, 5),
        ] {
            let vectors = random_vectors(n, dim, seed);
            let sample = Packed::from_vectors(&vectors, dim).unwrap();
            for iterations in [1, 2, 5, 30] {
                let seeds = seeding::seeds(&sample, k, &mut Rng::new(seed, 2));
                let want = plain(&sample, dim, seeds, iterations);
                let got = train(&sample, dim, k, iterations, &mut Rng::new(seed, 2));
                assert_eq!(got, want, "n {n} dim {dim} k {k} iterations {iterations}");
            }
        }
    }
}
