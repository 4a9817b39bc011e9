//! docs/library.md's library example, compiled by `cargo test` (`tests/cli/guide_blocks.rs`
//! checks that the guide's block is this file's code, line for line): owner, search backend, owner again. It
//! writes ctx.json in the current folder.

use paillier_gpu::hamming::{top_k, Selection};
use paillier_gpu::{ContextOptions, ExecutionContext};

// Kept as the guide writes it, so that the two can be compared line for line.
#[rustfmt::skip]
fn main() -> paillier_gpu::Result<()> {
    // The data owner.
    let ctx = ExecutionContext::create_with_passphrase(&ContextOptions::default(), "passphrase")?;
    ctx.save_to_disk("ctx.json")?;                       // atomic; the secret key AES-GCM encrypted
    let database: Vec<Vec<u8>> = vec![vec![0; 512], vec![1; 512]];
    let encrypted = ctx.encrypt_batch(&database)?;       // one record per row, flat limbs

    // The search backend: public key and ciphertexts only.
    let public = paillier_gpu::PublicContext::load("ctx.json")?;   // no passphrase needed
    let mut index = public.new_index_on(paillier_gpu::Device::Cpu)?;
    index.insert_batch(&encrypted)?;
    let query = ctx.encrypt_batch(&[vec![0u8; 512]])?;
    let responses = index.aggregate_batch(&query, &Selection::All)?;    // or Range(..) / Ids(vec![..])

    // The owner again.
    let distances = ctx.decode_batch(&responses)?;      // [0, 512]
    let nearest = top_k(&distances, 1);                  // ids and distances, ties by smaller id
    println!("{distances:?} {nearest:?}");
    Ok(())
}
