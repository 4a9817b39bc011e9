//! The `paillier_gpu._native` extension: the library's facade for Python, with the XTrace SDK's
//! names. Every heavy call releases the GIL; every library error becomes a Python exception of
//! `paillier_gpu.errors` with the library's message.

#![deny(unsafe_code)]

mod ciphertexts;
mod context;
mod convert;
mod errors;
mod index;
mod key_provider;

use pyo3::prelude::*;

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<context::PyExecutionContext>()?;
    module.add_class::<context::PyPublicContext>()?;
    module.add_class::<ciphertexts::Ciphertexts>()?;
    module.add_class::<index::PyEncryptedIndex>()?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
