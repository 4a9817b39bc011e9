//! The GPU's multi-exponentiation kernel (the linear layer's products of powers) against the
//! CPU, bit for bit: every limb path (both exchanges in the whole matrix), zero rows, single
//! bits, a batch of samples over several chunks, and exponents long enough that a row's program
//! spans several dispatches and its squaring runs are cut into terms (on lavapipe's loop
//! budget); through the spot-checked stack too.
//!
//! Without an adapter these tests print why and pass, unless `PAILLIER_GPU_REQUIRE_ADAPTER=1`.
#![cfg(feature = "gpu")]

use crate::common;

use common::gpu::backends;
use num_bigint::{BigUint, RandBigInt};
use paillier_gpu::hazmat::backend::cpu::CpuBackend;
use paillier_gpu::hazmat::backend::{Backend, Exponents, LimbBatch, Secrecy};
use paillier_gpu::hazmat::bigint::{limbs_from_biguint, MontgomeryModulus};
use rand::SeedableRng;

/// A random odd modulus of exactly `bits` bits.
fn modulus(rng: &mut impl rand::Rng, bits: u64) -> (BigUint, MontgomeryModulus) {
    let m = rng.gen_biguint(bits) | BigUint::from(1u32) | (BigUint::from(1u32) << (bits - 1));
    let montgomery = MontgomeryModulus::new(&m).unwrap();
    (m, montgomery)
}

fn batch(values: &[BigUint], limbs: usize) -> LimbBatch {
    let mut out = LimbBatch::new(limbs);
    for v in values {
        out.push(&limbs_from_biguint(v, limbs).unwrap()).unwrap();
    }
    out
}

fn public(values: &[BigUint]) -> Exponents {
    let bits = values.iter().map(|v| v.bits() as usize).max().unwrap_or(0);
    Exponents {
        values: batch(values, bits.div_ceil(64).max(1)),
        bits: bits.max(1),
        secrecy: Secrecy::Public,
    }
}

/// `samples × per_row` random bases and `rows × per_row` exponents from `exponent`.
fn case(
    rng: &mut impl rand::Rng,
    m: &BigUint,
    (samples, per_row, rows): (usize, usize, usize),
    mut exponent: impl FnMut(&mut dyn rand::RngCore, usize, usize) -> BigUint,
) -> (LimbBatch, Exponents) {
    let limbs = m.bits().div_ceil(64) as usize;
    let bases: Vec<BigUint> = (0..samples * per_row)
        .map(|_| rng.gen_biguint_below(m))
        .collect();
    let mut exponents = Vec::new();
    for row in 0..rows {
        for base in 0..per_row {
            exponents.push(exponent(rng, row, base));
        }
    }
    (batch(&bases, limbs), public(&exponents))
}

#[test]
fn multi_exp_on_the_gpu_equals_the_cpu() {
    let all = backends();
    if all.is_empty() {
        return;
    }
    let cpu = CpuBackend::shared();
    let mut rng = rand::rngs::StdRng::seed_from_u64(24_25);
    let (m, modulus) = modulus(&mut rng, 1024);
    // 70 samples cross the tests' 64-item chunks; rows of random 60-bit weights, zeros, and
    // single bits beside random values.
    let mixed = case(&mut rng, &m, (70, 5, 3), |rng, row, base| match row {
        0 => rng.gen_biguint(60),
        1 => BigUint::default(),
        _ if base % 2 == 0 => BigUint::from(1u32) << (base * 13),
        _ => rng.gen_biguint(45),
    });
    // Long exponents: a row whose program needs several dispatches on lavapipe, and a lone
    // top bit whose 9,999 trailing squarings are cut into several terms.
    let long = case(&mut rng, &m, (2, 2, 2), |rng, row, base| {
        match (row, base) {
            (0, _) => rng.gen_biguint(9_000),
            (_, 0) => BigUint::from(1u32) << 9_999u32,
            _ => BigUint::default(),
        }
    });
    for (name, (bases, exponents), per_row) in [("mixed", mixed, 5), ("long", long, 2)] {
        let expected = cpu
            .multi_exp(&modulus, &bases, &exponents, per_row)
            .unwrap();
        for (variant, gpu) in &all {
            let got = gpu
                .multi_exp(&modulus, &bases, &exponents, per_row)
                .unwrap();
            assert_eq!(got, expected, "{name}, {variant:?}");
            let checked = gpu.checked();
            let got = checked
                .multi_exp(&modulus, &bases, &exponents, per_row)
                .unwrap();
            assert_eq!(got, expected, "{name} through the checks, {variant:?}");
        }
    }
}

#[test]
fn multi_exp_on_the_gpu_refuses_what_the_cpu_refuses() {
    let all = backends();
    if all.is_empty() {
        return;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let (m, modulus) = modulus(&mut rng, 512);
    let (bases, exponents) = case(&mut rng, &m, (3, 4, 2), |rng, _, _| rng.gen_biguint(20));
    for (variant, gpu) in &all {
        // Bases that do not split into rows of 5, and secret exponents.
        assert!(
            gpu.multi_exp(&modulus, &bases, &exponents, 5).is_err(),
            "{variant:?}"
        );
        let secret = Exponents {
            values: exponents.values.clone(),
            bits: exponents.bits,
            secrecy: Secrecy::Secret,
        };
        assert!(
            gpu.multi_exp(&modulus, &bases, &secret, 4).is_err(),
            "{variant:?}"
        );
        // No samples: no products.
        let none = LimbBatch::new(modulus.len());
        assert!(gpu
            .multi_exp(&modulus, &none, &exponents, 4)
            .unwrap()
            .is_empty());
    }
}
