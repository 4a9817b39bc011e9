//! The GPU backend against the CPU backend, bit for bit, on any Vulkan, Metal or DX12 adapter
//! (Mesa's lavapipe included, which is how CI runs it).
//!
//! Without an adapter these tests print why and pass, unless `PAILLIER_GPU_REQUIRE_ADAPTER=1`:
//! then they fail. CI sets it.
#![cfg(feature = "gpu")]

use crate::common;

use common::gpu::backends;
use common::{batch, exponents, hamming, modulus, odd_pair, sdk_batch, sdk_cases};
use num_bigint::RandBigInt;
use paillier_gpu::hamming::response_check::{ChunkCount, Defects};
use paillier_gpu::hamming::Selection;
use paillier_gpu::hazmat::backend::cpu::CpuBackend;
use paillier_gpu::hazmat::backend::gpu::{Exchange, GpuBackend, GpuOptions};
use paillier_gpu::hazmat::backend::{
    Backend, CrtKey, Exponents, LimbBatch, ResidentBatch, Secrecy,
};
use paillier_gpu::hazmat::bigint::{FixedBaseTable, MontgomeryModulus};
use paillier_gpu::hazmat::Error as EngineError;
use paillier_gpu::{Device, ExecutionContext};
use rand::{rngs::StdRng, SeedableRng};

/// n² of key_len 512, 1024, 1536, 2048, and p² of the same keys.
const WIDTHS: &[u64] = &[2048, 4096, 6144, 8192, 1024, 3072];

/// The widths of this run: n² of key_len 512, also p² of key_len 1024 (the owner's arithmetic),
/// unless the whole matrix is asked for ([`common::gpu::whole_matrix`]).
fn widths() -> Vec<u64> {
    common::gpu::widths(WIDTHS, &[2048])
}

#[test]
fn modmul_matches_the_cpu_at_every_width_and_batch_shape() {
    for (path, gpu) in backends() {
        let mut rng = StdRng::seed_from_u64(1);
        for bits in widths() {
            let m = modulus(&mut rng, bits);
            for count in [1usize, 7, 67, 130] {
                let a = batch(&mut rng, &m, count);
                for operands in [1usize, 3, count] {
                    let b = batch(&mut rng, &m, operands);
                    assert_eq!(
                        gpu.modmul(&m, &a, &b).unwrap(),
                        CpuBackend.modmul(&m, &a, &b).unwrap(),
                        "{path:?} {bits} bits, {count} items, {operands} operands"
                    );
                }
            }
        }
    }
}

/// A result of several MiB is copied out of mapped memory by several threads and comes back
/// whole and in order.
#[test]
fn large_batches_come_back_whole_and_in_order() {
    // The shared backend: no small-dispatch setting, so the 9,000 items are one chunk.
    if let Some(gpu) = common::shared_gpu() {
        let mut rng = StdRng::seed_from_u64(2);
        let m = modulus(&mut rng, 4096);
        // 9,000 items of 512 bytes: 4.4 MiB each way.
        let a = batch(&mut rng, &m, 9000);
        let b = batch(&mut rng, &m, 3);
        assert_eq!(
            gpu.modmul(&m, &a, &b).unwrap(),
            CpuBackend.modmul(&m, &a, &b).unwrap(),
        );
    }
}

#[test]
fn modexp_matches_the_cpu_with_shared_and_per_item_exponents() {
    for (path, gpu) in backends() {
        let mut rng = StdRng::seed_from_u64(2);
        for bits in widths() {
            let m = modulus(&mut rng, bits);
            // Short exponents at large widths keep lavapipe's run time reasonable; the windows,
            // the table and the phase splitting are the same code at every length.
            let ebits = if bits >= 6144 { 33 } else { 131 };
            for count in [1usize, 3] {
                let bases = batch(&mut rng, &m, count);
                for shared in [true, false] {
                    let e = exponents(&mut rng, if shared { 1 } else { count }, ebits);
                    assert_eq!(
                        gpu.modexp(&m, &bases, &e).unwrap(),
                        CpuBackend.modexp(&m, &bases, &e).unwrap(),
                        "{path:?} {bits} bits, {count} items, shared {shared}"
                    );
                }
            }
        }
        // A full-length exponent (classic encryption's r^n at key_len 512) and several chunks.
        // Fewer items through workgroup memory: lavapipe runs its barriers slowly.
        let m = modulus(&mut rng, 2048);
        let items = if path.1 == Exchange::Workgroup { 3 } else { 70 };
        let bases = batch(&mut rng, &m, items);
        let e = exponents(&mut rng, 1, 1024);
        assert_eq!(
            gpu.modexp(&m, &bases, &e).unwrap(),
            CpuBackend.modexp(&m, &bases, &e).unwrap(),
            "{path:?} r^n"
        );
        // Zero exponent and zero-bit bound.
        let zero = Exponents {
            values: LimbBatch::single(vec![0]),
            bits: 0,
            secrecy: Secrecy::Secret,
        };
        assert_eq!(
            gpu.modexp(&m, &bases, &zero).unwrap(),
            CpuBackend.modexp(&m, &bases, &zero).unwrap()
        );
    }
}

#[test]
fn fixed_base_exponentiation_matches_the_cpu() {
    for (path, gpu) in backends() {
        let mut rng = StdRng::seed_from_u64(3);
        for bits in widths() {
            let m = modulus(&mut rng, bits);
            let g = m.to_montgomery(&batch(&mut rng, &m, 1).into_flat());
            // 5- and 7-bit windows straddle the kernel's 32-bit exponent words.
            for (window, counts) in [(4, &[1usize, 5, 70][..]), (5, &[70][..]), (7, &[5][..])] {
                let table = FixedBaseTable::new(&m, &g, 96, window);
                for &count in counts {
                    let e = exponents(&mut rng, count, 96);
                    assert_eq!(
                        gpu.fixed_base_pow(&m, &table, &e).unwrap(),
                        CpuBackend.fixed_base_pow(&m, &table, &e).unwrap(),
                        "{path:?} {bits} bits, window {window}, {count} items"
                    );
                }
            }
        }
    }
}

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

#[test]
fn resident_batches_grow_and_multiply_in_place() {
    for (path, gpu) in backends() {
        let mut rng = StdRng::seed_from_u64(5);
        let m = modulus(&mut rng, 4096);
        let first = batch(&mut rng, &m, 100);
        let second = batch(&mut rng, &m, 37);
        let mut resident = ResidentBatch::new(m.len());
        gpu.append_resident(&mut resident, &first).unwrap();
        gpu.append_resident(&mut resident, &second).unwrap();
        assert_eq!(resident.len(), 137);
        assert!(resident.is_on_device(), "{path:?}");
        let mut all = first.clone();
        for item in second.iter() {
            all.push(item).unwrap();
        }
        assert_eq!(resident.host(), &all);
        let q = batch(&mut rng, &m, 2);
        for range in [0..137usize, 5..70, 136..137, 10..10] {
            let subset = LimbBatch::from_flat(
                m.len(),
                all.as_flat()[range.start * m.len()..range.end * m.len()].to_vec(),
            )
            .unwrap();
            let expected = CpuBackend.modmul(&m, &subset, &q).unwrap();
            assert_eq!(
                gpu.modmul_resident(&m, &resident, range.clone(), &q)
                    .unwrap(),
                expected,
                "{path:?} {range:?}"
            );
            // Into an output that held something else: every limb is overwritten, on both.
            for backend in [gpu.as_ref() as &dyn Backend, &CpuBackend] {
                let mut out = vec![u64::MAX; expected.as_flat().len()];
                backend
                    .modmul_resident_into(&m, &resident, range.clone(), &q, &mut out)
                    .unwrap();
                assert_eq!(out, expected.as_flat(), "{path:?} {range:?} into");
            }
        }
        let mut short = vec![0u64; 3 * m.len()];
        assert!(gpu
            .modmul_resident_into(&m, &resident, 0..4, &q, &mut short)
            .is_err());
        assert!(matches!(
            gpu.modmul_resident(&m, &resident, 100..138, &q),
            Err(EngineError::InvalidSelection(_))
        ));
        // Made on the CPU (host copy only), the batch gets its device copy at the next append.
        let mut moved = ResidentBatch::new(m.len());
        CpuBackend.append_resident(&mut moved, &first).unwrap();
        assert!(!moved.is_on_device());
        gpu.append_resident(&mut moved, &second).unwrap();
        assert!(moved.is_on_device(), "{path:?}");
        assert_eq!(
            gpu.modmul_resident(&m, &moved, 0..137, &q).unwrap(),
            CpuBackend.modmul(&m, &all, &q).unwrap(),
            "{path:?} uploaded on append"
        );
    }
}

#[test]
fn the_schemes_run_on_the_gpu_and_agree_with_the_cpu() {
    // The operations are tested on both exchange variants in the whole matrix; end to end, the
    // variant each adapter would choose (subgroups where it has them) keeps lavapipe's run time
    // in bounds.
    let preferred: Vec<_> = backends()
        .into_iter()
        .filter(|((_, exchange), _)| *exchange == Exchange::Subgroup)
        .collect();
    let chosen = if preferred.is_empty() {
        backends()
    } else {
        preferred
    };
    for (path, gpu) in chosen {
        for case in sdk_cases().into_iter().filter(|c| c.embed_len == 100) {
            let cpu_ctx =
                ExecutionContext::from_json_with_passphrase(&case.context_json, &case.passphrase)
                    .unwrap()
                    .with_device(Device::Cpu);
            let gpu_ctx =
                ExecutionContext::from_json_with_passphrase(&case.context_json, &case.passphrase)
                    .unwrap()
                    .with_backend(gpu.clone());
            assert_eq!(gpu_ctx, cpu_ctx, "the device is not part of the id");
            assert_eq!(gpu_ctx.device(), Device::Gpu);
            // The SDK's aggregates decode on the GPU.
            let pk = gpu_ctx.public_key();
            let aggregated = sdk_batch(pk, &case.aggregated);
            assert_eq!(
                gpu_ctx.decode_batch(&aggregated).unwrap(),
                case.hamming,
                "{path:?} {}",
                case.name
            );
            // The search backend on the GPU, database resident: byte-for-byte the SDK's aggregates.
            let mut gpu_index = gpu_ctx.new_index().unwrap();
            gpu_index
                .insert_batch(&sdk_batch(pk, &case.enc_database[..3]))
                .unwrap();
            gpu_index
                .insert_batch(&sdk_batch(pk, &case.enc_database[3..]))
                .unwrap();
            let sdk_query = sdk_batch(pk, std::slice::from_ref(&case.enc_query));
            assert_eq!(
                gpu_index
                    .aggregate_batch(&sdk_query, &Selection::All)
                    .unwrap(),
                aggregated
            );
            assert_eq!(
                gpu_index
                    .aggregate_batch(&sdk_query, &Selection::Range(1..4))
                    .unwrap(),
                aggregated.records_in(1..4).unwrap()
            );
            assert_eq!(
                gpu_index
                    .aggregate_batch(&sdk_query, &Selection::Ids(vec![5, 0]))
                    .unwrap(),
                sdk_batch(
                    pk,
                    &[case.aggregated[5].clone(), case.aggregated[0].clone()]
                )
            );
            // Encryption on the GPU (several dispatches), decoded by the CPU and by the GPU.
            let database: Vec<Vec<u8>> = (0..70)
                .map(|i| case.database[i % case.database.len()].clone())
                .collect();
            let encrypted = gpu_ctx.encrypt_batch(&database).unwrap();
            let query = gpu_ctx.encrypt_batch(&[&case.query]).unwrap();
            let mut cpu_index = cpu_ctx.new_index().unwrap();
            cpu_index.insert_batch(&encrypted).unwrap();
            let responses = cpu_index.aggregate_batch(&query, &Selection::All).unwrap();
            let expected: Vec<u32> = database.iter().map(|v| hamming(v, &case.query)).collect();
            assert_eq!(
                cpu_ctx.decode_batch(&responses).unwrap(),
                expected,
                "{path:?} {}",
                case.name
            );
            assert_eq!(
                gpu_ctx.decode_batch(&responses).unwrap(),
                expected,
                "{path:?} {}",
                case.name
            );
        }
    }
}

#[test]
fn bad_input_is_an_error_on_the_gpu_too() {
    for (_, gpu) in backends() {
        let mut rng = StdRng::seed_from_u64(6);
        let m = modulus(&mut rng, 2048);
        let narrow = LimbBatch::single(vec![1, 2]);
        assert!(matches!(
            gpu.modmul(&m, &narrow, &narrow),
            Err(EngineError::InvalidParameter(_))
        ));
        let a = batch(&mut rng, &m, 2);
        assert!(matches!(
            gpu.modmul(&m, &a, &LimbBatch::new(m.len())),
            Err(EngineError::InvalidParameter(_))
        ));
        let empty = LimbBatch::new(m.len());
        assert!(gpu.modmul(&m, &empty, &a).unwrap().is_empty());
        let too_many_bits = Exponents {
            values: LimbBatch::single(vec![5]),
            bits: 65,
            secrecy: Secrecy::Public,
        };
        assert!(matches!(
            gpu.modexp(&m, &a, &too_many_bits),
            Err(EngineError::InvalidParameter(_))
        ));
    }
}
