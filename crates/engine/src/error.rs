//! The engine's error type: what a batched operation can refuse or fail with.

/// Everything that can go wrong in the engine, with variants a caller can match on.
///
/// The `paillier-gpu` crate turns each into its own error variant of the same name and message
/// (exhaustively: a variant added here must be given its twin there).
/// Messages never contain secret material.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter is out of its valid range (a modulus, a width, a batch shape, an operand).
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),

    /// A selection of resident items names items the batch does not hold.
    #[error("invalid record selection: {0}")]
    InvalidSelection(String),

    /// A GPU was asked for and none can be used.
    #[error("GPU unavailable: {0}")]
    GpuUnavailable(String),

    /// The GPU failed during a call (validation error, lost device, a spot check that
    /// disagreed): the call returns no result rather than a possibly wrong one.
    #[error("GPU failure: {0}")]
    GpuFailure(String),
}

/// `Result` with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
