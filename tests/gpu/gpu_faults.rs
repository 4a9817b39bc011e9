//! Injected GPU faults never yield a wrong result: `Gpu` returns an error, `Auto` (a
//! [`FallbackBackend`]) reruns the call on the CPU and returns the CPU's answer.
//!
//! Faults: the device destroyed in the middle of a multi-dispatch batch, and a flipped bit in a
//! result (caught by the spot check). Runs on any adapter, lavapipe included; without one it
//! skips unless `PAILLIER_GPU_REQUIRE_ADAPTER=1`.
#![cfg(feature = "gpu")]

use crate::common;

use std::sync::Arc;

use common::{batch, exponents, gpu_required, hamming, modulus};
use num_bigint::RandBigInt;
use paillier_gpu::hamming::Selection;
use paillier_gpu::hazmat::backend::cpu::CpuBackend;
use paillier_gpu::hazmat::backend::gpu::{Fault, GpuBackend, GpuOptions};
use paillier_gpu::hazmat::backend::{Backend, FallbackBackend, ResidentBatch};
use paillier_gpu::hazmat::bigint::FixedBaseTable;
use paillier_gpu::hazmat::Error as EngineError;
use paillier_gpu::{ContextOptions, Device, Error, ExecutionContext, Scheme};
use rand::{rngs::StdRng, Rng, SeedableRng};

/// Small dispatches, so that one call is several submissions and a fault lands mid-batch.
const DISPATCH_ITEMS: usize = 8;
const ITEMS: usize = 40;

/// A fresh device of its own (a lost device stays lost), or None when none answers.
fn fresh_gpu(spot_check_samples: usize) -> Option<Arc<GpuBackend>> {
    let required = gpu_required();
    let options = GpuOptions {
        max_items_per_dispatch: Some(DISPATCH_ITEMS),
        spot_check_samples: Some(spot_check_samples),
        // A test program may take settings from its environment; the library never does.
        ..GpuOptions::from_settings(|name| std::env::var(name).ok()).unwrap()
    };
    match GpuBackend::new(&options) {
        Ok(gpu) => Some(Arc::new(gpu)),
        Err(e) if required => panic!("PAILLIER_GPU_REQUIRE_ADAPTER=1 but no GPU: {e}"),
        Err(e) => {
            eprintln!("skipping GPU fault injection: {e}");
            None
        }
    }
}

type Call = Box<dyn Fn(&dyn Backend) -> paillier_gpu::hazmat::Result<Vec<u64>>>;

/// The three batched operations, each on random inputs of `ITEMS` items.
fn calls() -> Vec<(&'static str, Call)> {
    let mut rng = StdRng::seed_from_u64(11);
    let m = Arc::new(modulus(&mut rng, 512));
    let bases = batch(&mut rng, &m, ITEMS);
    let others = batch(&mut rng, &m, ITEMS);
    let exps = exponents(&mut rng, ITEMS, 64);
    let g = m.limbs_of(&rng.gen_biguint_below(&m.modulus())).unwrap();
    let table = Arc::new(FixedBaseTable::new(&m, &m.to_montgomery(&g), 64, 4));
    let (m1, m2, m3) = (m.clone(), m.clone(), m);
    let exps2 = exps.clone();
    vec![
        (
            "modexp",
            Box::new(move |b: &dyn Backend| b.modexp(&m1, &bases, &exps).map(|r| r.into_flat())),
        ),
        (
            "modmul",
            Box::new(move |b: &dyn Backend| b.modmul(&m2, &others, &others).map(|r| r.into_flat())),
        ),
        (
            "fixed-base",
            Box::new(move |b: &dyn Backend| {
                b.fixed_base_pow(&m3, &table, &exps2).map(|r| r.into_flat())
            }),
        ),
    ]
}

#[test]
fn a_device_lost_mid_batch_is_an_error_on_gpu_and_a_cpu_rerun_on_auto() {
    let mut injected = 0;
    for (name, call) in calls() {
        let expected = call(&CpuBackend).unwrap();
        for after_submissions in [1, 3] {
            let fault = Fault::LoseDevice { after_submissions };
            // Gpu: an error, now and on every later call.
            let Some(gpu) = fresh_gpu(1) else { return };
            gpu.inject_fault(fault);
            injected += 1;
            let checked = gpu.checked();
            assert!(
                matches!(call(checked.as_ref()), Err(EngineError::GpuFailure(_))),
                "{name}: a lost device must be an error"
            );
            assert!(matches!(
                call(checked.as_ref()),
                Err(EngineError::GpuFailure(_))
            ));
            // Auto: the CPU's answer, and the GPU is not tried again.
            let Some(gpu) = fresh_gpu(1) else { return };
            gpu.inject_fault(fault);
            injected += 1;
            let auto = FallbackBackend::new(gpu.checked(), CpuBackend::shared());
            assert_eq!(call(&auto).unwrap(), expected, "{name} after {fault:?}");
            assert!(auto.degraded());
            assert_eq!(call(&auto).unwrap(), expected);
        }
    }
    eprintln!("device losses injected: {injected}");
}

#[test]
fn a_corrupted_result_is_caught_by_the_spot_check() {
    let mut injected = 0;
    for (name, call) in calls() {
        let expected = call(&CpuBackend).unwrap();
        // Checking every item makes the catch certain; the default (one random item per call)
        // catches a single flipped item with probability 1/ITEMS.
        let Some(gpu) = fresh_gpu(usize::MAX) else {
            return;
        };
        let checked = gpu.checked();
        assert_eq!(call(checked.as_ref()).unwrap(), expected, "{name}: healthy");
        // Unchecked, the corruption would come back as a result: the check is what catches it.
        gpu.inject_fault(Fault::CorruptResult { after_readbacks: 1 });
        assert_ne!(
            call(gpu.as_ref()).unwrap(),
            expected,
            "{name}: corruption injected"
        );
        for after_readbacks in [1, 4] {
            gpu.inject_fault(Fault::CorruptResult { after_readbacks });
            injected += 1;
            match call(checked.as_ref()) {
                Err(EngineError::GpuFailure(why)) => assert!(why.contains("spot check"), "{why}"),
                other => panic!("{name}: corruption not caught: {other:?}"),
            }
        }
        gpu.inject_fault(Fault::CorruptResult { after_readbacks: 2 });
        injected += 1;
        let auto = FallbackBackend::new(gpu.checked(), CpuBackend::shared());
        assert_eq!(
            call(&auto).unwrap(),
            expected,
            "{name}: auto after corruption"
        );
        assert!(auto.degraded());
    }
    eprintln!("corruptions injected: {injected}");
}

/// The whole search (owner encryption, resident index, CRT decoding) on a GPU that is lost at
/// a random point: `Auto` gives the plaintext distances, `Gpu` an error.
#[test]
fn a_search_survives_a_lost_device_on_auto() {
    let options = ContextOptions {
        scheme: Scheme::Paillier,
        key_len: 256,
        embed_len: 32,
        allow_insecure: true,
        device: Device::Cpu,
        ..ContextOptions::default()
    };
    let base = ExecutionContext::create_with_passphrase(&options, "faults").unwrap();
    let mut rng = StdRng::seed_from_u64(5);
    let records: Vec<Vec<u8>> = (0..ITEMS)
        .map(|_| (0..32).map(|_| rng.gen_range(0..2u8)).collect())
        .collect();
    let query: Vec<u8> = (0..32).map(|_| rng.gen_range(0..2u8)).collect();
    let expected: Vec<u32> = records.iter().map(|r| hamming(r, &query)).collect();
    let search = |backend: Arc<dyn Backend>| -> paillier_gpu::Result<Vec<u32>> {
        let ctx =
            ExecutionContext::from_plain_json(&base.to_plain_json(), base.key_provider().clone())?
                .with_backend(backend.clone());
        let mut index = ctx.new_index()?.with_backend(backend);
        index.insert_batch(&ctx.encrypt_batch(&records)?)?;
        let q = ctx.encrypt_batch(std::slice::from_ref(&query))?;
        ctx.decode_batch(&index.aggregate_batch(&q, &Selection::All)?)
    };
    // Submissions of a healthy run, to place the faults inside it.
    let Some(probe) = fresh_gpu(1) else { return };
    assert_eq!(search(probe.checked()).unwrap(), expected);
    let mut injected = 0;
    for after_submissions in [1, 4, 7, 10] {
        let fault = Fault::LoseDevice { after_submissions };
        let Some(gpu) = fresh_gpu(1) else { return };
        gpu.inject_fault(fault);
        injected += 1;
        assert_eq!(
            search(Arc::new(FallbackBackend::new(
                gpu.checked(),
                CpuBackend::shared()
            )))
            .unwrap(),
            expected,
            "auto, {fault:?}"
        );
        let Some(gpu) = fresh_gpu(1) else { return };
        gpu.inject_fault(fault);
        injected += 1;
        assert!(
            matches!(search(gpu.checked()), Err(Error::GpuFailure(_))),
            "gpu, {fault:?}"
        );
    }
    eprintln!("device losses injected into searches: {injected}");
}

/// A fresh device that checks every item and routes batches below 16 items to the CPU, or None
/// when none answers.
fn routed_gpu() -> Option<Arc<GpuBackend>> {
    let options = GpuOptions {
        max_items_per_dispatch: Some(DISPATCH_ITEMS),
        spot_check_samples: Some(usize::MAX),
        min_batch: Some(16),
        ..GpuOptions::from_settings(|name| std::env::var(name).ok()).unwrap()
    };
    match GpuBackend::new(&options) {
        Ok(gpu) => Some(Arc::new(gpu)),
        Err(e) if gpu_required() => panic!("PAILLIER_GPU_REQUIRE_ADAPTER=1 but no GPU: {e}"),
        Err(e) => {
            eprintln!("skipping: {e}");
            None
        }
    }
}

/// The routing decorator: a batch below `min_batch` runs on the CPU (an armed corruption on the
/// device does not touch it), a larger one on the device, checked.
#[test]
fn small_batches_go_to_the_cpu_and_large_ones_to_the_checked_device() {
    let Some(gpu) = routed_gpu() else { return };
    let backend = gpu.checked();
    let mut rng = StdRng::seed_from_u64(21);
    let m = modulus(&mut rng, 512);
    let (small, large) = (batch(&mut rng, &m, 8), batch(&mut rng, &m, ITEMS));
    let b = batch(&mut rng, &m, 1);
    assert!(backend.runs_on_cpu(small.len()) && !backend.runs_on_cpu(large.len()));
    gpu.inject_fault(Fault::CorruptResult { after_readbacks: 1 });
    assert_eq!(
        backend.modmul(&m, &small, &b).unwrap(),
        CpuBackend.modmul(&m, &small, &b).unwrap()
    );
    assert!(matches!(
        backend.modmul(&m, &large, &b),
        Err(EngineError::GpuFailure(why)) if why.contains("spot check")
    ));
}

/// Resident products (a search database kept on the device) pass through the same decorators
/// as every other operation: a small range runs on the CPU, a corrupted large one is caught by
/// the spot check, and under auto it comes back right from the host copy.
#[test]
fn resident_products_are_routed_checked_and_fall_back() {
    let Some(gpu) = routed_gpu() else { return };
    let checked = gpu.checked();
    let auto = FallbackBackend::new(gpu.checked(), CpuBackend::shared());
    let mut rng = StdRng::seed_from_u64(22);
    let m = modulus(&mut rng, 512);
    let items = batch(&mut rng, &m, ITEMS);
    let b = batch(&mut rng, &m, 1);
    let mut resident = ResidentBatch::new(m.len());
    checked.append_resident(&mut resident, &items).unwrap();
    assert!(resident.is_on_device());
    let expected = CpuBackend.modmul(&m, &items, &b).unwrap();

    gpu.inject_fault(Fault::CorruptResult { after_readbacks: 1 });
    let small = checked.modmul_resident(&m, &resident, 0..8, &b).unwrap();
    assert_eq!(small.as_flat(), &expected.as_flat()[..8 * m.len()]);
    assert!(matches!(
        checked.modmul_resident(&m, &resident, 0..ITEMS, &b),
        Err(EngineError::GpuFailure(why)) if why.contains("spot check")
    ));

    gpu.inject_fault(Fault::CorruptResult { after_readbacks: 1 });
    assert_eq!(
        auto.modmul_resident(&m, &resident, 0..ITEMS, &b).unwrap(),
        expected
    );
    assert!(auto.degraded());
    // Degraded, auto appends on the CPU: the host copy grows, the stale device copy is dropped.
    auto.append_resident(&mut resident, &b).unwrap();
    assert_eq!(resident.len(), ITEMS + 1);
    assert!(!resident.is_on_device());
}
