//! The fixed-base powers' row scan in the lanes: each lane's entry of a row of plain values
//! shared by every lane.

// AVX-512 intrinsics (the caller checks the CPU) over slices whose lengths the function checks.
#![allow(unsafe_code)]

use crate::bigint::avx512::*;

use super::LANES;

/// A fixed-base table's rows of `2^window_bits` entries (one after the other, `width` words
/// each, in a lane engine's digits) as the row scan reads them: word by word (word `k` of every
/// entry of a row together), each row padded with zero entries to [`row_entries`].
pub(crate) fn lay_out_rows(entries: &[u64], width: usize, window_bits: usize) -> Vec<u64> {
    let (per_row, padded) = (1usize << window_bits, row_entries(window_bits));
    let rows = entries.len() / (per_row * width);
    // Allocated whole: no reallocation leaves a copy of the (secret) digits behind.
    let mut laid_out = vec![0u64; rows * padded * width];
    for (row, out) in entries
        .chunks_exact(per_row * width)
        .zip(laid_out.chunks_exact_mut(padded * width))
    {
        for (e, entry) in row.chunks_exact(width).enumerate() {
            for (k, &word) in entry.iter().enumerate() {
                out[k * padded + e] = word;
            }
        }
    }
    laid_out
}

/// Entries a laid-out row holds: `2^window_bits`, padded to a multiple of sixteen (the scan
/// takes sixteen at a time).
pub(crate) fn row_entries(window_bits: usize) -> usize {
    (1usize << window_bits).next_multiple_of(16)
}

/// Lane by lane, entry `digits[i]` of a row of `entries` plain values stored word by word (word
/// `k` of every entry together, `entries` a multiple of 16, `W = out.len() / 8` words an entry)
/// into lane `i` of `out`. Each word's sixteen entries at a time pass through a two-register
/// permute indexed by the digits, whose time does not depend on the indices, and the groups
/// meet under masks made by vector compares: the instructions and addresses depend on nothing
/// but `entries` and `W`. The fixed-base powers' row scan, where one row serves every lane: per
/// word, two operations per sixteen entries where broadcasting every entry takes sixteen.
///
/// # Safety
/// The CPU must have AVX-512F.
#[cfg_attr(not(feature = "emulated-ifma"), target_feature(enable = "avx512f"))]
pub(crate) unsafe fn select_words(
    row: &[u64],
    entries: usize,
    digits: &[u64; LANES],
    out: &mut [u64],
) {
    const GROUP: usize = 16;
    let width = out.len() / LANES;
    let groups = entries / GROUP;
    assert!(groups > 0 && groups <= GROUP && entries.is_multiple_of(GROUP));
    assert!(row.len() >= entries * width);
    let (t, o) = (row.as_ptr(), out.as_mut_ptr());
    let wanted = _mm512_loadu_si512(digits.as_ptr().cast());
    let group_of = _mm512_srli_epi64(wanted, 4);
    let mut mine = [0 as __mmask8; GROUP];
    for (g, mask) in mine.iter_mut().enumerate().take(groups) {
        *mask = _mm512_cmpeq_epi64_mask(group_of, _mm512_set1_epi64(g as i64));
    }
    for k in 0..width {
        let words = t.add(k * entries);
        let mut acc = _mm512_setzero_si512();
        for (g, &mask) in mine.iter().enumerate().take(groups) {
            let low = _mm512_loadu_si512(words.add(GROUP * g).cast());
            let high = _mm512_loadu_si512(words.add(GROUP * g + LANES).cast());
            let picked = _mm512_permutex2var_epi64(low, wanted, high);
            acc = _mm512_mask_mov_epi64(acc, mask, picked);
        }
        _mm512_storeu_si512(o.add(LANES * k).cast(), acc);
    }
}
