//! The Rust state of the two context classes, apart from their methods (context.rs and
//! public.rs): the modules those build on (ciphertexts) take either context as an argument
//! through [`key_of`] without importing the modules that use them.

use std::sync::Arc;

use paillier_gpu::formats::ciphertexts::CiphertextShape;
use paillier_gpu::paillier::PublicKey;
use paillier_gpu::{Device, ExecutionContext};
use pyo3::prelude::*;

use crate::errors::{invalid_input, IntoPy};

/// An execution context: the key pair, the AES data key's provider, the vector layout and the
/// compute device (`"cpu"`, `"gpu"` or `"auto"`; changing it never changes `hash()`).
///
/// Files and ciphertexts are the XTrace SDK's: a context saved by the SDK loads here and the
/// other way round (for files written with `sdk_compatible=True`).
#[pyclass(module = "paillier_gpu", name = "ExecutionContext")]
pub struct PyExecutionContext {
    pub inner: ExecutionContext,
}

/// The public part of a context: encrypts vectors and builds encrypted indexes, but can decrypt
/// nothing. Loading it needs no passphrase.
#[pyclass(module = "paillier_gpu", name = "PublicContext", frozen)]
pub struct PyPublicContext {
    pub inner: paillier_gpu::PublicContext,
    pub device: Device,
}

impl PyPublicContext {
    pub fn new(inner: paillier_gpu::PublicContext, device: Device) -> Self {
        Self {
            inner: inner.with_device(device),
            device,
        }
    }
}

/// The public key and ciphertext shape of an `ExecutionContext` or a `PublicContext`.
pub fn key_of(context: &Bound<'_, PyAny>) -> PyResult<(Arc<PublicKey>, CiphertextShape)> {
    if let Ok(ctx) = context.cast::<PyExecutionContext>() {
        let ctx = ctx.borrow();
        return Ok((
            ctx.inner.public().public_key().clone(),
            ctx.inner.ciphertext_shape(),
        ));
    }
    if let Ok(public) = context.cast::<PyPublicContext>() {
        let public = public.get();
        return Ok((
            public.inner.public_key().clone(),
            public.inner.try_ciphertext_shape().py_err()?,
        ));
    }
    Err(invalid_input(format!(
        "expected an ExecutionContext or a PublicContext, got {}",
        context.get_type().name()?
    )))
}
