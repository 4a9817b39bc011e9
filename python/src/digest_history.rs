//! The owner's digest as it moves on: the service's links read for the library's fork check,
//! a digest's write as the service takes it, and a planned rebuild.

use paillier_gpu::verifiable::{DigestLink, DigestRebuild, OwnerDigest};
use pyo3::prelude::*;
use serde_json::Value;

use crate::errors::invalid_input;

/// A rebuild of the owner's digest planned by `RecordCodec.plan_rebuild`: the versions it
/// expects and writes, and the field it counts; `RecordCodec.rebuilt_digest` counts it.
#[pyclass(module = "paillier_gpu", name = "DigestRebuild", frozen)]
pub struct PyDigestRebuild {
    pub plan: DigestRebuild,
}

#[pymethods]
impl PyDigestRebuild {
    /// The version the service holds, which the write expects.
    #[getter]
    fn expected_version(&self) -> i64 {
        self.plan.expected_version
    }

    /// The version it writes.
    #[getter]
    fn version(&self) -> i64 {
        self.plan.version
    }

    /// The field it counts per value (`"partition"` for a partitioned knowledge base): the
    /// records' documents are opened for it.
    #[getter]
    fn counted_field(&self) -> Option<String> {
        self.plan.counted_field().map(str::to_owned)
    }

    fn __repr__(&self) -> String {
        format!(
            "DigestRebuild(expected_version={}, version={})",
            self.plan.expected_version, self.plan.version
        )
    }
}

/// The service's links (the JSON list its digest read gives after `since`) as the library
/// reads them: an item that is not a link is left out, and one whose link is not 32 bytes of
/// base64 is missing to the fork check. Text that is not a JSON list raises
/// `InvalidInputError`.
pub fn links_of(links: Option<&str>) -> PyResult<Vec<DigestLink>> {
    let Some(links) = links else {
        return Ok(Vec::new());
    };
    let items: Vec<Value> = serde_json::from_str(links)
        .map_err(|e| invalid_input(format!("the digest's links are not a JSON list: {e}")))?;
    Ok(items
        .into_iter()
        .filter_map(|item| serde_json::from_value(item).ok())
        .collect())
}

/// The body of the write that stores `digest` (sealed as `sealed`) over `expected_version`,
/// as JSON: the API's `DigestWrite`, made by the library.
pub fn digest_write(digest: &OwnerDigest, expected_version: i64, sealed: &str) -> String {
    let write = paillier_gpu::owner::digest_write(digest, sealed, expected_version);
    serde_json::to_string(&write).unwrap_or_default()
}
