//! What the lanes' differential tests share: random odd numbers and one group's powers checked
//! against num-bigint.

use num_bigint::{BigUint, RandBigInt};
use rand::rngs::StdRng;

use crate::bigint::{biguint_from_limbs, limbs_from_biguint};

/// A random odd number of exactly `bits` bits.
pub(super) fn odd_number(bits: u64, rng: &mut StdRng) -> BigUint {
    let top = BigUint::from(1u32) << (bits - 1);
    rng.gen_biguint(bits) | top | BigUint::from(1u32)
}

/// Raises `bases` to `exponents` (of `bits` bits) with `pow_secret`, an engine's
/// `(bases, exponents, bits, out)` on `width`-limb values, and checks every item against
/// num-bigint modulo `modulus`.
pub(super) fn check_powers(
    pow_secret: impl Fn(&[u64], &[&[u64]], usize, &mut [u64]),
    modulus: &BigUint,
    width: usize,
    bases: &[BigUint],
    exponents: &[BigUint],
    bits: usize,
) {
    let flat: Vec<u64> = bases
        .iter()
        .flat_map(|b| limbs_from_biguint(b, width).unwrap())
        .collect();
    let exponent_limbs: Vec<Vec<u64>> = exponents
        .iter()
        .map(|e| limbs_from_biguint(e, bits.div_ceil(64).max(1)).unwrap())
        .collect();
    let refs: Vec<&[u64]> = exponent_limbs.iter().map(Vec::as_slice).collect();
    let mut out = vec![0u64; flat.len()];
    pow_secret(&flat, &refs, bits, &mut out);
    for (i, (base, exponent)) in bases.iter().zip(exponents).enumerate() {
        let got = biguint_from_limbs(&out[i * width..(i + 1) * width]);
        assert_eq!(
            got,
            base.modpow(exponent, modulus),
            "item {i} of {}, a modulus of {} bits",
            bases.len(),
            modulus.bits()
        );
    }
}
