//! Differential tests of the multi-buffer engine: against num-bigint and against the one-number
//! engines, at every width the crate uses, with groups of every size from one to eight.

use num_bigint::{BigUint, RandBigInt};
use rand::{rngs::StdRng, Rng, SeedableRng};

use super::test_support::{check_powers, odd_number};
use super::{MultiBuffer, LANES};
use crate::bigint::{limbs_from_biguint, MontgomeryModulus};

fn engine(m: &BigUint) -> Option<(MontgomeryModulus, MultiBuffer)> {
    let modulus = MontgomeryModulus::new(m).ok()?;
    let lanes = MultiBuffer::new(m, modulus.len(), modulus.m0_inv())?;
    Some((modulus, lanes))
}

/// Runs one group through the engine and checks every item against num-bigint.
fn check_group(m: &BigUint, bases: &[BigUint], exponents: &[BigUint], bits: usize) {
    let Some((modulus, lanes)) = engine(m) else {
        return;
    };
    let pow = |b: &[u64], e: &[&[u64]], bits, out: &mut [u64]| lanes.pow_secret(b, e, bits, out);
    check_powers(pow, m, modulus.len(), bases, exponents, bits);
}

#[test]
fn powers_match_num_bigint_at_every_width_and_group_size() {
    let mut rng = StdRng::seed_from_u64(47);
    // p² and n² of key_len 512 to 4096, and widths between (one limb past a boundary, odd ones).
    for bits in [
        64u64, 104, 105, 200, 256, 511, 512, 1024, 1536, 2048, 2049, 3072, 4096, 6144, 8192,
    ] {
        let m = odd_number(bits, &mut rng);
        let sizes: Vec<usize> = if bits >= 4096 {
            vec![1, 5, LANES]
        } else {
            (1..=LANES).collect()
        };
        for items in sizes {
            let exponent_bits = rng.gen_range(1..=bits as usize / 2 + 3);
            let bases: Vec<BigUint> = (0..items).map(|_| rng.gen_biguint_below(&m)).collect();
            let exponents: Vec<BigUint> = (0..items)
                .map(|_| rng.gen_biguint(exponent_bits as u64))
                .collect();
            check_group(&m, &bases, &exponents, exponent_bits);
        }
    }
}

#[test]
fn edge_values_survive_the_lanes() {
    let mut rng = StdRng::seed_from_u64(48);
    for bits in [1024u64, 2048] {
        let m = odd_number(bits, &mut rng);
        let top = &m - 1u32;
        // Zero, one, m − 1, and exponents zero, one and all ones.
        let bases = vec![
            BigUint::from(0u32),
            BigUint::from(1u32),
            top.clone(),
            top.clone(),
            rng.gen_biguint_below(&m),
            rng.gen_biguint_below(&m),
            BigUint::from(2u32),
        ];
        let all_ones = (BigUint::from(1u32) << 1024u32) - 1u32;
        let exponents = vec![
            all_ones.clone(),
            all_ones.clone(),
            BigUint::from(1u32),
            all_ones.clone(),
            BigUint::from(0u32),
            BigUint::from(1u32),
            all_ones,
        ];
        check_group(&m, &bases, &exponents, 1024);
    }
}

#[test]
fn agrees_with_the_one_number_engine_on_secret_powers() {
    let mut rng = StdRng::seed_from_u64(49);
    let m = odd_number(2048, &mut rng);
    let Some((modulus, lanes)) = engine(&m) else {
        return;
    };
    let width = modulus.len();
    let exponent = limbs_from_biguint(&rng.gen_biguint(1024), 16).unwrap();
    let bases: Vec<u64> = (0..LANES)
        .flat_map(|_| limbs_from_biguint(&rng.gen_biguint_below(&m), width).unwrap())
        .collect();
    let mut out = vec![0u64; bases.len()];
    lanes.pow_secret(&bases, &[&exponent[..]; LANES], 1024, &mut out);
    for (base, got) in bases.chunks(width).zip(out.chunks(width)) {
        let power = modulus.pow_secret(&modulus.to_montgomery(base), &exponent, 1024);
        assert_eq!(modulus.from_montgomery(&power), got);
    }
}

#[test]
fn no_engine_past_the_widest_modulus() {
    let mut rng = StdRng::seed_from_u64(50);
    let m = odd_number(8400, &mut rng);
    let modulus = MontgomeryModulus::new(&m).unwrap();
    assert!(MultiBuffer::new(&m, modulus.len(), modulus.m0_inv()).is_none());
}

#[test]
#[ignore = "timing, run by hand: cargo test --release -p paillier-gpu-engine --lib lanes_timing -- --ignored --nocapture"]
fn lanes_timing() {
    let mut rng = StdRng::seed_from_u64(51);
    for bits in [1024u64, 2048, 3072, 4096] {
        let m = odd_number(bits, &mut rng);
        let Some((modulus, lanes)) = engine(&m) else {
            return;
        };
        let width = modulus.len();
        let exponent_bits = bits as usize / 2;
        let exponent = limbs_from_biguint(&rng.gen_biguint(exponent_bits as u64), width).unwrap();
        let bases: Vec<u64> = (0..LANES)
            .flat_map(|_| limbs_from_biguint(&rng.gen_biguint_below(&m), width).unwrap())
            .collect();
        let mut out = vec![0u64; bases.len()];
        let rounds = (4 << 20) / (bits * bits) as usize + 2;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            lanes.pow_secret(&bases, &[&exponent[..]; LANES], exponent_bits, &mut out);
        }
        let lanes_rate = (rounds * LANES) as f64 / start.elapsed().as_secs_f64();
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            for pair in bases.chunks(2 * width) {
                let (x, y) = pair.split_at(width);
                let (x, y) = (modulus.to_montgomery(x), modulus.to_montgomery(y));
                std::hint::black_box(modulus.pow_secret_pair(
                    &modulus,
                    (&x, &exponent),
                    (&y, &exponent),
                    exponent_bits,
                ));
            }
        }
        let pair_rate = (rounds * LANES) as f64 / start.elapsed().as_secs_f64();
        println!(
            "{bits}-bit modulus, {exponent_bits}-bit exponent: lanes {lanes_rate:.0}/s, pairs \
             {pair_rate:.0}/s, {:.2}x",
            lanes_rate / pair_rate
        );
    }
}

#[test]
#[ignore = "timing, run by hand"]
#[allow(unsafe_code)]
fn kernel_timing() {
    if !crate::bigint::ifma::Ifma52::available() {
        return;
    }
    for l in [24usize, 40, 80] {
        let m: Vec<u64> = (0..l)
            .map(|j| (j as u64 * 0x9e3779b97f4a7 + 1) & super::super::ifma::MASK52)
            .collect();
        let a: Vec<u64> = (0..8 * l)
            .map(|j| (j as u64 * 0x51ed27) & 0xffff_ffff)
            .collect();
        let mut scratch = vec![0u64; 16 * l];
        let mut out = vec![0u64; 8 * l];
        let n = 2_000_000 / l;
        let start = std::time::Instant::now();
        for _ in 0..n {
            unsafe { super::kernels::mul(&a, &a, &m, 12345, &mut scratch, &mut out) };
            std::hint::black_box(&out);
        }
        let per = start.elapsed().as_secs_f64() / n as f64;
        let start = std::time::Instant::now();
        for _ in 0..n {
            unsafe { super::kernels::square(&a, &m, 12345, &mut scratch, &mut out) };
            std::hint::black_box(&out);
        }
        let per_square = start.elapsed().as_secs_f64() / n as f64;
        println!(
            "L={l}: {:.0} ns per 8 products ({:.2} G IFMA/s), {:.0} ns per 8 squares",
            per * 1e9,
            (4 * l * l) as f64 / per / 1e9,
            per_square * 1e9
        );
    }
}
