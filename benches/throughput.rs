//! Throughput of each operation on the CPU backend at key_len 1024 (n of 2048 bits).
//!
//! ```text
//! cargo bench --bench throughput
//! ```
//! Each group reports time per batch; criterion's throughput line gives elements per second.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use num_bigint::{BigUint, RandBigInt};
use paillier_gpu::bigint::MontgomeryModulus;
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

fn engine(c: &mut Criterion) {
    // The raw engine: a 4096-bit modexp with a 2048-bit exponent (classic encryption's r^n).
    let mut rng = rand::thread_rng();
    let mut m = rng.gen_biguint(4096);
    m.set_bit(4095, true);
    m.set_bit(0, true);
    let mm = MontgomeryModulus::new(&m).expect("odd modulus");
    let base = mm.to_montgomery(&mm.limbs_of(&rng.gen_biguint_below(&m)).expect("reduced"));
    let exponent = rng.gen_biguint(2048).to_u64_digits();
    let mut group = c.benchmark_group("modexp_4096_by_2048");
    group.sample_size(10);
    group.bench_function("public (sliding window)", |b| {
        b.iter(|| mm.pow_public(&base, &exponent))
    });
    group.bench_function("secret (constant time)", |b| {
        b.iter(|| mm.pow_secret(&base, &exponent, 2048))
    });
    group.bench_function("num-bigint modpow", |b| {
        let base = rng.gen_biguint_below(&m);
        let e = BigUint::from_slice(
            &exponent
                .iter()
                .flat_map(|l| [*l as u32, (*l >> 32) as u32])
                .collect::<Vec<_>>(),
        );
        b.iter(|| base.modpow(&e, &m))
    });
    group.finish();
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
            |b, batch| b.iter(|| ctx.encrypt_vectors(batch).expect("encrypt")),
        );

        let database = ctx.encrypt_vectors(&vectors(1000)).expect("encrypt");
        let mut index = ctx.new_index().expect("index");
        index.insert(&database).expect("insert");
        let query = ctx.encrypt_vector(&vectors(1)[0]).expect("encrypt");
        group.throughput(Throughput::Elements(index.len() as u64));
        group.bench_function(BenchmarkId::new("aggregate", index.len()), |b| {
            b.iter(|| index.aggregate(&query, &Selection::All).expect("aggregate"))
        });

        let responses = index.aggregate(&query, &Selection::All).expect("aggregate");
        let sample = &responses[..128];
        group.throughput(Throughput::Elements(sample.len() as u64));
        group.bench_function(BenchmarkId::new("decode", sample.len()), |b| {
            b.iter(|| ctx.decode_distances(sample).expect("decode"))
        });
        group.finish();
    }
}

criterion_group!(benches, engine, operations);
criterion_main!(benches);
