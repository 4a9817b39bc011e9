//! Inference: a linear model (`{"weights": [[...] per output], "biases": [...]}`) on samples
//! that are either encrypted by the caller (the base64 of an encrypted-numbers file) or plain
//! (numbers, encrypted here under the context's public key), after the route has checked that
//! the caller may read the context. The result is an encrypted-numbers file only the key's
//! owner can read.

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::value::RawValue;

use crate::cancel::Cancel;
use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::StoredContext;
use paillier_gpu::context::PublicContext;
use paillier_gpu::formats::model::parse_model;
use paillier_gpu::formats::numbers::{
    decode_encrypted_numbers, encode_encrypted_numbers, read_json_numbers,
};
use paillier_gpu::numbers::{EncryptedArray, WeightRows};

/// The most plain numbers one request encrypts (each an encryption, about a millisecond of
/// one core at key_len 1024).
pub const MAX_PLAIN_INPUTS: usize = 1 << 12;
/// The most ciphertext products one request runs (samples × inputs × outputs): each raises a
/// ciphertext to a weight, up to a full-width exponent for a negative one (milliseconds of one
/// core at key_len 1024), so this bounds a request to about a minute of the server's cores.
pub const MAX_PRODUCTS: usize = 1 << 16;

/// What an inference request asks, as sent (JSON).
pub struct Request<'a> {
    /// `{"weights": [[...] per output], "biases": [...]}`.
    pub model: &'a RawValue,
    /// The base64 of an encrypted-numbers file, or plain numbers.
    pub input: &'a RawValue,
    /// python-paillier's `precision` for the weights; their shortest exact exponent without it.
    pub precision: Option<f64>,
}

/// The encrypted result of an inference.
pub struct Inferred {
    /// The result, as an encrypted-numbers file.
    pub encrypted: Vec<u8>,
    /// Its shape.
    pub shape: Vec<usize>,
    /// How long the encryption of the input and the inference took.
    pub elapsed: Duration,
}

/// The model of `request` on its samples, under the context `stored`.
pub fn infer(
    state: &AppState,
    stored: &StoredContext,
    request: &Request<'_>,
    cancel: &Cancel,
) -> ServiceResult<Inferred> {
    let context = state.open_fresh(&stored.data)?;
    let backend = context.backend()?.clone();
    let started = Instant::now();
    let input = encrypted_input(&context, request.input)?;
    let features = input.shape().last().copied().unwrap_or(1);
    let model = parse_model(
        request.model.get().as_bytes(),
        WeightRows::PerOutput,
        Some(features),
    )
    .map_err(|e| ServiceError::bad_input(format!("model: {e}")))?
    .with_precision(request.precision);
    let samples = input.len() / features.max(1);
    if samples
        .saturating_mul(features)
        .saturating_mul(model.outputs())
        > MAX_PRODUCTS
    {
        return Err(ServiceError::bad_input(format!(
            "{samples} samples × {features} inputs × {} outputs is more than {MAX_PRODUCTS} \
             products in one request; send fewer samples at a time",
            model.outputs()
        )));
    }
    cancel.check()?;
    let result = model
        .infer(backend.as_ref(), &input)
        .map_err(|e| ServiceError::from(e).during("inference"))?;
    let elapsed = started.elapsed();
    Ok(Inferred {
        encrypted: encode_encrypted_numbers(&result)?,
        shape: result.shape().to_vec(),
        elapsed,
    })
}

/// The samples, encrypted: the caller's own ciphertexts (checked against the context's key), or
/// plain numbers encrypted here.
fn encrypted_input(context: &PublicContext, input: &RawValue) -> ServiceResult<EncryptedArray> {
    let public_key = context.public_key();
    if let Ok(encoded) = serde_json::from_str::<String>(input.get()) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| {
                ServiceError::bad_input(format!(
                    "input_data: a string is the base64 of an encrypted-numbers file: {e}"
                ))
            })?;
        let length = bytes.len() as u64;
        return decode_encrypted_numbers(bytes.as_slice(), Some(length), public_key)
            .map_err(|e| ServiceError::bad_input(format!("input_data: {e}")));
    }
    let plain = read_json_numbers(input.get().as_bytes())
        .map_err(|e| ServiceError::bad_input(format!("input_data: {e}")))?;
    let count = plain.numbers().len();
    if count > MAX_PLAIN_INPUTS {
        return Err(ServiceError::bad_input(format!(
            "input_data holds {count} numbers; at most {MAX_PLAIN_INPUTS} are encrypted per \
             request (encrypt larger inputs yourself and send them as an encrypted-numbers file)"
        )));
    }
    EncryptedArray::encrypt(
        public_key,
        context.backend()?.as_ref(),
        plain.numbers(),
        plain.shape.clone(),
        None,
    )
    .map_err(|e| ServiceError::bad_input(format!("input_data: {e}")))
}
