//! Where a verifiable record's fields sit in its plaintext.
//!
//! ```text
//!  bit 0            2·embed_len      2·embed_len + 128      2·embed_len + 256    2·embed_len + 384
//!  | slots (2 bits a dimension) | nonce r (128) | tag τ (128) | query nonce q (128) | zero … below n |
//! ```
//!
//! The slots are the classic layout's ([`VectorLayout`]), so a query adds into them. A record
//! holds zero in the query nonce's field and a query holds zero in the record's fields, so an
//! honest answer decodes to the record's r and τ and the query's q unchanged. The owner draws q
//! afresh for every query (the zero query of a find, patch or delete too): an answer the service
//! built from anything but this query once, such as `E(R)·E(Q)²·E(−C)` to test a guess C, or an
//! earlier query's, has another value there.

use rand::RngCore;

use crate::error::{Error, Result};
use crate::hamming::VectorLayout;

/// Bits of a record nonce.
pub const NONCE_BITS: usize = 128;
/// Bits of a record tag.
pub const TAG_BITS: usize = 128;
/// Bits of a query nonce.
pub const QUERY_NONCE_BITS: usize = 128;
/// Bits above the slots: a record's nonce and tag, then the query's nonce.
pub(in crate::verifiable) const FIELD_BITS: usize = NONCE_BITS + TAG_BITS + QUERY_NONCE_BITS;

/// A fresh non-zero random 128-bit value.
fn random_nonzero() -> u128 {
    loop {
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let value = u128::from_le_bytes(bytes);
        if value != 0 {
            return value;
        }
    }
}

/// A record's 128-bit nonce, drawn at random by the owner for each upload and each update; the
/// same in every piece of the record. Never zero (an all-zero nonce and tag is what a record
/// uploaded without verification, or a piece forged as E(0), decodes to).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct RecordNonce(pub(in crate::verifiable) u128);

impl RecordNonce {
    /// A fresh random nonce.
    pub fn random() -> Self {
        Self(random_nonzero())
    }

    /// The nonce as 16 little-endian bytes (the form the seal authenticates).
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_le_bytes()
    }

    /// A nonce from [`to_bytes`](Self::to_bytes)'s form.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(u128::from_le_bytes(bytes))
    }

    /// The nonce as 32 hexadecimal digits.
    pub fn to_hex(self) -> String {
        format!("{:032x}", self.0)
    }
}

/// A query's 128-bit nonce, drawn at random by the owner for each query; never zero (what a
/// record holds in its field).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct QueryNonce(pub(in crate::verifiable) u128);

impl QueryNonce {
    /// A fresh random nonce.
    pub fn random() -> Self {
        Self(random_nonzero())
    }
}

/// The plaintext layout of verifiable records of `embed_len` dimensions under `key_len`-bit
/// primes: one piece a record, slots then nonce then tag, and the query's nonce above them.
/// The largest `embed_len` is `key_len − 193`: 831 at key_len 1024, 1855 at 2048, 2879 at 3072.
///
/// ```
/// use paillier_gpu::verifiable::TaggedLayout;
/// assert!(TaggedLayout::new(831, 1024).is_ok());
/// assert!(TaggedLayout::new(832, 1024).is_err()); // 2·832 + 384 ≥ 2·1024 − 1
/// assert_eq!(TaggedLayout::largest_embed_len(2048), 1855);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaggedLayout {
    slots: VectorLayout,
}

impl TaggedLayout {
    /// The layout, if its `2·embed_len + 256` bits stay below n (`n ≥ 2^(2·key_len − 1)`).
    pub fn new(embed_len: usize, key_len: usize) -> Result<Self> {
        let bits = 2 * embed_len + FIELD_BITS;
        if bits >= (2 * key_len).saturating_sub(1) {
            return Err(Error::InvalidParameter(format!(
                "verifiable records of {embed_len} dimensions need 2·{embed_len} + {FIELD_BITS} \
                 = {bits} plaintext bits (the slots, the record's nonce and tag, the query's \
                 nonce), and a key_len of {key_len} holds fewer than {}: at this key_len they \
                 take up to {} dimensions",
                (2 * key_len).saturating_sub(1),
                Self::largest_embed_len(key_len)
            )));
        }
        Ok(Self {
            slots: VectorLayout::new(embed_len, key_len)?,
        })
    }

    /// The most dimensions verifiable records take under `key_len`-bit primes.
    pub fn largest_embed_len(key_len: usize) -> usize {
        (2 * key_len).saturating_sub(FIELD_BITS + 2) / 2
    }

    /// Dimensions of a record's vector.
    pub fn embed_len(&self) -> usize {
        self.slots.embed_len()
    }

    /// The slots' layout (one chunk: the fields always leave room).
    pub fn slots(&self) -> &VectorLayout {
        &self.slots
    }

    /// Where the nonce starts.
    pub fn nonce_offset(&self) -> usize {
        2 * self.embed_len()
    }

    /// Where the tag starts.
    pub fn tag_offset(&self) -> usize {
        self.nonce_offset() + NONCE_BITS
    }

    /// Where the query's nonce starts (zero in a record).
    pub fn query_nonce_offset(&self) -> usize {
        self.tag_offset() + TAG_BITS
    }

    /// Bits of a record's plaintext (its fields end below the query's nonce).
    pub fn record_bits(&self) -> usize {
        self.query_nonce_offset()
    }

    /// Bits of a whole answer plaintext; an honest answer has none set above them.
    pub fn plaintext_bits(&self) -> usize {
        self.query_nonce_offset() + QUERY_NONCE_BITS
    }

    /// Packs a checked vector with its nonce and tag into `out` (zeroed, little-endian limbs).
    pub fn pack_into(&self, vector: &[u8], nonce: RecordNonce, tag: u128, out: &mut [u64]) {
        self.slots.pack_into(vector, out);
        write_u128(out, self.nonce_offset(), nonce.0);
        write_u128(out, self.tag_offset(), tag);
    }

    /// Packs a checked query vector with its nonce into `out` (zeroed, little-endian limbs).
    pub fn pack_query_into(&self, vector: &[u8], nonce: QueryNonce, out: &mut [u64]) {
        self.slots.pack_into(vector, out);
        write_u128(out, self.query_nonce_offset(), nonce.0);
    }

    /// The fields of a decrypted answer: the record's nonce and tag, the query's nonce, and
    /// whether any bit above the layout is set.
    pub fn fields(&self, plaintext: &[u64]) -> AnswerFields {
        AnswerFields {
            nonce: RecordNonce(read_u128(plaintext, self.nonce_offset())),
            tag: read_u128(plaintext, self.tag_offset()),
            query_nonce: read_u128(plaintext, self.query_nonce_offset()),
            above: any_bit_from(plaintext, self.plaintext_bits()),
        }
    }

    /// The value of slot `dimension` (0, 1 or 2 in an honest answer; 3 only in a forged one).
    /// The caller checks that `dimension` is below `embed_len` and `plaintext` holds the layout.
    pub(crate) fn slot(&self, plaintext: &[u64], dimension: usize) -> u8 {
        let position = 2 * (self.embed_len() - 1 - dimension);
        ((plaintext[position / 64] >> (position % 64)) & 3) as u8
    }
}

/// The fields of one decrypted answer, as [`TaggedLayout::fields`] reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnswerFields {
    /// The record's nonce.
    pub nonce: RecordNonce,
    /// The record's tag.
    pub tag: u128,
    /// The query's nonce (zero in a record on its own).
    pub query_nonce: u128,
    /// Whether any bit above the query's nonce is set.
    pub above: bool,
}

/// Bits `offset..offset + 128` of little-endian limbs (zero past their end).
pub(in crate::verifiable) fn read_u128(limbs: &[u64], offset: usize) -> u128 {
    (0..128).step_by(64).fold(0u128, |value, step| {
        value | (u128::from(read_u64(limbs, offset + step)) << step)
    })
}

fn read_u64(limbs: &[u64], offset: usize) -> u64 {
    let (word, shift) = (offset / 64, offset % 64);
    let low = limbs.get(word).copied().unwrap_or(0) >> shift;
    let high = match shift {
        0 => 0,
        _ => limbs.get(word + 1).copied().unwrap_or(0) << (64 - shift),
    };
    low | high
}

/// ORs `value` into bits `offset..offset + 128` (the caller's limbs reach that far).
pub(in crate::verifiable) fn write_u128(limbs: &mut [u64], offset: usize, value: u128) {
    for (step, part) in [(0, value as u64), (64, (value >> 64) as u64)] {
        let (word, shift) = ((offset + step) / 64, (offset + step) % 64);
        if let Some(limb) = limbs.get_mut(word) {
            *limb |= part << shift;
        }
        if shift != 0 {
            if let Some(limb) = limbs.get_mut(word + 1) {
                *limb |= part >> (64 - shift);
            }
        }
    }
}

/// Whether any bit from `offset` on is set, read without a branch on the limbs.
pub(in crate::verifiable) fn any_bit_from(limbs: &[u64], offset: usize) -> bool {
    let (word, shift) = (offset / 64, offset % 64);
    let set = limbs
        .iter()
        .skip(word + 1)
        .fold(0u64, |set, &limb| set | limb);
    let first = limbs.get(word).map_or(0, |&limb| limb >> shift);
    (set | first) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_back_at_every_alignment() {
        for embed_len in [1, 31, 32, 33, 64, 100] {
            let layout = TaggedLayout::new(embed_len, 512).unwrap();
            let mut limbs = vec![0u64; 16];
            let nonce = RecordNonce(0x0123_4567_89ab_cdef_fedc_ba98_7654_3211);
            let tag = u128::MAX - 5;
            let vector = vec![1u8; embed_len];
            layout.pack_into(&vector, nonce, tag, &mut limbs);
            let query = QueryNonce(u128::MAX / 3);
            let mut query_limbs = vec![0u64; 16];
            layout.pack_query_into(&vec![0u8; embed_len], query, &mut query_limbs);
            for (limb, q) in limbs.iter_mut().zip(&query_limbs) {
                *limb |= q;
            }
            let fields = layout.fields(&limbs);
            assert_eq!(
                (fields.nonce, fields.tag, fields.query_nonce, fields.above),
                (nonce, tag, query.0, false)
            );
            assert!((0..embed_len).all(|d| layout.slot(&limbs, d) == 1));
            let top = layout.plaintext_bits();
            limbs[top / 64] |= 1 << (top % 64);
            assert!(layout.fields(&limbs).above);
        }
    }
}
