//! docs/library.md's packed-samples example, compiled by `cargo test` (`tests/cli/guide_blocks.rs`
//! checks that the guide's block is this file's code, line for line): a 64 × 10 model over many samples
//! per ciphertext, checked against the plaintext model.

use paillier_gpu::hazmat::backend::cpu::CpuBackend;
use paillier_gpu::numbers::{Decrypted, LinearModel};
use paillier_gpu::numbers::{Numbers, PackOptions, PackedArray};
use paillier_gpu::paillier::{generate_keypair, KeyGenOptions, Scheme};
use std::sync::Arc;

// Kept as the guide writes it, so that the two can be compared line for line.
#[rustfmt::skip]
fn main() -> paillier_gpu::Result<()> {
    // backend, pk, sk and a 64-input model as above; `features` holds samples × 64 floats.
    let backend = CpuBackend::shared();
    let (pk, sk) = generate_keypair(Scheme::Paillier, 1024, &KeyGenOptions::default())?;
    let pk = Arc::new(pk);
    // Multiples of 2^-16 in [-1, 1], so that the plaintext model is exact in f64 too.
    let grid = |i: usize, scale: usize| ((i * scale % 131_071) as f64 - 65_535.0) / 65_536.0;
    // One row of 64 weights per output, as the inference service's model JSON.
    let weights: Vec<Vec<f64>> = (0..10).map(|j| (0..64).map(|i| grid(i * 10 + j, 7_919)).collect()).collect();
    let model = LinearModel::new(weights, (0..10).map(|j| grid(j, 104_729)).collect())?;
    let features: Vec<f64> = (0..100 * 64).map(|i| grid(i, 15_485_863)).collect();
    let plain = model.clone();
    // Features in [-1, 1] to 2^-16; 48 bits of each slot left for the weights and the sums.
    let options = PackOptions::new(1.0).with_precision(1.0 / 65536.0);
    let x = PackedArray::encrypt(&pk, backend.as_ref(), Numbers::Floats(&features), 64, &options)?;
    let y = model.with_precision(Some(1.0 / 65536.0)).infer_packed(backend.as_ref(), &x)?;
    let scores = y.decrypt(&sk, backend.as_ref())?; // samples × 10, exactly W·x + b at 2^-32
    let Decrypted::Floats(scores) = scores else { unreachable!("a linear layer gives floats") };
    for (s, sample) in features.chunks(64).enumerate() {
        assert_eq!(&scores[s * 10..(s + 1) * 10], &plain.predict_plain(sample)?[..]);
    }
    println!("100 samples in {} ciphertexts of {} slots", x.ciphertexts().len(), x.layout().slots());
    Ok(())
}
