//! Conversions between limb slices, little-endian bytes and `BigUint`.

use num_bigint::BigUint;

use crate::error::{Error, Result};

/// The limbs of `value`, zero-padded to exactly `len` limbs.
///
/// Fails with [`Error::InvalidParameter`] when `value` needs more than `len` limbs.
pub fn limbs_from_biguint(value: &BigUint, len: usize) -> Result<Vec<u64>> {
    let needed = value.bits().div_ceil(64) as usize;
    if needed > len {
        return Err(Error::InvalidParameter(format!(
            "a {}-bit integer does not fit in {} bits",
            value.bits(),
            len * 64
        )));
    }
    // Written into its final allocation: no intermediate copy of a secret is left unwiped.
    let mut limbs = vec![0u64; len];
    for (limb, digit) in limbs.iter_mut().zip(value.iter_u64_digits()) {
        *limb = digit;
    }
    Ok(limbs)
}

/// The integer whose little-endian limbs are `limbs`.
pub fn biguint_from_limbs(limbs: &[u64]) -> BigUint {
    // `BigUint::new` would drop its 32-bit digit vector unwiped; assign_from_slice writes into
    // the integer's own storage, and our copy is wiped.
    let mut digits = Vec::with_capacity(limbs.len() * 2);
    for &limb in limbs {
        digits.push(limb as u32);
        digits.push((limb >> 32) as u32);
    }
    let mut value = BigUint::default();
    value.assign_from_slice(&digits);
    zeroize::Zeroize::zeroize(&mut digits);
    value
}

/// Reads little-endian bytes into exactly `len` limbs.
///
/// Fails when a non-zero byte lies beyond `len * 8` bytes.
pub fn limbs_from_le_bytes(bytes: &[u8], len: usize) -> Result<Vec<u64>> {
    if bytes.iter().skip(len * 8).any(|&b| b != 0) {
        return Err(Error::InvalidParameter(format!(
            "a {}-byte integer does not fit in {} bits",
            bytes.len(),
            len * 64
        )));
    }
    let mut limbs = vec![0u64; len];
    for (i, chunk) in bytes.chunks(8).take(len).enumerate() {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        limbs[i] = u64::from_le_bytes(word);
    }
    Ok(limbs)
}

/// Writes `limbs` as exactly `width` little-endian bytes.
///
/// Fails when the value does not fit in `width` bytes.
pub fn limbs_to_le_bytes(limbs: &[u64], width: usize) -> Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(limbs.len() * 8);
    for limb in limbs {
        bytes.extend_from_slice(&limb.to_le_bytes());
    }
    if bytes.iter().skip(width).any(|&b| b != 0) {
        return Err(Error::InvalidParameter(format!(
            "value does not fit in {width} bytes"
        )));
    }
    bytes.resize(width, 0);
    Ok(bytes)
}

/// Overwrites a secret `BigUint`'s digits in place before it is dropped.
///
/// `assign_from_slice` clears and refills the same allocation, so the old digits are overwritten
/// with zeros (num-bigint offers no zeroize support of its own). Temporaries created during
/// arithmetic are not covered: see SECURITY.md.
pub fn wipe_biguint(value: &mut BigUint) {
    let digits = value.bits().div_ceil(32) as usize;
    value.assign_from_slice(&vec![0u32; digits.max(1)]);
}

/// A secret `BigUint` that is wiped (see `wipe_biguint`) when dropped, on every path.
pub struct WipedBigUint(pub BigUint);

impl Drop for WipedBigUint {
    fn drop(&mut self) {
        wipe_biguint(&mut self.0);
    }
}

impl std::ops::Deref for WipedBigUint {
    type Target = BigUint;
    fn deref(&self) -> &BigUint {
        &self.0
    }
}
