//! How our own context files seal the secret key, and which key protects content.
//!
//! The SDK seals `sk` with AES-GCM under the data key itself and authenticates nothing else: an
//! attacker who can write the file may change `pk`, `type` or `config` unnoticed, and the same key
//! encrypts the secret key and every document. Files in our format (`"format": "paillier-gpu/2"`)
//! instead derive one key per purpose from the data key with HKDF-SHA256, and seal `sk` with the
//! file's `type`, `pk` and `config` strings as associated data, so a change to any of them fails
//! authentication like a change to `sk` itself.
//!
//! | file | `sk` sealed under | authenticated | content encrypted under | SDK can open it |
//! |------|-------------------|---------------|-------------------------|-----------------|
//! | the SDK's, or ours saved with [`FileFormat::Sdk`] | the data key | `sk` | the data key | yes |
//! | ours ([`FileFormat::Authenticated`], the default for new contexts) | HKDF(data key, "sk") | `sk`, `type`, `pk`, `config` | HKDF(data key, "content") | no |

use hkdf::Hkdf;
use sha2::Sha256;

use super::DataKey;

/// The value of a context file's `format` field in our authenticated form.
pub const AUTHENTICATED_FORMAT: &str = "paillier-gpu/2";

/// Which form a context file takes, and so which keys protect its secret key and content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// The SDK's form: readable by the SDK, nothing but `sk` authenticated, one key for all.
    Sdk,
    /// Ours: `sk` sealed under a derived key together with `type`, `pk` and `config`; content
    /// under another derived key.
    Authenticated,
}

/// What a derived key is for (HKDF's `info`).
#[derive(Clone, Copy)]
pub enum Purpose {
    /// Sealing the secret key in a context file.
    SealSecretKey,
    /// [`encrypt_content`](super::ExecutionContext::encrypt_content).
    Content,
}

impl FileFormat {
    /// The key for `purpose` in files of this form.
    pub fn key(self, data_key: &DataKey, purpose: Purpose) -> DataKey {
        match self {
            FileFormat::Sdk => DataKey::new(*data_key.as_bytes()),
            FileFormat::Authenticated => {
                let info: &[u8] = match purpose {
                    Purpose::SealSecretKey => b"paillier-gpu/2/seal-secret-key",
                    Purpose::Content => b"paillier-gpu/2/content",
                };
                let mut out = [0u8; 32];
                // 32 bytes is always a valid HKDF-SHA256 output length.
                let _ = Hkdf::<Sha256>::new(None, data_key.as_bytes()).expand(info, &mut out);
                let key = DataKey::new(out);
                zeroize::Zeroize::zeroize(&mut out);
                key
            }
        }
    }

    /// The associated data that seals `sk` together with the file's other fields: nothing for
    /// the SDK's form; the length-prefixed `type`, `pk` and `config` strings for ours.
    pub fn associated_data(self, context_type: &str, pk: &str, config: &str) -> Vec<u8> {
        match self {
            FileFormat::Sdk => Vec::new(),
            FileFormat::Authenticated => {
                let mut aad = AUTHENTICATED_FORMAT.as_bytes().to_vec();
                for field in [context_type, pk, config] {
                    aad.extend_from_slice(&(field.len() as u64).to_be_bytes());
                    aad.extend_from_slice(field.as_bytes());
                }
                aad
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_get_different_keys_and_the_sdk_form_the_data_key() {
        let data = DataKey::new([3; 32]);
        let seal = FileFormat::Authenticated.key(&data, Purpose::SealSecretKey);
        let content = FileFormat::Authenticated.key(&data, Purpose::Content);
        assert_ne!(seal.as_bytes(), content.as_bytes());
        assert_ne!(seal.as_bytes(), data.as_bytes());
        assert_eq!(
            FileFormat::Sdk.key(&data, Purpose::Content).as_bytes(),
            data.as_bytes()
        );
        // Moving text between fields changes the associated data.
        assert_ne!(
            FileFormat::Authenticated.associated_data("ab", "c", ""),
            FileFormat::Authenticated.associated_data("a", "bc", "")
        );
    }
}
