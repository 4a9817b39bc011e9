//! The record tag: τ = HMAC-SHA256 under the tag key, truncated to 128 bits, over the layout's
//! domain, the knowledge base, the record nonce, the piece index and the piece's bits, each
//! length-prefixed. The domains differ per layout, so a record of one never passes as the
//! other's.

use hmac::Mac;

use crate::verifiable::keys::hmac_sha256;
use crate::verifiable::records::layout::RecordNonce;
use crate::verifiable::records::record_layout::LayoutKind;
use crate::verifiable::RecordKeys;

const TWO_BIT_DOMAIN: &[u8] = b"paillier-gpu/record-tag/1";
const ONE_BIT_DOMAIN: &[u8] = b"paillier-gpu/record-tag/one-bit/1";
const SEALED_DOMAIN: &[u8] = b"paillier-gpu/record-tag/sealed-vectors/1";

/// The tag of `bits` (one 0 or 1 per dimension of piece `piece`) in record `nonce` of knowledge
/// base `kb`, laid out as `layout`.
pub(in crate::verifiable) fn record_tag(
    keys: &RecordKeys,
    layout: LayoutKind,
    kb: &str,
    nonce: RecordNonce,
    piece: u32,
    bits: &[u8],
) -> u128 {
    let mut mac = hmac_sha256(&keys.tag);
    mac.update(match layout {
        LayoutKind::TwoBit => TWO_BIT_DOMAIN,
        LayoutKind::OneBit => ONE_BIT_DOMAIN,
        // Sealed vectors carry no tag (the page's GCM tag authenticates them); a domain of
        // its own keeps the match whole and any such tag apart from the others.
        LayoutKind::Sealed => SEALED_DOMAIN,
    });
    mac.update(&(kb.len() as u64).to_be_bytes());
    mac.update(kb.as_bytes());
    mac.update(&nonce.to_bytes());
    mac.update(&piece.to_be_bytes());
    mac.update(&(bits.len() as u64).to_be_bytes());
    let mut packed = zeroize::Zeroizing::new(vec![0u8; bits.len().div_ceil(8)]);
    for (i, &bit) in bits.iter().enumerate() {
        packed[i / 8] |= (bit & 1) << (7 - i % 8);
    }
    mac.update(&packed[..]);
    let digest = mac.finalize().into_bytes();
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    u128::from_le_bytes(first)
}
