//! The owner's work a record in a verified search over sealed vectors (#102), on one core: a
//! page of 1,024 records of 512 bits opened (AES-256-GCM), and each record's (id, nonce) added
//! to a tally (HMAC-SHA256), what checking an answer against the owner's digest costs today.
//!
//! ```text
//! cargo bench --features bench --bench sealed
//! ```

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use paillier_gpu::context::DataKey;
use paillier_gpu::verifiable::{RecordKeys, SealedPage, Tally, PAGE_RECORDS};

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

criterion_group!(benches, sealed);
criterion_main!(benches);
