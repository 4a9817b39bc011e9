//! The service's errors: what a caller of the service (a route, a test) can match on, free of
//! HTTP. `api_error.rs` chooses each kind's status, in one exhaustive match.

use crate::error::Error;

/// Why the service refused or failed a request.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request names something that is not there, or that its caller may not see (another
    /// organisation's knowledge base, a context the caller may not read): the same answer, so
    /// that ids cannot be probed.
    #[error("{0}")]
    NotFound(String),

    /// The request carries no key, or one that is unknown or revoked.
    #[error("{0}")]
    Unauthenticated(String),

    /// The caller is known but lacks the permission the request needs.
    #[error("{0}")]
    Forbidden(String),

    /// The request contradicts what is stored (another context under an id, a chunk stored
    /// under another context, a key prefix that keeps clashing).
    #[error("{0}")]
    Conflict(String),

    /// A write of the owner's digest found another version stored, or the knowledge base's
    /// next chunk id other than the write's first: nothing was written. The answer carries both,
    /// for the writer to read again from.
    #[error(
        "the owner's digest is at version {current_version} and the knowledge base's next chunk \
         id is {next_chunk_id}, not what this write expected; nothing was written (read both \
         again and retry)"
    )]
    DigestConflict {
        /// The digest's version stored (0: none).
        current_version: i64,
        /// The id the knowledge base's next inserted chunk will get.
        next_chunk_id: i64,
    },

    /// A value the request sent is larger than the server takes (metadata, an insert's chunks).
    #[error("{0}")]
    TooLarge(String),

    /// The server cannot do it now (an index being rebuilt, every work slot taken); the same
    /// request may succeed later.
    #[error("{0}")]
    Unavailable(String),

    /// The request is malformed or holds a value the API refuses; the message names it.
    #[error("{0}")]
    BadInput(String),

    /// The client closed its request before the work for it was done.
    #[error("the client closed the request")]
    ClientGone,

    /// The server's own parts failed or refused: its store, its files, its settings.
    #[error(transparent)]
    Server(Error),

    /// The library refused or failed: a ciphertext or context a client sent, a GPU gone.
    #[error(transparent)]
    Library(paillier_gpu::Error),

    /// Another of these errors, met during a named step of the work (its message says which).
    #[error("{step}: {source}")]
    During {
        /// The step, as the message names it.
        step: &'static str,
        /// What went wrong in it.
        source: Box<ServiceError>,
    },
}

impl ServiceError {
    /// [`ServiceError::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    /// [`ServiceError::Unauthenticated`].
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::Unauthenticated(message.into())
    }

    /// [`ServiceError::Forbidden`].
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    /// [`ServiceError::Conflict`].
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }

    /// [`ServiceError::TooLarge`].
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::TooLarge(message.into())
    }

    /// [`ServiceError::Unavailable`].
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::Unavailable(message.into())
    }

    /// [`ServiceError::BadInput`].
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::BadInput(message.into())
    }
}

impl ServiceError {
    /// This error, met during `step`.
    pub fn during(self, step: &'static str) -> Self {
        Self::During {
            step,
            source: Box::new(self),
        }
    }
}

impl From<Error> for ServiceError {
    /// The server's error, its library and client-gone cases kept as the service's own kinds.
    fn from(error: Error) -> Self {
        match error {
            Error::Library(library) => Self::Library(library),
            Error::ClientGone => Self::ClientGone,
            other => Self::Server(other),
        }
    }
}

impl From<paillier_gpu::Error> for ServiceError {
    fn from(error: paillier_gpu::Error) -> Self {
        Self::Library(error)
    }
}

/// `Result` with the service's [`ServiceError`].
pub type ServiceResult<T> = std::result::Result<T, ServiceError>;
