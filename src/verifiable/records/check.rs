//! One record's answer checked without a branch or an address that depends on its bits: the
//! slots, the fields and the tag are all read and compared whatever the others gave, and only
//! the verdict leaves (which the search's outcome shows anyway). `tools/ct-check` runs it under
//! valgrind's memcheck with the plaintext and the query marked secret.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::verifiable::records::layout::{QueryNonce, RecordNonce, TaggedLayout};
use crate::verifiable::records::record_layout::LayoutKind;
use crate::verifiable::records::tag::record_tag;
use crate::verifiable::RecordKeys;

/// One record's answer decoded and checked: its distance and nonce, or that it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodedRecord {
    /// The Hamming distance its slots give (zero unless `valid`).
    pub distance: u32,
    /// Its nonce, as decoded (zero unless `valid`).
    pub nonce: RecordNonce,
    /// Nothing above the fields, each slot minus the query's bit 0 or 1, the tag this
    /// knowledge base's for the nonce and the bits, and the query's nonce this query's. The one
    /// verdict: which check failed would say something of a plaintext the service chose.
    pub valid: bool,
}

impl RecordKeys {
    /// Checks `plaintext` (little-endian limbs of one two-bit record's decrypted answer) against
    /// `query`, the vector the owner encrypted with `query_nonce`, for knowledge base `kb`. A
    /// query or plaintext of the wrong length is not valid.
    ///
    /// ```
    /// use paillier_gpu::context::DataKey;
    /// use paillier_gpu::verifiable::{QueryNonce, RecordKeys, TaggedLayout};
    /// let keys = RecordKeys::derive(&DataKey::new([7; 32]));
    /// let layout = TaggedLayout::new(8, 256).unwrap();
    /// let check = keys.check_record(&layout, "kb-1", &[0; 8], QueryNonce::random(), &[0u64; 8]);
    /// assert!(!check.valid); // all zero: no tag
    /// ```
    pub fn check_record(
        &self,
        layout: &TaggedLayout,
        kb: &str,
        query: &[u8],
        query_nonce: QueryNonce,
        plaintext: &[u64],
    ) -> DecodedRecord {
        let mut bits = Zeroizing::new(vec![0u8; layout.embed_len()]);
        self.check_record_bits(layout, kb, query, query_nonce, plaintext, &mut bits)
    }

    /// [`check_record`](Self::check_record), which also writes the record's own bits (each slot
    /// minus the query's bit) into `bits` (`embed_len` of them): all zero unless valid. The
    /// owner re-encrypts a record from them, under a fresh nonce, without its vector.
    pub fn check_record_bits(
        &self,
        layout: &TaggedLayout,
        kb: &str,
        query: &[u8],
        query_nonce: QueryNonce,
        plaintext: &[u64],
        bits: &mut [u8],
    ) -> DecodedRecord {
        let embed_len = layout.embed_len();
        // Lengths are public; with the wrong ones nothing is read.
        if query.len() != embed_len
            || bits.len() != embed_len
            || plaintext.len() * 64 < layout.plaintext_bits()
        {
            bits.fill(0);
            return DecodedRecord {
                distance: 0,
                nonce: RecordNonce(0),
                valid: false,
            };
        }
        let fields = layout.fields(plaintext);
        let mut distance = 0u32;
        let mut slots_fit = 1u8;
        for (dimension, (bit, &query_bit)) in bits.iter_mut().zip(query).enumerate() {
            let slot = layout.slot(plaintext, dimension);
            // 1 for a slot of 1 (the bits differ), 0 for 0, 2 and 3.
            distance += u32::from(slot & !(slot >> 1) & 1);
            let value = slot.wrapping_sub(query_bit);
            // value <= 1, as a mask: bits 1 to 7 all clear.
            slots_fit &= (value >> 1).ct_eq(&0).unwrap_u8();
            *bit = value & 1;
        }
        let expected = record_tag(self, LayoutKind::TwoBit, kb, fields.nonce, 0, bits);
        let tag_ok = expected.ct_eq(&fields.tag);
        let query_ok = fields.query_nonce.ct_eq(&query_nonce.0);
        let nothing_above = Choice::from(u8::from(!fields.above));
        let valid = Choice::from(slots_fit) & tag_ok & query_ok & nothing_above;
        for bit in bits.iter_mut() {
            *bit = u8::conditional_select(&0, bit, valid);
        }
        // What a refused record decodes to is a plaintext the service chose: none of it leaves.
        DecodedRecord {
            distance: u32::conditional_select(&0, &distance, valid),
            nonce: RecordNonce(u128::conditional_select(&0, &fields.nonce.0, valid)),
            valid: valid.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::DataKey;

    #[test]
    fn wrong_lengths_are_not_valid_and_read_nothing() {
        let keys = RecordKeys::derive(&DataKey::new([3; 32]));
        let layout = TaggedLayout::new(8, 256).unwrap();
        let vector = [1u8, 0, 1, 1, 0, 0, 1, 0];
        let nonce = RecordNonce(5);
        let mut plaintext = vec![0u64; 8];
        let tag = record_tag(&keys, LayoutKind::TwoBit, "kb", nonce, 0, &vector);
        layout.pack_into(&vector, nonce, tag, &mut plaintext);
        // The record plus a query of zeros is the honest answer to that query.
        let query = QueryNonce(9);
        let mut query_limbs = vec![0u64; 8];
        layout.pack_query_into(&[0; 8], query, &mut query_limbs);
        for (limb, q) in plaintext.iter_mut().zip(&query_limbs) {
            *limb |= q;
        }
        let mut bits = [0u8; 8];
        let check = keys.check_record_bits(&layout, "kb", &[0; 8], query, &plaintext, &mut bits);
        assert!(check.valid);
        assert_eq!((check.distance, check.nonce, bits), (4, nonce, vector));
        let check = |kb: &str, query_vector: &[u8], q: QueryNonce, plaintext: &[u64]| {
            keys.check_record(&layout, kb, query_vector, q, plaintext)
                .valid
        };
        assert!(!check("kb", &[0; 7], query, &plaintext));
        assert!(!check("kb", &[0; 9], query, &plaintext));
        assert!(!check("kb", &[0; 8], query, &plaintext[..4]));
        assert!(!check("other", &[0; 8], query, &plaintext));
        // Another query's answer, or a record on its own (a query field of zero).
        assert!(!check("kb", &[0; 8], QueryNonce(10), &plaintext));
        let mut bare = vec![0u64; 8];
        layout.pack_into(&vector, nonce, tag, &mut bare);
        assert!(!check("kb", &[0; 8], query, &bare));
        // A refused record's bits are not given out.
        let mut bits = [1u8; 8];
        let _ = keys.check_record_bits(
            &layout,
            "kb",
            &[0; 8],
            QueryNonce(10),
            &plaintext,
            &mut bits,
        );
        assert_eq!(bits, [0; 8]);
    }
}
