//! Every answer that is not a success: a status and one JSON object with a `message`. A client's
//! mistake is a 4xx (the SDK retries a 5xx); only a failure of the server itself is a 5xx.
//!
//! This is the one place a status is chosen: [`ApiError::status`] matches every kind of the
//! service's, the server's and the library's errors, with no catch-all, and
//! [`ApiError::into_response`](IntoResponse::into_response) logs each 5xx, once, with its cause.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::error::Error;
use crate::service::ServiceError;
use paillier_gpu::Error as LibraryError;

/// An error answer.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// What the service refused or failed at.
    #[error(transparent)]
    Service(#[from] ServiceError),

    /// The request's body was not all sent within the server's body timeout.
    #[error("the request body was not all sent within {0:?}")]
    BodyTimeout(Duration),

    /// axum refused the request before its handler ran (a body over the limit, a method not
    /// allowed, a malformed path); the status is the one axum gives such a refusal.
    #[error("{message}")]
    Rejected {
        /// axum's status for the refusal.
        status: StatusCode,
        /// What axum said.
        message: String,
    },

    /// Writing the answer failed on the server's side (it does not serialise, a header is
    /// invalid), or the metrics could not be rendered.
    #[error("{0}")]
    Answer(String),

    /// A handler panicked; the message is the panic's.
    #[error("a handler failed: {0}")]
    Panicked(String),
}

impl ApiError {
    /// A refusal axum made, with its own status (what a rejection or a non-JSON answer holds).
    pub fn rejected(status: StatusCode, message: impl Into<String>) -> Self {
        Self::Rejected {
            status,
            message: message.into(),
        }
    }

    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Service(error) => service_status(error),
            ApiError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Rejected { status, .. } => *status,
            ApiError::Answer(_) | ApiError::Panicked(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError::Service(error.into())
    }
}

impl From<LibraryError> for ApiError {
    fn from(error: LibraryError) -> Self {
        ApiError::Service(error.into())
    }
}

/// Nobody reads it (the client has gone); nginx's number for the case, so logs say what it was.
const CLIENT_CLOSED_REQUEST: StatusCode = match StatusCode::from_u16(499) {
    Ok(status) => status,
    Err(_) => StatusCode::BAD_REQUEST,
};

/// The status of each kind of the service's errors.
fn service_status(error: &ServiceError) -> StatusCode {
    match error {
        ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
        ServiceError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
        ServiceError::Conflict(_) | ServiceError::DigestConflict { .. } => StatusCode::CONFLICT,
        ServiceError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        ServiceError::BadInput(_) => StatusCode::BAD_REQUEST,
        ServiceError::ClientGone => CLIENT_CLOSED_REQUEST,
        ServiceError::Server(server) => server_status(server),
        ServiceError::Library(library) => library_status(library),
        ServiceError::During { source, .. } => service_status(source),
    }
}

/// The status of each of the server's own errors: a client's mistake is a 4xx, the server's own
/// failure a 5xx (503 when the same request may succeed later).
fn server_status(error: &Error) -> StatusCode {
    match error {
        Error::Store(_) | Error::Io { .. } | Error::Listen { .. } | Error::InvalidSetting(_) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        Error::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::RefusedValue(_) => StatusCode::BAD_REQUEST,
        Error::SharedPage(_) => StatusCode::CONFLICT,
        Error::ClientGone => CLIENT_CLOSED_REQUEST,
        Error::Library(library) => library_status(library),
    }
}

/// The status of a library error a request ran into.
fn library_status(error: &LibraryError) -> StatusCode {
    match error {
        // What the client sent: parameters, vectors, ciphertexts, contexts, numbers, models.
        LibraryError::InvalidParameter(_)
        | LibraryError::InsecureParameters(_)
        | LibraryError::VectorLength { .. }
        | LibraryError::NonBinaryValue { .. }
        | LibraryError::BadVector { .. }
        | LibraryError::InvalidCiphertext { .. }
        | LibraryError::InvalidResponse { .. }
        | LibraryError::KeyMismatch { .. }
        | LibraryError::PlaintextOutOfRange(_)
        | LibraryError::InvalidNumber { .. }
        | LibraryError::NumberOverflow(_)
        | LibraryError::ShapeMismatch(_)
        | LibraryError::MalformedContext(_)
        | LibraryError::UnknownContextType(_)
        | LibraryError::MalformedFile { .. }
        | LibraryError::InvalidSelection(_)
        | LibraryError::SealedVectors(_) => StatusCode::BAD_REQUEST,
        // The device the server aggregates on is gone or failed: another try may find it back
        // (or the CPU, under auto).
        LibraryError::GpuUnavailable(_) | LibraryError::GpuFailure(_) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        // The server never holds a secret key or a passphrase, so none of these comes from a
        // request; were one to, it is the server's fault.
        LibraryError::SecretKeyAuthentication
        | LibraryError::WrongKey
        | LibraryError::SecretKeyTampered
        | LibraryError::ContextAltered { .. }
        | LibraryError::ContentAuthentication
        | LibraryError::NewerFormat(_)
        | LibraryError::KeyProvider(_) => StatusCode::INTERNAL_SERVER_ERROR,
        // The owner's checks of the service's answers, tokens of private metadata and the
        // owner's writes of several steps: the server runs none of them.
        LibraryError::AnswerRejected(_)
        | LibraryError::PrivateMetadata(_)
        | LibraryError::ConcurrentWrite(_)
        | LibraryError::Remote { .. }
        | LibraryError::Unreachable { .. }
        | LibraryError::OwnerState(_) => StatusCode::INTERNAL_SERVER_ERROR,
        // The server's own files (a backup's output, the store's folder).
        LibraryError::WouldOverwrite(_)
        | LibraryError::OutputIsInput { .. }
        | LibraryError::UnsupportedOutput { .. }
        | LibraryError::OutputBusy { .. }
        | LibraryError::OutputChanged { .. }
        | LibraryError::MissingFolder(_)
        | LibraryError::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        LibraryError::InFile { source, .. } => library_status(source),
    }
}

impl IntoResponse for ApiError {
    /// The status and `{"message": …}`; a 5xx is logged here, the one place every error answer
    /// passes, so each is logged exactly once: a 503 (what may pass: a full work queue, the
    /// store or the GPU away) as a warning, so that an overload does not read as failures.
    fn into_response(self) -> Response {
        let status = self.status();
        let message = self.to_string();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            log::warn!("{} answered: {message}", status.as_u16());
        } else if status.is_server_error() {
            log::error!("{} answered: {message}", status.as_u16());
        }
        let mut body = json!({ "message": message });
        if let ApiError::Service(error) = &self {
            if let Some((current_version, next_chunk_id)) = digest_conflict(error) {
                body["current_version"] = json!(current_version);
                body["next_chunk_id"] = json!(next_chunk_id);
            }
        }
        (status, Json(body)).into_response()
    }
}

/// `(current_version, next_chunk_id)` of a digest conflict, which its answer carries beside
/// the message so that the writer can read again from there.
fn digest_conflict(error: &ServiceError) -> Option<(i64, i64)> {
    match error {
        ServiceError::DigestConflict {
            current_version,
            next_chunk_id,
        } => Some((*current_version, *next_chunk_id)),
        ServiceError::During { source, .. } => digest_conflict(source),
        _ => None,
    }
}

/// What a handler returns.
pub type ApiResult<T> = std::result::Result<T, ApiError>;

#[cfg(test)]
#[path = "api_error_tests.rs"]
mod tests;
