//! Contexts, vectors and documents the tests build their knowledge bases from.

use paillier_gpu::verifiable::Document;
use paillier_gpu_client::RecordOptions;
use serde_json::json;

/// The Hamming distance of two bit vectors.
pub fn hamming(a: &[u8], b: &[u8]) -> u32 {
    a.iter().zip(b).filter(|(x, y)| x != y).count() as u32
}

/// A classic context with a test-sized key (key_len 256, so the server needs
/// `allow_weak_contexts`) over `embed` dimensions, sealed under the passphrase "pw".
pub fn small_context(embed: usize) -> paillier_gpu::ExecutionContext {
    small_context_of(256, embed)
}

/// [`small_context`] at `key_len`: 512 is the least whose verifiable records take the one-bit
/// layout (up to 126 dimensions), where 256 gives the two-bit one.
pub fn small_context_of(key_len: usize, embed: usize) -> paillier_gpu::ExecutionContext {
    let options = paillier_gpu::ContextOptions {
        scheme: paillier_gpu::Scheme::Paillier,
        key_len,
        embed_len: embed,
        allow_insecure: true,
        ..paillier_gpu::ContextOptions::default()
    };
    paillier_gpu::ExecutionContext::create_with_passphrase(&options, "pw").unwrap()
}

/// The SDK's form of one encrypted vector: base64 of each piece's little-endian bytes.
pub fn sdk_pieces(ctx: &paillier_gpu::ExecutionContext, vector: &[u8]) -> Vec<String> {
    use base64::Engine;
    let batch = ctx.encrypt_batch(&[vector]).unwrap();
    (0..batch.pieces_per_record())
        .map(|item| {
            let mut bytes = Vec::new();
            batch
                .write_item_le_bytes(item, ctx.ciphertext_shape().piece_bytes, &mut bytes)
                .unwrap();
            base64::engine::general_purpose::STANDARD.encode(&bytes)
        })
        .collect()
}

/// `count` random bit vectors of `embed` dimensions from `seed`.
pub fn vectors(count: usize, seed: u64, embed: usize) -> Vec<Vec<u8>> {
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            (0..embed)
                .map(|_| rand::Rng::gen_range(&mut rng, 0..2u8))
                .collect()
        })
        .collect()
}

/// `count` vectors of `embed` dimensions in `clusters` clusters: each a random centre with
/// about one bit in eight flipped, so partitions mean something and still overlap.
pub fn clustered(embed: usize, count: usize, clusters: usize, seed: u64) -> Vec<Vec<u8>> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let centres: Vec<Vec<u8>> = (0..clusters)
        .map(|_| (0..embed).map(|_| rng.gen_range(0..2u8)).collect())
        .collect();
    (0..count)
        .map(|i| {
            centres[i % clusters]
                .iter()
                .map(|&bit| bit ^ u8::from(rng.gen_ratio(1, 8)))
                .collect()
        })
        .collect()
}

/// Verifiable records with private metadata: what the owner-digest tests write.
pub const BOTH: RecordOptions = RecordOptions {
    verifiable: true,
    private_meta: true,
};

/// A query two bits from `vector`: its first two bits flipped.
pub fn near(vector: &[u8]) -> Vec<u8> {
    let mut query = vector.to_vec();
    query[0] ^= 1;
    query[1] ^= 1;
    query
}

/// Record `i`'s document: `tag1` t0…t3 by `i % 4`.
pub fn document(i: usize, content: &str) -> Document {
    Document {
        content: content.to_owned(),
        meta_data: json!({"tag1": format!("t{}", i % 4)})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        name: None,
    }
}
