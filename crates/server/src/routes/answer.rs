//! A JSON answer serialised where it is made: on the blocking pool, inside the handler's
//! work, so that formatting a large answer never holds one of the async workers that every
//! other request (and `/healthz`) needs.

use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use crate::api_error::{ApiError, ApiResult};

/// A JSON body, already serialised.
pub struct Answer(Vec<u8>);

impl Answer {
    /// Serialises `value` now.
    pub fn json(value: Value) -> Self {
        Self(value.to_string().into_bytes())
    }

    /// Serialises one of the API's answer types (`paillier_gpu_api`) now.
    pub fn of<T: Serialize>(value: &T) -> ApiResult<Self> {
        serde_json::to_vec(value)
            .map(Self)
            .map_err(|e| ApiError::Answer(format!("the answer does not serialise: {e}")))
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        ([(CONTENT_TYPE, "application/json")], self.0).into_response()
    }
}
