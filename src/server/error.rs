//! Every answer that is not a success: a status and one JSON object with a `message`. A client's
//! mistake is a 4xx (the SDK retries a 5xx); only a failure of the server itself is a 5xx.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::error::Error;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
}

impl From<Error> for ApiError {
    /// The crate's errors: storage and I/O are the server's own failures; everything else
    /// (a bad ciphertext, a malformed context) is about what the client sent.
    fn from(error: Error) -> Self {
        let status = match &error {
            Error::Store(_) | Error::Io { .. } | Error::GpuFailure(_) | Error::Listen { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Error::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        if status.is_server_error() {
            log::error!("{error}");
        }
        Self::new(status, error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "message": self.message }))).into_response()
    }
}

/// What a handler returns.
pub type ApiResult<T> = std::result::Result<T, ApiError>;
