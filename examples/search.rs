//! The whole flow on the default device: create a context, encrypt a database of random binary
//! vectors, encrypt a query, aggregate it on the "search backend" side, decode and print the top k.
//!
//! ```text
//! cargo run --release --example search -- [--scheme paillier|paillier_lookup] [--vectors N]
//!     [--key-len BITS] [--embed-len DIMS] [--top-k K] [--device cpu|gpu|auto]
//! ```
//! It also prints the throughput of each step, measured once on this run.

use std::time::Instant;

use paillier_gpu::hamming::{top_k, Selection};
use paillier_gpu::{ContextOptions, Device, ExecutionContext, Scheme};
use rand::Rng;

struct Args {
    scheme: Scheme,
    vectors: usize,
    key_len: usize,
    embed_len: usize,
    top_k: usize,
    device: Device,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        scheme: Scheme::Paillier,
        vectors: 200,
        key_len: 1024,
        embed_len: 512,
        top_k: 5,
        device: Device::Auto,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || value.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--scheme" => {
                args.scheme = match value.as_str() {
                    "paillier" => Scheme::Paillier,
                    "paillier_lookup" | "paillier-lookup" => Scheme::PaillierLookup,
                    other => return Err(format!("unknown scheme {other}")),
                }
            }
            "--vectors" => args.vectors = number()?,
            "--key-len" => args.key_len = number()?,
            "--embed-len" => args.embed_len = number()?,
            "--top-k" => args.top_k = number()?,
            "--device" => args.device = value.parse().map_err(|e| format!("{e}"))?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(args)
}

fn rate(count: usize, since: Instant) -> String {
    let seconds = since.elapsed().as_secs_f64();
    format!(
        "{count} in {seconds:.2} s = {:.1}/s",
        count as f64 / seconds
    )
}

fn main() {
    if let Err(e) = run() {
        eprintln!("search: error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let options = ContextOptions {
        scheme: args.scheme,
        key_len: args.key_len,
        embed_len: args.embed_len,
        allow_insecure: args.key_len < 1024,
        device: args.device,
        ..ContextOptions::default()
    };
    let start = Instant::now();
    let ctx = ExecutionContext::create_with_passphrase(&options, "example passphrase")?;
    println!(
        "context {} ({}, key_len {}, embed_len {}, running on {}) created in {:.2} s",
        &ctx.id()[..16],
        ctx.scheme().name(),
        ctx.key_len(),
        ctx.embed_len(),
        ctx.backend().device(),
        start.elapsed().as_secs_f64()
    );

    let mut rng = rand::thread_rng();
    let database: Vec<Vec<u8>> = (0..args.vectors)
        .map(|_| (0..args.embed_len).map(|_| rng.gen_range(0..=1)).collect())
        .collect();
    // The query is a noisy copy of record 0, so record 0 should rank first.
    let mut query = database[0].clone();
    for bit in query.iter_mut().take(args.embed_len / 20) {
        *bit ^= 1;
    }

    let start = Instant::now();
    let encrypted = ctx.encrypt_vectors(&database)?;
    println!("encrypt:   {}", rate(database.len(), start));

    // The search backend sees only the public key and ciphertexts.
    let mut index = paillier_gpu::hamming::EncryptedIndex::new(
        ctx.public_key().clone(),
        ctx.embed_len(),
        ctx.device(),
    )?;
    index.insert(&encrypted)?;
    let encrypted_query = ctx.encrypt_vector(&query)?;
    let start = Instant::now();
    let responses = index.aggregate(&encrypted_query, &Selection::All)?;
    println!("aggregate: {}", rate(responses.len(), start));

    let start = Instant::now();
    let distances = ctx.decode_distances(&responses)?;
    println!("decode:    {}", rate(distances.len(), start));

    let top = top_k(&distances, args.top_k);
    println!("top {}:", top.ids.len());
    for (id, distance) in top.ids.iter().zip(&top.distances) {
        println!("  record {id:>6}  hamming distance {distance}");
    }
    Ok(())
}
