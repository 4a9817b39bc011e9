//! Which ciphertexts share a factor with n: none of this key's does (it would not be invertible
//! modulo n², and would reveal a factor of n). Checked once where values from outside become a
//! [`CiphertextBatch`](super::CiphertextBatch), batched so that a whole batch costs one gcd.

use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::One;
use rayon::prelude::*;

use super::PublicKey;
use crate::error::{Error, Result};
use crate::hazmat::bigint::biguint_from_limbs;

/// Items multiplied by one task of [`PublicKey::first_non_unit`].
const UNITS_PER_TASK: usize = 64;

/// Why a value below n² that shares a factor with n is no ciphertext.
pub(crate) const SHARES_A_FACTOR: &str =
    "ciphertext shares a factor with n (it is not invertible modulo n^2)";

impl PublicKey {
    /// The position of the first of `items` (flat limbs of n²'s width each, every one already
    /// checked to be below n²) that shares a factor with n, if any: no ciphertext of this key
    /// does (it is not invertible modulo n², and would reveal a factor of n).
    ///
    /// A running product modulo n and one gcd check them all, on every core: each item enters
    /// it as one Montgomery reduction modulo n (`c·R⁻¹`, valid since `c < n² < n·R`) and one
    /// Montgomery product, each a unit multiple of the plain one, so that the gcd with n is the
    /// plain product's. Only when that gcd is not 1 are the groups of one task, then the items
    /// of the first bad group, looked at one by one.
    pub(crate) fn first_non_unit(&self, items: &[u64]) -> Option<usize> {
        let width = self.ciphertext_limbs();
        if width == 0 || items.len() < width {
            return None;
        }
        let count = items.len() / width;
        let shares_factor = |x: &BigUint| !x.gcd(&self.n).is_one();
        let scan = |range: std::ops::Range<usize>| {
            range.into_iter().find(|&i| {
                shares_factor(&(biguint_from_limbs(&items[i * width..(i + 1) * width]) % &self.n))
            })
        };
        let modulus = match self.n_modulus() {
            Ok(modulus) if width <= 2 * modulus.len() => modulus,
            _ => return scan(0..count),
        };
        let product = |items: &[u64], item_len: usize| {
            let mut product = modulus.one().to_vec();
            let mut next = vec![0u64; modulus.len()];
            let mut wide = vec![0u64; 2 * modulus.len()];
            let mut reduced = vec![0u64; modulus.len()];
            for item in items.chunks_exact(item_len) {
                wide[..item_len].copy_from_slice(item);
                wide[item_len..].fill(0);
                let reducing = modulus.montgomery_reduce(&mut wide, &mut reduced);
                debug_assert!(reducing.is_ok(), "widths are checked above");
                modulus.mul_into(&product, &reduced, &mut next);
                std::mem::swap(&mut product, &mut next);
            }
            product
        };
        let partials: Vec<Vec<u64>> = items[..count * width]
            .par_chunks(width * UNITS_PER_TASK)
            .map(|group| product(group, width))
            .collect();
        if !shares_factor(&biguint_from_limbs(&product(
            &partials.concat(),
            modulus.len(),
        ))) {
            return None;
        }
        partials
            .iter()
            .position(|partial| shares_factor(&biguint_from_limbs(partial)))
            .and_then(|group| {
                scan(group * UNITS_PER_TASK..((group + 1) * UNITS_PER_TASK).min(count))
            })
            .or_else(|| scan(0..count))
    }

    /// An error naming the first of `items` (as [`first_non_unit`](Self::first_non_unit) takes
    /// them) that shares a factor with n, by its record: `first_record` plus its position over
    /// `pieces_per_record`.
    pub(crate) fn check_units(
        &self,
        items: &[u64],
        pieces_per_record: usize,
        first_record: usize,
    ) -> Result<()> {
        match self.first_non_unit(items) {
            Some(i) => Err(Error::InvalidCiphertext {
                index: first_record + i / pieces_per_record.max(1),
                reason: SHARES_A_FACTOR.into(),
            }),
            None => Ok(()),
        }
    }
}
