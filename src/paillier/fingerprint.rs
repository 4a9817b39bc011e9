//! A public key's fingerprint: what a public-only user pins and what our ciphertext files carry.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use super::PublicKey;
use crate::error::{Error, Result};

/// Domain separation: no other SHA-256 input of this crate starts with these bytes.
const DOMAIN: &[u8] = b"paillier-gpu/public-key-fingerprint/v2";
/// The first version's domain, which covered the scheme, `n`, `g` and `g_n` only.
const LEGACY_DOMAIN: &[u8] = b"paillier-gpu/public-key-fingerprint/v1";

/// SHA-256 over every public parameter an encryptor or a search backend uses, each
/// length-prefixed: the scheme, `key_len`, `n`, `g`, and for the lookup scheme `g_n` and
/// `alpha_len` (the length of public-key noise), and the vector dimensions of the context the
/// key belongs to (how vectors pack into plaintexts). Two keys share a fingerprint only if
/// they are the same key used the same way: a context file whose `alpha_len` or `embed_len`
/// was edited no longer matches a pin made before.
///
/// Shown as 64 lowercase hex digits; parsing accepts either case.
///
/// ```
/// use paillier_gpu::paillier::{generate_keypair, KeyFingerprint, KeyGenOptions, Scheme};
/// let (pk, _) = generate_keypair(Scheme::Paillier, 256, &KeyGenOptions::insecure_for_tests()).unwrap();
/// let shown = pk.fingerprint().to_string();
/// assert_eq!(shown.len(), 64);
/// assert_eq!(shown.parse::<KeyFingerprint>().unwrap(), pk.fingerprint());
/// // Bound to a context's vectors, the key has another fingerprint.
/// assert_ne!(pk.with_vector_dims(512).fingerprint().to_string(), shown);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyFingerprint([u8; 32]);

impl KeyFingerprint {
    /// The fingerprint of `public_key`.
    pub fn of(public_key: &PublicKey) -> Self {
        let number = |value: usize| (value as u64).to_be_bytes().to_vec();
        let mut fields = vec![
            public_key.scheme().context_type().as_bytes().to_vec(),
            number(public_key.key_len()),
            public_key.n().to_bytes_be(),
            public_key.g().to_bytes_be(),
        ];
        if let Some(g_n) = public_key.g_n() {
            fields.push(g_n.to_bytes_be());
        }
        if let Some(alpha) = public_key.alpha_len() {
            fields.push(number(alpha));
        }
        // 0: a bare key, bound to no context's vectors.
        fields.push(number(public_key.vector_dims().unwrap_or(0)));
        Self::digest(DOMAIN, &fields)
    }

    /// The first version's fingerprint of `public_key` (scheme, `n`, `g`, `g_n` only), which
    /// binary ciphertext files written before version 2 carry: such files are still read, and a
    /// pin made with it is refused with a message saying why.
    pub fn legacy_v1(public_key: &PublicKey) -> Self {
        let mut fields = vec![
            public_key.scheme().context_type().as_bytes().to_vec(),
            public_key.n().to_bytes_be(),
            public_key.g().to_bytes_be(),
        ];
        if let Some(g_n) = public_key.g_n() {
            fields.push(g_n.to_bytes_be());
        }
        Self::digest(LEGACY_DOMAIN, &fields)
    }

    /// SHA-256 over `domain` and each field, length-prefixed (u64 big-endian).
    fn digest(domain: &[u8], fields: &[Vec<u8>]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(domain);
        for field in fields {
            hasher.update((field.len() as u64).to_be_bytes());
            hasher.update(field);
        }
        Self(hasher.finalize().into())
    }

    /// Checks a pinned fingerprint (`--expect-key`) against `public_key`: Ok when it is the
    /// key's; a pin made with the first version's fingerprint is refused with that reason.
    /// `what` names the context (`the context ctx.json`).
    pub fn check_pin(public_key: &PublicKey, pinned: &KeyFingerprint, what: &str) -> Result<()> {
        let found = public_key.fingerprint();
        if &found == pinned {
            return Ok(());
        }
        let expected = if pinned == &Self::legacy_v1(public_key) {
            format!(
                "{pinned}, this key's fingerprint as an earlier version computed it, which left \
                 out alpha_len and the vector layout and so does not vouch for them: re-pin \
                 with the fingerprint `context show` prints now, after checking the context"
            )
        } else {
            pinned.to_string()
        };
        Err(Error::KeyMismatch {
            what: format!("{what} holds the key"),
            found: found.to_string(),
            holder: "--expect-key pins".into(),
            expected,
        })
    }

    /// The 32 bytes, as stored in a binary ciphertext header.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// From the 32 stored bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Ok when `self` is `expected`; otherwise [`Error::KeyMismatch`] saying that `what` was
    /// made under this key and `holder` (`the index holds`) has `expected`.
    pub fn expect(
        &self,
        expected: &KeyFingerprint,
        what: impl Into<String>,
        holder: impl Into<String>,
    ) -> Result<()> {
        if self == expected {
            Ok(())
        } else {
            Err(Error::KeyMismatch {
                what: format!("{} was made under the key", what.into()),
                found: self.to_string(),
                holder: holder.into(),
                expected: expected.to_string(),
            })
        }
    }

    /// [`expect`](Self::expect) where the expected key is the context's: the holder is `the
    /// context holds`, which [`Error::key_held_by`] can replace with the context's file.
    pub fn expect_context_key(
        &self,
        expected: &KeyFingerprint,
        what: impl Into<String>,
    ) -> Result<()> {
        self.expect(expected, what, crate::error::CONTEXT_HOLDS)
    }
}

impl fmt::Display for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyFingerprint({self})")
    }
}

impl FromStr for KeyFingerprint {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let text = text.trim();
        let bad = || {
            Error::InvalidParameter(format!(
                "a key fingerprint is 64 hex digits (as `context show` prints it), not {:?}",
                text.chars().take(80).collect::<String>()
            ))
        };
        if text.len() != 64 || !text.is_ascii() {
            return Err(bad());
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paillier::{generate_keypair, KeyGenOptions, Scheme};

    #[test]
    fn different_keys_have_different_fingerprints_and_text_round_trips() {
        let options = KeyGenOptions::insecure_for_tests();
        let (a, _) = generate_keypair(Scheme::Paillier, 128, &options).unwrap();
        let (b, _) = generate_keypair(Scheme::Paillier, 128, &options).unwrap();
        assert_ne!(a.fingerprint(), b.fingerprint());
        let text = a.fingerprint().to_string();
        assert_eq!(
            text.to_uppercase().parse::<KeyFingerprint>().unwrap(),
            a.fingerprint()
        );
        assert!(text[..63].parse::<KeyFingerprint>().is_err());
        assert!(format!("{}g", &text[..63])
            .parse::<KeyFingerprint>()
            .is_err());
        assert!(matches!(
            b.fingerprint()
                .expect(&a.fingerprint(), "the database", "the context holds"),
            Err(Error::KeyMismatch { .. })
        ));
    }
}
