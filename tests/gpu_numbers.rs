//! Encrypted numbers on the GPU against the CPU, bit for bit: the linear layer (its
//! multi-exponentiation), plain multiplication, addition with alignment and sums give the same
//! ciphertexts on every limb path and exchange variant; GPU encryption decrypts to the input.
//!
//! Without an adapter these tests print why and pass, unless `PAILLIER_GPU_REQUIRE_ADAPTER=1`.
#![cfg(feature = "gpu")]

mod common;

use std::sync::Arc;

use common::gpu::backends;
use paillier_gpu::hazmat::backend::cpu::CpuBackend;
use paillier_gpu::hazmat::backend::Backend;
use paillier_gpu::numbers::{
    Decrypted, EncryptedArray, LinearModel, Numbers, PackOptions, PackedArray, PlainMatrix,
};
use paillier_gpu::paillier::{generate_keypair, KeyGenOptions, Scheme};

#[test]
fn numbers_on_the_gpu_equal_the_cpu() {
    let all = backends();
    if all.is_empty() {
        return;
    }
    let cpu = CpuBackend::shared();
    // key_len 256 and 512: n² of 1024 and 2048 bits.
    for key_len in [256usize, 512] {
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
            let y = EncryptedArray::encrypt_as_owner(
                &pk,
                &sk,
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
    let model = LinearModel::new(
        (0..inputs)
            .map(|i| vec![i as f64 * 0.5 - 1.0, 0.25, -(i as f64)])
            .collect(),
        vec![1.5, -0.75, 0.0],
    )
    .unwrap();
    let expected = model.infer_packed(cpu.as_ref(), &x).unwrap();
    for (variant, gpu) in &all {
        let got = model.infer_packed(gpu.as_ref(), &x).unwrap();
        assert_eq!(got.ciphertexts(), expected.ciphertexts(), "{variant:?}");
        let y = PackedArray::encrypt_as_owner(
            &pk,
            &sk,
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
