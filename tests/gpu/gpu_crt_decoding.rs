//! The GPU's CRT decoding against the CPU's, bit for bit: every key size and every limb
//! arithmetic, with the chunk checks (slots, subgroup) the decoder reports.
//!
//! Without an adapter these tests print why and pass, unless `PAILLIER_GPU_REQUIRE_ADAPTER=1`.
#![cfg(feature = "gpu")]

use crate::common;

use common::gpu::backends;
use common::odd_pair;
use num_bigint::RandBigInt;
use paillier_gpu::hamming::response_check::{ChunkCount, Defects};
use paillier_gpu::hazmat::backend::cpu::CpuBackend;
use paillier_gpu::hazmat::backend::gpu::{GpuBackend, GpuOptions};
use paillier_gpu::hazmat::backend::{Backend, CrtKey, LimbBatch};
use paillier_gpu::hazmat::bigint::MontgomeryModulus;
use rand::{rngs::StdRng, SeedableRng};

/// What a response check expects of plaintext `m` under a slot mask of `dims` slots.
fn expected_chunk(m: &num_bigint::BigUint, dims: usize, in_subgroup: bool) -> ChunkCount {
    let mut failed = Vec::new();
    if !in_subgroup {
        failed.push(Defects::NOT_IN_SUBGROUP);
    }
    if m.bits() as usize > 2 * dims {
        failed.push(Defects::ABOVE_SLOTS);
    }
    let slot = |j: usize| u8::from(m.bit(2 * j as u64)) + 2 * u8::from(m.bit(2 * j as u64 + 1));
    if (0..dims).any(|j| slot(j) == 3) {
        failed.push(Defects::SLOT_HOLDS_THREE);
    }
    match failed.into_iter().reduce(Defects::union) {
        Some(defects) => ChunkCount::failed(defects),
        None => ChunkCount::counted((0..dims).filter(|&j| slot(j) == 1).count() as u32),
    }
}

#[test]
fn crt_decoding_matches_the_cpu_at_every_key_size() {
    for (path, gpu) in backends() {
        // Chunks as long as the key allows (both primes), and short enough for one prime (at
        // the smallest and largest widths: lavapipe is slow).
        let two_primes = common::gpu::widths(&[512u64, 1024, 1536, 2048], &[512]);
        let one_prime = common::gpu::widths(&[512u64, 2048], &[512]);
        let two_primes = two_primes
            .into_iter()
            .map(|key_len| (key_len, key_len as usize - 8));
        let one_prime = one_prime
            .into_iter()
            .map(|key_len| (key_len, key_len as usize / 2 - 4));
        let cases: Vec<_> = two_primes.chain(one_prime).collect();
        check_crt_decoding(&gpu, &format!("{path:?}"), &cases);
    }
}

/// Decoding on the wide numbers modulo p² (the two digits turned off), and on digit kernels of
/// other lane counts: two lanes (8 limbs each at key_len 512; wider lanes fall back to the wide
/// numbers, as at 1024 and 2048 here), as many as the adapter allows, and twice the usual for
/// the calls too small to fill (`two_digit_fill`).
#[test]
fn crt_decoding_matches_the_cpu_on_every_arithmetic() {
    let variants = [
        ("wide", Some(false), None, None),
        ("two digits, 2 lanes", Some(true), Some(2), None),
        ("two digits, most lanes", Some(true), Some(64), None),
        // Twice the usual lanes for calls of fewer than 100 invocations at the usual lanes:
        // the small calls here, not the larger ones.
        ("two digits, filling", Some(true), None, Some(100)),
    ];
    // key_len 512 is where the two-lane digit kernels run (wider lanes fall back).
    let cases = common::gpu::widths(
        &[(512u64, 504usize), (1024, 1016), (2048, 1020)],
        &[(512, 504)],
    );
    for (label, two_digit, two_digit_lanes, two_digit_fill) in variants {
        let options = GpuOptions {
            two_digit,
            two_digit_lanes,
            two_digit_fill,
            ..GpuOptions::default()
        };
        if let Some(gpu) = common::gpu::with_options(options) {
            check_crt_decoding(&gpu, label, &cases);
        }
    }
}

/// The GPU's `crt_decode` against the CPU's for keys of `cases` (key_len, dimensions).
fn check_crt_decoding(gpu: &GpuBackend, label: &str, cases: &[(u64, usize)]) {
    use num_bigint::BigUint;
    let mut rng = StdRng::seed_from_u64(4);
    for &(key_len, dims) in cases {
        let (p, q) = odd_pair(&mut rng, key_len);
        // CrtKey keeps the larger prime as p.
        let (p, q) = if p > q { (p, q) } else { (q, p) };
        // Random secret exponents, and h = e⁻¹ so that base 1 + p·t decrypts to t mod p:
        // (1 + p·t)^e = 1 + p·(e·t) mod p².
        let invertible = |rng: &mut StdRng, prime: &BigUint| loop {
            let e = rng.gen_biguint(40);
            if let Some(h) = e.modinv(prime) {
                return (e, h);
            }
        };
        let (e_p, h_p) = invertible(&mut rng, &p);
        let (e_q, h_q) = invertible(&mut rng, &q);
        let key = CrtKey::new(&p, &q, &e_p, &e_q, &h_p, &h_q).unwrap();
        let mask_limbs = (2 * key_len as usize).div_ceil(64);
        let mut mask = BigUint::default();
        for j in 0..dims {
            mask.set_bit(2 * j as u64, true);
        }
        let mut masks = LimbBatch::new(mask_limbs);
        masks
            .push(&paillier_gpu::hazmat::bigint::limbs_from_biguint(&mask, mask_limbs).unwrap())
            .unwrap();
        for count in [1usize, 7, 67] {
            // Honest sums of two vectors (slots 0, 1, 2), and every kind of defect.
            let mut plaintexts = Vec::new();
            for i in 0..count {
                let mut m = BigUint::default();
                for j in 0..dims {
                    let slot = rand::Rng::gen_range(&mut rng, 0u8..3);
                    m.set_bit(2 * j as u64, slot & 1 == 1);
                    m.set_bit(2 * j as u64 + 1, slot & 2 == 2);
                }
                match i % 4 {
                    1 => m.set_bit(2 * dims as u64 + 3, true),
                    2 => {
                        let j = rand::Rng::gen_range(&mut rng, 0..dims as u64);
                        m.set_bit(2 * j, true);
                        m.set_bit(2 * j + 1, true);
                    }
                    _ => {}
                }
                plaintexts.push((m, i % 4 != 3));
            }
            let bases = |prime: &BigUint, modulus: &MontgomeryModulus, rng: &mut StdRng| {
                let mut b = LimbBatch::new(modulus.len());
                for (m, in_subgroup) in &plaintexts {
                    let mut x = (m % prime) * prime + 1u32;
                    if !in_subgroup {
                        x += 1u32 + rng.gen_biguint_below(&(prime - 2u32));
                    }
                    b.push(&modulus.limbs_of(&(x % modulus.modulus())).unwrap())
                        .unwrap();
                }
                b
            };
            let bases_p = bases(&p, key.p_squared(), &mut rng);
            let bases_q = bases(&q, key.q_squared(), &mut rng);
            let cpu = CpuBackend
                .crt_decode(&key, &bases_p, &bases_q, &masks)
                .unwrap();
            for (i, (m, in_subgroup)) in plaintexts.iter().enumerate() {
                if *in_subgroup {
                    assert_eq!(cpu[i], expected_chunk(m, dims, true), "item {i}");
                } else {
                    assert_eq!(
                        cpu[i],
                        ChunkCount::failed(Defects::NOT_IN_SUBGROUP),
                        "item {i}: the subgroup check alone"
                    );
                }
            }
            assert_eq!(
                gpu.crt_decode(&key, &bases_p, &bases_q, &masks).unwrap(),
                cpu,
                "{label}: key_len {key_len}, {count} items"
            );
        }
    }
}
