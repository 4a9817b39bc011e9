//! Tests of the parent module: residues and the widths that allow them.

use num_bigint::{BigUint, RandBigInt};
use rand::{rngs::StdRng, Rng, SeedableRng};

use super::CrtKey;
use crate::bigint::{biguint_from_limbs, limbs_from_biguint};
use crate::test_primes::random_prime_from;

fn prime(bits: u64, rng: &mut StdRng) -> BigUint {
    random_prime_from(rng, bits as usize)
}

fn key(p: &BigUint, q: &BigUint) -> CrtKey {
    let one = BigUint::from(1u32);
    CrtKey::new(p, q, &(p - 1u32), &(q - 1u32), &one, &one).unwrap()
}

#[test]
fn residues_match_num_bigint_and_find_shared_factors() {
    let mut rng = StdRng::seed_from_u64(21);
    for bits in [128u64, 192, 256, 512] {
        let (p, q) = (prime(bits, &mut rng), prime(bits, &mut rng));
        // The key keeps the larger prime as p.
        let (p, q) = if p > q { (p, q) } else { (q, p) };
        let crt = key(&p, &q);
        let limbs = crt
            .ciphertext_limbs()
            .expect("primes that fill their limbs");
        let n_squared = (&p * &q) * (&p * &q);
        let width = crt.p_squared.len();
        // (c, shares a factor with n, divisible by p)
        let cases = [
            (rng.gen_biguint_below(&n_squared), false, false),
            (&n_squared - 1u32, false, false),
            (&p * rng.gen_range(1u32..1000), true, true),
            (&q * &q * &p, true, true),
            (&q * rng.gen_range(1u32..1000), true, false),
        ];
        for (c, shares_factor, divisible_by_p) in cases {
            let c_limbs = limbs_from_biguint(&c, limbs).unwrap();
            let (mut out_p, mut out_q) = (vec![0u64; width], vec![0u64; width]);
            let found = crt.residues(&c_limbs, &mut out_p, &mut out_q);
            assert_eq!(found, Some(shares_factor), "{bits} bits");
            assert_eq!(biguint_from_limbs(&out_p), &c % (&p * &p));
            assert_eq!(biguint_from_limbs(&out_q), &c % (&q * &q));
            // One prime: the same residue modulo p², and p alone looked for.
            let mut alone = vec![0u64; width];
            assert_eq!(crt.residue_p(&c_limbs, &mut alone), Some(divisible_by_p));
            assert_eq!(alone, out_p);
        }
    }
}

#[test]
fn primes_short_of_their_limbs_take_the_other_path() {
    let mut rng = StdRng::seed_from_u64(22);
    // 160-bit primes in 3 limbs: p² has 319 or 320 bits in 5 limbs, not twice p's 3.
    let crt = key(&prime(160, &mut rng), &prime(160, &mut rng));
    assert_eq!(crt.ciphertext_limbs(), None);
}
