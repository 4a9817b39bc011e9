//! The GPU backend against the CPU backend, bit for bit, on any Vulkan, Metal or DX12 adapter
//! (Mesa's lavapipe included, which is how CI runs it).
//!
//! Without an adapter these tests print why and pass, unless `PAILLIER_GPU_REQUIRE_ADAPTER=1`:
//! then they fail. CI sets it.
#![cfg(feature = "gpu")]

mod common;

use common::gpu::backends;
use common::{batch, exponents, hamming, modulus, odd_pair, sdk_cases};
use num_bigint::RandBigInt;
use paillier_gpu::backend::cpu::CpuBackend;
use paillier_gpu::backend::gpu::{DeviceType, Exchange, GpuBackend, GpuOptions};
use paillier_gpu::backend::{Backend, CrtKey, Exponents, LimbBatch, Secrecy};
use paillier_gpu::bigint::{FixedBaseTable, MontgomeryModulus};
use paillier_gpu::hamming::Selection;
use paillier_gpu::{Device, Error, ExecutionContext};
use rand::{rngs::StdRng, SeedableRng};

/// n² of key_len 512, 1024, 1536, 2048, and p² of the same keys.
const WIDTHS: &[u64] = &[2048, 4096, 6144, 8192, 1024, 3072];

#[test]
fn modmul_matches_the_cpu_at_every_width_and_batch_shape() {
    for (path, gpu) in backends() {
        let mut rng = StdRng::seed_from_u64(1);
        for &bits in WIDTHS {
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

#[test]
fn modexp_matches_the_cpu_with_shared_and_per_item_exponents() {
    for (path, gpu) in backends() {
        let mut rng = StdRng::seed_from_u64(2);
        for &bits in WIDTHS {
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
        for &bits in WIDTHS {
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
fn crt_decoding_matches_the_cpu_at_every_key_size() {
    for (path, gpu) in backends() {
        let mut rng = StdRng::seed_from_u64(4);
        for key_len in [512u64, 1024, 1536, 2048] {
            let (p, q) = odd_pair(&mut rng, key_len);
            let e = |rng: &mut StdRng| rng.gen_biguint(40);
            let (e_p, e_q) = (e(&mut rng), e(&mut rng));
            let key = CrtKey::new(
                &p,
                &q,
                &e_p,
                &e_q,
                &rng.gen_biguint_below(&p),
                &rng.gen_biguint_below(&q),
            )
            .unwrap();
            for count in [1usize, 7, 67] {
                // Bases 1 + p·r (mod p²) keep x ≡ 1 (mod p) for any exponent, as real ciphertexts do.
                let bases = |prime: &num_bigint::BigUint,
                             modulus: &MontgomeryModulus,
                             rng: &mut StdRng| {
                    let mut b = LimbBatch::new(modulus.len());
                    for _ in 0..count {
                        let x = (rng.gen_biguint_below(prime) * prime + 1u32) % modulus.modulus();
                        b.push(&modulus.limbs_of(&x).unwrap()).unwrap();
                    }
                    b
                };
                let bases_p = bases(&p, &key.p_squared, &mut rng);
                let bases_q = bases(&q, &key.q_squared, &mut rng);
                let mask_limbs = (2 * key_len as usize).div_ceil(64);
                for mask_items in [1usize, 3] {
                    let mut masks = LimbBatch::new(mask_limbs);
                    for _ in 0..mask_items {
                        masks
                            .push(
                                &(0..mask_limbs)
                                    .map(|_| rand::Rng::gen(&mut rng))
                                    .collect::<Vec<u64>>(),
                            )
                            .unwrap();
                    }
                    assert_eq!(
                        gpu.crt_decode(&key, &bases_p, &bases_q, &masks).unwrap(),
                        CpuBackend
                            .crt_decode(&key, &bases_p, &bases_q, &masks)
                            .unwrap(),
                        "{path:?} key_len {key_len}, {count} items, {mask_items} masks"
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
        let memory = gpu.device_memory().unwrap();
        let first = batch(&mut rng, &m, 100);
        let second = batch(&mut rng, &m, 37);
        let mut resident = memory.upload(&first).unwrap();
        memory.append(&mut resident, &second).unwrap();
        assert_eq!(resident.len(), 137);
        let mut all = first.clone();
        for item in second.iter() {
            all.push(item).unwrap();
        }
        let q = batch(&mut rng, &m, 2);
        for range in [0..137usize, 5..70, 136..137, 10..10] {
            let subset = LimbBatch::from_flat(
                m.len(),
                all.as_flat()[range.start * m.len()..range.end * m.len()].to_vec(),
            )
            .unwrap();
            assert_eq!(
                memory
                    .modmul_resident(&m, &resident, range.clone(), &q)
                    .unwrap(),
                CpuBackend.modmul(&m, &subset, &q).unwrap(),
                "{path:?} {range:?}"
            );
        }
        assert!(matches!(
            memory.modmul_resident(&m, &resident, 100..138, &q),
            Err(Error::InvalidSelection(_))
        ));
    }
}

#[test]
fn the_schemes_run_on_the_gpu_and_agree_with_the_cpu() {
    // The operations are tested on both exchange variants above; end to end, the variant each
    // adapter would choose (subgroups where it has them) keeps lavapipe's run time in bounds.
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
                    .with_device(Device::Cpu)
                    .unwrap();
            let gpu_ctx =
                ExecutionContext::from_json_with_passphrase(&case.context_json, &case.passphrase)
                    .unwrap()
                    .with_backend(gpu.clone());
            assert_eq!(gpu_ctx, cpu_ctx, "the device is not part of the id");
            assert_eq!(gpu_ctx.device(), Device::Gpu);
            // The SDK's aggregates decode on the GPU.
            assert_eq!(
                gpu_ctx.decode_distances(&case.aggregated).unwrap(),
                case.hamming,
                "{path:?} {}",
                case.name
            );
            // The search backend on the GPU, database resident: byte-for-byte the SDK's aggregates.
            let mut gpu_index = gpu_ctx.new_index().unwrap();
            gpu_index.insert(&case.enc_database[..3]).unwrap();
            gpu_index.insert(&case.enc_database[3..]).unwrap();
            assert_eq!(
                gpu_index
                    .aggregate(&case.enc_query, &Selection::All)
                    .unwrap(),
                case.aggregated
            );
            assert_eq!(
                gpu_index
                    .aggregate(&case.enc_query, &Selection::Range(1..4))
                    .unwrap(),
                case.aggregated[1..4]
            );
            assert_eq!(
                gpu_index
                    .aggregate(&case.enc_query, &Selection::Ids(vec![5, 0]))
                    .unwrap(),
                vec![case.aggregated[5].clone(), case.aggregated[0].clone()]
            );
            // Encryption on the GPU (several dispatches), decoded by the CPU and by the GPU.
            let database: Vec<Vec<u8>> = (0..70)
                .map(|i| case.database[i % case.database.len()].clone())
                .collect();
            let encrypted = gpu_ctx.encrypt_vectors(&database).unwrap();
            let query = gpu_ctx.encrypt_vector(&case.query).unwrap();
            let mut cpu_index = cpu_ctx.new_index().unwrap();
            cpu_index.insert(&encrypted).unwrap();
            let responses = cpu_index.aggregate(&query, &Selection::All).unwrap();
            let expected: Vec<u32> = database.iter().map(|v| hamming(v, &case.query)).collect();
            assert_eq!(
                cpu_ctx.decode_distances(&responses).unwrap(),
                expected,
                "{path:?} {}",
                case.name
            );
            assert_eq!(
                gpu_ctx.decode_distances(&responses).unwrap(),
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
            Err(Error::InvalidParameter(_))
        ));
        let a = batch(&mut rng, &m, 2);
        assert!(matches!(
            gpu.modmul(&m, &a, &LimbBatch::new(m.len())),
            Err(Error::InvalidParameter(_))
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
            Err(Error::InvalidParameter(_))
        ));
    }
}

#[test]
fn a_missing_adapter_is_a_typed_error() {
    let options = GpuOptions {
        adapter_name: Some("no-such-adapter-anywhere".into()),
        ..GpuOptions::default()
    };
    assert!(matches!(
        GpuBackend::new(&options),
        Err(Error::GpuUnavailable(_))
    ));
}

#[test]
fn auto_never_picks_a_software_adapter() {
    let backend = paillier_gpu::backend::backend_for(Device::Auto).unwrap();
    if let Ok(gpu) = GpuBackend::shared() {
        let software = gpu.adapter_info().device_type == DeviceType::Cpu;
        assert_eq!(backend.device() == Device::Cpu, software);
    } else {
        assert_eq!(backend.device(), Device::Cpu);
    }
}
