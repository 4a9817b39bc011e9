//! Balanced assignment: every vector goes to a partition near it, and no partition holds more
//! than its capacity.
//!
//! Each vector's [`CANDIDATES`] nearest centroids are found first (all of them would be an
//! `n × k` matrix: 4 GB at a million vectors and 1,000 partitions). Vectors are then placed one
//! by one, those with the most to lose first (the largest gap between their nearest and second
//! nearest centroid, then the nearest, then input order), each in its nearest candidate with
//! room left; a vector whose candidates are all full goes to the nearest centroid with room,
//! found by a full scan. Capacities add up to at least the number of vectors, so every vector
//! finds room and the bound always holds.

use std::cmp::Reverse;

use rayon::prelude::*;

use super::bits::Packed;

/// How many nearest centroids are kept for each vector.
pub(crate) const CANDIDATES: usize = 8;

/// The most vectors a partition may hold: `ceil(balance · records / partitions)`, and never less
/// than `ceil(records / partitions)`, so that the partitions can always hold every record
/// (`partitions >= 1`).
pub(crate) fn capacity(records: usize, partitions: usize, balance: f64) -> usize {
    // A float past usize's range casts to usize::MAX, NaN to 0.
    let scaled = (balance * records as f64 / partitions as f64).ceil() as usize;
    scaled.max(records.div_ceil(partitions))
}

/// Each vector of `data`'s partition among `centroids` (not empty), with at most `cap` vectors a
/// partition (`cap · centroids.len() >= data.len()`).
pub(crate) fn assign(data: &Packed, centroids: &Packed, cap: usize) -> Vec<u32> {
    let n = data.len();
    let k = centroids.len();
    let l = k.min(CANDIDATES);
    let mut candidates = vec![(0u32, 0u32); n * l];
    candidates
        .par_chunks_mut(l)
        .zip(data.par_rows())
        .for_each(|(out, x)| centroids.nearest_few(x, out));

    let key = |i: u32| {
        let row = &candidates[i as usize * l..(i as usize + 1) * l];
        let regret = if l > 1 { row[1].0 - row[0].0 } else { 0 };
        (Reverse(regret), row[0].0, i)
    };
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.par_sort_unstable_by_key(|&i| key(i));

    let mut load = vec![0usize; k];
    let mut assignment = vec![0u32; n];
    for i in order {
        let i = i as usize;
        let row = &candidates[i * l..(i + 1) * l];
        let partition = match row.iter().find(|&&(_, c)| load[c as usize] < cap) {
            Some(&(_, c)) => c,
            None => nearest_with_room(data.row(i), centroids, &load, cap),
        };
        load[partition as usize] += 1;
        assignment[i] = partition;
    }
    assignment
}

/// The nearest centroid to `x` whose load is below `cap` (ties: lowest index); one exists.
fn nearest_with_room(x: &[u64], centroids: &Packed, load: &[usize], cap: usize) -> u32 {
    centroids
        .ranked(x)
        .into_iter()
        .find(|&(_, c)| load[c as usize] < cap)
        .map_or(0, |(_, c)| c)
}
