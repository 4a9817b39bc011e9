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

    /// The service refused a write of the owner's digest (alone, or with records): the digest
    /// stored is at another version than the one the write expected, or the knowledge base's
    /// next chunk id is not the write's first. Nothing was written; read both again and retry.
    #[error(
        "the owner's digest on the service is at version {current_version} and the knowledge \
         base's next chunk id is {next_chunk_id}, not what this write expected; nothing was \
         written"
    )]
    DigestConflict {
        /// The digest's version stored (0: none).
        current_version: i64,
        /// The id the knowledge base's next inserted chunk will get.
        next_chunk_id: i64,
    },

    /// The service could not be reached, or its answer could not be read.
    #[error("the service at {url}: {detail}")]
    RemoteUnreachable {
        /// The address asked.
        url: String,
        /// What went wrong.
        detail: String,
    },

    /// A setting of the client itself is wrong (its URL, its CA certificate).
    #[error("invalid client setting: {0}")]
    InvalidSetting(String),

    /// A verifiable-records operation on a client that was not told where to keep the digest
    /// versions its owner has seen: call [`Client::with_state_dir`] or
    /// [`Client::with_state_in_memory`] first.
    ///
    /// [`Client::with_state_dir`]: crate::Client::with_state_dir
    /// [`Client::with_state_in_memory`]: crate::Client::with_state_in_memory
    #[error(
        "verifiable records need to know where this owner keeps the digest versions it has \
         seen: `with_state_dir(StateDir::new(folder))` keeps them across runs and processes \
         (the CLI's $PAILLIER_GPU_STATE_DIR), `with_state_in_memory()` only for this client's \
         life, in which case a rollback behind a version seen by an earlier run goes unseen"
    )]
    NoOwnerState,

    /// The library refused what the client was given or fetched (a context that does not open
    /// or was altered, ciphertexts of another key, answers of the wrong shape).
    #[error(transparent)]
    Library(#[from] paillier_gpu::Error),
}

/// `Result` with the client's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
