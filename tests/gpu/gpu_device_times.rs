//! The device's own time per kernel (timestamp queries, off unless asked for): where the adapter
//! keeps timestamps and timing is on, every chunk's kernels are timed, the busy time lies within the calls' wall time, and each
//! kernel that ran is named, and the calibration reports the device's own rates beside the
//! host's; with the option off, or on an adapter without them, no device time is claimed.
//! Chunks can be sized from the device's time instead of the host's. Lavapipe keeps
//! timestamps, so on CI this runs for real.
//!
//! Without an adapter these tests print why and pass, unless `PAILLIER_GPU_REQUIRE_ADAPTER=1`.
#![cfg(feature = "gpu")]

use crate::common;

use paillier_gpu::hazmat::backend::gpu::{GpuBackend, GpuOptions};
use paillier_gpu::hazmat::backend::Backend;
use rand::{rngs::StdRng, SeedableRng};

/// Products of `items` random residues modulo a 1024-bit modulus on `gpu`, checked against
/// num-bigint, so that the times below belong to work that was really done.
fn products(gpu: &GpuBackend, items: usize) {
    let mut rng = StdRng::seed_from_u64(7);
    let modulus = common::modulus(&mut rng, 1024);
    let a = common::batch(&mut rng, &modulus, items);
    let b = common::batch(&mut rng, &modulus, items);
    let got = gpu.modmul(&modulus, &a, &b).unwrap();
    let m = modulus.modulus();
    for i in [0, items / 2, items - 1] {
        let expected = modulus.biguint_of(a.item(i)) * modulus.biguint_of(b.item(i)) % &m;
        assert_eq!(modulus.biguint_of(got.item(i)), expected, "item {i}");
    }
}

/// Timing on, as `bench` asks for it.
fn timed() -> GpuOptions {
    GpuOptions {
        device_timing: Some(true),
        ..GpuOptions::default()
    }
}

#[test]
fn kernels_are_timed_on_the_device_where_it_keeps_timestamps() {
    let Some(gpu) = common::gpu::with_options(timed()) else {
        return;
    };
    let report = gpu.report(&[]);
    assert_eq!(
        gpu.device_timing(),
        report.timestamps,
        "on where the adapter can"
    );
    // Lavapipe keeps timestamps: CI's adapter must time its kernels, so this test cannot pass
    // there without checking them.
    if report.adapter.contains("llvmpipe") {
        assert!(gpu.device_timing(), "lavapipe offers timestamp queries");
    }
    let before = gpu.totals();
    products(&gpu, 1_000);
    let spent = gpu.totals().since(&before);
    assert!(spent.chunks > 1, "small dispatches make several chunks");
    if !gpu.device_timing() {
        assert_eq!((spent.timed_chunks, spent.device_busy_s), (0, 0.0));
        assert_eq!(spent.device_span_s, 0.0);
        assert!(spent.kernel_s.is_empty());
        return;
    }
    assert_eq!(spent.timed_chunks, spent.chunks, "every chunk timed");
    assert!(spent.device_busy_s > 0.0);
    assert!(spent.device_busy_s <= spent.device_span_s * (1.0 + 1e-9));
    // The device's clock is not the host's: allow it a little slack.
    assert!(
        spent.device_span_s <= spent.call_s * 1.05 + 1e-4,
        "span {} s within the calls' {} s",
        spent.device_span_s,
        spent.call_s
    );
    let names: Vec<&str> = spent.kernel_s.keys().copied().collect();
    assert_eq!(names, ["modmul"]);
    // One kernel, so its summed passes cover at least the time the device was busy.
    assert!(spent.kernel_s["modmul"] >= spent.device_busy_s * 0.999);
}

#[test]
fn no_device_time_is_claimed_with_the_option_off_as_by_default() {
    // Unset, the library does not time its kernels: a diagnostic, not a default.
    let Some(unset) = common::gpu::with_options(GpuOptions::default()) else {
        return;
    };
    assert!(!unset.device_timing());
    let Some(gpu) = common::gpu::with_options(GpuOptions {
        device_timing: Some(false),
        ..GpuOptions::default()
    }) else {
        return;
    };
    assert!(!gpu.device_timing());
    assert!(!gpu.report(&[]).device_timing);
    let before = gpu.totals();
    products(&gpu, 300);
    let spent = gpu.totals().since(&before);
    assert!(spent.chunks > 0);
    assert_eq!((spent.timed_chunks, spent.device_busy_s), (0, 0.0));
    assert_eq!(spent.device_span_s, 0.0);
    assert!(spent.kernel_s.is_empty());
}

#[test]
fn calibration_reports_the_devices_own_rates_beside_the_hosts() {
    let Some(gpu) = common::gpu::with_options(timed()) else {
        return;
    };
    let mut rng = StdRng::seed_from_u64(9);
    let calibration = gpu.calibrate(&common::modulus(&mut rng, 1024)).unwrap();
    assert!(!calibration.probes.is_empty());
    if !gpu.device_timing() {
        assert!(calibration.device_probes.is_empty());
        assert_eq!(calibration.device_saturating_items, None);
        return;
    }
    assert_eq!(calibration.device_probes.len(), calibration.probes.len());
    for (host, device) in calibration.probes.iter().zip(&calibration.device_probes) {
        assert_eq!(host.0, device.0);
        // The kernels take no longer than the call around them (a little slack for the
        // device's clock): the device's rate is at least the host's.
        assert!(device.1 >= host.1 * 0.95, "{host:?} against {device:?}");
    }
    let items = calibration.device_saturating_items.unwrap();
    assert!(calibration.probes.iter().any(|p| p.0 == items));
}

#[test]
fn chunks_sized_by_the_devices_time_where_asked_and_results_unchanged() {
    use paillier_gpu::hazmat::backend::gpu::ChunkSizing;
    let mut rng = StdRng::seed_from_u64(11);
    let modulus = common::modulus(&mut rng, 1024);
    // By default the host's clock sizes the chunks.
    let Some(plain) = common::gpu::with_options(timed()) else {
        return;
    };
    let host = plain.calibrate(&modulus).unwrap();
    assert_eq!(host.chunks_sized_by, ChunkSizing::HostTime);
    assert_eq!(host.chunk_items, host.saturating_items * 8);

    // Asked for, the option turns the timestamps on by itself.
    let Some(gpu) = common::gpu::with_options(GpuOptions {
        device_time_chunks: Some(true),
        ..GpuOptions::default()
    }) else {
        return;
    };
    let report = gpu.report(&[]);
    assert_eq!(gpu.device_timing(), report.timestamps);
    let calibration = gpu.calibrate(&modulus).unwrap();
    if !gpu.device_timing() {
        assert_eq!(calibration.chunks_sized_by, ChunkSizing::HostTime);
        return;
    }
    assert_eq!(calibration.chunks_sized_by, ChunkSizing::DeviceTime);
    let filling = calibration.device_saturating_items.unwrap();
    // Whole waves of what fills the device, or the host's sizing where that is smaller.
    let host_chunk = calibration.saturating_items * 8;
    assert!(calibration.chunk_items <= host_chunk);
    assert!(
        calibration.chunk_items == host_chunk
            || (calibration.chunk_items % filling == 0 && calibration.chunk_items >= 8 * filling),
        "{calibration:?}"
    );
    // Whatever the chunks, the products are right (checked against num-bigint).
    products(&gpu, 3 * calibration.chunk_items.min(700) + 5);
}
