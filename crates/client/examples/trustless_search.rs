//! Measures what verifiable records and private metadata cost against a running service: the
//! upload of N records with and without them (encryption, then the requests), and the whole
//! search over them, verified (both primes, the checks, the top k's contents fetched and opened)
//! against unverified, alternating, with the decoding alone timed on the same answers.
//!
//! ```sh
//! # a running `paillier-gpu serve`, two empty knowledge bases and a key with write access on both
//! PAILLIER_GPU_REMOTE=http://127.0.0.1:8742 PAILLIER_GPU_ORG=… PAILLIER_GPU_API_KEY=… \
//!   cargo run --release -p paillier-gpu-client --example trustless_search -- PLAIN_KB VERIFIED_KB [RECORDS] [SEARCHES]
//! ```

use std::time::{Duration, Instant};

use paillier_gpu::verifiable::{Document, Expectation};
use paillier_gpu::{ContextOptions, ExecutionContext};
use paillier_gpu_client::{Client, RecordOptions, SearchOptions};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::json;

const EMBED: usize = 512;

fn median(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1e3
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [plain_kb, verified_kb] =
        [args.first(), args.get(1)].map(|a| a.cloned().unwrap_or_default());
    let records: usize = args.get(2).map_or(Ok(8192), |a| a.parse())?;
    let searches: usize = args.get(3).map_or(Ok(21), |a| a.parse())?;
    let env = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    // The CPU engine, as the `paillier-gpu` binary takes it (auto when unset).
    if let Ok(engine) = std::env::var("PAILLIER_GPU_CPU_ENGINE") {
        use paillier_gpu::hazmat::bigint::{set_engine_preference, EnginePreference};
        set_engine_preference(engine.parse::<EnginePreference>()?)?;
    }
    let client = Client::new(
        &env("PAILLIER_GPU_REMOTE")?,
        &env("PAILLIER_GPU_ORG")?,
        &env("PAILLIER_GPU_API_KEY")?,
    )?
    // One process, one run: the versions seen need not outlive it.
    .with_state_in_memory();
    let options = ContextOptions {
        embed_len: EMBED,
        ..ContextOptions::default()
    };
    let ctx = ExecutionContext::create_with_passphrase(&options, "bench")?;
    client.push_context(&ctx)?;
    let mut rng = StdRng::seed_from_u64(1);
    let vectors: Vec<Vec<u8>> = (0..records)
        .map(|_| (0..EMBED).map(|_| rng.gen_range(0..2u8)).collect())
        .collect();
    let documents: Vec<Document> = (0..records)
        .map(|i| Document {
            content: format!("document {i}"),
            meta_data:
                json!({"tag1": format!("t{}", i % 16), "facets": ["a", format!("f{}", i % 5)]})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            name: Some(format!("doc-{i}")),
        })
        .collect();
    let both = RecordOptions {
        verifiable: true,
        private_meta: true,
    };

    // The first encryption builds the key's fixed-base tables: not part of either rate.
    ctx.encrypt_batch(&vectors[..64.min(records)])?;
    ctx.encrypt_records(&verified_kb, &vectors[..64.min(records)])?;
    let started = Instant::now();
    ctx.encrypt_batch(&vectors)?;
    let encrypt_plain = started.elapsed();
    let started = Instant::now();
    ctx.encrypt_records(&verified_kb, &vectors)?;
    let encrypt_tagged = started.elapsed();
    let started = Instant::now();
    client.upload_records(
        &plain_kb,
        &ctx,
        &vectors,
        &documents,
        RecordOptions::default(),
    )?;
    let upload_plain = started.elapsed();
    let started = Instant::now();
    client.upload_records(&verified_kb, &ctx, &vectors, &documents, both)?;
    let upload_verified = started.elapsed();
    let rate = |d: Duration| records as f64 / d.as_secs_f64();
    println!(
        "records {records}, embed_len {EMBED}, key_len {}",
        ctx.key_len()
    );
    println!(
        "encryption alone: plain {:.0}/s, with nonce and tag {:.0}/s",
        rate(encrypt_plain),
        rate(encrypt_tagged)
    );
    println!("upload (encrypt, seal or encrypt content, send, stored): plain {:.0} chunks/s, verifiable + private {:.0} chunks/s ({:.2}x the time)",
        rate(upload_plain), rate(upload_verified), upload_verified.as_secs_f64() / upload_plain.as_secs_f64());

    // The layout the verifiable knowledge base's digest fixed at its first upload.
    let layout = ctx.record_layout(client.digest_summary(&verified_kb, &ctx, both)?.layout)?;
    println!("verifiable records: the {} layout", layout.kind());

    let (mut plain_times, mut verified_times) = (Vec::new(), Vec::new());
    let (mut decode_times, mut verify_times) = (Vec::new(), Vec::new());
    for _ in 0..searches {
        let query: Vec<u8> = (0..EMBED).map(|_| rng.gen_range(0..2u8)).collect();
        let plain = SearchOptions {
            top_k: 10,
            ..SearchOptions::default()
        };
        let verified = SearchOptions {
            top_k: 10,
            records: both,
            expect_count: Some(records),
            ..SearchOptions::default()
        };
        let started = Instant::now();
        client.search_records(&plain_kb, &ctx, &query, &plain)?;
        plain_times.push(started.elapsed());
        let started = Instant::now();
        client.search_records(&verified_kb, &ctx, &query, &verified)?;
        verified_times.push(started.elapsed());

        let encrypted = ctx.encrypt_batch(&[&query])?;
        let public = ctx.public_context();
        let answer =
            client.compute_hamming(&plain_kb, ctx.id(), &public, &encrypted, None, None)?;
        let started = Instant::now();
        ctx.decode_batch(&answer.responses)?;
        decode_times.push(started.elapsed());
        let verifiable = ctx.encrypt_query_in(&layout, &query)?;
        let answer = client.compute_hamming(
            &verified_kb,
            ctx.id(),
            &public,
            verifiable.encrypted(),
            None,
            None,
        )?;
        let started = Instant::now();
        let count = Expectation {
            count: Some(records),
            ..Expectation::default()
        };
        ctx.verify_answer(
            &verified_kb,
            &verifiable,
            &answer.responses,
            &answer.chunk_ids,
            &count,
        )?;
        verify_times.push(started.elapsed());
    }
    let (plain, verified) = (median(plain_times), median(verified_times));
    println!("whole search, median of {searches}: unverified {plain:.1} ms, verified {verified:.1} ms ({:.2}x)", verified / plain);
    let (decode, verify) = (median(decode_times), median(verify_times));
    println!("decoding alone: unverified {decode:.1} ms, verified (the {} layout and the checks) {verify:.1} ms ({:.2}x)", layout.kind(), verify / decode);
    Ok(())
}
