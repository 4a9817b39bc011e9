//! Verifiable records on the GPU: records it encrypts decode on the CPU, and answers it decodes
//! (both primes, to whole plaintexts) give the CPU's fields, distances and verdicts.
#![cfg(feature = "gpu")]

use crate::common;

use common::{hamming, shared_gpu, small_options};
use paillier_gpu::hamming::Selection;
use paillier_gpu::verifiable::Expectation;
use paillier_gpu::{ExecutionContext, Scheme};
use rand::{rngs::StdRng, Rng, SeedableRng};

const KB: &str = "kb-gpu";

#[test]
fn the_gpu_encrypts_and_decodes_verifiable_records_as_the_cpu_does() {
    let Some(gpu) = shared_gpu() else { return };
    let cpu = ExecutionContext::create_with_passphrase(&small_options(Scheme::Paillier, 127), "pw")
        .unwrap();
    let on_gpu = cpu.clone().with_backend(gpu);
    let mut rng = StdRng::seed_from_u64(21);
    let vectors: Vec<Vec<u8>> = (0..48)
        .map(|_| (0..127).map(|_| rng.gen_range(0..2u8)).collect())
        .collect();
    let query: Vec<u8> = (0..127).map(|_| rng.gen_range(0..2u8)).collect();
    let ids: Vec<i64> = (1..=48).collect();
    for encrypting in [&cpu, &on_gpu] {
        let (records, nonces) = encrypting.encrypt_records(KB, &vectors).unwrap();
        let mut index = cpu.new_index().unwrap();
        index.insert_batch(&records).unwrap();
        let answer = index
            .aggregate_batch(&cpu.encrypt_batch(&[&query]).unwrap(), &Selection::All)
            .unwrap();
        let on_cpu = cpu.decode_records(KB, &query, &answer).unwrap();
        assert_eq!(on_gpu.decode_records(KB, &query, &answer).unwrap(), on_cpu);
        for (i, record) in on_cpu.iter().enumerate() {
            assert_eq!(record.defect, None);
            assert_eq!(record.nonce, nonces[i]);
            assert_eq!(record.distance, hamming(&vectors[i], &query));
        }
        let count = Expectation {
            count: Some(48),
            ..Default::default()
        };
        on_gpu
            .verify_answer(KB, &query, &answer, &ids, &count)
            .unwrap();
        assert!(on_gpu
            .verify_answer("another-kb", &query, &answer, &ids, &count)
            .is_err());
    }
}
