//! The server's errors: its store, its own settings and listeners, and the library's errors
//! that a request runs into. `api_error.rs` maps each to an HTTP status.

use std::path::PathBuf;

/// What went wrong in the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store failed (the database could not be read or written).
    #[error("store: {0}")]
    Store(String),

    /// The store cannot be reached now (the database is down or restarting); the same request
    /// may succeed later.
    #[error("store unavailable: {0}")]
    StoreUnavailable(String),

    /// The store refused a value a client sent (PostgreSQL's NUL in a text, metadata that
    /// would grow past its bound).
    #[error("{0}")]
    RefusedValue(String),

    /// A write would take sealed vectors from chunks it does not touch: deleting or
    /// re-indexing a chunk drops its page, and the page's other chunks must go or be sealed
    /// again by the same write (the owner's client does it); nothing was written.
    #[error("{0}")]
    SharedPage(String),

    /// The client closed its request before the work for it was done.
    #[error("the client closed the request")]
    ClientGone,

    /// A setting the server was started with is wrong (the store's URL or folder, the TLS
    /// files, the organisation's name).
    #[error("{0}")]
    InvalidSetting(String),

    /// The server cannot listen on an address (taken, or not this machine's).
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address asked.
        address: String,
        /// The underlying error.
        source: std::io::Error,
    },

    /// Reading or writing one of the server's own files failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// The library refused or failed: a bad ciphertext or context a client sent, a GPU gone.
    #[error(transparent)]
    Library(#[from] paillier_gpu::Error),
}

impl Error {
    /// [`Error::Io`] on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// `Result` with the server's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
