//! The routes: the data plane under `/v1/…/{org_id}` (header `x-api-key`), the admin plane under
//! `/api/v1/…` (headers `x-xtrace-key` and `x-xtrace-org-id`), and `/healthz`; `/metrics` is on
//! a router of its own, served on a separate listener.

mod admin;
mod answer;
mod callers;
mod cancellable;
mod chunk_edits;
mod chunks;
mod context_access;
mod contexts;
mod hamming;
mod hamming_answer;
mod inference;
mod meta;
mod owner_digest;
mod records;
mod sealed;
mod streamed;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, MatchedPath, Request, State};
use axum::http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::{Extension, Router};
use serde::de::DeserializeOwned;
use tower_http::catch_panic::CatchPanicLayer;

pub use callers::{Admin, Caller};

use super::state::AppState;
use crate::api_error::{ApiError, ApiResult};
use crate::service::ServiceError;

/// How long a handler waits for a request's body ([`JsonBody`]); an extension of every request.
#[derive(Clone, Copy, Debug)]
pub struct BodyTimeout(pub Duration);

/// Every route of the API, reading bodies within `body_timeout`.
pub fn router(state: Arc<AppState>, body_timeout: Duration) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/v1/chunk/{org}",
            post(chunks::insert)
                .get(chunks::get_by_id)
                .put(chunk_edits::update)
                .patch(chunk_edits::patch)
                .delete(chunks::delete_by_id),
        )
        .route("/v1/chunk/meta/{org}", post(meta::search))
        .route("/v1/chunk/meta/page/{org}", post(meta::search_page))
        .route(
            "/v1/chunk/by-meta/{org}",
            delete(meta::delete_by_meta).patch(meta::patch_by_meta),
        )
        .route("/v1/compute_hamming/{org}", post(hamming::compute))
        .route(
            "/v1/exec_context/{org}",
            post(contexts::store).get(contexts::list),
        )
        .route(
            "/v1/exec_context/{org}/{id}",
            get(contexts::get).delete(contexts::delete),
        )
        .route("/v1/exec_context/{org}/{kb}/context", get(contexts::of_kb))
        .route("/v1/exec_context/{org}/{ctx}/kb", get(contexts::kbs_of))
        .route(
            "/v1/exec_context/{org}/{kb}/bind/{ctx}",
            post(contexts::bind),
        )
        .route(
            "/v1/owner_digest/{org}/{kb}/{context_id}",
            get(owner_digest::get).put(owner_digest::put),
        )
        .route("/v1/records/{org}", post(records::write))
        .route("/v1/sealed_pages/{org}", post(sealed::read))
        .route("/v1/ml-zk/fhe/inference", post(inference::infer))
        .route("/v1/ml-zk/fhe/inference/{org}", post(inference::infer))
        .route("/api/v1/kbs", get(admin::list_kbs).post(admin::create_kb))
        .route(
            "/api/v1/kbs/{kb}",
            get(admin::get_kb).delete(admin::delete_kb),
        )
        .route(
            "/api/v1/keys",
            get(admin::list_keys).post(admin::create_key),
        )
        .route("/api/v1/keys/{hash}/permissions", get(admin::permissions))
        .route(
            "/api/v1/keys/{hash}/permissions/{kb}",
            put(admin::set_permission),
        )
        .route(
            "/api/v1/keys/{hash}/status/revoke",
            patch(admin::revoke_key),
        )
        .fallback(|| async { ApiError::from(ServiceError::not_found("no such route")) })
        .layer(DefaultBodyLimit::max(state.max_body_bytes))
        .layer(axum::middleware::from_fn(json_errors))
        // Inside `observe`, so that a panic's 500 is counted; its answer is already JSON.
        .layer(CatchPanicLayer::custom(panicked))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .layer(Extension(BodyTimeout(body_timeout)))
        // Outermost, so that it sees the answer `json_errors` rebuilt.
        .layer(axum::middleware::from_fn(close_after_unread_bodies))
        .with_state(state)
}

/// The operations' routes, `/metrics` and `/healthz`, for the metrics listener.
pub fn operations_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .fallback(|| async {
            ApiError::from(ServiceError::not_found(
                "no such route (here: /metrics, /healthz)",
            ))
        })
        .layer(axum::middleware::from_fn(json_errors))
        .with_state(state)
}

/// Adds `Connection: close` to every error answer to a request that carried a body. Such an
/// answer may leave the body unread (an extractor refused the request first), and hyper then
/// closes the connection after answering; saying so lets a keep-alive client send its next
/// request on a new connection instead of losing it on this one.
async fn close_after_unread_bodies(request: Request, next: Next) -> Response {
    let had_body = carries_body(request.headers());
    let mut response = next.run(request).await;
    if had_body && !response.status().is_success() {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Whether a request's head announces a body: a Content-Length above zero, or any
/// Transfer-Encoding (hyper accepts only chunked as the last one).
fn carries_body(headers: &HeaderMap) -> bool {
    let length = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    length.is_some_and(|n| n > 0) || headers.contains_key(TRANSFER_ENCODING)
}

/// Counts every request by its method (one of a fixed few, or `other`), its route's pattern
/// (never its ids) and status.
async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |path| path.as_str())
        .to_owned();
    let response = next.run(request).await;
    state.metrics.observe(
        method.as_str(),
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// GET /metrics.
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let device = format!("{:?}", state.device).to_lowercase();
    match state.metrics.render(&device, state.indexes.stats()) {
        Ok(text) => ([(CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response(),
        Err(_) => ApiError::Answer("could not write the metrics".to_owned()).into_response(),
    }
}

/// Every error answer as one JSON object with a message, axum's own rejections (a body over
/// the limit, a method not allowed, a bad path) included.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
    if response.status().is_success() || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 10)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
    let message = if text.is_empty() {
        parts
            .status
            .canonical_reason()
            .unwrap_or("error")
            .to_owned()
    } else {
        text
    };
    ApiError::rejected(parts.status, message).into_response()
}

/// A JSON request body, read within the server's limits of size and time; a malformed, too
/// deep or oversized one is a 4xx with a message, and one not all sent within the body timeout a
/// 408 that closes the connection.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let timeout = request
            .extensions()
            .get::<BodyTimeout>()
            // The router always installs one; the default only if some day it does not.
            .map_or(crate::DEFAULT_BODY_TIMEOUT, |t| t.0);
        let bytes = match tokio::time::timeout(timeout, Bytes::from_request(request, state)).await {
            Ok(read) => {
                read.map_err(|e| ApiError::rejected(e.status(), e.body_text()).into_response())?
            }
            Err(_) => {
                let mut response = ApiError::BodyTimeout(timeout).into_response();
                // The rest of the body may still come: this connection cannot carry another request.
                response
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
                return Err(response);
            }
        };
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            ApiError::from(ServiceError::bad_input(format!("request body: {e}"))).into_response()
        })
    }
}

/// A panicking handler's answer: a 500, logged with the panic's message.
fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Panicked(panic_text(panic.as_ref())).into_response()
}

/// What a panic said, when it said it with a string.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// The message of a blocking task that did not finish: its panic's, or that it was cancelled.
fn panic_message(error: tokio::task::JoinError) -> String {
    match error.try_into_panic() {
        Ok(panic) => panic_text(panic.as_ref()),
        Err(error) => error.to_string(),
    }
}

/// Runs `work` on the blocking pool: the store and the arithmetic are synchronous.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Panicked(panic_message(e)))?
}

#[cfg(test)]
mod panic_tests;
