//! Key providers written in Python: any object with the provider's methods.

use paillier_gpu::context::DataKey;
use paillier_gpu::{Error, KeyProvider, Result};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// A Python object used as a key provider. It needs:
///
/// - `provider_id` (an attribute or a method returning str): the name stored in the file;
/// - `data_key()`: the 32-byte AES data key (bytes);
/// - `wrapped_key()`: the bytes stored beside the context to recover the key later;
/// - `reconstruct(wrapped: bytes)`: a provider for the key `wrapped` protects.
///
/// Python exceptions raised by these become `KeyProviderError`s with their message.
pub struct PyKeyProvider {
    object: Py<PyAny>,
    id: String,
    wrapped: Vec<u8>,
}

fn provider_error(what: &str, e: PyErr) -> Error {
    Error::KeyProvider(format!("the Python key provider's {what}: {e}"))
}

impl PyKeyProvider {
    /// Wraps `object`, reading its id and wrapped key once (they do not change).
    pub fn new(object: Bound<'_, PyAny>) -> PyResult<Self> {
        let id = object.getattr("provider_id")?;
        let id: String = if id.is_callable() {
            id.call0()?.extract()?
        } else {
            id.extract()?
        };
        let wrapped: Vec<u8> = object.call_method0("wrapped_key")?.extract()?;
        Ok(Self {
            object: object.unbind(),
            id,
            wrapped,
        })
    }
}

impl KeyProvider for PyKeyProvider {
    fn provider_id(&self) -> &str {
        &self.id
    }

    fn data_key(&self) -> Result<DataKey> {
        Python::attach(|py| {
            let key = self
                .object
                .call_method0(py, "data_key")
                .map_err(|e| provider_error("data_key()", e))?;
            let key = key
                .bind(py)
                .cast::<PyBytes>()
                .map_err(|_| Error::KeyProvider("data_key() must return bytes".into()))?;
            let bytes: [u8; 32] = key.as_bytes().try_into().map_err(|_| {
                Error::KeyProvider(format!(
                    "data_key() returned {} bytes; an AES-256 key has 32",
                    key.as_bytes().len()
                ))
            })?;
            Ok(DataKey::new(bytes))
        })
    }

    fn wrapped_key(&self) -> Vec<u8> {
        self.wrapped.clone()
    }

    fn reconstruct(&self, wrapped: &[u8]) -> Result<Box<dyn KeyProvider>> {
        Python::attach(|py| {
            let provider = self
                .object
                .call_method1(py, "reconstruct", (PyBytes::new(py, wrapped),))
                .map_err(|e| provider_error("reconstruct()", e))?;
            let provider = PyKeyProvider::new(provider.into_bound(py))
                .map_err(|e| provider_error("reconstructed provider", e))?;
            Ok(Box::new(provider) as Box<dyn KeyProvider>)
        })
    }
}
