//! The program's errors: the library's, the client's and the server's, shown with the
//! program's own wording, and what only the program runs into (its arguments, its runtime).

use std::path::PathBuf;

/// What made a command fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The library refused or failed.
    #[error("{}", library_message(.0))]
    Library(#[from] paillier_gpu::Error),

    /// Talking to an XTrace service failed.
    #[error(transparent)]
    Client(#[from] paillier_gpu_client::Error),

    /// The server failed (its store, its settings, its listeners).
    #[error(transparent)]
    Server(#[from] paillier_gpu_server::Error),

    /// An argument, an environment variable or an input file of the command is wrong.
    #[error("{0}")]
    Usage(String),

    /// An upload failed part of the way: what was stored before the failure.
    #[error("{source} (the first {uploaded} vectors were uploaded, ids {first} to {last})")]
    PartialUpload {
        /// What failed.
        source: paillier_gpu_client::Error,
        /// Vectors stored before it.
        uploaded: usize,
        /// The first chunk id they were given.
        first: i64,
        /// The last chunk id they were given.
        last: i64,
    },

    /// The server's asynchronous runtime could not start.
    #[error("cannot start the server's runtime: {0}")]
    Runtime(std::io::Error),

    /// Reading or writing a file or a stream failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or stream.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// `Result` with the program's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The library's message, with the flag that changes the outcome where there is one.
fn library_message(error: &paillier_gpu::Error) -> String {
    match error.innermost() {
        paillier_gpu::Error::WouldOverwrite(_) => format!("{error} (pass --force to replace it)"),
        _ => error.to_string(),
    }
}
