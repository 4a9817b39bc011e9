//! The GPU backend against the CPU backend, bit for bit, on any Vulkan, Metal or DX12 adapter
//! (Mesa's lavapipe included, which is how CI runs it).
//!
//! Without an adapter these tests print why and pass, unless `PAILLIER_GPU_REQUIRE_ADAPTER=1`:
//! then they fail. CI sets it.
#![cfg(feature = "gpu")]

use crate::common;

use common::gpu::backends;
use common::{batch, exponents, hamming, modulus, sdk_batch, sdk_cases};
use paillier_gpu::hamming::Selection;
use paillier_gpu::hazmat::backend::cpu::CpuBackend;
use paillier_gpu::hazmat::backend::gpu::Exchange;
use paillier_gpu::hazmat::backend::{Backend, Exponents, LimbBatch, ResidentBatch, Secrecy};
use paillier_gpu::hazmat::bigint::FixedBaseTable;
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
            assert_eq!(gpu_ctx.public().device(), Device::Gpu);
            // The SDK's aggregates decode on the GPU.
            let pk = gpu_ctx.public().public_key();
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
