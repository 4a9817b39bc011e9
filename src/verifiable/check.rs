//! One record's answer checked without a branch or an address that depends on its bits: the
//! slots, the fields and the tag are all read and compared whatever the others gave, and only
//! the verdict leaves (which the search's outcome shows anyway). `tools/ct-check` runs it under
//! valgrind's memcheck with the plaintext and the query marked secret.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use super::layout::{RecordNonce, TaggedLayout};
use super::tag::record_tag;
use super::RecordKeys;

/// One record's answer decoded and checked: its distance and nonce, or that it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodedRecord {
    /// The Hamming distance its slots give (zero unless `valid`).
    pub distance: u32,
    /// Its nonce, as decoded (zero unless `valid`).
    pub nonce: RecordNonce,
    /// Nothing above the fields, each slot minus the query's bit 0 or 1, and the tag this
    /// knowledge base's for the nonce and the bits. The one verdict: which check failed would
    /// say something of a plaintext the service chose.
    pub valid: bool,
}

impl RecordKeys {
    /// Checks `plaintext` (little-endian limbs of one record's decrypted answer) against
    /// `query`, the vector the owner encrypted, for knowledge base `kb`. A query or plaintext of
    /// the wrong length is not valid.
    ///
    /// ```
    /// use paillier_gpu::context::DataKey;
    /// use paillier_gpu::verifiable::{RecordKeys, TaggedLayout};
    /// let keys = RecordKeys::derive(&DataKey::new([7; 32]));
    /// let layout = TaggedLayout::new(8, 256).unwrap();
    /// let check = keys.check_record(&layout, "kb-1", &[0; 8], &[0u64; 8]);
    /// assert!(!check.valid); // all zero: no tag
    /// ```
    pub fn check_record(
        &self,
        layout: &TaggedLayout,
        kb: &str,
        query: &[u8],
        plaintext: &[u64],
    ) -> DecodedRecord {
        let embed_len = layout.embed_len();
        // Lengths are public; with the wrong ones nothing is read.
        if query.len() != embed_len || plaintext.len() * 64 < layout.plaintext_bits() {
            return DecodedRecord {
                distance: 0,
                nonce: RecordNonce(0),
                valid: false,
            };
        }
        let (nonce, tag, above) = layout.fields(plaintext);
        let mut bits = Zeroizing::new(vec![0u8; embed_len]);
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
        let expected = record_tag(self, kb, nonce, 0, &bits);
        let tag_ok = expected.ct_eq(&tag);
        let nothing_above = Choice::from(u8::from(!above));
        let valid = Choice::from(slots_fit) & tag_ok & nothing_above;
        // What a refused record decodes to is a plaintext the service chose: none of it leaves.
        DecodedRecord {
            distance: u32::conditional_select(&0, &distance, valid),
            nonce: RecordNonce(u128::conditional_select(&0, &nonce.0, valid)),
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
        let tag = record_tag(&keys, "kb", nonce, 0, &vector);
        layout.pack_into(&vector, nonce, tag, &mut plaintext);
        // The record against a query of zeros is its own honest answer.
        let check = keys.check_record(&layout, "kb", &[0; 8], &plaintext);
        assert!(check.valid);
        assert_eq!((check.distance, check.nonce), (4, nonce));
        assert!(!keys.check_record(&layout, "kb", &[0; 7], &plaintext).valid);
        assert!(!keys.check_record(&layout, "kb", &[0; 9], &plaintext).valid);
        assert!(
            !keys
                .check_record(&layout, "kb", &[0; 8], &plaintext[..4])
                .valid
        );
        assert!(
            !keys
                .check_record(&layout, "other", &[0; 8], &plaintext)
                .valid
        );
    }
}
