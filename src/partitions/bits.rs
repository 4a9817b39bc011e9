//! Binary vectors packed into 64-bit words, their Hamming distances (XOR and popcount), the
//! nearest-centroid scans built on them, and the hex form of a packed vector.
//!
//! Dimension `i` of a vector is bit `i % 64` of word `i / 64`; the bits past `dim` in the last
//! word are zero, so they never count in a distance.

use rayon::prelude::*;

use crate::error::{Error, Result};

/// Words per packed vector of `dim` dimensions.
pub(crate) fn words_for(dim: usize) -> usize {
    dim.div_ceil(64)
}

/// Checks that `vector` has `dim` entries, all 0 or 1; `index` names it in the error.
pub(crate) fn check_vector(index: usize, vector: &[u8], dim: usize) -> Result<()> {
    if vector.len() != dim {
        return Err(Error::VectorLength {
            index,
            expected: dim,
            found: vector.len(),
        });
    }
    match vector.iter().position(|&value| value > 1) {
        Some(position) => Err(Error::NonBinaryValue {
            index,
            position,
            value: vector[position].to_string(),
        }),
        None => Ok(()),
    }
}

/// Packs a checked vector into `out` (`words_for(vector.len())` words).
pub(crate) fn pack_into(vector: &[u8], out: &mut [u64]) {
    for (word, chunk) in out.iter_mut().zip(vector.chunks(64)) {
        *word = chunk.iter().enumerate().fold(0u64, |acc, (bit, &value)| {
            acc | (u64::from(value & 1) << bit)
        });
    }
}

/// The dimensions of a packed vector, as 0/1 bytes.
pub(crate) fn unpack(row: &[u64], dim: usize) -> Vec<u8> {
    (0..dim)
        .map(|i| ((row[i / 64] >> (i % 64)) & 1) as u8)
        .collect()
}

/// Whether the bits of `row` past `dim` are all 0.
pub(crate) fn padding_clear(row: &[u64], dim: usize) -> bool {
    match (row.last(), dim % 64) {
        (Some(&last), used) if used > 0 => last >> used == 0,
        _ => true,
    }
}

/// Hamming distance between two packed vectors of the same width.
#[inline]
pub(crate) fn distance(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// Packed vectors of one width, stored end to end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Packed {
    words: usize,
    data: Vec<u64>,
}

impl Packed {
    /// Wraps `data`, `words` words a vector (`words >= 1`, `data.len()` a multiple of it).
    pub(crate) fn from_words(words: usize, data: Vec<u64>) -> Self {
        debug_assert!(words >= 1 && data.len().is_multiple_of(words));
        Packed { words, data }
    }

    /// Checks every vector (`dim >= 1` entries of 0 or 1; the first bad one in input order is
    /// the error) and packs them.
    pub(crate) fn from_vectors<V: AsRef<[u8]> + Sync>(vectors: &[V], dim: usize) -> Result<Self> {
        if dim == 0 {
            return Err(Error::InvalidParameter(
                "binary vectors need at least one dimension".into(),
            ));
        }
        let bad = vectors
            .par_iter()
            .position_first(|v| check_vector(0, v.as_ref(), dim).is_err());
        if let Some(index) = bad {
            check_vector(index, vectors[index].as_ref(), dim)?;
        }
        let words = words_for(dim);
        let mut data = vec![0u64; vectors.len() * words];
        data.par_chunks_mut(words)
            .zip(vectors.par_iter())
            .for_each(|(out, vector)| pack_into(vector.as_ref(), out));
        Ok(Packed { words, data })
    }

    /// The vectors at `indices`, in that order.
    pub(crate) fn gather(&self, indices: &[usize]) -> Self {
        let mut data = Vec::with_capacity(indices.len() * self.words);
        for &i in indices {
            data.extend_from_slice(self.row(i));
        }
        Packed {
            words: self.words,
            data,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.data.len() / self.words
    }

    pub(crate) fn words(&self) -> usize {
        self.words
    }

    pub(crate) fn row(&self, i: usize) -> &[u64] {
        &self.data[i * self.words..(i + 1) * self.words]
    }

    #[cfg(test)]
    pub(crate) fn row_mut(&mut self, i: usize) -> &mut [u64] {
        &mut self.data[i * self.words..(i + 1) * self.words]
    }

    pub(crate) fn rows(&self) -> std::slice::ChunksExact<'_, u64> {
        self.data.chunks_exact(self.words)
    }

    pub(crate) fn par_rows_mut(&mut self) -> rayon::slice::ChunksExactMut<'_, u64> {
        self.data.par_chunks_exact_mut(self.words)
    }

    pub(crate) fn par_rows(&self) -> rayon::slice::ChunksExact<'_, u64> {
        self.data.par_chunks_exact(self.words)
    }

    /// The row nearest to `x` and its distance; ties go to the lowest index. `self` not empty.
    pub(crate) fn nearest(&self, x: &[u64]) -> (u32, u32) {
        let mut best = (u32::MAX, 0u32);
        for (j, row) in self.rows().enumerate() {
            let d = distance(x, row);
            if d < best.0 {
                best = (d, j as u32);
            }
        }
        (best.1, best.0)
    }

    /// The `out.len()` rows nearest to `x` as `(distance, index)`, nearest first, ties by index
    /// (`out.len() <= self.len()`).
    pub(crate) fn nearest_few(&self, x: &[u64], out: &mut [(u32, u32)]) {
        let want = out.len();
        let mut filled = 0;
        for (j, row) in self.rows().enumerate() {
            let entry = (distance(x, row), j as u32);
            if filled == want {
                // Later rows have higher indices: only a strictly smaller distance gets in.
                if want == 0 || entry.0 >= out[want - 1].0 {
                    continue;
                }
                filled -= 1;
            }
            let mut at = filled;
            while at > 0 && out[at - 1] > entry {
                out[at] = out[at - 1];
                at -= 1;
            }
            out[at] = entry;
            filled += 1;
        }
    }

    /// Every row's `(distance, index)` to `x`, sorted nearest first, ties by index.
    pub(crate) fn ranked(&self, x: &[u64]) -> Vec<(u32, u32)> {
        let mut all: Vec<(u32, u32)> = self
            .rows()
            .enumerate()
            .map(|(j, row)| (distance(x, row), j as u32))
            .collect();
        all.sort_unstable();
        all
    }
}

/// The hex form of a packed vector: one digit per 4 dimensions, dimension `4c` the high bit of
/// digit `c` (the digits read as the vector does); the last digit's bits past `dim` are 0.
pub(crate) fn to_hex(row: &[u64], dim: usize) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    (0..dim.div_ceil(4))
        .map(|c| {
            let nibble = (0..4).fold(0usize, |acc, b| {
                let i = 4 * c + b;
                let bit = if i < dim {
                    (row[i / 64] >> (i % 64)) & 1
                } else {
                    0
                };
                (acc << 1) | bit as usize
            });
            DIGITS[nibble] as char
        })
        .collect()
}

/// Reads [`to_hex`]'s form back into `out` (`words_for(dim)` words), or says what is wrong.
pub(crate) fn from_hex(text: &str, dim: usize, out: &mut [u64]) -> std::result::Result<(), String> {
    let digits = dim.div_ceil(4);
    if text.len() != digits {
        return Err(format!(
            "{} hex digits for {dim} dimensions (expected {digits})",
            text.len()
        ));
    }
    out.fill(0);
    for (c, ch) in text.chars().enumerate() {
        let nibble = ch
            .to_digit(16)
            .ok_or_else(|| format!("{ch:?} is not a hex digit"))?;
        for b in 0..4 {
            let i = 4 * c + b;
            let bit = u64::from((nibble >> (3 - b)) & 1);
            if i >= dim {
                if bit != 0 {
                    return Err(format!("bit {i} is set past the {dim} dimensions"));
                }
            } else {
                out[i / 64] |= bit << (i % 64);
            }
        }
    }
    Ok(())
}
