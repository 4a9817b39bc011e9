//! Which layout a knowledge base's verifiable records use: fixed when the knowledge base gets its
//! first records, sealed in the owner's digest and in every record's tag, so that a reader takes
//! it from there and never guesses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::verifiable::records::layout::TaggedLayout;
use crate::verifiable::records::one_bit::OneBitLayout;

/// The layouts of verifiable records.
///
/// * [`TwoBit`](Self::TwoBit): two bits a dimension, read as slots (the classic layout); the
///   plaintext exceeds p, so decoding takes both primes. Up to `key_len − 193` dimensions.
/// * [`OneBit`](Self::OneBit): one bit a dimension, the query subtracted by the owner; the
///   plaintext is below p, so decoding takes one prime, half the work. Up to `key_len − 386`.
/// * [`Sealed`](Self::Sealed): no Paillier ciphertext at all; each record's bits sealed with
///   AES-256-GCM in pages ([`SealedPage`](crate::verifiable::SealedPage)), which a verified
///   search opens and ranks by popcount. Any number of dimensions.
///
/// A digest sealed before layouts were named holds two-bit records (the default).
///
/// ```
/// use paillier_gpu::verifiable::LayoutKind;
/// assert_eq!(LayoutKind::preferred(512, 1024).unwrap(), LayoutKind::OneBit);
/// assert_eq!(LayoutKind::preferred(768, 1024).unwrap(), LayoutKind::TwoBit);
/// assert!(LayoutKind::preferred(832, 1024).is_err());
/// assert_eq!("one-bit".parse::<LayoutKind>().unwrap(), LayoutKind::OneBit);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayoutKind {
    /// Two bits a dimension (slots), decoded with both primes.
    #[default]
    TwoBit,
    /// One bit a dimension, decoded with one prime.
    OneBit,
    /// Sealed vectors: no Paillier layout, no `compute_hamming`.
    #[serde(rename = "sealed-vectors")]
    Sealed,
}

impl LayoutKind {
    /// The layout a new knowledge base of `embed_len`-dimension records gets under `key_len`:
    /// one-bit where it fits, else two-bit; an error naming both limits where neither does.
    pub fn preferred(embed_len: usize, key_len: usize) -> Result<Self> {
        if OneBitLayout::new(embed_len, key_len).is_ok() {
            return Ok(Self::OneBit);
        }
        match TaggedLayout::new(embed_len, key_len) {
            Ok(_) => Ok(Self::TwoBit),
            Err(_) => Err(Error::InvalidParameter(format!(
                "verifiable records of {embed_len} dimensions do not fit a key_len of \
                 {key_len}: the one-bit layout takes up to {} dimensions there, the two-bit \
                 layout up to {}",
                OneBitLayout::largest_embed_len(key_len),
                TaggedLayout::largest_embed_len(key_len)
            ))),
        }
    }

    /// The name the digest and the CLI use: `two-bit`, `one-bit` or `sealed-vectors`.
    pub fn name(self) -> &'static str {
        match self {
            Self::TwoBit => "two-bit",
            Self::OneBit => "one-bit",
            Self::Sealed => "sealed-vectors",
        }
    }

    /// The most dimensions this layout takes under `key_len`-bit primes (sealed vectors: no
    /// bound from the key).
    pub fn largest_embed_len(self, key_len: usize) -> usize {
        match self {
            Self::TwoBit => TaggedLayout::largest_embed_len(key_len),
            Self::OneBit => OneBitLayout::largest_embed_len(key_len),
            Self::Sealed => usize::MAX,
        }
    }

    /// Whether records of this layout are Paillier ciphertexts (all but sealed vectors).
    pub fn is_paillier(self) -> bool {
        self != Self::Sealed
    }
}

impl fmt::Display for LayoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LayoutKind {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        match name {
            "two-bit" => Ok(Self::TwoBit),
            "one-bit" => Ok(Self::OneBit),
            "sealed-vectors" => Ok(Self::Sealed),
            other => Err(Error::InvalidParameter(format!(
                "record layout \"{other}\" (expected two-bit, one-bit or sealed-vectors)"
            ))),
        }
    }
}

/// A layout at one context's sizes: what encrypting and decoding records read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordLayout {
    /// See [`LayoutKind::TwoBit`].
    TwoBit(TaggedLayout),
    /// See [`LayoutKind::OneBit`].
    OneBit(OneBitLayout),
}

impl RecordLayout {
    /// `kind` at `embed_len` dimensions under `key_len`-bit primes, or why it does not fit.
    pub fn new(kind: LayoutKind, embed_len: usize, key_len: usize) -> Result<Self> {
        Ok(match kind {
            LayoutKind::TwoBit => Self::TwoBit(TaggedLayout::new(embed_len, key_len)?),
            LayoutKind::OneBit => Self::OneBit(OneBitLayout::new(embed_len, key_len)?),
            LayoutKind::Sealed => {
                return Err(Error::SealedVectors(
                    "its records are sealed vectors, not Paillier ciphertexts".into(),
                ))
            }
        })
    }

    /// Which layout.
    pub fn kind(&self) -> LayoutKind {
        match self {
            Self::TwoBit(_) => LayoutKind::TwoBit,
            Self::OneBit(_) => LayoutKind::OneBit,
        }
    }

    /// Dimensions of a record's vector.
    pub fn embed_len(&self) -> usize {
        match self {
            Self::TwoBit(layout) => layout.embed_len(),
            Self::OneBit(layout) => layout.embed_len(),
        }
    }

    /// Bits of a record's plaintext.
    pub fn record_bits(&self) -> usize {
        match self {
            Self::TwoBit(layout) => layout.record_bits(),
            Self::OneBit(layout) => layout.record_bits(),
        }
    }

    /// Bits of a query's plaintext.
    pub fn query_bits(&self) -> usize {
        match self {
            Self::TwoBit(layout) => layout.plaintext_bits(),
            Self::OneBit(layout) => layout.query_bits(),
        }
    }

    /// Refuses a vector that is not `embed_len` values of 0 or 1 (`index`: its place).
    pub(in crate::verifiable) fn check_vector(&self, index: usize, vector: &[u8]) -> Result<()> {
        match self {
            Self::TwoBit(layout) => layout.slots().check(index, vector),
            Self::OneBit(layout) => layout.check_vector(index, vector),
        }
    }
}
