//! The whole flow on the default device: create a context, encrypt a database of random binary
//! vectors, encrypt a query, aggregate it on the "search backend" side, decode and print the top k.
//!
//! ```text
//! cargo run --release --example search -- [--scheme paillier|paillier_lookup] [--vectors N]
//!     [--key-len BITS] [--embed-len DIMS] [--top-k K] [--device cpu|gpu|auto]
//! ```
//! It also prints the throughput of each step, measured once on this run.

// The binary's own fix for Mesa's XDG_RUNTIME_DIR complaint: this is a program too.
#[path = "../crates/cli/src/runtime_dir.rs"]
mod runtime_dir;

use std::time::Instant;

use paillier_gpu::hamming::{top_k, Selection};
use paillier_gpu::{ContextOptions, Device, ExecutionContext, Scheme};
use rand::Rng;

/// The whole flow on one machine: create a context, encrypt random vectors, aggregate an
/// encrypted query as a search backend would, decode and print the top k and each step's rate.
#[derive(clap::Parser)]
#[command(name = "search")]
struct Args {
    /// Context type: paillier or paillier_lookup.
    #[arg(long, default_value = "paillier", value_parser = parse_scheme)]
    scheme: Scheme,
    /// Vectors in the encrypted database.
    #[arg(long, default_value_t = 200)]
    vectors: usize,
    /// Bits of each prime (below 1024 only for a quick look: such keys can be broken).
    #[arg(long, default_value_t = 1024)]
    key_len: usize,
    /// Dimensions of each binary vector.
    #[arg(long, default_value_t = 512)]
    embed_len: usize,
    /// How many nearest records to print.
    #[arg(long, default_value_t = 5)]
    top_k: usize,
    /// Compute device: cpu, gpu or auto.
    #[arg(long, default_value = "auto")]
    device: Device,
}

fn parse_scheme(value: &str) -> Result<Scheme, String> {
    match value {
        "paillier" => Ok(Scheme::Paillier),
        "paillier_lookup" | "paillier-lookup" => Ok(Scheme::PaillierLookup),
        other => Err(format!(
            "unknown scheme {other} (paillier or paillier_lookup)"
        )),
    }
}

/// `200 in 61.5 ms = 3,252/s`: the duration in a unit that shows its digits (a fast step is not
/// `0.00 s`), and a rate that is `count` over that same duration.
fn rate(count: usize, since: Instant) -> String {
    let seconds = since.elapsed().as_secs_f64();
    let duration = match seconds {
        s if s >= 1.0 => format!("{s:.2} s"),
        s if s >= 1e-3 => format!("{:.1} ms", s * 1e3),
        s => format!("{:.0} µs", s * 1e6),
    };
    let per_second = (count as f64 / seconds.max(1e-9)).round() as u64;
    format!("{count} in {duration} = {}/s", thousands(per_second))
}

fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn main() {
    if let Err(e) = run() {
        eprintln!("search: error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = <Args as clap::Parser>::parse();
    runtime_dir::ensure();
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
        ctx.public().backend()?.device(),
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
    let encrypted = ctx.encrypt_batch(&database)?;
    println!("encrypt:   {}", rate(database.len(), start));

    // The search backend sees only the public key and ciphertexts.
    let mut index = paillier_gpu::hamming::EncryptedIndex::new(
        ctx.public().public_key().clone(),
        ctx.embed_len(),
        ctx.public().device(),
    )?;
    index.insert_batch(&encrypted)?;
    let encrypted_query = ctx.encrypt_batch(&[&query])?;
    let start = Instant::now();
    let responses = index.aggregate_batch(&encrypted_query, &Selection::All)?;
    println!("aggregate: {}", rate(responses.records(), start));

    let start = Instant::now();
    let distances = ctx.decode_batch(&responses)?;
    println!("decode:    {}", rate(distances.len(), start));

    let top = top_k(&distances, args.top_k);
    println!("top {}:", top.ids.len());
    for (id, distance) in top.ids.iter().zip(&top.distances) {
        println!("  record {id:>6}  hamming distance {distance}");
    }
    Ok(())
}
