//! Differential tests of the narrow engine against num-bigint: on every instruction set this
//! CPU has and on the emulation (the kernels' arithmetic wherever AVX-512F or AVX2 is missing),
//! at every group size, and at the digit-count edges of both radices.

use num_bigint::{BigUint, RandBigInt};
use proptest::prelude::*;
use rand::{rngs::StdRng, Rng, SeedableRng};

use super::super::test_support::{check_powers, odd_number};
use super::{NarrowIsa, NarrowLanes};
use crate::bigint::multi_buffer::LANES;

/// Every instruction set to check here: the emulation always, the others where the CPU has them.
pub(super) fn isas() -> Vec<NarrowIsa> {
    [NarrowIsa::Emulated, NarrowIsa::Avx2, NarrowIsa::Avx512f]
        .into_iter()
        .filter(|isa| isa.available())
        .collect()
}

fn check_group(isa: NarrowIsa, m: &BigUint, bases: &[BigUint], exponents: &[BigUint], bits: usize) {
    let width = (m.bits() as usize).div_ceil(64);
    let lanes = NarrowLanes::new(m, width, isa).expect("an odd modulus within the radices");
    let pow = |b: &[u64], e: &[&[u64]], bits, out: &mut [u64]| lanes.pow_secret(b, e, bits, out);
    check_powers(pow, m, width, bases, exponents, bits);
}

/// Random bases below `m` and exponents of `bits` bits for `items` items.
fn group(m: &BigUint, items: usize, bits: usize, rng: &mut StdRng) -> (Vec<BigUint>, Vec<BigUint>) {
    let bases = (0..items).map(|_| rng.gen_biguint_below(m)).collect();
    let exponents = (0..items).map(|_| rng.gen_biguint(bits as u64)).collect();
    (bases, exponents)
}

#[test]
fn powers_match_num_bigint_at_every_group_size_and_width() {
    let mut rng = StdRng::seed_from_u64(91);
    for isa in isas() {
        // p² and n² of key_len 512 to 2048, widths one bit past a digit boundary, odd ones.
        for bits in [
            3u64, 29, 54, 55, 200, 511, 1024, 1536, 2048, 2049, 3072, 4096,
        ] {
            let m = odd_number(bits, &mut rng);
            let sizes: Vec<usize> = match bits >= 2048 {
                true => vec![1, 3, LANES],
                false => (1..=LANES).collect(),
            };
            for items in sizes {
                let exponent_bits = rng.gen_range(1..=(bits as usize / 2).clamp(8, 300));
                let (bases, exponents) = group(&m, items, exponent_bits, &mut rng);
                check_group(isa, &m, &bases, &exponents, exponent_bits);
            }
        }
    }
}

/// The smallest and largest modulus of each digit count at the edges of each radix: the
/// widest 28-bit modulus (128 digits, the column bound's edge), the first that takes 27-bit
/// digits, and the widest the engine takes (512 digits of 27 bits).
#[test]
fn moduli_at_the_radix_edges_give_exact_powers() {
    let mut rng = StdRng::seed_from_u64(92);
    for isa in isas() {
        for bits in [
            28 * 3 - 2,
            28 * 3 - 1,
            28 * 128 - 2,
            28 * 128 - 1,
            27 * 512 - 2,
        ] {
            let m = odd_number(bits, &mut rng);
            // All-ones digits stress every column's sum; m − 1 is the largest base.
            let top = &m - 1u32;
            let bases = vec![top.clone(), top, rng.gen_biguint_below(&m)];
            let all_ones = (BigUint::from(1u32) << 64u32) - 1u32;
            let exponents = vec![all_ones.clone(), BigUint::from(1u32), all_ones];
            check_group(isa, &m, &bases, &exponents, 64);
        }
        let past = odd_number(27 * 512 - 1, &mut rng);
        assert!(NarrowLanes::new(&past, 216, isa).is_none());
    }
}

#[test]
fn zero_one_and_the_largest_values_survive_the_lanes() {
    let mut rng = StdRng::seed_from_u64(93);
    for isa in isas() {
        for bits in [1024u64, 2048] {
            let m = odd_number(bits, &mut rng);
            let top = &m - 1u32;
            let bases = [0u32, 1, 2]
                .map(BigUint::from)
                .into_iter()
                .chain([top.clone(), top, rng.gen_biguint_below(&m)])
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
            check_group(isa, &m, &bases, &exponents, 1024);
        }
    }
}

#[test]
fn even_unit_and_undersized_moduli_are_refused() {
    for isa in isas() {
        assert!(NarrowLanes::new(&BigUint::from(1u32), 1, isa).is_none());
        assert!(NarrowLanes::new(&BigUint::from(1u32 << 20), 1, isa).is_none());
        let wide = (BigUint::from(1u32) << 130u32) + 1u32;
        assert!(NarrowLanes::new(&wide, 2, isa).is_none());
        assert!(NarrowLanes::new(&wide, 3, isa).is_some());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Every instruction set gives num-bigint's powers for random widths, group sizes and
    /// exponents (the emulation on any CPU; AVX2 and AVX-512F where the CPU has them).
    #[test]
    fn random_groups_match_num_bigint(
        bits in 2u64..2200,
        items in 1usize..=LANES,
        exponent_bits in 1usize..200,
        seed: u64,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let m = odd_number(bits, &mut rng);
        let (bases, exponents) = group(&m, items, exponent_bits, &mut rng);
        for isa in isas() {
            check_group(isa, &m, &bases, &exponents, exponent_bits);
        }
    }
}
