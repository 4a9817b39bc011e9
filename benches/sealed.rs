//! The owner's work in a verified search over sealed vectors (#102): on one core, a page of
//! 1,024 records of 512 bits opened (AES-256-GCM), each record's (id, nonce) added to a tally
//! (HMAC-SHA256, what checking an answer against the owner's digest costs) and its distance;
//! then a whole answer of 60 such pages (61,440 records, about what a probe of a million
//! records reads) opened, checked and ranked by `RecordCodec::rank_sealed`, on every core.
//!
//! ```text
//! cargo bench --features bench --bench sealed
//! ```

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use paillier_gpu::context::DataKey;
use paillier_gpu::verifiable::{
    Expectation, RecordCodec, RecordKeys, RecordOptions, SealedPage, Tally, PAGE_RECORDS,
};
use paillier_gpu::{ContextOptions, ExecutionContext};
use rand::Rng;

const VECTOR_BYTES: usize = 64;

fn sealed(c: &mut Criterion) {
    let keys = RecordKeys::for_knowledge_base(&DataKey::new([7; 32]), "fp", "kb");
    let vectors: Vec<[u8; VECTOR_BYTES]> = (0..PAGE_RECORDS)
        .map(|i| [(i % 251) as u8; VECTOR_BYTES])
        .collect();
    let records: Vec<(i64, &[u8])> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| (i as i64, &v[..]))
        .collect();
    let page = SealedPage::seal(&keys, "kb", Some(3), &records).expect("a page seals");
    let opened = page.open(&keys, "kb", VECTOR_BYTES).expect("it opens");
    let pairs: Vec<_> = opened
        .ids()
        .iter()
        .copied()
        .zip(opened.nonces().iter().copied())
        .collect();

    let mut group = c.benchmark_group("sealed_page_1024_records_512_bits");
    group.throughput(Throughput::Elements(PAGE_RECORDS as u64));
    group.bench_function("open", |b| {
        b.iter(|| page.open(&keys, "kb", VECTOR_BYTES).expect("it opens"))
    });
    group.bench_function("tally", |b| b.iter(|| Tally::of(&keys, "kb", &pairs)));
    group.bench_function("popcount_distances", |b| {
        let query = [0x5au8; VECTOR_BYTES];
        b.iter(|| {
            (0..PAGE_RECORDS)
                .map(|i| {
                    opened
                        .vector(i)
                        .iter()
                        .zip(&query)
                        .map(|(a, q)| (a ^ q).count_ones())
                        .sum::<u32>()
                })
                .sum::<u32>()
        })
    });
    group.finish();
}

fn answer(c: &mut Criterion) {
    const PAGES: usize = 60;
    let options = ContextOptions {
        key_len: 1024,
        embed_len: 512,
        ..Default::default()
    };
    let ctx = ExecutionContext::create_with_passphrase(&options, "bench").expect("a context");
    let records = RecordOptions {
        verifiable: true,
        private_meta: false,
    };
    let codec = RecordCodec::new(&ctx, "kb", records);
    let mut rng = rand::thread_rng();
    let vectors: Vec<Vec<u8>> = (0..PAGES * PAGE_RECORDS)
        .map(|_| (0..512).map(|_| rng.gen_range(0..=1)).collect())
        .collect();
    let placed: Vec<(i64, &[u8], Option<u32>)> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| (i as i64, &v[..], Some((i / PAGE_RECORDS) as u32)))
        .collect();
    let pages = codec.seal_pages(&placed).expect("pages seal");
    let wire: Vec<u8> = pages.iter().flat_map(|p| p.to_bytes()).collect();
    let keys = codec.keys().expect("keys");
    let mut pairs = Vec::new();
    for page in &pages {
        let opened = page.open(keys, "kb", VECTOR_BYTES).expect("it opens");
        pairs.extend(
            opened
                .ids()
                .iter()
                .copied()
                .zip(opened.nonces().iter().copied()),
        );
    }
    let expectation = Expectation {
        digest: Some(Tally::of(keys, "kb", &pairs)),
        ..Expectation::default()
    };
    let probed: Vec<u32> = (0..PAGES as u32).collect();
    let query = vectors[7].clone();
    let mut group = c.benchmark_group("sealed_answer_61440_records_512_bits");
    group.sample_size(20);
    group.throughput(Throughput::Elements((PAGES * PAGE_RECORDS) as u64));
    group.bench_function("rank_sealed", |b| {
        b.iter(|| {
            codec
                .rank_sealed(&wire, &query, Some(&probed), &expectation, 10)
                .expect("an honest answer passes")
        })
    });
    group.finish();
}

criterion_group!(benches, sealed, answer);
criterion_main!(benches);
