//! The FHE service's inference call, `POST /v1/ml-zk/fhe/inference`, with `scheme: "paillier"`:
//! a linear model (`{"weights": [[...] per output], "biases": [...]}`) on samples that are either
//! encrypted by the caller (`input_data` as the base64 of an encrypted-numbers file) or plain
//! (`input_data` as numbers, encrypted here under the stored context's public key). The answer's
//! `encrypted_result` is the base64 of an encrypted-numbers file only the key's owner can read.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::answer::Answer;
use super::cancellable::{cancellable, work_slot};
use super::context_access;
use super::{Caller, JsonBody};
use crate::api_error::{ApiError, ApiResult};
use crate::cancel::Cancel;
use crate::state::AppState;
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

#[derive(Deserialize)]
pub struct InferenceBody {
    scheme: String,
    context_id: String,
    model: Box<RawValue>,
    input_data: Box<RawValue>,
    /// python-paillier's `precision` for the weights; their shortest exact exponent without it.
    #[serde(default)]
    precision: Option<f64>,
}

/// POST /v1/ml-zk/fhe/inference (the organisation is the API key's) and
/// /v1/ml-zk/fhe/inference/{org}.
pub async fn infer(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<InferenceBody>,
) -> ApiResult<Answer> {
    let _slot = work_slot(&state).await?;
    cancellable(move |cancel| run(&state, &caller, body, cancel)).await
}

fn run(
    state: &AppState,
    caller: &Caller,
    body: InferenceBody,
    cancel: &Cancel,
) -> ApiResult<Answer> {
    if !body.scheme.eq_ignore_ascii_case("paillier") {
        return Err(ApiError::bad_request(format!(
            "scheme {:?}: this server runs \"paillier\" only",
            body.scheme
        )));
    }
    // Running under a context is reading it (its creator, the admin, its knowledge bases'
    // readers): a key without access cannot spend the server's time under another's context.
    let stored = context_access::readable(state, caller, &body.context_id)?;
    let context = state.open_fresh(&stored.data)?;
    let backend = context.backend()?.clone();
    let started = Instant::now();
    let input = encrypted_input(&context, &body.input_data)?;
    let features = input.shape().last().copied().unwrap_or(1);
    let model = parse_model(
        body.model.get().as_bytes(),
        WeightRows::PerOutput,
        Some(features),
    )
    .map_err(|e| ApiError::bad_request(format!("model: {e}")))?
    .with_precision(body.precision);
    let samples = input.len() / features.max(1);
    if samples
        .saturating_mul(features)
        .saturating_mul(model.outputs())
        > MAX_PRODUCTS
    {
        return Err(ApiError::bad_request(format!(
            "{samples} samples × {features} inputs × {} outputs is more than {MAX_PRODUCTS} \
             products in one request; send fewer samples at a time",
            model.outputs()
        )));
    }
    cancel.check()?;
    let result = model.infer(backend.as_ref(), &input).map_err(|e| {
        // A device failure stays the server's (5xx); the rest is about what was sent.
        let mut error = ApiError::from(e);
        error.message = format!("inference: {}", error.message);
        error
    })?;
    let elapsed = started.elapsed();
    let bytes = encode_encrypted_numbers(&result)?;
    Ok(Answer::json(json!({
        "scheme": "paillier",
        "context_id": body.context_id,
        "encrypted_result": base64::engine::general_purpose::STANDARD.encode(bytes),
        "result_shape": result.shape(),
        "computation_time_ms": elapsed.as_secs_f64() * 1e3,
    })))
}

/// The samples, encrypted: the caller's own ciphertexts (checked against the context's key), or
/// plain numbers encrypted here.
fn encrypted_input(
    context: &paillier_gpu::context::PublicContext,
    input: &RawValue,
) -> ApiResult<EncryptedArray> {
    let public_key = context.public_key();
    if let Ok(encoded) = serde_json::from_str::<String>(input.get()) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| {
                ApiError::bad_request(format!(
                    "input_data: a string is the base64 of an encrypted-numbers file: {e}"
                ))
            })?;
        let length = bytes.len() as u64;
        return decode_encrypted_numbers(bytes.as_slice(), Some(length), public_key)
            .map_err(|e| ApiError::bad_request(format!("input_data: {e}")));
    }
    let plain = read_json_numbers(input.get().as_bytes())
        .map_err(|e| ApiError::bad_request(format!("input_data: {e}")))?;
    let count = plain.numbers().len();
    if count > MAX_PLAIN_INPUTS {
        return Err(ApiError::bad_request(format!(
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
    .map_err(|e| ApiError::bad_request(format!("input_data: {e}")))
}
