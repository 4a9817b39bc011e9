//! The number operations `bench` times on classic (`paillier`) contexts: python-paillier-encoded
//! floats encrypted by the owner and with the public key, decrypted, and a 64-input,
//! 10-output linear layer (the inference service's shape) over encrypted samples, one number per
//! ciphertext and packed (many samples per ciphertext, at a precision of 2^-16).

use paillier_gpu::numbers::{EncryptedArray, LinearModel, Numbers, PackOptions};
use paillier_gpu::{Device, ExecutionContext, Result};
use rand::Rng;

use super::{timed, Timed};

/// Features per sample and outputs of the linear layer timed.
const INPUTS: usize = 64;
const OUTPUTS: usize = 10;

/// The linear layer's operation name; its rate counts samples per second.
pub(super) const LINEAR: &str = "linear_64x10";

/// The packed linear layer's operation name; its rate counts samples per second.
pub(super) const LINEAR_PACKED: &str = "linear_packed_64x10";

/// The number operations in table order (the first three count numbers per second).
pub(super) const NUMBER_OPERATIONS: [&str; 5] = [
    "nums_enc_owner",
    "nums_enc_public",
    "nums_decrypt",
    LINEAR,
    LINEAR_PACKED,
];

/// Features and weights of the packed layer: 2^-16, in [-1, 1).
const PACKED_PRECISION: f64 = 1.0 / 65536.0;

/// Samples the linear layer is timed on for a batch of `batch` numbers: as many 64-feature
/// samples as the batch holds numbers (at least one), so each operation touches about `batch`
/// ciphertexts.
pub(super) fn linear_samples(batch: usize) -> usize {
    (batch / INPUTS).max(1)
}

/// Each number operation's timed runs and what it counted, in [`NUMBER_OPERATIONS`] order: the
/// first three over `batch` random floats, then (when `linear`) the layer over
/// [`linear_samples`] samples, and the packed layer over as many ciphertexts (so as many samples
/// times the slots per ciphertext).
pub(super) fn measure_numbers(
    ctx: &ExecutionContext,
    device: Device,
    batch: usize,
    linear: bool,
    repeat: usize,
) -> Result<Vec<(Timed, usize)>> {
    let backend = ctx.public().backend()?.as_ref();
    let mut rng = rand::thread_rng();
    let mut floats = |count: usize, range: f64| -> Vec<f64> {
        (0..count).map(|_| rng.gen_range(-range..range)).collect()
    };
    let values = floats(batch, 100.0);
    let time = |f: &mut dyn FnMut() -> Result<()>| timed(device, repeat, f);
    let encrypt_owner = time(&mut || {
        ctx.encrypt_numbers(Numbers::Floats(&values), vec![batch], None)
            .map(drop)
    })?;
    let encrypt_public = time(&mut || {
        EncryptedArray::encrypt(
            ctx.public().public_key(),
            backend,
            Numbers::Floats(&values),
            vec![batch],
            None,
        )
        .map(drop)
    })?;
    let encrypted = ctx.encrypt_numbers(Numbers::Floats(&values), vec![batch], None)?;
    let decrypt = time(&mut || ctx.decrypt_numbers(&encrypted).map(drop))?;

    let mut timings = vec![
        (encrypt_owner, batch),
        (encrypt_public, batch),
        (decrypt, batch),
    ];
    if !linear {
        return Ok(timings);
    }
    let samples = linear_samples(batch);
    let features = floats(samples * INPUTS, 1.0);
    let x = ctx.encrypt_numbers(Numbers::Floats(&features), vec![samples, INPUTS], None)?;
    let weights: Vec<Vec<f64>> = (0..OUTPUTS).map(|_| floats(INPUTS, 1.0)).collect();
    let model = LinearModel::new(weights, floats(OUTPUTS, 1.0))?;
    timings.push((time(&mut || model.infer(backend, &x).map(drop))?, samples));

    let options = PackOptions::new(1.0).with_precision(PACKED_PRECISION);
    let slots = ctx
        .encrypt_packed(Numbers::Floats(&features[..INPUTS]), INPUTS, &options)?
        .layout()
        .slots();
    let packed_samples = samples * slots;
    let features = floats(packed_samples * INPUTS, 1.0);
    let x = ctx.encrypt_packed(Numbers::Floats(&features), INPUTS, &options)?;
    let model = model.with_precision(Some(PACKED_PRECISION));
    let packed = time(&mut || model.infer_packed(backend, &x).map(drop))?;
    timings.push((packed, packed_samples));
    Ok(timings)
}
