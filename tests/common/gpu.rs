//! The GPU backends the integration tests compare with the CPU: every limb path and exchange
//! variant the adapter runs, each forced by a setting, with small dispatches and shards so that
//! modest batches cross chunk and shard boundaries. How much of that matrix a run covers:
//! [`whole_matrix`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use paillier_gpu::hazmat::backend::gpu::{Exchange, GpuBackend, GpuOptions, LimbPath};
use paillier_gpu::hazmat::Error;

/// Whether the GPU tests run their whole matrix, every kernel shape at every width on every limb
/// path and both exchange variants: `PAILLIER_GPU_TEST_MATRIX=all` (`tools/test-deep`, a step of
/// `.ci/run` after the README's test command, and `tools/gpu-tests.sh` on hardware).
///
/// Otherwise every kernel shape runs on every limb path at one representative width
/// ([`widths`]) with the exchange the adapter would choose ([`backends`]: subgroups where it has
/// them). Lavapipe compiles each shape at its first dispatch, the workgroup exchange's several
/// times slower than the rest (a barrier in every exchange of an unrolled kernel:
/// docs/testing.md), and the widths and exchanges share one generator and one dispatch.
pub fn whole_matrix() -> bool {
    std::env::var("PAILLIER_GPU_TEST_MATRIX").is_ok_and(|v| v == "all")
}

/// `every` under the whole matrix ([`whole_matrix`]), else `representative`.
pub fn widths<T: Copy>(every: &[T], representative: &[T]) -> Vec<T> {
    if whole_matrix() {
        every
    } else {
        representative
    }
    .to_vec()
}

/// Dispatches hold at most this many items here, so modest batches already need several.
pub const DISPATCH_ITEMS: usize = 64;

/// Records per resident shard here, so the resident tests cross shard boundaries.
pub const SHARD_ITEMS: usize = 50;

/// The backend for `path` and `exchange`, or None (with the reason printed) when it cannot run
/// here.
///
/// One set of backends per test thread (libtest runs each test on a thread of its own), not per
/// process: lavapipe compiles a kernel shape at its first dispatch, and one device compiles one
/// shape at a time, so tests sharing a device waited for each other. With a device each, two tests
/// compile on two cores (`gpu_backend` with Mesa's shader cache disabled, 2 cores: 664 s → 340 s).
fn gpu(path: LimbPath, exchange: Exchange) -> Option<Arc<GpuBackend>> {
    type Cache = RefCell<HashMap<(LimbPath, Exchange), Option<Arc<GpuBackend>>>>;
    thread_local! { static BACKENDS: Cache = Default::default(); }
    BACKENDS.with(|cache| {
        cache
            .borrow_mut()
            .entry((path, exchange))
            .or_insert_with(|| new_gpu(path, exchange))
            .clone()
    })
}

/// A new backend for `path` and `exchange`, or None (with the reason printed).
fn new_gpu(path: LimbPath, exchange: Exchange) -> Option<Arc<GpuBackend>> {
    let options = GpuOptions {
        limb_path: Some(path),
        exchange: Some(exchange),
        max_items_per_dispatch: Some(DISPATCH_ITEMS),
        resident_shard_items: Some(SHARD_ITEMS),
        ..GpuOptions::default()
    };
    variant(&options, (path, exchange))
}

/// A backend with exactly `options`, forcing the variant named `label`, or None (with the reason
/// printed) where it cannot run: an adapter without the 64-bit integers or subgroups the variant
/// needs, or no adapter at all (a failure under `PAILLIER_GPU_REQUIRE_ADAPTER=1`).
pub fn variant(options: &GpuOptions, label: impl Debug) -> Option<Arc<GpuBackend>> {
    match GpuBackend::new(options) {
        Ok(backend) => Some(Arc::new(backend)),
        // Not a missing adapter: this one cannot run that variant.
        Err(Error::GpuUnavailable(why))
            if why.contains("SHADER_INT64") || why.contains("subgroup") =>
        {
            eprintln!("skipping {label:?}: {why}");
            None
        }
        Err(e) if super::gpu_required() => {
            panic!("PAILLIER_GPU_REQUIRE_ADAPTER=1 but no GPU backend: {e}")
        }
        Err(e) => {
            eprintln!("skipping GPU tests: {e}");
            None
        }
    }
}

/// Every limb path this adapter runs, each forced by a setting, with every exchange variant it
/// runs under the whole matrix ([`whole_matrix`]), else with the first of them (the adapter's
/// own choice: subgroups where it has them).
pub fn backends() -> Vec<((LimbPath, Exchange), Arc<GpuBackend>)> {
    let every_exchange = whole_matrix();
    let mut all = Vec::new();
    for path in [LimbPath::Bits32, LimbPath::Bits16] {
        for exchange in [Exchange::Subgroup, Exchange::Workgroup] {
            if let Some(backend) = gpu(path, exchange) {
                all.push(((path, exchange), backend));
                if !every_exchange {
                    break;
                }
            }
        }
    }
    all
}

/// A backend with `options` on top of the tests' small dispatches and shards (the 32-bit limb
/// path where the adapter has it), or None (with the reason printed) without an adapter.
pub fn with_options(options: GpuOptions) -> Option<Arc<GpuBackend>> {
    let options = GpuOptions {
        max_items_per_dispatch: Some(DISPATCH_ITEMS),
        resident_shard_items: Some(SHARD_ITEMS),
        ..options
    };
    match GpuBackend::new(&options) {
        Ok(backend) => Some(Arc::new(backend)),
        Err(e) if super::gpu_required() => {
            panic!("PAILLIER_GPU_REQUIRE_ADAPTER=1 but no GPU backend: {e}")
        }
        Err(e) => {
            eprintln!("skipping GPU tests: {e}");
            None
        }
    }
}
