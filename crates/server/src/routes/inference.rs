//! The FHE service's inference call, `POST /v1/ml-zk/fhe/inference`, with `scheme: "paillier"`:
//! a linear model (`{"weights": [[...] per output], "biases": [...]}`) on samples that are either
//! encrypted by the caller (`input_data` as the base64 of an encrypted-numbers file) or plain
//! (`input_data` as numbers, encrypted here under the stored context's public key). The answer's
//! `encrypted_result` is the base64 of an encrypted-numbers file only the key's owner can read.
//! The work is [`service::inference`](crate::service::inference)'s.

use std::sync::Arc;

use axum::extract::State;
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::answer::Answer;
use super::cancellable::{cancellable, work_slot};
use super::context_access;
use super::{Caller, JsonBody};
use crate::api_error::ApiResult;
use crate::cancel::Cancel;
use crate::service::inference;
use crate::service::ServiceError;
use crate::state::AppState;

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
    cancellable(state.metrics.abandoned_counter(), move |cancel| {
        run(&state, &caller, body, cancel)
    })
    .await
}

fn run(
    state: &AppState,
    caller: &Caller,
    body: InferenceBody,
    cancel: &Cancel,
) -> ApiResult<Answer> {
    if !body.scheme.eq_ignore_ascii_case("paillier") {
        return Err(ServiceError::bad_input(format!(
            "scheme {:?}: this server runs \"paillier\" only",
            body.scheme
        ))
        .into());
    }
    // Running under a context is reading it (its creator, the admin, its knowledge bases'
    // readers): a key without access cannot spend the server's time under another's context.
    let stored = context_access::readable(state, caller, &body.context_id)?;
    let inferred = inference::infer(
        state,
        &stored,
        &inference::Request {
            model: &body.model,
            input: &body.input_data,
            precision: body.precision,
        },
        cancel,
    )?;
    Ok(Answer::json(json!({
        "scheme": "paillier",
        "context_id": body.context_id,
        "encrypted_result": base64::engine::general_purpose::STANDARD.encode(inferred.encrypted),
        "result_shape": inferred.shape,
        "computation_time_ms": inferred.elapsed.as_secs_f64() * 1e3,
    })))
}
