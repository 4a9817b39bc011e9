//! Large batches on the GPU in pipelined pieces: while the device encrypts or decodes one piece,
//! the host packs the next piece's vectors or converts and reduces its ciphertexts. The answers
//! are the CPU's, a bad vector in the last piece is reported before anything is encrypted, a
//! bad ciphertext in the last piece is named by its record, and the pieces' results land in
//! order. Numbers decrypt in pieces the same way.
//!
//! Without an adapter these tests print why and pass, unless `PAILLIER_GPU_REQUIRE_ADAPTER=1`.
#![cfg(feature = "gpu")]

use crate::common;

use std::sync::Arc;

use common::{hamming, own_gpu, small_options};
use num_bigint::BigUint;
use paillier_gpu::hamming::{EncryptedVector, Selection};
use paillier_gpu::hazmat::backend::cpu::CpuBackend;
use paillier_gpu::hazmat::backend::gpu::GpuOptions;
use paillier_gpu::hazmat::bigint::biguint_from_limbs;
use paillier_gpu::numbers::{Decrypted, EncryptedArray, Numbers};
use paillier_gpu::paillier::{generate_keypair, Ciphertext, KeyGenOptions, Scheme};
use paillier_gpu::{Device, Error, ExecutionContext};
use rand::{rngs::StdRng, Rng, SeedableRng};

/// The smallest pipelined batch and a few more vectors: three pieces (8,192 vectors, then
/// 12,288, then the 12,291 left), so three GPU calls per operation.
const VECTORS: usize = 4 * 8_192 + 3;
const PIECES: u64 = 3;
const EMBED_LEN: usize = 16;

#[test]
fn pipelined_encryption_and_decoding_give_the_cpu_answers() {
    // A backend of its own: other tests' calls would count in the shared one's totals.
    let Some(gpu) = own_gpu() else { return };
    let mut rng = StdRng::seed_from_u64(61);
    let vectors: Vec<Vec<u8>> = (0..VECTORS)
        .map(|_| (0..EMBED_LEN).map(|_| rng.gen_range(0..2u8)).collect())
        .collect();
    let query: Vec<u8> = (0..EMBED_LEN).map(|_| rng.gen_range(0..2u8)).collect();
    let expected: Vec<u32> = vectors.iter().map(|v| hamming(v, &query)).collect();
    for scheme in [Scheme::Paillier, Scheme::PaillierLookup] {
        // One context whose backend is switched: the CPU's answers, then the GPU's.
        let mut ctx = ExecutionContext::create_with_passphrase(
            &small_options(scheme, EMBED_LEN),
            "pipeline passphrase",
        )
        .unwrap()
        .with_device(Device::Cpu);
        let public_gpu = ctx.public_context().with_backend(gpu.clone());
        let query = ctx.encrypt_batch(std::slice::from_ref(&query)).unwrap();
        ctx = ctx.with_backend(gpu.clone());
        // The owner's pipeline and the public key's, each aggregated and decoded on the CPU,
        // then decoded on the GPU in pieces too.
        // One GPU call per piece; the owner's passes modulo p² and q² share one
        // upload of the messages and noise, so it sends no more than the public key's one pass.
        let before = gpu.totals();
        let owner = ctx.encrypt_batch(&vectors).unwrap();
        let owner_cost = gpu.totals().since(&before);
        let before = gpu.totals();
        let public = public_gpu.encrypt_batch(&vectors).unwrap();
        let public_cost = gpu.totals().since(&before);
        assert_eq!(
            (owner_cost.calls, public_cost.calls),
            (PIECES, PIECES),
            "{scheme:?}"
        );
        // The classic scheme's messages cross as slot bits (one limb here), not at n²'s width:
        // the whole upload stays below what the messages alone would take at that width.
        let n_squared_bytes = 8 * owner.limbs().limbs_per_item() as u64;
        if scheme == Scheme::Paillier {
            assert!(
                public_cost.bytes_up < VECTORS as u64 * n_squared_bytes,
                "the public key uploaded {} bytes for {VECTORS} messages of {n_squared_bytes}",
                public_cost.bytes_up
            );
        }
        assert!(
            owner_cost.bytes_up < public_cost.bytes_up * 3 / 2,
            "{scheme:?}: the owner uploaded {} bytes, the public key {}",
            owner_cost.bytes_up,
            public_cost.bytes_up
        );
        for (who, encrypted) in [("owner", owner), ("public key", public)] {
            assert_eq!(encrypted.records(), VECTORS);
            ctx = ctx.with_device(Device::Cpu);
            let mut index = ctx.new_index().unwrap();
            index.insert_batch(&encrypted).unwrap();
            let responses = index.aggregate_batch(&query, &Selection::All).unwrap();
            assert_eq!(
                ctx.decode_batch(&responses).unwrap(),
                expected,
                "{scheme:?}, {who}: the CPU's decoding"
            );
            ctx = ctx.with_backend(gpu.clone());
            let before = gpu.totals();
            assert_eq!(
                ctx.decode_batch(&responses).unwrap(),
                expected,
                "{scheme:?}, {who}: the GPU's pipelined decoding"
            );
            assert_eq!(
                gpu.totals().since(&before).calls,
                PIECES,
                "{scheme:?}, {who}"
            );
            // The same responses in the SDK's per-vector form come back as the same batch, and a
            // ciphertext that is not one is named by its record where it enters.
            let as_vectors = EncryptedVector::from_batch(&responses);
            let chunks = responses.pieces_per_record();
            assert_eq!(
                EncryptedVector::to_batch(ctx.public().public_key(), chunks, &as_vectors).unwrap(),
                responses
            );
            let mut forged = as_vectors;
            forged[VECTORS - 2].chunks[0] = Ciphertext::from_biguint(BigUint::from(0u32));
            match EncryptedVector::to_batch(ctx.public().public_key(), chunks, &forged) {
                Err(Error::InvalidCiphertext { index, .. }) => assert_eq!(index, VECTORS - 2),
                other => panic!("{scheme:?}: expected the forged record, got {other:?}"),
            }
        }
        // A bad vector in the last piece: named, and nothing else decides the error.
        let mut bad = vectors.clone();
        bad[VECTORS - 2][3] = 2;
        match ctx.encrypt_batch(&bad) {
            Err(Error::NonBinaryValue {
                index, position, ..
            }) => assert_eq!((index, position), (VECTORS - 2, 3)),
            other => panic!("{scheme:?}: expected the bad vector, got {other:?}"),
        }
    }
}

/// Numbers decrypted on the GPU in pieces (one call each; the next piece's residues made while
/// the device decrypts): the CPU's plaintexts in order, and a ciphertext sharing a factor with n
/// in the last piece named by its place in the whole.
#[test]
fn pipelined_decryption_of_numbers_gives_the_cpu_answers() {
    // A backend of its own, as above.
    let Some(gpu) = common::gpu::with_options(GpuOptions::default()) else {
        return;
    };
    let (pk, sk) =
        generate_keypair(Scheme::Paillier, 256, &KeyGenOptions::insecure_for_tests()).unwrap();
    let pk = Arc::new(pk);
    let values: Vec<i64> = (0..VECTORS as i64)
        .map(|i| i * 7_919 % 100_003 - 50_000)
        .collect();
    let cpu = CpuBackend::shared();
    let x = EncryptedArray::encrypt(
        &pk,
        cpu.as_ref(),
        Numbers::Integers(&values),
        vec![VECTORS],
        None,
    )
    .unwrap();
    let before = gpu.totals();
    assert_eq!(
        x.decrypt(&sk, gpu.as_ref()).unwrap(),
        Decrypted::Integers(values)
    );
    assert_eq!(gpu.totals().since(&before).calls, PIECES);
    // The same ciphertexts as integers, one of them a multiple of p.
    let mut ciphertexts: Vec<Ciphertext> = x
        .ciphertexts()
        .iter()
        .map(|c| Ciphertext::from_biguint(biguint_from_limbs(c)))
        .collect();
    ciphertexts[VECTORS - 2] = Ciphertext::from_biguint(sk.prime_factors().0.clone());
    match sk.decrypt_batch(gpu.as_ref(), &ciphertexts) {
        Err(Error::InvalidCiphertext { index, .. }) => assert_eq!(index, VECTORS - 2),
        other => panic!("expected the ciphertext sharing p, got {other:?}"),
    }
}
