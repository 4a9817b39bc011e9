//! Seeded primes for the engine's unit tests (key generation lives in the crate above).

use num_bigint::{BigUint, RandBigInt};

/// A prime of exactly `bits` bits drawn from `rng`.
pub(crate) fn random_prime_from(rng: &mut impl rand::Rng, bits: usize) -> BigUint {
    loop {
        let mut candidate = rng.gen_biguint(bits as u64);
        candidate.set_bit(bits as u64 - 1, true);
        candidate.set_bit(0, true);
        let test = num_prime::nt_funcs::is_prime(
            &candidate,
            Some(num_prime::PrimalityTestConfig::strict()),
        );
        if test.probably() {
            return candidate;
        }
    }
}
