//! Ciphertexts written out as fixed-width little-endian bytes: the binary file form, and the
//! bytes base64 wraps in JSON Lines and on the wire.

use super::CiphertextBatch;
use crate::error::{Error, Result};
use crate::hazmat::backend::LimbBatch;

impl CiphertextBatch {
    /// Appends every ciphertext as exactly `piece_bytes` little-endian bytes (the binary file
    /// form). `piece_bytes` must hold n² (the wire width `4·key_len/8` does).
    pub fn write_le_bytes(&self, piece_bytes: usize, out: &mut Vec<u8>) -> Result<()> {
        write_items_le_bytes(self.limbs(), piece_bytes, out)
    }

    /// Appends ciphertext `i` (record-major: record `i / pieces_per_record`, piece
    /// `i % pieces_per_record`) as exactly `piece_bytes` little-endian bytes.
    pub fn write_item_le_bytes(
        &self,
        i: usize,
        piece_bytes: usize,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let limbs = self.limbs();
        if i >= limbs.len() {
            return Err(Error::InvalidParameter(format!(
                "ciphertext {i} of a batch of {}",
                limbs.len()
            )));
        }
        write_item(limbs.item(i), piece_bytes, out)
    }

    /// Appends record `record`'s ciphertexts as [`write_le_bytes`](Self::write_le_bytes) does.
    pub fn write_record_le_bytes(
        &self,
        record: usize,
        piece_bytes: usize,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        if record >= self.records() {
            return Err(Error::InvalidParameter(format!(
                "record {record} of a batch of {}",
                self.records()
            )));
        }
        let chunks = self.pieces_per_record();
        (record * chunks..(record + 1) * chunks)
            .try_for_each(|i| write_item(self.limbs().item(i), piece_bytes, out))
    }
}

/// Every item of `limbs` as exactly `width` little-endian bytes (for ciphertexts held outside a
/// batch: an encrypted array's).
pub(crate) fn write_items_le_bytes(
    limbs: &LimbBatch,
    width: usize,
    out: &mut Vec<u8>,
) -> Result<()> {
    out.reserve(limbs.len() * width);
    limbs
        .iter()
        .try_for_each(|item| write_item(item, width, out))
}

/// One ciphertext as exactly `width` little-endian bytes.
fn write_item(item: &[u64], width: usize, out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    for limb in item {
        out.extend_from_slice(&limb.to_le_bytes());
    }
    if out[start..].iter().skip(width).any(|&b| b != 0) {
        out.truncate(start);
        return Err(Error::InvalidParameter(format!(
            "a ciphertext does not fit in {width} bytes"
        )));
    }
    out.resize(start + width, 0);
    Ok(())
}
