//! The crate's one error type.

mod messages;
mod rejection;

pub use rejection::{AnswerFailure, AnswerRejection, FailureKind};

use std::path::PathBuf;

use messages::bad_vector_message;

/// A [`KeyMismatch`](Error::KeyMismatch)'s holder when the context's key is the expected one.
pub(crate) const CONTEXT_HOLDS: &str = "the context holds";

/// Everything that can go wrong in paillier-gpu, with variants a caller can match on.
///
/// Messages never contain secret material.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter is out of its valid range (key length, embedding length, batch shape ...).
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),

    /// The parameters are valid but too weak for a new context without an explicit opt-in.
    #[error("insecure parameters: {0}")]
    InsecureParameters(String),

    /// A vector has the wrong number of dimensions.
    #[error("vector {index}: expected {expected} dimensions, found {found}")]
    VectorLength {
        /// Position of the vector in its batch or file (0-based).
        index: usize,
        /// The context's `embed_len`.
        expected: usize,
        /// What the vector has.
        found: usize,
    },

    /// A vector holds a value other than 0 or 1.
    #[error("vector {index}, dimension {position}: {value} is not 0 or 1")]
    NonBinaryValue {
        /// Position of the vector in its batch or file (0-based).
        index: usize,
        /// Dimension within the vector (0-based).
        position: usize,
        /// The offending value as written.
        value: String,
    },

    /// A vector in a file is bad ([`VectorLength`](Error::VectorLength) or
    /// [`NonBinaryValue`](Error::NonBinaryValue)): the error with the file and its line (JSON
    /// Lines) or row (`.npy`). The message counts from 1 throughout, as an editor does:
    /// `vectors.jsonl, line 4, value 2: 7 is not 0 or 1`.
    #[error("{}", bad_vector_message(path, unit, *number, source))]
    BadVector {
        /// The vector file.
        path: PathBuf,
        /// `line` or `row`.
        unit: &'static str,
        /// 1-based.
        number: usize,
        /// What is wrong with the vector.
        source: Box<Error>,
    },

    /// A ciphertext is not a valid element for this key (zero, not below n², shares a factor
    /// with n, wrong width or chunk count).
    #[error("ciphertext {index}: {reason}")]
    InvalidCiphertext {
        /// Position of the ciphertext (vector) in its batch or file (0-based).
        index: usize,
        /// What is wrong with it.
        reason: String,
    },

    /// A response (an aggregated ciphertext) is a valid ciphertext but cannot be the honest
    /// aggregate of two vectors under this context: it was made under another key, or a backend
    /// altered it. Decoding refuses it rather than print plausible distances.
    #[error("response {index}: {reason}")]
    InvalidResponse {
        /// Position of the response (vector) in its batch or file (0-based).
        index: usize,
        /// Which check it fails.
        reason: String,
    },

    /// A verified search's answer failed a check (a record forged, altered, duplicated,
    /// missing, replayed, foreign, or its content swapped): nothing of it is shown. The
    /// rejection lists each failure's kind and chunk ids.
    #[error("the service's answer fails verification, so none of it is shown: {0}")]
    AnswerRejected(AnswerRejection),

    /// Private metadata cannot carry a value, or answer a filter or a sort, on tokens.
    #[error("private metadata: {0}")]
    PrivateMetadata(String),

    /// Another writer changed a knowledge base while a write of several steps was under way
    /// (an upload placed in partitions that changed meanwhile): nothing more was written, and
    /// the message says how to go on.
    #[error("{0}")]
    ConcurrentWrite(String),

    /// Something made under one public key met another: a file or batch and the context, two
    /// arrays, a context and a key fingerprint the caller pinned. The message names both sides:
    /// `the ciphertext file r.ct was made under the key 5c4d…; ctx2.json holds e851…`.
    #[error("{what} {found}; {holder} {expected}")]
    KeyMismatch {
        /// What was checked, with its verb (`the ciphertext file db.ct was made under the key`).
        what: String,
        /// The fingerprint it carries.
        found: String,
        /// Who has the other key, with its verb (`the context holds`, or the pin's own wording).
        holder: String,
        /// The other key's fingerprint (or what is known of it).
        expected: String,
    },

    /// A plaintext is outside `[0, n)`.
    #[error("plaintext out of range: {0}")]
    PlaintextOutOfRange(String),

    /// A number cannot be encoded (NaN, an infinity, a magnitude beyond the key's `max_int`), or
    /// a decrypted number lies in the overflow band between `max_int` and `n − max_int`: an
    /// operation's result grew beyond what the key holds. Never a wrong number instead.
    #[error("number {index}: {reason}")]
    InvalidNumber {
        /// Position of the number in its array, row-major (0-based).
        index: usize,
        /// What is wrong with it.
        reason: String,
    },

    /// A decoded number does not fit the type asked for (an `f64`, an `i64`).
    #[error("number overflow: {0}")]
    NumberOverflow(String),

    /// Arrays, matrices or models whose shapes do not fit together.
    #[error("shape mismatch: {0}")]
    ShapeMismatch(String),

    /// An execution context (file, JSON or key material) is malformed or inconsistent.
    #[error("malformed execution context: {0}")]
    MalformedContext(String),

    /// The context's `type` is neither `PaillierClient` nor `PaillierLookupClient`.
    #[error("unknown context type {0:?} (expected PaillierClient or PaillierLookupClient)")]
    UnknownContextType(String),

    /// AES-GCM authentication of the secret key failed in a file without a key check (the SDK's
    /// files): a wrong passphrase (data key) and a modified `sk` cannot be told apart there.
    #[error("cannot decrypt the secret key: wrong passphrase or key, or the context file was tampered with")]
    SecretKeyAuthentication,

    /// The passphrase or data key does not match the context's `key_check`: wrong credentials.
    #[error("wrong passphrase or key for this context")]
    WrongKey,

    /// The data key is right (it matches `key_check`) but the encrypted `sk` fails
    /// authentication: the file was modified or damaged (in our authenticated format, a change
    /// to `pk`, `type` or `config` fails the same way).
    #[error("the context file was modified or damaged: its sealed secret key (with, in our format, its pk, type and config) fails authentication under the right key")]
    SecretKeyTampered,

    /// A context fetched from a service is not the one its owner stored under `context_id`: its
    /// public key does not match its secret key, or it opens as another context. Someone who
    /// could write to the service replaced it (with their own public key, say, so that what is
    /// encrypted under it would be theirs to read). Nothing of it may be used.
    #[error("the stored context {context_id} was altered: {reason}; do not use it: delete it from the service and store your own copy again")]
    ContextAltered {
        /// The id the context was fetched under.
        context_id: String,
        /// What does not match.
        reason: String,
    },

    /// AES-GCM authentication of encrypted content failed: wrong key or modified data.
    #[error("cannot decrypt the content: wrong key, or the data was modified")]
    ContentAuthentication,

    /// Data the owner's key authenticates (so the owner's own) in a form this version does not
    /// know: written by a newer version of paillier-gpu.
    #[error(
        "{0} was written by a newer version of paillier-gpu than this one: upgrade to read it"
    )]
    NewerFormat(String),

    /// A knowledge base's records are sealed vectors, and what was asked needs Paillier
    /// ciphertexts (`compute_hamming`, a find or edit that reads them); the message says which.
    #[error("sealed vectors: {0}")]
    SealedVectors(String),

    /// A key provider could not supply or unwrap the data key.
    #[error("key provider: {0}")]
    KeyProvider(String),

    /// A vector, ciphertext or distance file is malformed.
    #[error("malformed {kind} file: {detail}")]
    MalformedFile {
        /// Which kind of file (`vectors`, `ciphertexts` ...).
        kind: &'static str,
        /// What is wrong, with the line or record where known.
        detail: String,
    },

    /// A record selection (id range or id list) names records the index does not hold.
    #[error("invalid record selection: {0}")]
    InvalidSelection(String),

    /// A GPU was asked for and none can be used.
    #[error("GPU unavailable: {0}")]
    GpuUnavailable(String),

    /// The GPU failed during a call (validation error, lost device ...): the call returns no
    /// result rather than a possibly wrong one.
    #[error("GPU failure: {0}")]
    GpuFailure(String),

    /// A new file would replace an existing one (a context file holds keys that cannot be
    /// regenerated): the caller must ask for that explicitly.
    #[error("{} already exists and is not a file this library writes; refusing to replace it", .0.display())]
    WouldOverwrite(PathBuf),

    /// An output names a file the command reads (the same device and inode, whatever the
    /// names): writing it would destroy the input.
    #[error("the output {} is the input {}; write the output to another file", output.display(), input.display())]
    OutputIsInput {
        /// The output as given.
        output: PathBuf,
        /// The input it is.
        input: PathBuf,
    },

    /// An output is neither a regular file (or a new one), a FIFO nor a character device.
    #[error("cannot write the output {}: {reason}", path.display())]
    UnsupportedOutput {
        /// The output as given.
        path: PathBuf,
        /// What it is.
        reason: String,
    },

    /// Another run holds the lock on this output (one writer per output).
    #[error("{} is being written by another run ({detail}); wait for it to finish, or write elsewhere", path.display())]
    OutputBusy {
        /// The output.
        path: PathBuf,
        /// Which lock is held.
        detail: String,
    },

    /// The output changed between the first check and the rename (a file appeared, was
    /// replaced, or a link now leads elsewhere): whatever is there now is left alone.
    #[error("{} changed while this ran ({detail}); nothing was written there. Run again to check it anew", path.display())]
    OutputChanged {
        /// The output as given.
        path: PathBuf,
        /// What changed.
        detail: String,
    },

    /// An error about a file's contents, with the file named.
    #[error("{}: {source}", path.display())]
    InFile {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong in it.
        source: Box<Error>,
    },

    /// The service answered a request of the owner's protocol with an error: its status and
    /// the message it gave.
    #[error("the service answered {status}: {message}")]
    Remote {
        /// The HTTP status.
        status: u16,
        /// The service's message (its JSON `message`, `error` or `detail`, or the body).
        message: String,
    },

    /// A request of the owner's protocol got no answer, or an answer that is not the API's
    /// (an unverified one: a verified answer that does not read is refused as a lie,
    /// [`Error::AnswerRejected`]).
    #[error("the service's {route}: {detail}")]
    Unreachable {
        /// The route asked (`owner_digest`, `records`, ...).
        route: String,
        /// What went wrong, and for a write whether it may have been committed.
        detail: String,
    },

    /// The owner's own state (the digest versions it has seen, the rollbacks it found) could not
    /// be read or kept.
    #[error("the owner's state: {0}")]
    OwnerState(String),

    /// An output's folder does not exist.
    #[error("the folder {} does not exist", .0.display())]
    MissingFolder(PathBuf),

    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The same error with its record index moved by `offset`: batch APIs name positions within
    /// the batch; a caller that fed a file batch by batch makes them positions within the file.
    pub fn with_index_offset(self, offset: usize) -> Self {
        match self {
            Error::InvalidCiphertext { index, reason } => Error::InvalidCiphertext {
                index: index + offset,
                reason,
            },
            Error::InvalidResponse { index, reason } => Error::InvalidResponse {
                index: index + offset,
                reason,
            },
            Error::VectorLength {
                index,
                expected,
                found,
            } => Error::VectorLength {
                index: index + offset,
                expected,
                found,
            },
            Error::NonBinaryValue {
                index,
                position,
                value,
            } => Error::NonBinaryValue {
                index: index + offset,
                position,
                value,
            },
            other => other,
        }
    }

    /// The same error naming `path` as the file at fault, unless it names a file already.
    pub fn in_file(self, path: impl Into<PathBuf>) -> Self {
        match self {
            named @ (Error::Io { .. }
            | Error::InFile { .. }
            | Error::BadVector { .. }
            | Error::KeyMismatch { .. }) => named,
            other => Error::InFile {
                path: path.into(),
                source: Box::new(other),
            },
        }
    }

    /// [`in_file`](Self::in_file) for a file that names its key (`kind`: `ciphertext file`): a
    /// [`KeyMismatch`](Error::KeyMismatch) then says `the {kind} {path} was made under the key`.
    pub fn in_keyed_file(self, path: &std::path::Path, kind: &str) -> Self {
        match self {
            Error::KeyMismatch {
                found,
                holder,
                expected,
                ..
            } => Error::KeyMismatch {
                what: format!("the {kind} {} was made under the key", path.display()),
                found,
                holder,
                expected,
            },
            other => other.in_file(path),
        }
    }

    /// The same error with `holder` (`ctx.json holds`) as the side of a
    /// [`KeyMismatch`](Error::KeyMismatch) that the context stands for; other errors unchanged.
    /// Callers that know the context's file name it this way.
    pub fn key_held_by(self, holder: impl Into<String>) -> Self {
        match self {
            Error::KeyMismatch {
                what,
                found,
                holder: old,
                expected,
            } if old == CONTEXT_HOLDS => Error::KeyMismatch {
                what,
                found,
                holder: holder.into(),
                expected,
            },
            Error::InFile { path, source } => Error::InFile {
                path,
                source: Box::new(source.key_held_by(holder)),
            },
            other => other,
        }
    }

    /// The error inside any [`InFile`](Error::InFile) wrapping: what to match on when the file
    /// does not matter.
    pub fn innermost(&self) -> &Error {
        match self {
            Error::InFile { source, .. } => source.innermost(),
            other => other,
        }
    }

    /// [`Error::Io`] on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// The engine's errors are the variants of the same name and message here, so that a caller
/// matches one error type whichever layer refused.
impl From<crate::hazmat::Error> for Error {
    fn from(error: crate::hazmat::Error) -> Self {
        use crate::hazmat::Error as Engine;
        match error {
            Engine::InvalidParameter(detail) => Error::InvalidParameter(detail),
            Engine::InvalidSelection(detail) => Error::InvalidSelection(detail),
            Engine::GpuUnavailable(detail) => Error::GpuUnavailable(detail),
            Engine::GpuFailure(detail) => Error::GpuFailure(detail),
        }
    }
}
