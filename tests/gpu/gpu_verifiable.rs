//! Verifiable records on the GPU, as a property of random batches in both layouts: records it
//! encrypts decode on the CPU to their vectors' distances and nonces, and answers it decodes
//! (two-bit: both primes, to whole plaintexts; one-bit: modulo p alone) give the CPU's fields,
//! distances and verdicts, also for a record a lying service shifted by E(2^bit) at any bit, in
//! the vector, in the fields or above them.
#![cfg(feature = "gpu")]

use crate::common;

use std::sync::OnceLock;

use common::{hamming, shared_gpu, small_options};
use num_bigint::BigUint;
use num_traits::One;
use paillier_gpu::hamming::Selection;
use paillier_gpu::paillier::{Ciphertext, CiphertextBatch};
use paillier_gpu::verifiable::{Expectation, FailureKind, LayoutKind};
use paillier_gpu::{ContextOptions, Error, ExecutionContext, Scheme};
use proptest::prelude::*;
use rand::{rngs::StdRng, Rng, SeedableRng};

const KB: &str = "kb-gpu";
/// The most a key_len of 256 holds with the fields and the query nonce (2·63 + 384 < 511).
const EMBED: usize = 63;

fn context() -> &'static ExecutionContext {
    static CTX: OnceLock<ExecutionContext> = OnceLock::new();
    CTX.get_or_init(|| {
        ExecutionContext::create_with_passphrase(&small_options(Scheme::Paillier, EMBED), "pw")
            .unwrap()
    })
}

/// A key_len of 512, where 63 dimensions take the one-bit layout.
fn one_bit_context() -> &'static ExecutionContext {
    static CTX: OnceLock<ExecutionContext> = OnceLock::new();
    CTX.get_or_init(|| {
        let options = ContextOptions {
            key_len: 512,
            ..small_options(Scheme::Paillier, EMBED)
        };
        ExecutionContext::create_with_passphrase(&options, "pw").unwrap()
    })
}

proptest! {
    // Each case opens no adapter of its own (the shared one) but runs a few device calls.
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn the_gpu_encrypts_and_decodes_verifiable_records_as_the_cpu_does(
        seed in any::<u64>(),
        count in 1usize..=40,
        altered in any::<prop::sample::Index>(),
        bit in 0usize..520,
        one_bit in any::<bool>(),
    ) {
        let Some(gpu) = shared_gpu() else { return Ok(()) };
        let (cpu, kind) = match one_bit {
            true => (one_bit_context(), LayoutKind::OneBit),
            false => (context(), LayoutKind::TwoBit),
        };
        let layout = cpu.record_layout(kind).unwrap();
        let on_gpu = cpu.clone().with_backend(gpu);
        let mut rng = StdRng::seed_from_u64(seed);
        let vectors: Vec<Vec<u8>> = (0..count)
            .map(|_| (0..EMBED).map(|_| rng.gen_range(0..2u8)).collect())
            .collect();
        let query_bits: Vec<u8> = (0..EMBED).map(|_| rng.gen_range(0..2u8)).collect();
        let query = cpu.encrypt_query_in(&layout, &query_bits).unwrap();
        let ids: Vec<i64> = (1..=count as i64).collect();
        let encrypting = if seed % 2 == 0 { cpu } else { &on_gpu };
        let (records, nonces) = encrypting.encrypt_records_in(&layout, KB, &vectors).unwrap();
        let mut index = cpu.new_index().unwrap();
        index.insert_batch(&records).unwrap();
        let answer = index
            .aggregate_batch(query.encrypted(), &Selection::All)
            .unwrap();

        // The honest answer: the vectors' distances and nonces, the same on both devices.
        let on_cpu = cpu.decode_records(KB, &query, &answer).unwrap();
        prop_assert_eq!(&on_gpu.decode_records(KB, &query, &answer).unwrap(), &on_cpu);
        for (i, record) in on_cpu.iter().enumerate() {
            prop_assert!(record.valid);
            prop_assert_eq!(record.nonce, nonces[i]);
            prop_assert_eq!(record.distance, hamming(&vectors[i], &query_bits));
        }
        let count_expected = Expectation { count: Some(count), ..Default::default() };
        let verified = on_gpu.verify_answer(KB, &query, &answer, &ids, &count_expected).unwrap();
        prop_assert_eq!(
            verified.distances,
            on_cpu.iter().map(|r| r.distance).collect::<Vec<_>>()
        );
        let foreign = on_gpu.verify_answer("another-kb", &query, &answer, &ids, &count_expected);
        prop_assert!(matches!(foreign, Err(Error::AnswerRejected(_))));

        // One record shifted by E(2^bit): both devices give the same verdicts, and the shifted
        // record is the one refused.
        let victim = altered.index(count);
        let mut shifted: Vec<Ciphertext> =
            (0..answer.records()).map(|r| answer.ciphertext(r)).collect();
        shifted[victim] = cpu
            .public().public_key()
            .add_plaintext(&shifted[victim], &(BigUint::one() << bit))
            .unwrap();
        let shifted = CiphertextBatch::from_ciphertexts(cpu.public().public_key(), 1, &shifted).unwrap();
        let on_cpu = cpu.decode_records(KB, &query, &shifted).unwrap();
        prop_assert_eq!(&on_gpu.decode_records(KB, &query, &shifted).unwrap(), &on_cpu);
        for (i, record) in on_cpu.iter().enumerate() {
            prop_assert_eq!(record.valid, i != victim, "record {} of {}", i, count);
        }
        match on_gpu.verify_answer(KB, &query, &shifted, &ids, &count_expected) {
            Err(Error::AnswerRejected(rejection)) => prop_assert!(
                rejection.failures.len() == 1
                    && rejection.failures[0].kind == FailureKind::InvalidRecord
                    && rejection.failures[0].chunk_ids == vec![victim as i64 + 1],
                "{}",
                rejection
            ),
            other => prop_assert!(false, "the shifted record passed: {:?}", other.map(|v| v.distances)),
        }
    }
}
