//! Encrypted numbers on the GPU against the CPU, bit for bit: the linear layer (its
//! multi-exponentiation), plain multiplication, addition with alignment and sums give the same
//! ciphertexts on every limb path (both exchanges in the whole matrix,
//! `common::gpu::whole_matrix`); GPU encryption decrypts to the input; decryption's
//! exponentiations and recombination on the device give the CPU's plaintexts.
//!
//! Without an adapter these tests print why and pass, unless `PAILLIER_GPU_REQUIRE_ADAPTER=1`.
#![cfg(feature = "gpu")]

use crate::common;

use std::sync::Arc;

use common::gpu::backends;
use common::{batch, odd_pair};
use num_bigint::RandBigInt;
use paillier_gpu::hazmat::backend::cpu::CpuBackend;
use paillier_gpu::hazmat::backend::{Backend, CrtKey, LimbBatch};
use paillier_gpu::hazmat::bigint::MontgomeryModulus;
use paillier_gpu::hazmat::Error;
use paillier_gpu::numbers::{
    Decrypted, EncryptedArray, LinearModel, Numbers, PackOptions, PackedArray, PlainMatrix,
    WeightRows,
};
use paillier_gpu::paillier::{generate_keypair, Encryptor, KeyGenOptions, Scheme};
use rand::{rngs::StdRng, SeedableRng};

#[test]
fn numbers_on_the_gpu_equal_the_cpu() {
    let all = backends();
    if all.is_empty() {
        return;
    }
    let cpu = CpuBackend::shared();
    // key_len 256 and 512: n² of 1024 and 2048 bits.
    for key_len in common::gpu::widths(&[256usize, 512], &[256]) {
        let (pk, sk) = generate_keypair(
            Scheme::Paillier,
            key_len,
            &KeyGenOptions::insecure_for_tests(),
        )
        .unwrap();
        let pk = Arc::new(pk);
        // 13 samples of 9 features: several dispatches of 64 powers; mixed exponents. Fewer at
        // the wider key, whose arithmetic is slow on a software adapter.
        let samples = if key_len == 256 { 13 } else { 3 };
        let (inputs, outputs) = (9usize, 3usize);
        let values: Vec<f64> = (0..samples * inputs)
            .map(|i| ((i * 7919 % 1013) as f64 - 500.0) / ((i % 5 + 1) as f64 * 3.0))
            .collect();
        let weights: Vec<f64> = (0..inputs * outputs)
            .map(|i| ((i * 31 % 17) as f64 - 8.0) * 0.125)
            .collect();
        let biases = [0.5, -1.25, 3.0];
        let x = EncryptedArray::encrypt(
            &pk,
            cpu.as_ref(),
            Numbers::Floats(&values),
            vec![samples, inputs],
            None,
        )
        .unwrap();
        let matrix = PlainMatrix {
            values: &weights,
            rows: inputs,
            cols: outputs,
        };
        let scalars: Vec<f64> = (0..values.len()).map(|i| i as f64 * -0.75 + 2.0).collect();
        let run = |backend: &dyn Backend| {
            let linear = x.linear(backend, matrix, Some(&biases), None).unwrap();
            let product = x.mul_plain(backend, Numbers::Floats(&scalars)).unwrap();
            let sum = x.add(backend, &product).unwrap().sum(backend).unwrap();
            [linear, product, sum].map(|a| a.ciphertexts().clone())
        };
        let expected = run(cpu.as_ref());
        for (variant, gpu) in &all {
            let got = run(gpu.as_ref());
            assert_eq!(got, expected, "key_len {key_len}, {variant:?}");
            // Encryption on the GPU: another noise, the same numbers.
            let y = EncryptedArray::encrypt_with(
                Encryptor::Owner(&sk),
                &pk,
                gpu.as_ref(),
                Numbers::Floats(&values),
                vec![samples, inputs],
                None,
            )
            .unwrap();
            assert_eq!(
                y.decrypt(&sk, gpu.as_ref()).unwrap(),
                Decrypted::Floats(values.clone()),
                "key_len {key_len}, {variant:?}"
            );
        }
    }
}

#[test]
fn packed_numbers_on_the_gpu_equal_the_cpu() {
    let all = backends();
    if all.is_empty() {
        return;
    }
    let cpu = CpuBackend::shared();
    let (pk, sk) =
        generate_keypair(Scheme::Paillier, 256, &KeyGenOptions::insecure_for_tests()).unwrap();
    let pk = Arc::new(pk);
    // 40 samples of 5 features, about 7 per ciphertext: 6 groups, the last one partial.
    let (samples, inputs) = (40usize, 5usize);
    let values: Vec<f64> = (0..samples * inputs)
        .map(|i| ((i * 7919 % 1013) as f64 - 506.0) / 64.0)
        .collect();
    let options = PackOptions::new(8.0)
        .with_precision(1.0 / 64.0)
        .with_headroom_bits(16);
    let x = PackedArray::encrypt(
        &pk,
        cpu.as_ref(),
        Numbers::Floats(&values),
        inputs,
        &options,
    )
    .unwrap();
    let model = LinearModel::with_weight_rows(
        (0..inputs)
            .map(|i| vec![i as f64 * 0.5 - 1.0, 0.25, -(i as f64)])
            .collect(),
        vec![1.5, -0.75, 0.0],
        WeightRows::PerInput,
    )
    .unwrap();
    let expected = model.infer_packed(cpu.as_ref(), &x).unwrap();
    for (variant, gpu) in &all {
        let got = model.infer_packed(gpu.as_ref(), &x).unwrap();
        assert_eq!(got.ciphertexts(), expected.ciphertexts(), "{variant:?}");
        let y = PackedArray::encrypt_with(
            Encryptor::Owner(&sk),
            &pk,
            gpu.as_ref(),
            Numbers::Floats(&values),
            inputs,
            &options,
        )
        .unwrap();
        assert_eq!(
            y.decrypt(&sk, gpu.as_ref()).unwrap(),
            Decrypted::Floats(values.clone()),
            "{variant:?}"
        );
    }
}

/// `Backend::crt_decrypt` on the device (both primes' exponentiations and the recombination)
/// against the CPU's, at the widths of key_len 512, 1024 and 2048, for batches of 1, 7 and 67
/// (several chunks), with bases whose powers are 1 modulo each prime (as for any ciphertext) and
/// with bases whose powers are not; bases that do not match the key are refused by both. Exponents of 40 bits
/// keep lavapipe quick: the program's length does not change the arithmetic.
#[test]
fn crt_decryption_on_the_gpu_equals_the_cpu() {
    let all = backends();
    if all.is_empty() {
        return;
    }
    let mut rng = StdRng::seed_from_u64(12);
    for key_len in common::gpu::widths(&[512u64, 1024, 2048], &[512]) {
        let (p, q) = odd_pair(&mut rng, key_len);
        let exponent = |rng: &mut StdRng| rng.gen_biguint(40) | num_bigint::BigUint::from(1u32);
        let (e_p, e_q) = (exponent(&mut rng), exponent(&mut rng));
        let (h_p, h_q) = (rng.gen_biguint(64), rng.gen_biguint(64));
        let key = CrtKey::new(&p, &q, &e_p, &e_q, &h_p, &h_q).unwrap();
        // CrtKey keeps the larger prime as p.
        let (p, q) = if p > q { (p, q) } else { (q, p) };
        let square = |m: &num_bigint::BigUint| MontgomeryModulus::new(&(m * m)).unwrap();
        let (p_squared, q_squared) = (square(&p), square(&q));
        // The widest key on one variant only: lavapipe is slow there.
        let variants = if key_len == 2048 { &all[..1] } else { &all[..] };
        // Bases 1 + prime·t: their powers are 1 modulo the prime, as every ciphertext coprime
        // to n gives with the exponent prime − 1 (the exact division needs it).
        let bases =
            |rng: &mut StdRng, prime: &num_bigint::BigUint, square: &MontgomeryModulus, count| {
                let mut out = LimbBatch::new(square.len());
                for _ in 0..count {
                    let base = (rng.gen_biguint_below(prime) * prime + 1u32) % square.modulus();
                    out.push(&square.limbs_of(&base).unwrap()).unwrap();
                }
                out
            };
        let compare = |bases_p: &LimbBatch, bases_q: &LimbBatch, what: &str| {
            let expected = CpuBackend.crt_decrypt(&key, bases_p, bases_q).unwrap();
            assert_eq!(expected.limbs_per_item(), key.plaintext_limbs());
            for (variant, gpu) in variants {
                let got = gpu.crt_decrypt(&key, bases_p, bases_q).unwrap();
                assert_eq!(got, expected, "key_len {key_len}, {what}, {variant:?}");
            }
        };
        for count in [1usize, 7, 67] {
            let bases_p = bases(&mut rng, &p, &p_squared, count);
            let bases_q = bases(&mut rng, &q, &q_squared, count);
            compare(&bases_p, &bases_q, &format!("{count} items"));
        }
        // Bases whose powers are not 1 modulo the primes (no ciphertext coprime to n gives
        // them): both take the share as 0, so that spot checks agree on them too.
        let bases_p = batch(&mut rng, &p_squared, 5);
        let bases_q = batch(&mut rng, &q_squared, 5);
        compare(&bases_p, &bases_q, "outside the subgroup");
        // One base short, or bases of the wrong width: refused, not decrypted.
        let bases_p = batch(&mut rng, &p_squared, 3);
        let short = batch(&mut rng, &q_squared, 2);
        let narrow = LimbBatch::from_flat(1, vec![1, 2, 3]).unwrap();
        for backend in [&CpuBackend as &dyn Backend, all[0].1.as_ref()] {
            for bases_q in [&short, &narrow] {
                assert!(matches!(
                    backend.crt_decrypt(&key, &bases_p, bases_q),
                    Err(Error::InvalidParameter(_))
                ));
            }
        }
    }
}
