//! The library's errors as Python exceptions: one class per kind, defined in
//! `paillier_gpu/errors.py` so that each can also derive from the built-in it stands for
//! (`ValueError` for bad input, `OSError` for files, `RuntimeError` for the GPU).

use paillier_gpu::Error;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// The name of the exception class in `paillier_gpu.errors` for an error.
fn class_name(error: &Error) -> &'static str {
    match error {
        Error::InvalidParameter(_) | Error::SealedVectors(_) => "InvalidInputError",
        Error::InsecureParameters(_) => "InsecureParametersError",
        Error::VectorLength { .. } | Error::NonBinaryValue { .. } | Error::BadVector { .. } => {
            "InvalidVectorError"
        }
        Error::InvalidCiphertext { .. } => "InvalidCiphertextError",
        Error::InvalidResponse { .. } | Error::PlaintextOutOfRange(_) => "InvalidResponseError",
        Error::KeyMismatch { .. } => "KeyMismatchError",
        Error::InvalidNumber { .. } | Error::NumberOverflow(_) => "InvalidNumberError",
        Error::ShapeMismatch(_) => "ShapeMismatchError",
        Error::MalformedContext(_)
        | Error::UnknownContextType(_)
        | Error::NewerFormat(_)
        | Error::MalformedFile { .. } => "MalformedFileError",
        Error::ContextAltered { .. } => "ContextAlteredError",
        Error::SecretKeyAuthentication
        | Error::WrongKey
        | Error::SecretKeyTampered
        | Error::ContentAuthentication => "AuthenticationError",
        Error::KeyProvider(_) => "KeyProviderError",
        Error::InvalidSelection(_) => "InvalidSelectionError",
        Error::GpuUnavailable(_) | Error::GpuFailure(_) => "GpuError",
        Error::WouldOverwrite(_)
        | Error::MissingFolder(_)
        | Error::Io { .. }
        | Error::OutputIsInput { .. }
        | Error::UnsupportedOutput { .. }
        | Error::OutputBusy { .. }
        | Error::OutputChanged { .. } => "FileError",
        Error::AnswerRejected(_) => "AnswerRejectedError",
        Error::PrivateMetadata(_) => "PrivateMetadataError",
        Error::ConcurrentWrite(_) => "ConcurrentWriteError",
        Error::Remote { .. } => "RemoteError",
        Error::Unreachable { .. } => "RemoteUnreachableError",
        Error::OwnerState(_) => "FileError",
        // The file is named in the message; the class is the error's own.
        Error::InFile { source, .. } => class_name(source),
    }
}

/// The Python exception for a library error, with the library's whole message and, where a
/// keyword changes the outcome, that keyword.
pub fn to_py_err(error: Error) -> PyErr {
    let message = match error.innermost() {
        Error::WouldOverwrite(_) => format!("{error} (pass overwrite=True to replace it)"),
        _ => error.to_string(),
    };
    Python::attach(|py| {
        let class = py
            .import("paillier_gpu.errors")
            .and_then(|module| module.getattr(class_name(&error)))
            .and_then(|class| Ok(class.cast_into::<PyType>()?));
        match class {
            Ok(class) => {
                let raised = match &error {
                    // The service's status is the class's first argument.
                    Error::Remote { status, message } => {
                        PyErr::from_type(class, (*status, message.clone()))
                    }
                    _ => PyErr::from_type(class, message),
                };
                if error.shows_rollback() {
                    // The clients keep a rollback found in the owner's state (the class says
                    // False otherwise); an attribute that cannot be set leaves the class's.
                    let _ = raised.value(py).setattr("rolled_back", true);
                }
                raised
            }
            // Only if the package's own module is missing (a broken install).
            Err(_) => PyRuntimeError::new_err(message),
        }
    })
}

/// `Result<T, Error>` into `PyResult<T>`.
pub trait IntoPy<T> {
    /// The value, or the error as its Python exception.
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, Error> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_py_err)
    }
}

/// The engine's errors (`paillier_gpu::hazmat`) as the library's error of the same name.
impl<T> IntoPy<T> for Result<T, paillier_gpu::hazmat::Error> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(|error| to_py_err(error.into()))
    }
}

/// An `InvalidInputError` (a `ValueError`) for bad input caught in the binding itself.
pub fn invalid_input(message: impl Into<String>) -> PyErr {
    to_py_err(Error::InvalidParameter(message.into()))
}

/// An `InvalidVectorError`: vector `index` holds `value` at `position`.
pub fn non_binary(index: usize, position: usize, value: String) -> PyErr {
    to_py_err(Error::NonBinaryValue {
        index,
        position,
        value,
    })
}

/// An `InvalidVectorError`: vectors of `found` dimensions where the context has `expected`.
pub fn vector_length(expected: usize, found: usize) -> PyErr {
    to_py_err(Error::VectorLength {
        index: 0,
        expected,
        found,
    })
}
