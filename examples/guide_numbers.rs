//! docs/library.md's numbers example, compiled by `cargo test` (`tests/cli/guide_blocks.rs`
//! checks that the guide's block is this file's code, line for line): a linear model over encrypted features.

use paillier_gpu::hazmat::backend::cpu::CpuBackend;
use paillier_gpu::numbers::{EncryptedArray, LinearModel, Numbers};
use paillier_gpu::paillier::{generate_keypair, KeyGenOptions, Scheme};
use std::sync::Arc;

// Kept as the guide writes it, so that the two can be compared line for line.
#[rustfmt::skip]
fn main() -> paillier_gpu::Result<()> {
    let backend = CpuBackend::shared();
    let (pk, sk) = generate_keypair(Scheme::Paillier, 1024, &KeyGenOptions::default())?;
    let pk = Arc::new(pk);
    // The data owner encrypts two samples of three features.
    let x = EncryptedArray::encrypt(&pk, backend.as_ref(), Numbers::Floats(&[0.5, -1.0, 2.0, 1.5, 0.0, -0.25]), vec![2, 3], None)?;
    // The inference service runs the model on ciphertexts: y = W·x + b, one row of weights per
    // output (its model JSON's layout).
    let model = LinearModel::from_json(r#"{"weights": [[1.0, 0.5, 3.0], [-2.0, 0.25, 0.0]], "biases": [0.1, -0.1]}"#)?;
    let y = model.infer(backend.as_ref(), &x)?;
    // The owner decrypts the scores: exactly W·x + b of the encoded numbers, rounded once.
    let scores = y.decrypt_f64(&sk, backend.as_ref())?;
    println!("{scores:?}");
    assert_eq!(scores, vec![6.1, -1.35, 0.85, -3.1]);
    Ok(())
}
