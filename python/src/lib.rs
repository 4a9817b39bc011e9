//! The `paillier_gpu._native` extension: the library's facade for Python, with the XTrace SDK's
//! names. Every heavy call releases the GIL; every library error becomes a Python exception of
//! `paillier_gpu.errors` with the library's message.

#![deny(unsafe_code)]

mod ciphertexts;
mod codec_digest;
mod context;
mod context_state;
mod convert;
mod digest_history;
mod encrypted_array;
mod errors;
mod index;
mod key_provider;
mod linear_model;
mod numbers;
mod owner;
mod packed_array;
mod paillier_key;
mod partitions;
mod projection;
mod public;
mod record_state;
mod records;
mod stored;

use paillier_gpu::hazmat::backend::gpu::GpuOptions;
use pyo3::prelude::*;

use crate::errors::IntoPy;

/// Sets this process's GPU options, once, before the first GPU is opened: `adapter_name` keeps
/// only adapters whose name contains it, `adapter_index` takes the n-th matching one (best kind
/// first, the driver's order within a kind: identical GPUs are told apart by it), `spot_checks`
/// is the items of every GPU result recomputed on the CPU (default 1), `min_batch` sends
/// smaller batches to the CPU. A second call raises `InvalidInputError`.
#[pyfunction]
#[pyo3(signature = (adapter_name=None, adapter_index=None, spot_checks=None, min_batch=None))]
fn configure_gpu(
    adapter_name: Option<String>,
    adapter_index: Option<usize>,
    spot_checks: Option<usize>,
    min_batch: Option<usize>,
) -> PyResult<()> {
    GpuOptions::set_process_defaults(GpuOptions {
        adapter_name,
        adapter_index,
        spot_check_samples: spot_checks,
        min_batch,
        ..GpuOptions::default()
    })
    .py_err()
}

/// Chooses the CPU engine from now on, process-wide: `auto` (the fastest this CPU runs, the
/// default), `ifma`, `avx512f`, `avx2` or `portable`. Keys and contexts made before keep theirs.
/// An unknown name, or an engine this CPU lacks, raises `InvalidInputError`.
#[pyfunction]
fn set_cpu_engine(name: &str) -> PyResult<()> {
    use paillier_gpu::hazmat::bigint::{set_engine_preference, EnginePreference};
    set_engine_preference(name.parse::<EnginePreference>().py_err()?).py_err()
}

/// The CPU engine new keys and contexts get now: `ifma`, `avx512f`, `avx2` or `portable`.
#[pyfunction]
fn cpu_engine() -> &'static str {
    paillier_gpu::hazmat::bigint::picked_engine().name()
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<owner::PyOwnerState>()?;
    module.add_class::<owner::PyDriver>()?;
    module.add_function(wrap_pyfunction!(owner::delete_chunks, module)?)?;
    module.add_function(wrap_pyfunction!(owner::push_context, module)?)?;
    module.add_class::<context_state::PyExecutionContext>()?;
    module.add_class::<context_state::PyPublicContext>()?;
    module.add_class::<ciphertexts::Ciphertexts>()?;
    module.add_class::<index::PyEncryptedIndex>()?;
    module.add_class::<paillier_key::PyPaillierPublicKey>()?;
    module.add_class::<numbers::PyPaillierPrivateKey>()?;
    module.add_class::<encrypted_array::PyEncryptedArray>()?;
    module.add_class::<linear_model::PyLinearModel>()?;
    module.add_class::<packed_array::PyPackedArray>()?;
    module.add_class::<records::PyRecordCodec>()?;
    module.add_class::<record_state::PyQuery>()?;
    module.add_class::<record_state::PyStoredRecords>()?;
    module.add_class::<record_state::PyOwnerDigest>()?;
    module.add_class::<digest_history::PyDigestRebuild>()?;
    module.add_class::<partitions::PyPartitionModel>()?;
    // The most metadata a record may carry, as the service stores it (the library's number).
    module.add("MAX_META_BYTES", paillier_gpu::verifiable::MAX_META_BYTES)?;
    // The owner's protocol's and the wire's numbers, so that the client keeps none of its own.
    module.add("WRITE_ATTEMPTS", paillier_gpu::verifiable::WRITE_ATTEMPTS)?;
    module.add("UPLOAD_BATCH", paillier_gpu_api::UPLOAD_BATCH)?;
    module.add("IDS_PER_REQUEST", paillier_gpu_api::IDS_PER_REQUEST)?;
    module.add_function(wrap_pyfunction!(partitions::auto_partitions, module)?)?;
    module.add_function(wrap_pyfunction!(codec_digest::check_search, module)?)?;
    module.add_function(wrap_pyfunction!(partitions::partitions_filter, module)?)?;
    module.add_function(wrap_pyfunction!(partitions::check_unreserved, module)?)?;
    module.add_function(wrap_pyfunction!(partitions::counted_value, module)?)?;
    module.add_function(wrap_pyfunction!(partitions::filter_selects, module)?)?;
    module.add_function(wrap_pyfunction!(partitions::placed_meta, module)?)?;
    module.add("PARTITION_FIELD", paillier_gpu::verifiable::PARTITION_FIELD)?;
    module.add_function(wrap_pyfunction!(
        numbers::generate_paillier_keypair,
        module
    )?)?;
    module.add_function(wrap_pyfunction!(configure_gpu, module)?)?;
    module.add_function(wrap_pyfunction!(set_cpu_engine, module)?)?;
    module.add_function(wrap_pyfunction!(cpu_engine, module)?)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
