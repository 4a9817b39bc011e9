//! The history of an owner's digest as a hash chain, so that a machine of the owner can tell a
//! later version that extends the one it saw from one written on another branch (a service
//! restored to an earlier copy and written again by another machine: a fork).
//!
//! Version k of a digest, written on version `prev`, seals its chain value
//! c_k = SHA-256(domain ‖ c_prev ‖ prev ‖ k ‖ link_k), where link_k is a keyed hash of the
//! digest's body (HMAC under the digest key) and c_0 is 32 zero bytes. The service keeps every
//! version's `(k, prev, link_k)` ([`DigestLink`]) beside the sealed digest. A machine that saw
//! version v, and so holds c_v, accepts a later version w only when the links the service gives
//! lead from w back to v and hashing them forward from c_v gives the c_w sealed in w: to pass
//! another branch, the service would have to find a link that hashes onto c_w from c_v, a
//! preimage of SHA-256. A list of version hashes alone would prove nothing, since the service
//! could list any.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::Mac;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::error::{Error, FailureKind, Result};
use crate::verifiable::keys::hmac_sha256;
use crate::verifiable::records::answer::refused;
use crate::verifiable::{OwnerDigest, RecordKeys};

const LINK_DOMAIN: &[u8] = b"paillier-gpu/owner-digest/link/1";
const CHAIN_DOMAIN: &[u8] = b"paillier-gpu/owner-digest/chain/1";
const UNCHAINED_DOMAIN: &[u8] = b"paillier-gpu/owner-digest/unchained/1";

/// Where a digest stands in its knowledge base's history: sealed inside it, so that only the
/// owner writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DigestChain {
    /// The version it was written on (0: the knowledge base's first digest).
    pub prev: i64,
    /// Its link: a keyed hash of its body, which the service keeps for later readers.
    #[serde(with = "base64_32")]
    pub link: [u8; 32],
    /// Its chain value, c = SHA-256(domain ‖ c_prev ‖ prev ‖ version ‖ link).
    #[serde(with = "base64_32")]
    pub value: [u8; 32],
}

/// One version's link as the service keeps it and gives it back: the API's wire type (its link
/// standard base64 of 32 bytes), read here as the chain's step.
///
/// ```
/// use paillier_gpu::verifiable::DigestLink;
///
/// let link: DigestLink = serde_json::from_str(
///     r#"{"version": 3, "prev": 2, "link": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}"#,
/// ).unwrap();
/// assert_eq!((link.version, link.prev), (3, 2));
/// ```
pub use paillier_gpu_api::DigestLink;

impl OwnerDigest {
    /// This version's link, as the service keeps it (sent with the write that stores this
    /// version); `None` for a digest sealed before digests were chained.
    pub fn link(&self) -> Option<DigestLink> {
        self.chain.map(|chain| DigestLink {
            version: self.version,
            prev: chain.prev,
            link: BASE64.encode(chain.link),
        })
    }

    /// The chain value this digest carries, or stands for: zero for none (version 0), and for
    /// one sealed before digests were chained a value of its version alone, which no reader
    /// holds as seen, so nothing is checked through it.
    fn chain_value(&self, kb: &str) -> [u8; 32] {
        match (&self.chain, self.version) {
            (Some(chain), _) => chain.value,
            (None, 0) => [0; 32],
            (None, version) => {
                let mut hash = Sha256::new();
                hash.update(UNCHAINED_DOMAIN);
                hash.update((kb.len() as u64).to_be_bytes());
                hash.update(kb.as_bytes());
                hash.update(version.to_be_bytes());
                hash.finalize().into()
            }
        }
    }

    /// Chains this digest, at its version, onto `base` (the version it is written on): its
    /// link over its body as it is now, and its chain value from `base`'s.
    pub(crate) fn chain_onto(
        &mut self,
        keys: &RecordKeys,
        kb: &str,
        base: &OwnerDigest,
    ) -> Result<()> {
        self.chain = None;
        let body = serde_json::to_vec(&*self).map_err(|e| {
            Error::InvalidParameter(format!("the owner's digest does not serialise: {e}"))
        })?;
        let mut mac = hmac_sha256(&keys.digest);
        mac.update(LINK_DOMAIN);
        mac.update(&(kb.len() as u64).to_be_bytes());
        mac.update(kb.as_bytes());
        mac.update(&self.version.to_be_bytes());
        mac.update(&body);
        let link: [u8; 32] = mac.finalize().into_bytes().into();
        let value = step(&base.chain_value(kb), base.version, self.version, &link);
        self.chain = Some(DigestChain {
            prev: base.version,
            link,
            value,
        });
        Ok(())
    }

    /// Refuses this digest ([`FailureKind::Forked`]) unless it extends `seen`, the later of the
    /// two, through `links` (the service's, from after `seen` on): the links lead from this
    /// version back to `seen`'s, and hashed forward from `seen`'s chain value they give this
    /// one's. A `seen` sealed before digests were chained carries nothing to check against.
    pub(crate) fn check_extends(&self, seen: &OwnerDigest, links: &[DigestLink]) -> Result<()> {
        let (Some(seen_chain), version, seen_version) = (seen.chain, self.version, seen.version)
        else {
            return Ok(());
        };
        let forked = |detail: String| refused(FailureKind::Forked, detail);
        let Some(chain) = self.chain else {
            return Err(forked(format!(
                "version {version} carries no history, so it cannot be shown to extend version \
                 {seen_version} that this owner saw (it was written by a paillier-gpu that does \
                 not chain digests, or on another branch)"
            )));
        };
        if version == seen_version {
            return match chain.value == seen_chain.value {
                true => Ok(()),
                false => Err(forked(format!(
                    "version {version} is not the version {seen_version} this owner saw: \
                     another of the owner's machines wrote a version {version} of its own on an \
                     earlier copy (the service was restored to it and written again)"
                ))),
            };
        }
        // A link that does not read as 32 bytes is left out: the check then finds it missing.
        let by_version: HashMap<i64, (i64, [u8; 32])> = links
            .iter()
            .rev()
            .filter_map(|l| Some((l.version, (l.prev, link_bytes(&l.link)?))))
            .collect();
        // From this version back to the one seen: (prev, version, link) for each step.
        let mut steps = vec![(chain.prev, version, chain.link)];
        let mut prev = chain.prev;
        while prev != seen_version {
            // Each link goes to a lower version, so this ends.
            if prev < seen_version {
                return Err(forked(format!(
                    "version {version} does not extend version {seen_version} that this owner \
                     saw: its history goes back through version {prev} on another branch (the \
                     service was restored to an earlier copy and written again, or the owner \
                     rebuilt after a rollback on another machine)"
                )));
            }
            let Some(&(link_prev, link)) = by_version.get(&prev).filter(|(p, _)| *p < prev) else {
                return Err(forked(format!(
                    "the service gives no link for version {prev}, between version \
                     {seen_version} that this owner saw and version {version}: it cannot show \
                     that one extends the other"
                )));
            };
            steps.push((link_prev, prev, link));
            prev = link_prev;
        }
        let mut value = seen_chain.value;
        for (prev, version, link) in steps.iter().rev() {
            value = step(&value, *prev, *version, link);
        }
        match value == chain.value {
            true => Ok(()),
            false => Err(forked(format!(
                "version {version} does not extend version {seen_version} that this owner saw: \
                 the history between them is not the one written (the service was restored to \
                 an earlier copy and written again)"
            ))),
        }
    }
}

/// A link's 32 bytes from its standard base64, if it reads.
fn link_bytes(text: &str) -> Option<[u8; 32]> {
    BASE64.decode(text).ok()?.try_into().ok()
}

/// c = SHA-256(domain ‖ c_prev ‖ prev ‖ version ‖ link).
fn step(prev_value: &[u8; 32], prev: i64, version: i64, link: &[u8; 32]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(CHAIN_DOMAIN);
    hash.update(prev_value);
    hash.update(prev.to_be_bytes());
    hash.update(version.to_be_bytes());
    hash.update(link);
    hash.finalize().into()
}

fn thirty_two<E: serde::de::Error>(bytes: Vec<u8>) -> std::result::Result<[u8; 32], E> {
    bytes
        .try_into()
        .map_err(|_| E::custom("a digest link or chain value is 32 bytes"))
}

mod base64_32 {
    use super::*;

    pub fn serialize<S: Serializer>(
        bytes: &[u8; 32],
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&BASE64.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        thirty_two(BASE64.decode(text).map_err(serde::de::Error::custom)?)
    }
}

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;
