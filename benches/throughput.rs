//! Throughput of each operation on the CPU backend at key_len 1024 (n of 2048 bits).
//!
//! ```text
//! cargo bench --features bench --bench throughput
//! ```
//! Each group reports time per batch; criterion's throughput line gives elements per second.
//! The engine itself (modexp and modmul against num-bigint and GMP) is in `benches/engine.rs`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use paillier_gpu::hamming::Selection;
use paillier_gpu::{ContextOptions, ExecutionContext, Scheme};
use rand::Rng;

const KEY_LEN: usize = 1024;
const EMBED_LEN: usize = 512;

fn context(scheme: Scheme) -> ExecutionContext {
    let options = ContextOptions {
        scheme,
        key_len: KEY_LEN,
        embed_len: EMBED_LEN,
        ..Default::default()
    };
    ExecutionContext::create_with_passphrase(&options, "bench").expect("context")
}

fn vectors(count: usize) -> Vec<Vec<u8>> {
    let mut rng = rand::thread_rng();
    (0..count)
        .map(|_| (0..EMBED_LEN).map(|_| rng.gen_range(0..=1)).collect())
        .collect()
}

fn operations(c: &mut Criterion) {
    for scheme in [Scheme::Paillier, Scheme::PaillierLookup] {
        let ctx = context(scheme);
        let mut group =
            c.benchmark_group(format!("{}_key{KEY_LEN}_embed{EMBED_LEN}", scheme.name()));
        group.sample_size(10);

        let batch = vectors(32);
        group.throughput(Throughput::Elements(batch.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("encrypt", batch.len()),
            &batch,
            |b, batch| b.iter(|| ctx.encrypt_batch(batch).expect("encrypt")),
        );

        let database = ctx.encrypt_batch(&vectors(1000)).expect("encrypt");
        let mut index = ctx.new_index().expect("index");
        index.insert_batch(&database).expect("insert");
        let query = ctx.encrypt_batch(&vectors(1)).expect("encrypt");
        group.throughput(Throughput::Elements(index.len() as u64));
        group.bench_function(BenchmarkId::new("aggregate", index.len()), |b| {
            b.iter(|| {
                index
                    .aggregate_batch(&query, &Selection::All)
                    .expect("aggregate")
            })
        });

        let responses = index
            .aggregate_batch(&query, &Selection::All)
            .expect("aggregate");
        let sample = responses.records_in(0..128).expect("sample");
        group.throughput(Throughput::Elements(sample.records() as u64));
        group.bench_function(BenchmarkId::new("decode", sample.records()), |b| {
            b.iter(|| ctx.decode_batch(&sample).expect("decode"))
        });
        group.finish();
    }
}

/// The host's noise producer for a GPU-sized batch (131,072 exponents of 1024 bits, the classic
/// scheme at key_len 1024): ChaCha20 on every core keyed from the OS, against the one stream
/// from the OS on one thread it replaced.
fn noise(c: &mut Criterion) {
    use paillier_gpu::hazmat::backend::noise::random_exponents;
    use rand::RngCore;
    const COUNT: usize = 131_072;
    const BITS: usize = 1024;
    let mut group = c.benchmark_group("noise_exponents");
    group.sample_size(10);
    group.throughput(Throughput::Elements(COUNT as u64));
    group.bench_function(BenchmarkId::new("chacha20_every_core", COUNT), |b| {
        b.iter(|| random_exponents(COUNT, BITS).expect("noise"))
    });
    group.bench_function(BenchmarkId::new("os_one_thread", COUNT), |b| {
        b.iter(|| {
            let mut words = vec![0u64; COUNT * BITS / 64];
            let mut bytes = vec![0u8; words.len() * 8];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            for (w, raw) in words.iter_mut().zip(bytes.chunks_exact(8)) {
                *w = u64::from_le_bytes(raw.try_into().expect("8 bytes"));
            }
            words
        })
    });
    group.finish();
}

/// The host's message producer for a GPU-sized batch (131,072 vectors of 512 dimensions at
/// key_len 1024), on every core as the encryption pipeline packs: plaintexts at n²'s width (64
/// limbs, what the CPU computes on) against slot bits (8 limbs, what a GPU now reads).
fn message_packing(c: &mut Criterion) {
    use paillier_gpu::hamming::VectorLayout;
    use rayon::prelude::*;
    const COUNT: usize = 131_072;
    let layout = VectorLayout::new(EMBED_LEN, KEY_LEN).expect("layout");
    let vectors = vectors(COUNT);
    let mut group = c.benchmark_group("message_packing");
    group.sample_size(10);
    group.throughput(Throughput::Elements(COUNT as u64));
    let pack = |limbs: usize, pack_one: &(dyn Fn(&[u8], &mut [u64]) + Sync)| {
        let mut flat = vec![0u64; COUNT * limbs];
        flat.par_chunks_mut(limbs)
            .zip(vectors.par_iter())
            .for_each(|(out, vector)| {
                if layout.check(0, vector).is_ok() {
                    pack_one(vector, out);
                }
            });
        flat
    };
    group.bench_function(BenchmarkId::new("n_squared_width_values", COUNT), |b| {
        b.iter(|| pack(4 * KEY_LEN / 64, &|v, out| layout.pack_into(v, out)))
    });
    group.bench_function(BenchmarkId::new("slot_bits", COUNT), |b| {
        b.iter(|| {
            pack(layout.slot_bit_limbs(), &|v, out| {
                layout.pack_slot_bits_into(v, out)
            })
        })
    });
    group.finish();
}

criterion_group!(benches, operations, noise, message_packing);
criterion_main!(benches);
