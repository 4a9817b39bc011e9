//! Centroids as means: each dimension's share of ones among a cluster's members, and the scan
//! that finds every vector's nearest mean in Euclidean distance.
//!
//! A mean is kept to 8 bits a dimension, `q_i = round(255 · m_i)`, which moves each dimension's
//! term of a squared distance by at most 1/255 and makes the scan exact integer arithmetic: for a
//! vector `x` of 0s and 1s, `255² ‖x − q/255‖² = Σ q_i² − 510 Σ x_i q_i + 255² |x|`, so a vector's
//! nearest mean is the one with the least `Σ q_i² − 510 Σ x_i q_i`, and the middle sum adds the
//! bytes of `q` that the vector's ones select. No result depends on the order of a sum, the
//! thread count or the machine.

use rayon::prelude::*;

use super::bits::{words_for, Packed};

/// Bytes summed side by side in 16-bit lanes, which the compiler keeps in vector registers;
/// dimensions are padded to a multiple with 0.
const LANES: usize = 16;

/// Dimensions summed in 16-bit lanes before they are widened: each lane then adds at most 128
/// bytes of at most 255, below 2¹⁶.
const SPAN: usize = 128 * LANES;

/// Vectors a task scans together.
const BLOCK: usize = 32;

/// Means each of a task's vectors meets before the next run of means: a run of 64 means of 512
/// dimensions is 32 KiB.
const MEANS_RUN: usize = 64;

/// `255²`: the scale of the integer squared distances.
const SCALE: i64 = 255 * 255;

/// `k` means over `dim` dimensions, with what the nearest-mean scan needs precomputed.
#[derive(Debug)]
pub(crate) struct Means {
    dim: usize,
    padded: usize,
    /// Row `j`: `q_j` (`round(255 · m_j)`) per dimension, 0 past `dim`.
    quantized: Vec<u8>,
    /// `Σ q_j²` per mean.
    squares: Vec<i64>,
    /// The means rounded to bits, from the exact counts: 1 where more than half the members
    /// have a 1 (a tie is 0, as FAISS's `real_to_binary` rounds a mean of exactly 0 in its ±1
    /// form).
    rounded: Packed,
}

impl Means {
    /// The means of clusters with `sizes[j]` members (each at least 1) of which `counts[j·dim
    /// + i]` have a 1 in dimension `i`.
    pub(crate) fn from_counts(counts: &[u32], sizes: &[u32], dim: usize) -> Self {
        let k = sizes.len();
        debug_assert_eq!(counts.len(), k * dim);
        let padded = dim.next_multiple_of(LANES);
        let words = words_for(dim);
        let mut quantized = vec![0u8; k * padded];
        let mut squares = vec![0i64; k];
        let mut rounded = Packed::from_words(words, vec![0u64; k * words]);
        quantized
            .par_chunks_exact_mut(padded)
            .zip(squares.par_iter_mut())
            .zip(rounded.par_rows_mut())
            .enumerate()
            .for_each(|(j, ((q, square), bits))| {
                let size = u64::from(sizes[j].max(1));
                for (i, &count) in counts[j * dim..(j + 1) * dim].iter().enumerate() {
                    let count = u64::from(count).min(size);
                    // round(255 · count / size), halves up.
                    q[i] = ((510 * count + size) / (2 * size)) as u8;
                    *square += i64::from(q[i]) * i64::from(q[i]);
                    if 2 * count > size {
                        bits[i / 64] |= 1 << (i % 64);
                    }
                }
            });
        Means {
            dim,
            padded,
            quantized,
            squares,
            rounded,
        }
    }

    /// Means that are the vectors `bits` themselves (clusters of one member each).
    pub(crate) fn from_bits(bits: &Packed, dim: usize) -> Self {
        let mut counts = vec![0u32; bits.len() * dim];
        for (row, out) in bits.rows().zip(counts.chunks_exact_mut(dim)) {
            for (i, count) in out.iter_mut().enumerate() {
                *count = ((row[i / 64] >> (i % 64)) & 1) as u32;
            }
        }
        Means::from_counts(&counts, &vec![1; bits.len()], dim)
    }

    /// Each vector of `sample`'s nearest mean (ties: lowest index) and its squared distance to
    /// it times 255².
    pub(crate) fn nearest_all(&self, sample: &Packed) -> Vec<(u32, i64)> {
        let k = self.squares.len();
        let mut out = vec![(0u32, 0i64); sample.len()];
        out.par_chunks_mut(BLOCK)
            .enumerate()
            .for_each(|(block, slots)| {
                let first = block * BLOCK;
                let mut masks = vec![0u8; slots.len() * self.padded];
                for (r, mask) in masks.chunks_exact_mut(self.padded).enumerate() {
                    expand(sample.row(first + r), self.dim, mask);
                }
                let mut best = vec![(u32::MAX, i64::MAX); slots.len()];
                // A run of means against the block's vectors, so that both stay in cache.
                for start in (0..k).step_by(MEANS_RUN) {
                    for (mask, best) in masks.chunks_exact(self.padded).zip(best.iter_mut()) {
                        for j in start..(start + MEANS_RUN).min(k) {
                            let selected = i64::from(masked_sum(mask, self.quantized(j)));
                            let score = self.squares[j] - 510 * selected;
                            if score < best.1 {
                                *best = (j as u32, score);
                            }
                        }
                    }
                }
                for (r, (slot, best)) in slots.iter_mut().zip(best).enumerate() {
                    let ones: u32 = sample.row(first + r).iter().map(|w| w.count_ones()).sum();
                    *slot = (best.0, best.1 + SCALE * i64::from(ones));
                }
            });
        out
    }

    /// The means rounded to bits.
    pub(crate) fn into_rounded(self) -> Packed {
        self.rounded
    }

    fn quantized(&self, j: usize) -> &[u8] {
        &self.quantized[j * self.padded..(j + 1) * self.padded]
    }
}

/// Writes a packed vector's `dim` bits into `out` as byte masks: 0xff for a 1, 0 for a 0 (the
/// rest of `out` stays 0).
fn expand(row: &[u64], dim: usize, out: &mut [u8]) {
    for (i, value) in out[..dim].iter_mut().enumerate() {
        *value = 0u8.wrapping_sub(((row[i / 64] >> (i % 64)) & 1) as u8);
    }
}

/// The sum of the bytes of `values` whose mask is 0xff, for slices of a multiple of [`LANES`]
/// bytes: an and and a widening add per byte, in lanes the compiler spreads over vector
/// registers.
#[inline]
fn masked_sum(masks: &[u8], values: &[u8]) -> u32 {
    let mut total = 0u32;
    for (masks, values) in masks.chunks(SPAN).zip(values.chunks(SPAN)) {
        let mut lanes = [0u16; LANES];
        for (m, v) in masks.chunks_exact(LANES).zip(values.chunks_exact(LANES)) {
            for lane in 0..LANES {
                lanes[lane] += u16::from(m[lane] & v[lane]);
            }
        }
        total += lanes.iter().map(|&lane| u32::from(lane)).sum::<u32>();
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partitions::sample::Rng;
    use crate::partitions::tests::random_vectors;

    /// `‖x − m‖²` for the exact mean `m = counts / size`, in `f64`.
    fn exact(x: &[u8], counts: &[u32], size: u32) -> f64 {
        x.iter()
            .zip(counts)
            .map(|(&xi, &c)| (f64::from(xi) - f64::from(c) / f64::from(size)).powi(2))
            .sum()
    }

    /// `255² ‖x − q/255‖²` with `q = round(255 · counts / size)`, in integers, written plainly.
    fn quantized(x: &[u8], counts: &[u32], size: u32) -> i64 {
        x.iter()
            .zip(counts)
            .map(|(&xi, &c)| {
                let q = (f64::from(c) * 255.0 / f64::from(size)).round() as i64;
                (255 * i64::from(xi) - q).pow(2)
            })
            .sum()
    }

    #[test]
    fn every_vector_goes_to_its_nearest_quantized_mean() {
        for (n, dim, k, seed) in [
            (200, 64, 10, 1),
            (300, 130, 37, 2),
            (150, 9, 40, 3),
            (90, 512, 33, 4),
            (40, 2500, 6, 5),
        ] {
            let vectors = random_vectors(n, dim, seed);
            let sample = Packed::from_vectors(&vectors, dim).unwrap();
            // Clusters of random members, counted by hand; an empty one gets one member.
            let mut rng = Rng::new(seed, 9);
            let mut counts = vec![0u32; k * dim];
            let mut sizes = vec![0u32; k];
            for v in &vectors {
                let j = (rng.next_u64() % k as u64) as usize;
                sizes[j] += 1;
                for (c, &bit) in counts[j * dim..(j + 1) * dim].iter_mut().zip(v) {
                    *c += u32::from(bit);
                }
            }
            for (j, size) in sizes.iter_mut().enumerate() {
                if *size == 0 {
                    *size = 1;
                    counts[j * dim] = 1;
                }
            }
            let means = Means::from_counts(&counts, &sizes, dim);
            for (x, &(chosen, distance)) in vectors.iter().zip(&means.nearest_all(&sample)) {
                let all: Vec<i64> = (0..k)
                    .map(|j| quantized(x, &counts[j * dim..(j + 1) * dim], sizes[j]))
                    .collect();
                let least = *all.iter().min().unwrap();
                let first = all.iter().position(|&d| d == least).unwrap();
                assert_eq!((chosen as usize, distance), (first, least), "dim {dim}");
                // The quantized mean is within half a step a dimension of the exact one.
                let true_distance = exact(x, &counts[first * dim..(first + 1) * dim], sizes[first]);
                let scaled = distance as f64 / SCALE as f64;
                assert!(
                    (scaled - true_distance).abs() <= dim as f64 / 255.0,
                    "{scaled} {true_distance}"
                );
            }
            // Rounded: 1 exactly where more than half the members have a 1.
            let rounded = means.into_rounded();
            for j in 0..k {
                for i in 0..dim {
                    let bit = (rounded.row(j)[i / 64] >> (i % 64)) & 1;
                    assert_eq!(
                        bit == 1,
                        2 * counts[j * dim + i] > sizes[j],
                        "mean {j} dim {i}"
                    );
                }
            }
        }
    }

    #[test]
    fn means_of_single_vectors_are_the_vectors() {
        let vectors = random_vectors(40, 77, 5);
        let bits = Packed::from_vectors(&vectors, 77).unwrap();
        let means = Means::from_bits(&bits, 77);
        for (j, &(chosen, d)) in means.nearest_all(&bits).iter().enumerate() {
            assert_eq!((chosen as usize, d), (j, 0));
        }
        assert_eq!(means.into_rounded(), bits);
    }
}
