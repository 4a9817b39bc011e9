//! A tally of records: how many, and a keyed set hash of their (chunk id, nonce) pairs, the sum
//! of HMAC(kb ‖ id ‖ nonce) modulo 2²⁵⁶ under the digest key, so that an insert, an update (the
//! old pair out, the new one in) and a delete each change it in O(1). Only the owner can
//! compute an element. The owner's digest keeps one for the knowledge base (and one per counted
//! value); an answer's records are tallied the same way and must add up to it.

use hmac::Mac;
use serde::{Deserialize, Serialize};

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
        let element = element(keys, kb, chunk_id, nonce);
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
        let element = element(keys, kb, chunk_id, nonce);
        let mut borrow = 0u64;
        for (limb, e) in self.sum.iter_mut().zip(element) {
            let (partial, b1) = limb.overflowing_sub(e);
            let (total, b2) = partial.overflowing_sub(borrow);
            *limb = total;
            borrow = u64::from(b1) + u64::from(b2);
        }
        self.count = self.count.wrapping_sub(1);
    }

    /// The tally of `records` (chunk id, nonce) of `kb`.
    pub fn of(keys: &RecordKeys, kb: &str, records: &[(i64, RecordNonce)]) -> Self {
        let mut tally = Self::default();
        for &(id, nonce) in records {
            tally.add(keys, kb, id, nonce);
        }
        tally
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

/// HMAC-SHA256 under the digest key over `kb`, the id and the nonce, as four limbs.
fn element(keys: &RecordKeys, kb: &str, chunk_id: i64, nonce: RecordNonce) -> [u64; 4] {
    let mut mac = hmac_sha256(&keys.digest);
    mac.update(ELEMENT_DOMAIN);
    mac.update(&(kb.len() as u64).to_be_bytes());
    mac.update(kb.as_bytes());
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
