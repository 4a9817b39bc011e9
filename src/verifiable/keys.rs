//! The keys of verifiable records and private metadata, each derived from the context's data key
//! by HKDF-SHA256 under a label of its own: a context file keeps its bytes and its id, and no key
//! serves two purposes.

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

/// The owner's keys for records the service cannot alter unseen and metadata it cannot read:
/// the tag key (record tags), the seal key (contents and metadata as written, AES-256-GCM) and
/// the token key (metadata tokens). Wiped on drop; Debug shows none of them.
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
}

impl RecordKeys {
    /// The three keys of `data_key` (the context's, from its key provider).
    pub fn derive(data_key: &DataKey) -> Self {
        let expand = |label: &[u8]| {
            let mut out = Zeroizing::new([0u8; 32]);
            // 32 bytes is always a valid HKDF-SHA256 output length.
            let _ = Hkdf::<Sha256>::new(None, data_key.as_bytes()).expand(label, &mut *out);
            out
        };
        Self {
            tag: expand(TAG_LABEL),
            seal: DataKey::new(*expand(SEAL_LABEL)),
            token: expand(TOKEN_LABEL),
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
            *data.as_bytes(),
        ];
        for i in 0..all.len() {
            for j in i + 1..all.len() {
                assert_ne!(all[i], all[j]);
            }
        }
        assert_eq!(*RecordKeys::derive(&data).tag, *keys.tag);
    }
}
