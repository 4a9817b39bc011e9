//! A tally of records: how many, and a keyed set hash of their (chunk id, nonce) pairs, the sum
//! of HMAC(kb ‖ id ‖ nonce) modulo 2²⁵⁶ under the digest key, so that an insert, an update (the
//! old pair out, the new one in) and a delete each change it in O(1). Only the owner can
//! compute an element. The owner's digest keeps one for the knowledge base (and one per counted
//! value); an answer's records are tallied the same way and must add up to it.

use hmac::{Hmac, Mac};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::{FailureKind, Result};
use crate::verifiable::keys::hmac_sha256;
use crate::verifiable::records::answer::refused;
use crate::verifiable::records::layout::RecordNonce;
use crate::verifiable::RecordKeys;

const ELEMENT_DOMAIN: &[u8] = b"paillier-gpu/owner-digest/element/1";

/// A count of records and the sum of their elements modulo 2²⁵⁶ (four little-endian limbs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// How many records.
    pub count: u64,
    /// The sum of their elements.
    #[serde(with = "sum_hex")]
    sum: [u64; 4],
}

impl Tally {
    /// Counts the record `(chunk_id, nonce)` of `kb` in.
    pub fn add(&mut self, keys: &RecordKeys, kb: &str, chunk_id: i64, nonce: RecordNonce) {
        self.add_element(element(&prefixed(keys, kb), chunk_id, nonce));
    }

    fn add_element(&mut self, element: [u64; 4]) {
        let mut carry = 0u64;
        for (limb, e) in self.sum.iter_mut().zip(element) {
            let (partial, c1) = limb.overflowing_add(e);
            let (total, c2) = partial.overflowing_add(carry);
            *limb = total;
            carry = u64::from(c1) + u64::from(c2);
        }
        self.count = self.count.wrapping_add(1);
    }

    /// Counts the record `(chunk_id, nonce)` of `kb` out.
    pub fn remove(&mut self, keys: &RecordKeys, kb: &str, chunk_id: i64, nonce: RecordNonce) {
        let element = element(&prefixed(keys, kb), chunk_id, nonce);
        let mut borrow = 0u64;
        for (limb, e) in self.sum.iter_mut().zip(element) {
            let (partial, b1) = limb.overflowing_sub(e);
            let (total, b2) = partial.overflowing_sub(borrow);
            *limb = total;
            borrow = u64::from(b1) + u64::from(b2);
        }
        self.count = self.count.wrapping_sub(1);
    }

    /// The tally of `records` (chunk id, nonce) of `kb`, on every core for many records (an
    /// element is an HMAC, the most of a sealed search's work a record).
    pub fn of(keys: &RecordKeys, kb: &str, records: &[(i64, RecordNonce)]) -> Self {
        let prefixed = prefixed(keys, kb);
        records
            .par_chunks(TALLY_CHUNK)
            .map(|chunk| {
                let mut tally = Self::default();
                for &(id, nonce) in chunk {
                    tally.add_element(element(&prefixed, id, nonce));
                }
                tally
            })
            .reduce(Self::default, |mut all, part| {
                all.merge(&part);
                all
            })
    }

    /// Adds another tally (records of two counted values).
    pub fn merge(&mut self, other: &Tally) {
        let mut carry = 0u64;
        for (limb, e) in self.sum.iter_mut().zip(other.sum) {
            let (partial, c1) = limb.overflowing_add(e);
            let (total, c2) = partial.overflowing_add(carry);
            *limb = total;
            carry = u64::from(c1) + u64::from(c2);
        }
        self.count = self.count.wrapping_add(other.count);
    }

    /// Refuses `answered` (the tally of an answer's records) unless it is this one:
    /// [`FailureKind::DigestMismatch`], saying how the counts compare.
    pub fn check(&self, answered: &Tally) -> Result<()> {
        if answered == self {
            return Ok(());
        }
        let detail = match answered.count.cmp(&self.count) {
            std::cmp::Ordering::Equal => format!(
                "{} records, as the digest counts, but not the ones the owner wrote last",
                answered.count
            ),
            _ => format!(
                "{} records answered, the owner's digest counts {}",
                answered.count, self.count
            ),
        };
        Err(refused(FailureKind::DigestMismatch, detail))
    }
}

/// The records a thread tallies at a time.
const TALLY_CHUNK: usize = 4096;

/// HMAC-SHA256 under the digest key with the domain and `kb` absorbed: every element's prefix,
/// keyed once and cloned for each.
fn prefixed(keys: &RecordKeys, kb: &str) -> Hmac<Sha256> {
    let mut mac = hmac_sha256(&keys.digest);
    mac.update(ELEMENT_DOMAIN);
    mac.update(&(kb.len() as u64).to_be_bytes());
    mac.update(kb.as_bytes());
    mac
}

/// HMAC-SHA256 under the digest key over `kb`, the id and the nonce, as four limbs (`prefixed`
/// holds the first two).
fn element(prefixed: &Hmac<Sha256>, chunk_id: i64, nonce: RecordNonce) -> [u64; 4] {
    let mut mac = prefixed.clone();
    mac.update(&chunk_id.to_be_bytes());
    mac.update(&nonce.to_bytes());
    let bytes = mac.finalize().into_bytes();
    let mut limbs = [0u64; 4];
    for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        *limb = u64::from_le_bytes(word);
    }
    limbs
}

mod sum_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(sum: &[u64; 4], serializer: S) -> Result<S::Ok, S::Error> {
        let text: String = sum
            .iter()
            .rev()
            .map(|limb| format!("{limb:016x}"))
            .collect();
        serializer.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u64; 4], D::Error> {
        let text = String::deserialize(deserializer)?;
        let bad = || serde::de::Error::custom("a digest sum is 64 hexadecimal digits");
        if text.len() != 64 || !text.is_ascii() {
            return Err(bad());
        }
        let mut sum = [0u64; 4];
        for (i, limb) in sum.iter_mut().rev().enumerate() {
            *limb = u64::from_str_radix(&text[16 * i..16 * (i + 1)], 16).map_err(|_| bad())?;
        }
        Ok(sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::DataKey;

    #[test]
    fn an_element_is_the_hmac_of_the_whole_message_and_many_records_tally_as_one_by_one() {
        let keys = RecordKeys::for_knowledge_base(&DataKey::new([4; 32]), "fp", "kb");
        // The element from scratch: digests sealed before the prefix was kept must still add up.
        let mut whole = hmac_sha256(&keys.digest);
        whole.update(ELEMENT_DOMAIN);
        whole.update(&2u64.to_be_bytes());
        whole.update(b"kb");
        whole.update(&7i64.to_be_bytes());
        whole.update(&RecordNonce(9).to_bytes());
        let bytes = whole.finalize().into_bytes();
        let mut expected = Tally::default();
        expected.add_element(std::array::from_fn(|i| {
            u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().unwrap_or_default())
        }));
        assert_eq!(Tally::of(&keys, "kb", &[(7, RecordNonce(9))]), expected);
        // Across the threads' chunks, the same sum as one record at a time.
        let records: Vec<(i64, RecordNonce)> = (0..3 * TALLY_CHUNK as i64 + 5)
            .map(|i| (i, RecordNonce(i as u128 + 1)))
            .collect();
        let mut one_by_one = Tally::default();
        for &(id, nonce) in &records {
            one_by_one.add(&keys, "kb", id, nonce);
        }
        assert_eq!(Tally::of(&keys, "kb", &records), one_by_one);
    }
}
