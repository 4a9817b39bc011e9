//! Operations as values on both engines and through the scheduler's policies: batched squaring
//! and repeated squaring (the two operations added through the seam alone: operation, CPU
//! engine, GPU engine), against num-bigint on the CPU and against the CPU on the GPU (every limb
//! path, and behind the spot checks and the small-batch routing).

use crate::common;

use common::{batch, modulus};
use paillier_gpu::hazmat::backend::cpu::CpuBackend;
use paillier_gpu::hazmat::backend::operation::{RepeatedSquare, Square};
use paillier_gpu::hazmat::backend::{Backend, LimbBatch, Operation, Output, VerifyingBackend};
#[cfg(feature = "gpu")]
use paillier_gpu::hazmat::backend::{FallbackBackend, RoutingBackend};
use paillier_gpu::hazmat::Error;
use rand::{rngs::StdRng, SeedableRng};
#[cfg(feature = "gpu")]
use std::sync::Arc;

fn square(
    backend: &dyn Backend,
    m: &paillier_gpu::hazmat::bigint::MontgomeryModulus,
    a: &LimbBatch,
) -> LimbBatch {
    backend
        .run(&Operation::Square(Square { modulus: m, a }))
        .and_then(Output::into_limbs)
        .unwrap()
}

#[test]
fn squares_on_the_cpu_match_num_bigint() {
    let mut rng = StdRng::seed_from_u64(61);
    for bits in [64u64, 192, 1024, 2048, 4096] {
        let m = modulus(&mut rng, bits);
        for count in [0usize, 1, 5, 33] {
            let a = batch(&mut rng, &m, count);
            let squares = square(&CpuBackend, &m, &a);
            assert_eq!(squares.len(), count);
            for i in 0..count {
                let x = m.biguint_of(a.item(i));
                assert_eq!(
                    m.biguint_of(squares.item(i)),
                    &x * &x % m.modulus(),
                    "{bits} bits, item {i}"
                );
            }
            // The spot checks recompute squares item by item: a correct engine passes them all.
            let checked = VerifyingBackend::new(CpuBackend::shared(), count);
            assert_eq!(square(&checked, &m, &a), squares);
        }
    }
}

#[test]
fn a_square_of_the_wrong_width_is_refused() {
    let mut rng = StdRng::seed_from_u64(62);
    let m = modulus(&mut rng, 1024);
    let narrow = LimbBatch::from_flat(2, vec![1, 2, 3, 4]).unwrap();
    assert!(matches!(
        CpuBackend.run(&Operation::Square(Square {
            modulus: &m,
            a: &narrow
        })),
        Err(Error::InvalidParameter(_))
    ));
}

#[cfg(feature = "gpu")]
#[test]
fn squares_on_the_gpu_match_the_cpu() {
    let mut rng = StdRng::seed_from_u64(63);
    for (path, gpu) in common::gpu::backends() {
        for bits in common::gpu::widths(&[1024u64, 2048, 4096], &[2048]) {
            let m = modulus(&mut rng, bits);
            for count in [1usize, 7, 130] {
                let a = batch(&mut rng, &m, count);
                let expected = square(&CpuBackend, &m, &a);
                assert_eq!(
                    square(gpu.as_ref(), &m, &a),
                    expected,
                    "{path:?} {bits} bits"
                );
                // Through the three policies as every operation goes: every item spot-checked,
                // batches below 4 to the CPU, the CPU after a GPU failure (none here).
                let verified = Arc::new(VerifyingBackend::new(gpu.clone(), count));
                let routed = Arc::new(RoutingBackend::new(CpuBackend::shared(), verified, 4));
                let auto = FallbackBackend::new(routed, CpuBackend::shared());
                assert_eq!(
                    square(&auto, &m, &a),
                    expected,
                    "{path:?} {bits} bits, policies"
                );
                assert!(!auto.degraded());
            }
        }
        let narrow = LimbBatch::from_flat(2, vec![1, 2]).unwrap();
        let m = modulus(&mut rng, 1024);
        assert!(matches!(
            gpu.run(&Operation::Square(Square {
                modulus: &m,
                a: &narrow
            })),
            Err(Error::InvalidParameter(_))
        ));
    }
}

fn repeated_square(
    backend: &dyn Backend,
    m: &paillier_gpu::hazmat::bigint::MontgomeryModulus,
    a: &LimbBatch,
    squarings: usize,
) -> paillier_gpu::hazmat::Result<LimbBatch> {
    let op = RepeatedSquare {
        modulus: m,
        a,
        squarings,
    };
    backend
        .run(&Operation::RepeatedSquare(op))
        .and_then(Output::into_limbs)
}

#[test]
fn repeated_squares_on_the_cpu_match_num_bigint() {
    let mut rng = StdRng::seed_from_u64(64);
    for bits in [64u64, 1024, 2048] {
        let m = modulus(&mut rng, bits);
        let cases = [
            (0usize, 3usize),
            (1, 0),
            (5, 1),
            (9, 4),
            (3, 63),
            (3, 64),
            (2, 200),
        ];
        for (count, squarings) in cases {
            let a = batch(&mut rng, &m, count);
            let powers = repeated_square(&CpuBackend, &m, &a, squarings).unwrap();
            assert_eq!(powers.len(), count);
            let exponent = num_bigint::BigUint::from(1u32) << squarings;
            for i in 0..count {
                let x = m.biguint_of(a.item(i));
                assert_eq!(
                    m.biguint_of(powers.item(i)),
                    x.modpow(&exponent, &m.modulus()),
                    "{bits} bits, {squarings} squarings, item {i}"
                );
            }
            // Spot-checked item by item, as every operation is: a correct engine passes.
            let checked = VerifyingBackend::new(CpuBackend::shared(), count);
            assert_eq!(
                repeated_square(&checked, &m, &a, squarings).unwrap(),
                powers
            );
        }
    }
}

#[test]
fn too_many_squarings_or_the_wrong_width_are_refused() {
    let mut rng = StdRng::seed_from_u64(65);
    let m = modulus(&mut rng, 1024);
    let a = batch(&mut rng, &m, 2);
    let most = RepeatedSquare::MAX_SQUARINGS;
    assert!(repeated_square(&CpuBackend, &m, &a, most).is_ok());
    assert!(matches!(
        repeated_square(&CpuBackend, &m, &a, most + 1),
        Err(Error::InvalidParameter(why)) if why.contains("squarings")
    ));
    let narrow = LimbBatch::from_flat(2, vec![1, 2, 3, 4]).unwrap();
    assert!(matches!(
        repeated_square(&CpuBackend, &m, &narrow, 3),
        Err(Error::InvalidParameter(_))
    ));
}

#[cfg(feature = "gpu")]
#[test]
fn repeated_squares_on_the_gpu_match_the_cpu() {
    let mut rng = StdRng::seed_from_u64(66);
    for (path, gpu) in common::gpu::backends() {
        let m = modulus(&mut rng, 2048);
        for (count, squarings) in [(1usize, 0usize), (7, 1), (2, 63), (70, 64), (3, 300)] {
            let a = batch(&mut rng, &m, count);
            let expected = repeated_square(&CpuBackend, &m, &a, squarings).unwrap();
            assert_eq!(
                repeated_square(gpu.as_ref(), &m, &a, squarings).unwrap(),
                expected,
                "{path:?}, {count} items, {squarings} squarings"
            );
            // Every item spot-checked against the CPU's one-item recomputation.
            let verified = VerifyingBackend::new(gpu.clone(), count);
            assert_eq!(
                repeated_square(&verified, &m, &a, squarings).unwrap(),
                expected
            );
        }
        let a = batch(&mut rng, &m, 2);
        let most = RepeatedSquare::MAX_SQUARINGS;
        assert!(matches!(
            repeated_square(gpu.as_ref(), &m, &a, most + 1),
            Err(Error::InvalidParameter(why)) if why.contains("squarings")
        ));
    }
}
