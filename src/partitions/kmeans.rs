//! k-means of binary vectors as FAISS's `IndexBinaryIVF` trains it: Lloyd iterations in the
//! real space the bits span, from [greedy k-means++ seeds](super::seeding). Each centroid is
//! the [mean](super::means) of its members, each vector goes to the mean nearest in Euclidean
//! distance, and the centroids kept are the means rounded to bits, which searches and
//! assignments then compare in Hamming distance.
//!
//! Why means rather than bitwise majorities throughout: a mean keeps how sure each of its bits
//! is, so a vector is drawn to the cluster whose confident bits it shares. On 100,000 synthetic
//! vectors of 512 bits (316 partitions), majority centroids found 0.713 of the top 10 probing 8
//! partitions where means find 0.746 (FAISS: 0.749).
//!
//! A cluster left empty is re-seeded with the sample vector farthest from its mean (ties:
//! lowest index), as FAISS re-seeds by splitting a large cluster. Everything is deterministic
//! given the random stream: the parallel work sums only integers.

use rayon::prelude::*;

use super::bits::Packed;
use super::means::Means;
use super::sample::Rng;
use super::seeding;

/// `k` centroids for `sample` (`1 <= k <= sample.len()`), after at most `iterations` Lloyd
/// iterations (fewer when an iteration changes no assignment); with 0 iterations, the seeds.
pub(crate) fn train(
    sample: &Packed,
    dim: usize,
    k: usize,
    iterations: usize,
    rng: &mut Rng,
) -> Packed {
    let seeds = seeding::seeds(sample, k, rng);
    if iterations == 0 {
        return seeds;
    }
    let mut means = Means::from_bits(&seeds, dim);
    let mut assigned: Vec<u32> = Vec::new();
    for _ in 0..iterations {
        let nearest = means.nearest_all(sample);
        let next: Vec<u32> = nearest.iter().map(|&(j, _)| j).collect();
        if next == assigned {
            break;
        }
        means = update(sample, dim, k, &nearest);
        assigned = next;
    }
    means.into_rounded()
}

/// One Lloyd step: the means of the clusters `nearest` assigns (each vector's mean and its
/// distance to it), counted cluster by cluster in parallel after a counting sort of the
/// members; an empty cluster takes the farthest vector not yet taken.
fn update(sample: &Packed, dim: usize, k: usize, nearest: &[(u32, i64)]) -> Means {
    let mut starts = vec![0usize; k + 1];
    for &(j, _) in nearest {
        starts[j as usize + 1] += 1;
    }
    for j in 0..k {
        starts[j + 1] += starts[j];
    }
    let mut members = vec![0u32; nearest.len()];
    let mut next = starts.clone();
    for (i, &(j, _)) in nearest.iter().enumerate() {
        members[next[j as usize]] = i as u32;
        next[j as usize] += 1;
    }

    let mut counts = vec![0u32; k * dim];
    let mut sizes: Vec<u32> = (0..k).map(|j| (starts[j + 1] - starts[j]) as u32).collect();
    counts
        .par_chunks_exact_mut(dim)
        .enumerate()
        .for_each(|(j, ones)| {
            for &i in &members[starts[j]..starts[j + 1]] {
                add_bits(sample.row(i as usize), ones);
            }
        });

    let empty: Vec<usize> = (0..k).filter(|&j| sizes[j] == 0).collect();
    for (&j, i) in empty.iter().zip(farthest(nearest, empty.len())) {
        add_bits(sample.row(i), &mut counts[j * dim..(j + 1) * dim]);
        sizes[j] = 1;
    }
    Means::from_counts(&counts, &sizes, dim)
}

/// Adds a packed vector's bits to per-dimension counts.
fn add_bits(row: &[u64], ones: &mut [u32]) {
    for (w, &word) in row.iter().enumerate() {
        let mut rest = word;
        while rest != 0 {
            ones[64 * w + rest.trailing_zeros() as usize] += 1;
            rest &= rest - 1;
        }
    }
}

/// The `count` vectors farthest from their means (ties: lowest index), farthest first: they
/// re-seed the empty clusters.
fn farthest(nearest: &[(u32, i64)], count: usize) -> Vec<usize> {
    if count == 0 {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..nearest.len()).collect();
    let by_distance = |a: &usize, b: &usize| nearest[*b].1.cmp(&nearest[*a].1).then(a.cmp(b));
    let taken = count.min(order.len());
    if taken < order.len() {
        order.select_nth_unstable_by(taken, by_distance);
    }
    order.truncate(taken);
    order.sort_unstable_by(by_distance);
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partitions::tests::random_vectors;

    /// Lloyd written plainly in `f64`: each vector to the nearest exact mean, each mean the
    /// members' average.
    fn plain(vectors: &[Vec<u8>], seeds: &Packed, dim: usize, iterations: usize) -> Vec<Vec<u8>> {
        let unpack = |row: &[u64]| -> Vec<f64> {
            (0..dim)
                .map(|i| ((row[i / 64] >> (i % 64)) & 1) as f64)
                .collect()
        };
        let mut means: Vec<Vec<f64>> = seeds.rows().map(unpack).collect();
        for _ in 0..iterations {
            let mut sums = vec![vec![0f64; dim]; means.len()];
            let mut sizes = vec![0usize; means.len()];
            for v in vectors {
                let d = |m: &Vec<f64>| -> f64 {
                    m.iter()
                        .zip(v)
                        .map(|(a, &b)| (a - f64::from(b)).powi(2))
                        .sum()
                };
                let j = (0..means.len())
                    .min_by(|&a, &b| d(&means[a]).total_cmp(&d(&means[b])))
                    .unwrap();
                sizes[j] += 1;
                for (s, &b) in sums[j].iter_mut().zip(v) {
                    *s += f64::from(b);
                }
            }
            for j in 0..means.len() {
                if sizes[j] > 0 {
                    means[j] = sums[j].iter().map(|s| s / sizes[j] as f64).collect();
                }
            }
        }
        means
            .iter()
            .map(|m| m.iter().map(|&x| u8::from(x > 0.5)).collect())
            .collect()
    }

    #[test]
    fn lloyd_equals_a_plain_float64_lloyd_on_clear_data() {
        // Well-separated clusters: no vector is near a tie between two means, so the quantized scan
        // and the plain f64 one must agree exactly.
        for (clusters, dim, seed) in [(5, 64, 1), (12, 200, 2), (3, 512, 3)] {
            let centres = random_vectors(clusters, dim, seed);
            let mut vectors = Vec::new();
            for (c, centre) in centres.iter().enumerate() {
                for m in 0..20 {
                    let mut v = centre.clone();
                    v[(c * 7 + m * 3) % dim] ^= 1;
                    vectors.push(v);
                }
            }
            let sample = Packed::from_vectors(&vectors, dim).unwrap();
            for iterations in [1, 2, 5] {
                let seeds = seeding::seeds(&sample, clusters, &mut Rng::new(seed, 2));
                let want = plain(&vectors, &seeds, dim, iterations);
                let got = train(&sample, dim, clusters, iterations, &mut Rng::new(seed, 2));
                let got: Vec<Vec<u8>> = got
                    .rows()
                    .map(|r| crate::partitions::bits::unpack(r, dim))
                    .collect();
                assert_eq!(got, want, "dim {dim} iterations {iterations}");
            }
        }
    }

    #[test]
    fn an_emptied_cluster_takes_the_farthest_vector() {
        // Distances 1, 9, 4, 9: the two farthest are 1 and 3 (a tie goes to the lower index).
        let nearest = [(0, 1), (0, 9), (1, 4), (1, 9)];
        assert_eq!(farthest(&nearest, 2), vec![1, 3]);
        assert_eq!(farthest(&nearest, 9), vec![1, 3, 2, 0]);
        assert!(farthest(&nearest, 0).is_empty());
    }

    /// What one step of training costs at a million records' shape (1,000 partitions, 512
    /// bits), on a quarter of its sample: `cargo test --release -p paillier-gpu --lib
    /// kmeans::tests::step_timing -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing, run by hand"]
    fn step_timing() {
        let (n, dim, k) = (64_000, 512, 1_000);
        let vectors = random_vectors(n, dim, 1);
        let sample = Packed::from_vectors(&vectors, dim).unwrap();
        let t = std::time::Instant::now();
        let seeds = seeding::seeds(&sample, k, &mut Rng::new(1, 2));
        eprintln!("seeds {:?}", t.elapsed());
        let means = Means::from_bits(&seeds, dim);
        let t = std::time::Instant::now();
        let nearest = means.nearest_all(&sample);
        eprintln!("one scan {:?}", t.elapsed());
        let t = std::time::Instant::now();
        let _ = update(&sample, dim, k, &nearest);
        eprintln!("one update {:?}", t.elapsed());
    }
}
