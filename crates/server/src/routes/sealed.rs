//! `POST /v1/sealed_pages/{org}` (ours, beside the XTrace API): the pages of sealed vectors of a
//! knowledge base under one context, those of the partition tokens or chunks named, or all of
//! them, as one binary answer (the pages' wire forms one after another, `application/octet-stream`).
//! Read permission on the knowledge base, the context usable in it: the keys that may run
//! compute_hamming over it. [`crate::service::sealed`] does the work.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::header::{HeaderName, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use super::cancellable::work_slot;
use super::context_access;
use super::{blocking, Caller, JsonBody};
use crate::api_error::ApiResult;
use crate::auth::permission;
use crate::service::sealed;
use crate::state::AppState;
use paillier_gpu_api::{SealedPages, SEALED_PAGES_TYPE};

/// The W3C `Server-Timing` header (not among the http crate's names).
const SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");

/// POST /v1/sealed_pages/{org}: [`SealedPages`] → the pages, binary.
pub async fn read(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<SealedPages>,
) -> ApiResult<Response> {
    // Held until the answer is made: the pages are memory until then.
    let _slot = work_slot(&state).await?;
    let started = Instant::now();
    let pages = blocking(move || {
        let grant = caller.kb_access(&state, &body.kb_id, permission::READ)?;
        context_access::usable_in_kb(&state, &caller, &grant, &body.context_id)?;
        Ok(sealed::read(&state, &body)?)
    })
    .await?;
    // The service's share of a search, for the owner's figures (`--stats`).
    let timing = format!("app;dur={:.3}", started.elapsed().as_secs_f64() * 1000.0);
    let headers = [
        (CONTENT_TYPE, SEALED_PAGES_TYPE.to_owned()),
        (SERVER_TIMING, timing),
    ];
    Ok((headers, pages).into_response())
}
