//! The Rust state of python-paillier's public key class, apart from its methods (numbers.rs):
//! the array classes take it as an argument without importing the module that makes them.

use std::sync::Arc;

use paillier_gpu::hazmat::backend::{backend_for, Backend};
use paillier_gpu::paillier::PublicKey;
use paillier_gpu::Device;
use pyo3::prelude::*;

use crate::errors::IntoPy;

/// python-paillier's public key: encrypts numpy arrays of numbers.
#[pyclass(module = "paillier_gpu", name = "PaillierPublicKey", frozen)]
pub struct PyPaillierPublicKey {
    pub key: Arc<PublicKey>,
    pub backend: Arc<dyn Backend>,
    pub device: Device,
}

impl PyPaillierPublicKey {
    pub fn new(key: Arc<PublicKey>, device: Device) -> PyResult<Self> {
        Ok(Self {
            key,
            backend: backend_for(device).py_err()?,
            device,
        })
    }
}
