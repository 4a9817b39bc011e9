//! The client's errors: the service's answer, a service that cannot be reached or read, and the
//! library's own (a context that does not open, vectors of the wrong shape).

/// What went wrong talking to an XTrace service.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The service answered a request with an error: its status and the message it gave.
    #[error("the service answered {status}: {message}")]
    Remote {
        /// The HTTP status.
        status: u16,
        /// The service's message (its JSON `message` or `error`, or the body).
        message: String,
    },

    /// The service could not be reached, or its answer could not be read.
    #[error("the service at {url}: {detail}")]
    RemoteUnreachable {
        /// The address asked.
        url: String,
        /// What went wrong.
        detail: String,
    },

    /// The owner's digest moved on since it was read (another writer): nothing was written.
    #[error("the owner's digest is at version {current_version} now (another writer): nothing was written")]
    DigestConflict {
        /// The version stored now.
        current_version: i64,
        /// The id the next inserted chunk gets.
        next_chunk_id: i64,
    },

    /// A setting of the client itself is wrong (its URL, its CA certificate).
    #[error("invalid client setting: {0}")]
    InvalidSetting(String),

    /// The library refused what the client was given or fetched (a context that does not open
    /// or was altered, ciphertexts of another key, answers of the wrong shape).
    #[error(transparent)]
    Library(#[from] paillier_gpu::Error),
}

/// `Result` with the client's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
