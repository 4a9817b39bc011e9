//! One one-bit record's answer checked, as `check.rs` checks a two-bit one: no branch or address
//! depends on its bits, and only the verdict leaves.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::verifiable::records::check::DecodedRecord;
use zeroize::Zeroizing;

use crate::verifiable::records::layout::{QueryNonce, RecordNonce};
use crate::verifiable::records::one_bit::{sub_mod, OneBitLayout};
use crate::verifiable::records::record_layout::LayoutKind;
use crate::verifiable::records::tag::record_tag;
use crate::verifiable::RecordKeys;

impl RecordKeys {
    /// Checks `answer` (little-endian limbs of one answer decrypted modulo the larger prime
    /// `p`), the record plus the query of `query_nonce` (0: a record read on its own): the
    /// query's plaintext is subtracted modulo p, then the record is checked as
    /// [`check_one_bit_record`](Self::check_one_bit_record) checks it. Nothing branches on the
    /// answer, p or the query, or is addressed by them (`tools/ct-check`).
    #[allow(clippy::too_many_arguments)]
    pub fn check_one_bit_answer(
        &self,
        layout: &OneBitLayout,
        kb: &str,
        query: &[u8],
        query_nonce: QueryNonce,
        answer: &[u64],
        p: &[u64],
        bits: &mut [u8],
    ) -> DecodedRecord {
        let mut query_plaintext = Zeroizing::new(vec![0u64; answer.len()]);
        layout.pack_query_into(query_nonce, &mut query_plaintext);
        let mut record = Zeroizing::new(vec![0u64; answer.len()]);
        sub_mod(answer, &query_plaintext, p, &mut record);
        self.check_one_bit_record(layout, kb, query, &record, bits)
    }

    /// Checks `record` (little-endian limbs of one answer decrypted modulo p, less the query's
    /// plaintext modulo p) for knowledge base `kb`: nothing set above the record's fields and
    /// the tag this knowledge base's for the nonce and the bits. The distance is to `query`,
    /// the owner's vector. Writes the record's bits into `bits` (`embed_len` of them), all zero
    /// unless valid. A query, record or `bits` of the wrong length is not valid.
    ///
    /// ```
    /// use paillier_gpu::context::DataKey;
    /// use paillier_gpu::verifiable::{OneBitLayout, RecordKeys};
    /// let keys = RecordKeys::derive(&DataKey::new([7; 32]));
    /// let layout = OneBitLayout::new(8, 512).unwrap();
    /// let mut bits = [0u8; 8];
    /// let check = keys.check_one_bit_record(&layout, "kb-1", &[0; 8], &[0u64; 16], &mut bits);
    /// assert!(!check.valid); // all zero: no tag
    /// ```
    pub fn check_one_bit_record(
        &self,
        layout: &OneBitLayout,
        kb: &str,
        query: &[u8],
        record: &[u64],
        bits: &mut [u8],
    ) -> DecodedRecord {
        let embed_len = layout.embed_len();
        // Lengths are public; with the wrong ones nothing is read.
        if query.len() != embed_len
            || bits.len() != embed_len
            || record.len() * 64 < layout.query_bits()
        {
            bits.fill(0);
            return DecodedRecord {
                distance: 0,
                nonce: RecordNonce(0),
                valid: false,
            };
        }
        let (nonce, tag, above) = layout.fields(record);
        let mut distance = 0u32;
        for (dimension, (bit, &query_bit)) in bits.iter_mut().zip(query).enumerate() {
            *bit = layout.bit(record, dimension);
            distance += u32::from((*bit ^ query_bit) & 1);
        }
        let expected = record_tag(self, LayoutKind::OneBit, kb, nonce, 0, bits);
        let valid = expected.ct_eq(&tag) & Choice::from(u8::from(!above));
        for bit in bits.iter_mut() {
            *bit = u8::conditional_select(&0, bit, valid);
        }
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
    fn a_record_passes_and_every_change_to_it_fails() {
        let keys = RecordKeys::derive(&DataKey::new([3; 32]));
        let layout = OneBitLayout::new(8, 512).unwrap();
        let vector = [1u8, 0, 1, 1, 0, 0, 1, 0];
        let nonce = RecordNonce(5);
        let tag = record_tag(&keys, LayoutKind::OneBit, "kb", nonce, 0, &vector);
        let mut record = vec![0u64; 16];
        layout.pack_into(&vector, nonce, tag, &mut record);
        let query = [0u8, 0, 1, 1, 0, 0, 0, 0];
        let mut bits = [0u8; 8];
        let check = keys.check_one_bit_record(&layout, "kb", &query, &record, &mut bits);
        assert!(check.valid);
        assert_eq!((check.distance, check.nonce, bits), (2, nonce, vector));
        let valid = |kb: &str, query: &[u8], record: &[u64]| {
            let mut bits = vec![0u8; query.len()];
            keys.check_one_bit_record(&layout, kb, query, record, &mut bits)
                .valid
        };
        assert!(!valid("other", &query, &record));
        assert!(!valid("kb", &query[..7], &record));
        assert!(!valid("kb", &query, &record[..4]));
        // Any bit flipped in the vector, the nonce or the tag; a bit above the record.
        for position in 0..layout.query_bits() {
            let mut altered = record.clone();
            altered[position / 64] ^= 1 << (position % 64);
            assert!(!valid("kb", &query, &altered), "bit {position}");
        }
        // The same bits under the two-bit layout's tag domain.
        let two_bit_tag = record_tag(&keys, LayoutKind::TwoBit, "kb", nonce, 0, &vector);
        let mut other = vec![0u64; 16];
        layout.pack_into(&vector, nonce, two_bit_tag, &mut other);
        assert!(!valid("kb", &query, &other));
        // A refused record's bits are not given out.
        let mut bits = [1u8; 8];
        let _ = keys.check_one_bit_record(&layout, "other", &query, &record, &mut bits);
        assert_eq!(bits, [0; 8]);
    }
}
