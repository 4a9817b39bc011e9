//! The keys of verifiable records and private metadata, each derived from the context's data key
//! by HKDF-SHA256 under a label of its own: a context file keeps its bytes and its id, and no key
//! serves two purposes.
//!
//! The keys are bound to their context and knowledge base ([`RecordKeys::for_knowledge_base`]):
//! the salt is the context's public-key fingerprint and the knowledge base is in every label, so
//! two contexts that share a data key (the SDK's files under one passphrase) or two knowledge
//! bases of one context share no tag, seal, token or digest key. [`RecordKeys::derive`] is the
//! earlier derivation, from the data key alone, kept to read records written under it.

use std::fmt;

use hkdf::Hkdf;
use hmac::digest::KeyInit;
use hmac::Hmac;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::context::DataKey;

/// HKDF labels, one per purpose.
const TAG_LABEL: &[u8] = b"paillier-gpu/records/1/tag";
const SEAL_LABEL: &[u8] = b"paillier-gpu/records/1/seal";
const TOKEN_LABEL: &[u8] = b"paillier-gpu/records/1/metadata-token";
const DIGEST_LABEL: &[u8] = b"paillier-gpu/records/1/owner-digest";
const VECTORS_LABEL: &[u8] = b"paillier-gpu/records/1/sealed-vectors";
/// The salt's domain in the bound derivation (before the context's fingerprint).
const BOUND_SALT: &[u8] = b"paillier-gpu/records/2/context";

/// Which derivation a knowledge base's record keys come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeyDerivation {
    /// Bound to the context's public key and the knowledge base (what every write uses).
    #[default]
    Bound,
    /// From the data key alone: records written before keys were bound, read to re-seal them.
    Legacy,
}
/// The owner's keys for records the service cannot alter unseen and metadata it cannot read:
/// the tag key (record tags), the seal key (contents, metadata as written and the owner's
/// digest, AES-256-GCM), the token key (metadata tokens), the digest key (the owner's digest
/// of its records) and the vector key (sealed vectors, AES-256-GCM: [`SealedPage`]). Wiped on
/// drop; Debug shows none of them.
///
/// [`SealedPage`]: crate::verifiable::SealedPage
///
/// ```
/// use paillier_gpu::context::DataKey;
/// use paillier_gpu::verifiable::RecordKeys;
/// let keys = RecordKeys::derive(&DataKey::new([7; 32]));
/// assert_eq!(format!("{keys:?}"), "RecordKeys { .. }");
/// ```
#[derive(Clone)]
pub struct RecordKeys {
    pub(super) tag: Zeroizing<[u8; 32]>,
    pub(super) seal: DataKey,
    pub(super) token: Zeroizing<[u8; 32]>,
    pub(super) digest: Zeroizing<[u8; 32]>,
    pub(super) vectors: Zeroizing<[u8; 32]>,
}

impl RecordKeys {
    /// The earlier derivation: the keys of `data_key` (the context's, from its key provider)
    /// alone, shared by every knowledge base and every context with that data key. Only for
    /// reading records written under it ([`KeyDerivation::Legacy`]).
    pub fn derive(data_key: &DataKey) -> Self {
        Self::expand(&Hkdf::<Sha256>::new(None, data_key.as_bytes()), b"")
    }

    /// The keys of knowledge base `kb` under the context whose public key has `fingerprint`
    /// (its text form), from that context's `data_key`.
    ///
    /// ```
    /// use paillier_gpu::context::DataKey;
    /// use paillier_gpu::verifiable::{metadata_token, RecordKeys};
    /// let data = DataKey::new([7; 32]);
    /// let a = RecordKeys::for_knowledge_base(&data, "fp-a", "kb");
    /// let b = RecordKeys::for_knowledge_base(&data, "fp-b", "kb");
    /// let c = RecordKeys::for_knowledge_base(&data, "fp-a", "kb-2");
    /// assert_ne!(metadata_token(&a, "tag1", "x"), metadata_token(&b, "tag1", "x"));
    /// assert_ne!(metadata_token(&a, "tag1", "x"), metadata_token(&c, "tag1", "x"));
    /// ```
    pub fn for_knowledge_base(data_key: &DataKey, fingerprint: &str, kb: &str) -> Self {
        let mut salt = BOUND_SALT.to_vec();
        salt.extend_from_slice(&(fingerprint.len() as u64).to_be_bytes());
        salt.extend_from_slice(fingerprint.as_bytes());
        let mut scope = (kb.len() as u64).to_be_bytes().to_vec();
        scope.extend_from_slice(kb.as_bytes());
        Self::expand(
            &Hkdf::<Sha256>::new(Some(&salt), data_key.as_bytes()),
            &scope,
        )
    }

    /// The keys `derivation` gives for `kb` under the context of `fingerprint`.
    pub fn of(derivation: KeyDerivation, data_key: &DataKey, fingerprint: &str, kb: &str) -> Self {
        match derivation {
            KeyDerivation::Bound => Self::for_knowledge_base(data_key, fingerprint, kb),
            KeyDerivation::Legacy => Self::derive(data_key),
        }
    }

    /// Each key expanded from `hkdf` under its label followed by `scope`.
    fn expand(hkdf: &Hkdf<Sha256>, scope: &[u8]) -> Self {
        let expand = |label: &[u8]| {
            let mut out = Zeroizing::new([0u8; 32]);
            // 32 bytes is always a valid HKDF-SHA256 output length.
            let _ = hkdf.expand_multi_info(&[label, scope], &mut *out);
            out
        };
        Self {
            tag: expand(TAG_LABEL),
            seal: DataKey::new(*expand(SEAL_LABEL)),
            token: expand(TOKEN_LABEL),
            digest: expand(DIGEST_LABEL),
            vectors: expand(VECTORS_LABEL),
        }
    }
}

/// HMAC-SHA256 under a 32-byte key. HMAC pads a key shorter than SHA-256's 64-byte block with
/// zeros, so the padded block is the same key, and the fixed-size constructor cannot fail.
pub(super) fn hmac_sha256(key: &[u8; 32]) -> Hmac<Sha256> {
    let mut block = Zeroizing::new([0u8; 64]);
    block[..32].copy_from_slice(key);
    <Hmac<Sha256> as KeyInit>::new(&(*block).into())
}

impl fmt::Debug for RecordKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordKeys").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::Mac;

    #[test]
    fn the_padded_key_is_the_same_hmac_key() {
        let key = [0x5au8; 32];
        let mut padded = hmac_sha256(&key);
        let Ok(mut unpadded) = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key) else {
            panic!("HMAC takes keys of any length")
        };
        padded.update(b"message");
        unpadded.update(b"message");
        assert_eq!(
            padded.finalize().into_bytes(),
            unpadded.finalize().into_bytes()
        );
    }

    #[test]
    fn the_keys_differ_from_each_other_and_from_the_data_key() {
        let data = DataKey::new([3; 32]);
        let keys = RecordKeys::derive(&data);
        let all = [
            *keys.tag,
            *keys.seal.as_bytes(),
            *keys.token,
            *keys.digest,
            *keys.vectors,
            *data.as_bytes(),
        ];
        for i in 0..all.len() {
            for j in i + 1..all.len() {
                assert_ne!(all[i], all[j]);
            }
        }
        assert_eq!(*RecordKeys::derive(&data).tag, *keys.tag);
    }

    #[test]
    fn the_legacy_derivation_is_unchanged() {
        // The earlier keys, HKDF with no salt under each bare label: records written under them
        // must keep opening to be re-sealed.
        let data = DataKey::new([3; 32]);
        let mut expected = [0u8; 32];
        let _ = Hkdf::<Sha256>::new(None, data.as_bytes()).expand(TAG_LABEL, &mut expected);
        assert_eq!(*RecordKeys::derive(&data).tag, expected);
    }

    #[test]
    fn bound_keys_differ_by_context_and_knowledge_base() {
        let data = DataKey::new([3; 32]);
        let base = RecordKeys::for_knowledge_base(&data, "fp", "kb");
        for other in [
            RecordKeys::for_knowledge_base(&data, "fp2", "kb"),
            RecordKeys::for_knowledge_base(&data, "fp", "kb2"),
            RecordKeys::for_knowledge_base(&DataKey::new([4; 32]), "fp", "kb"),
            RecordKeys::derive(&data),
        ] {
            assert_ne!(*other.tag, *base.tag);
            assert_ne!(*other.token, *base.token);
            assert_ne!(*other.digest, *base.digest);
            assert_ne!(*other.vectors, *base.vectors);
            assert_ne!(other.seal.as_bytes(), base.seal.as_bytes());
        }
        let again = RecordKeys::for_knowledge_base(&data, "fp", "kb");
        assert_eq!(*again.tag, *base.tag);
    }
}
