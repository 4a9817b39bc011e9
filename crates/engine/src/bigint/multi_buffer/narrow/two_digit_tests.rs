//! Differential tests of the narrow two-digit lanes against num-bigint: on every instruction
//! set this CPU has and on the emulation, at every group size, and at the digit-count edges of
//! both radices.

use num_bigint::{BigUint, RandBigInt};
use proptest::prelude::*;
use rand::{rngs::StdRng, Rng, SeedableRng};

use super::super::super::test_support::{check_powers, odd_number};
use super::super::tests::isas;
use super::super::NarrowIsa;
use super::NarrowTwoDigitLanes;
use crate::bigint::multi_buffer::LANES;

/// The powers modulo `n²` of `bases` (below n²) checked against num-bigint.
fn check_group(isa: NarrowIsa, n: &BigUint, bases: &[BigUint], exponents: &[BigUint], bits: usize) {
    let square = n * n;
    let width = (square.bits() as usize).div_ceil(64);
    let lanes = NarrowTwoDigitLanes::new(n, width, isa).expect("an odd root within the radices");
    let pow = |b: &[u64], e: &[&[u64]], bits, out: &mut [u64]| lanes.pow_secret(b, e, bits, out);
    check_powers(pow, &square, width, bases, exponents, bits);
}

fn group(n: &BigUint, items: usize, bits: usize, rng: &mut StdRng) -> (Vec<BigUint>, Vec<BigUint>) {
    let square = n * n;
    let bases = (0..items).map(|_| rng.gen_biguint_below(&square)).collect();
    let exponents = (0..items).map(|_| rng.gen_biguint(bits as u64)).collect();
    (bases, exponents)
}

#[test]
fn powers_match_num_bigint_at_every_group_size_and_width() {
    let mut rng = StdRng::seed_from_u64(191);
    for isa in isas() {
        // p and q of key_len 256 to 2048, and widths one bit either side of a digit boundary.
        for bits in [2u64, 3, 22, 23, 50, 256, 512, 1024, 1025, 1536, 2048] {
            let n = odd_number(bits, &mut rng);
            let sizes: Vec<usize> = match bits >= 1024 {
                true => vec![1, 5, LANES],
                false => (1..=LANES).collect(),
            };
            for items in sizes {
                let exponent_bits = rng.gen_range(1..=(bits as usize).clamp(8, 300));
                let (bases, exponents) = group(&n, items, exponent_bits, &mut rng);
                check_group(isa, &n, &bases, &exponents, exponent_bits);
            }
        }
    }
}

/// The widest root of 28-bit digits (85 of them, the high digit's column bound), the first of
/// 27-bit digits, and the widest the engine takes (341 digits of 27 bits), each with the
/// largest base and all-ones exponents (every column's sum at its most).
#[test]
fn roots_at_the_radix_edges_give_exact_powers() {
    let mut rng = StdRng::seed_from_u64(192);
    for isa in isas() {
        for bits in [
            28 * 2 - 6,
            28 * 2 - 5,
            28 * 85 - 6,
            28 * 85 - 5,
            27 * 341 - 6,
        ] {
            let n = odd_number(bits, &mut rng);
            let top = &n * &n - 1u32;
            let bases = vec![top.clone(), top, rng.gen_biguint_below(&(&n * &n))];
            let all_ones = (BigUint::from(1u32) << 64u32) - 1u32;
            let exponents = vec![all_ones.clone(), BigUint::from(1u32), all_ones];
            check_group(isa, &n, &bases, &exponents, 64);
        }
        let past = odd_number(27 * 341 - 5, &mut rng);
        assert!(NarrowTwoDigitLanes::new(&past, 288, isa).is_none());
    }
}

#[test]
fn zero_one_and_the_largest_values_survive_the_lanes() {
    let mut rng = StdRng::seed_from_u64(193);
    for isa in isas() {
        let n = odd_number(1024, &mut rng);
        let top = &n * &n - 1u32;
        let bases = [0u32, 1, 2]
            .map(BigUint::from)
            .into_iter()
            .chain([top.clone(), n.clone(), top])
            .collect::<Vec<_>>();
        let all_ones = (BigUint::from(1u32) << 1024u32) - 1u32;
        let exponents = vec![
            all_ones.clone(),
            BigUint::from(0u32),
            all_ones.clone(),
            BigUint::from(1u32),
            all_ones,
            BigUint::from(0u32),
        ];
        check_group(isa, &n, &bases, &exponents, 1024);
    }
}

#[test]
fn even_unit_and_undersized_roots_are_refused() {
    for isa in isas() {
        assert!(NarrowTwoDigitLanes::new(&BigUint::from(1u32), 1, isa).is_none());
        assert!(NarrowTwoDigitLanes::new(&BigUint::from(1u32 << 20), 1, isa).is_none());
        let n = (BigUint::from(1u32) << 130u32) + 1u32;
        assert!(NarrowTwoDigitLanes::new(&n, 4, isa).is_none());
        assert!(NarrowTwoDigitLanes::new(&n, 5, isa).is_some());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random widths, group sizes and exponents give num-bigint's powers on every instruction
    /// set here.
    #[test]
    fn random_groups_match_num_bigint(
        bits in 2u64..1100,
        items in 1usize..=LANES,
        exponent_bits in 1usize..200,
        seed: u64,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let n = odd_number(bits, &mut rng);
        let (bases, exponents) = group(&n, items, exponent_bits, &mut rng);
        for isa in isas() {
            check_group(isa, &n, &bases, &exponents, exponent_bits);
        }
    }
}
