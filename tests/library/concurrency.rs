//! One context and one index shared by many threads give the answers one thread gets, on the
//! CPU and on the GPU.

use crate::common;

use std::sync::Arc;

use common::hamming;
use paillier_gpu::hamming::{EncryptedIndex, Selection};
use paillier_gpu::hazmat::backend::Backend;
use paillier_gpu::paillier::CiphertextBatch;
use paillier_gpu::{ContextOptions, ExecutionContext, PublicContext, Scheme};
use rand::{rngs::StdRng, Rng, SeedableRng};

const THREADS: usize = 8;
const ROUNDS: usize = 3;
const RECORDS: usize = 24;
const QUERIES: usize = 6;
const EMBED_LEN: usize = 48;

fn assert_send_sync<T: Send + Sync + ?Sized>() {}

#[test]
fn shared_types_are_send_and_sync() {
    assert_send_sync::<ExecutionContext>();
    assert_send_sync::<PublicContext>();
    assert_send_sync::<EncryptedIndex>();
    assert_send_sync::<dyn Backend>();
    assert_send_sync::<paillier_gpu::paillier::SecretKey>();
    assert_send_sync::<paillier_gpu::paillier::PublicKey>();
}

fn random_vectors(rng: &mut StdRng, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|_| (0..EMBED_LEN).map(|_| rng.gen_range(0..2u8)).collect())
        .collect()
}

/// Every thread runs every query `ROUNDS` times, each starting at another query, through the
/// shared index and the shared context; all must equal the single-threaded answers, which must
/// equal the plaintext distances.
fn many_threads_agree_with_one(ctx: &ExecutionContext, backend: Arc<dyn Backend>) -> usize {
    let mut rng = StdRng::seed_from_u64(7);
    let records = random_vectors(&mut rng, RECORDS);
    let queries = random_vectors(&mut rng, QUERIES);
    // The index is filled before it is shared (insert needs &mut).
    let mut index = ctx.new_index().unwrap().with_backend(backend);
    index
        .insert_batch(&ctx.encrypt_batch(&records).unwrap())
        .unwrap();
    let encrypted_queries: Vec<CiphertextBatch> = queries
        .iter()
        .map(|q| ctx.encrypt_batch(&[q]).unwrap())
        .collect();

    let answer = |q: usize| {
        let responses = index
            .aggregate_batch(&encrypted_queries[q], &Selection::All)
            .unwrap();
        ctx.decode_batch(&responses).unwrap()
    };
    let single: Vec<Vec<u32>> = (0..QUERIES).map(answer).collect();
    for (q, distances) in single.iter().enumerate() {
        let plain: Vec<u32> = records.iter().map(|r| hamming(r, &queries[q])).collect();
        assert_eq!(distances, &plain, "query {q}, one thread");
    }

    let checked = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let (single, answer, checked) = (&single, &answer, &checked);
            scope.spawn(move || {
                for round in 0..ROUNDS {
                    for step in 0..QUERIES {
                        let q = (thread + round + step) % QUERIES;
                        assert_eq!(answer(q), single[q], "thread {thread}, query {q}");
                        checked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    checked.into_inner()
}

fn context(scheme: Scheme) -> ExecutionContext {
    let options = ContextOptions {
        scheme,
        key_len: 256,
        embed_len: EMBED_LEN,
        alpha_len: 64,
        allow_insecure: true,
        ..ContextOptions::default()
    };
    ExecutionContext::create_with_passphrase(&options, "concurrency").unwrap()
}

#[test]
fn many_threads_query_one_index_on_the_cpu() {
    for scheme in common::SCHEMES {
        let ctx = context(scheme);
        let cpu = paillier_gpu::hazmat::backend::backend_for(paillier_gpu::Device::Cpu).unwrap();
        assert_eq!(
            many_threads_agree_with_one(&ctx, cpu),
            THREADS * ROUNDS * QUERIES
        );
    }
}

/// The same on the GPU: the index resident in device memory, decoding on the GPU as well.
#[cfg(feature = "gpu")]
#[test]
fn many_threads_query_one_index_on_the_gpu() {
    let Some(gpu) = common::shared_gpu() else {
        return;
    };
    for scheme in common::SCHEMES {
        let gpu: Arc<dyn Backend> = gpu.clone();
        let ctx = context(scheme).with_backend(gpu.clone());
        assert_eq!(ctx.public().device(), paillier_gpu::Device::Gpu);
        assert_eq!(
            many_threads_agree_with_one(&ctx, gpu),
            THREADS * ROUNDS * QUERIES
        );
    }
}
