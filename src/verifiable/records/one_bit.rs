//! The one-bit layout of verifiable records: a plaintext the owner decodes with one prime.
//!
//! ```text
//!  bit 0          embed_len        embed_len + 128     embed_len + 256     embed_len + 384
//!  | bits (1 a dimension) | nonce r (128) | tag τ (128) | query nonce q (128, the query only) |
//! ```
//!
//! A record R holds its bits, its nonce and its tag; a query Q holds only its nonce, above them.
//! The service multiplies as always, `E(R)·E(Q) = E(R + Q)`, and the owner, who knows Q,
//! decrypts modulo the larger prime p and subtracts it: `D = (m mod p) − Q mod p`, which is R for
//! an honest answer. The owner computes the distance from R's bits and its own query vector.
//!
//! Everything stays below p: `R + Q < 2^(embed_len + 385)`, and p, the larger factor of an n of
//! at least `2·key_len − 1` bits (the least a key of `key_len` takes), is above `2^(key_len − 1)`;
//! so `embed_len + 385 ≤ key_len − 1`, that is up to `key_len − 386` dimensions (638 at key_len
//! 1024, 1662 at 2048).

use subtle::{Choice, ConditionallySelectable};

use crate::error::{Error, Result};
use crate::hamming::VectorLayout;
use crate::verifiable::records::layout::{
    any_bit_from, read_u128, write_u128, QueryNonce, RecordNonce,
};
use crate::verifiable::records::layout::{NONCE_BITS, QUERY_NONCE_BITS, TAG_BITS};

/// Bits of a query's plaintext above the record's bits: the record's nonce and tag, then the
/// query's nonce.
const FIELD_BITS: usize = NONCE_BITS + TAG_BITS + QUERY_NONCE_BITS;

/// Where the fields of one-bit verifiable records of `embed_len` dimensions sit; see the
/// module's documentation. The largest `embed_len` is `key_len − 386`.
///
/// ```
/// use paillier_gpu::verifiable::OneBitLayout;
/// assert!(OneBitLayout::new(638, 1024).is_ok());
/// assert!(OneBitLayout::new(639, 1024).is_err()); // 639 + 385 > 1024 − 1
/// assert_eq!(OneBitLayout::largest_embed_len(2048), 1662);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OneBitLayout {
    embed_len: usize,
    /// The classic layout at the same size: its check of a vector is this layout's too.
    vectors: VectorLayout,
}

impl OneBitLayout {
    /// The layout, if a record plus a query (`embed_len + 385` bits) stays below the larger
    /// prime of a `key_len`-bit key (`p > 2^(key_len − 1)`).
    pub fn new(embed_len: usize, key_len: usize) -> Result<Self> {
        let vectors = VectorLayout::new(embed_len, key_len)?;
        if embed_len > Self::largest_embed_len(key_len) {
            return Err(Error::InvalidParameter(format!(
                "one-bit verifiable records of {embed_len} dimensions need {embed_len} + \
                 {FIELD_BITS} + 1 bits below the larger prime, which a key_len of {key_len} \
                 keeps only up to {} dimensions",
                Self::largest_embed_len(key_len)
            )));
        }
        Ok(Self { embed_len, vectors })
    }

    /// The most dimensions one-bit records take under `key_len`-bit primes.
    pub fn largest_embed_len(key_len: usize) -> usize {
        key_len.saturating_sub(FIELD_BITS + 2)
    }

    /// Dimensions of a record's vector.
    pub fn embed_len(&self) -> usize {
        self.embed_len
    }

    /// Refuses a vector that is not `embed_len` values of 0 or 1 (`index`: its place).
    pub(in crate::verifiable) fn check_vector(&self, index: usize, vector: &[u8]) -> Result<()> {
        self.vectors.check(index, vector)
    }

    fn nonce_offset(&self) -> usize {
        self.embed_len
    }

    fn tag_offset(&self) -> usize {
        self.nonce_offset() + NONCE_BITS
    }

    fn query_nonce_offset(&self) -> usize {
        self.tag_offset() + TAG_BITS
    }

    /// Bits of a record's plaintext: an honest answer, less its query, has none set above.
    pub fn record_bits(&self) -> usize {
        self.query_nonce_offset()
    }

    /// Bits of a query's plaintext.
    pub fn query_bits(&self) -> usize {
        self.query_nonce_offset() + QUERY_NONCE_BITS
    }

    /// Packs a checked vector (one 0 or 1 a dimension) with its nonce and tag into `out`
    /// (zeroed, little-endian limbs).
    pub fn pack_into(&self, vector: &[u8], nonce: RecordNonce, tag: u128, out: &mut [u64]) {
        for (dimension, &bit) in vector.iter().enumerate() {
            if let Some(limb) = out.get_mut(dimension / 64) {
                *limb |= u64::from(bit & 1) << (dimension % 64);
            }
        }
        write_u128(out, self.nonce_offset(), nonce.0);
        write_u128(out, self.tag_offset(), tag);
    }

    /// A query's plaintext, its nonce above the record's fields, into `out` (zeroed limbs).
    pub fn pack_query_into(&self, nonce: QueryNonce, out: &mut [u64]) {
        write_u128(out, self.query_nonce_offset(), nonce.0);
    }

    /// The nonce, the tag and whether any bit above the record is set, of `record` (an answer
    /// less its query).
    pub(in crate::verifiable) fn fields(&self, record: &[u64]) -> (RecordNonce, u128, bool) {
        (
            RecordNonce(read_u128(record, self.nonce_offset())),
            read_u128(record, self.tag_offset()),
            any_bit_from(record, self.record_bits()),
        )
    }

    /// The bit of `dimension`; the caller checks that it is below `embed_len` and that
    /// `record` holds the layout.
    pub(in crate::verifiable) fn bit(&self, record: &[u64], dimension: usize) -> u8 {
        ((record[dimension / 64] >> (dimension % 64)) & 1) as u8
    }
}

/// `out = (a − b) mod p` for `a, b < p`, all of `out`'s width (`p` zero-extended), without a
/// branch or an address that depends on the values.
pub(in crate::verifiable) fn sub_mod(a: &[u64], b: &[u64], p: &[u64], out: &mut [u64]) {
    let limb = |limbs: &[u64], i: usize| limbs.get(i).copied().unwrap_or(0);
    let mut borrow = 0u64;
    for (i, out) in out.iter_mut().enumerate() {
        let (partial, under_1) = limb(a, i).overflowing_sub(limb(b, i));
        let (difference, under_2) = partial.overflowing_sub(borrow);
        *out = difference;
        borrow = u64::from(under_1 | under_2);
    }
    // Add p back where the difference went below zero.
    let add = Choice::from(borrow as u8);
    let mut carry = 0u64;
    for (i, out) in out.iter_mut().enumerate() {
        let addend = u64::conditional_select(&0, &limb(p, i), add);
        let (partial, over_1) = out.overflowing_add(addend);
        let (sum, over_2) = partial.overflowing_add(carry);
        *out = sum;
        carry = u64::from(over_1 | over_2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigUint;
    use proptest::prelude::*;

    use crate::hazmat::bigint::{biguint_from_limbs, limbs_from_biguint};

    #[test]
    fn the_largest_layout_stays_below_the_smallest_prime() {
        for key_len in [512usize, 1024, 1536, 2048, 3072] {
            let largest = OneBitLayout::largest_embed_len(key_len);
            let layout = OneBitLayout::new(largest, key_len).unwrap();
            assert!(OneBitLayout::new(largest + 1, key_len).is_err());
            // The largest record plus the largest query, against the bound on p: n has at least
            // 2·key_len − 1 bits, so its larger factor p is above 2^(key_len − 1).
            let all = |bits: usize| (BigUint::from(1u32) << bits) - 1u32;
            let sum = all(layout.record_bits()) + all(layout.query_bits());
            assert!(sum < BigUint::from(1u32) << (key_len - 1), "{key_len}");
        }
        assert_eq!(OneBitLayout::largest_embed_len(1024), 638);
    }

    #[test]
    fn fields_and_bits_read_back_at_every_alignment() {
        for embed_len in [1, 63, 64, 65, 100, 128] {
            let layout = OneBitLayout::new(embed_len, 1024).unwrap();
            let vector: Vec<u8> = (0..embed_len).map(|d| (d % 3 == 0) as u8).collect();
            let nonce = RecordNonce(0x0123_4567_89ab_cdef_fedc_ba98_7654_3211);
            let mut limbs = vec![0u64; 16];
            layout.pack_into(&vector, nonce, u128::MAX - 9, &mut limbs);
            assert_eq!(layout.fields(&limbs), (nonce, u128::MAX - 9, false));
            assert!((0..embed_len).all(|d| layout.bit(&limbs, d) == vector[d]));
            layout.pack_query_into(QueryNonce(1), &mut limbs);
            assert!(layout.fields(&limbs).2);
        }
    }

    proptest! {
        #[test]
        fn sub_mod_matches_num_bigint(a in any::<[u64; 3]>(), b in any::<[u64; 3]>(), p in any::<[u64; 3]>()) {
            let p_int = biguint_from_limbs(&p) | BigUint::from(1u32) << 191;
            let (a_int, b_int) = (biguint_from_limbs(&a) % &p_int, biguint_from_limbs(&b) % &p_int);
            let limbs = |value: &BigUint| limbs_from_biguint(value, 4).unwrap();
            let mut out = [0u64; 4];
            sub_mod(&limbs(&a_int), &limbs(&b_int), &limbs(&p_int), &mut out);
            let expected = (&a_int + &p_int - &b_int) % &p_int;
            prop_assert_eq!(biguint_from_limbs(&out), expected);
        }
    }
}
