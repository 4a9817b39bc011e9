//! Every answer that is not a success: a status and one JSON object with a `message`. A client's
//! mistake is a 4xx (the SDK retries a 5xx); only a failure of the server itself is a 5xx.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::error::Error;
use paillier_gpu::Error as LibraryError;

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
    /// Each error's status, decided one by one: a client's mistake is a 4xx, the server's own
    /// failure a 5xx (503 when the same request may succeed later). No catch-all: a new variant
    /// does not compile until its status is chosen here.
    fn from(error: Error) -> Self {
        let status = match &error {
            Error::Store(_)
            | Error::Io { .. }
            | Error::Listen { .. }
            | Error::InvalidSetting(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Error::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::RefusedValue(_) => StatusCode::BAD_REQUEST,
            Error::ClientGone => CLIENT_CLOSED_REQUEST,
            Error::Library(library) => library_status(library),
        };
        if status.is_server_error() {
            log::error!("{error}");
        }
        Self::new(status, error.to_string())
    }
}

impl From<LibraryError> for ApiError {
    fn from(error: LibraryError) -> Self {
        Error::Library(error).into()
    }
}

/// Nobody reads it (the client has gone); nginx's number for the case, so logs say what it was.
const CLIENT_CLOSED_REQUEST: StatusCode = match StatusCode::from_u16(499) {
    Ok(status) => status,
    Err(_) => StatusCode::BAD_REQUEST,
};

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
        | LibraryError::InvalidSelection(_) => StatusCode::BAD_REQUEST,
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
        | LibraryError::KeyProvider(_) => StatusCode::INTERNAL_SERVER_ERROR,
        // The owner's checks of the service's answers and tokens of private metadata: the
        // server runs neither.
        LibraryError::AnswerRejected(_) | LibraryError::PrivateMetadata(_) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
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
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "message": self.message }))).into_response()
    }
}

/// What a handler returns.
pub type ApiResult<T> = std::result::Result<T, ApiError>;
