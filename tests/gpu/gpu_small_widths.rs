//! Property tests of the cooperative kernels at small widths (S = 4 to 16 limbs, T = 1, 2, 4
//! lanes), where every lane boundary, carry scan and borrow scan is exercised with few limbs,
//! against the CPU backend. Moduli include 2^k − 1 (every limb saturated: carries ripple across
//! all lanes) and operands include 0, 1 and m − 1.
//!
//! Without an adapter these tests print why and pass, unless `PAILLIER_GPU_REQUIRE_ADAPTER=1`.
#![cfg(feature = "gpu")]

use crate::common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use num_bigint::BigUint;
use paillier_gpu::hazmat::backend::cpu::CpuBackend;
use paillier_gpu::hazmat::backend::gpu::{Exchange, GpuBackend, GpuOptions, LimbPath};
use paillier_gpu::hazmat::backend::{Backend, Exponents, LimbBatch, Secrecy};
use paillier_gpu::hazmat::bigint::MontgomeryModulus;
use proptest::prelude::*;

type Key = (LimbPath, Exchange, usize);

/// The backend with `lanes` lanes per number at most, or None where the adapter lacks the
/// variant (always printed).
fn gpu(key: Key) -> Option<Arc<GpuBackend>> {
    common::quiet_mesa();
    static CACHE: OnceLock<Mutex<HashMap<Key, Option<Arc<GpuBackend>>>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().ok()?;
    cache
        .entry(key)
        .or_insert_with(|| {
            let options = GpuOptions {
                limb_path: Some(key.0),
                exchange: Some(key.1),
                lanes: Some(key.2),
                max_items_per_dispatch: Some(5),
                spot_check_samples: Some(0),
                ..GpuOptions::default()
            };
            common::gpu::variant(&options, key)
        })
        .clone()
}

fn key_strategy() -> impl Strategy<Value = Key> {
    (
        prop_oneof![Just(LimbPath::Bits32), Just(LimbPath::Bits16)],
        prop_oneof![Just(Exchange::Subgroup), Just(Exchange::Workgroup)],
        prop_oneof![Just(1usize), Just(2), Just(4)],
    )
}

/// An odd modulus of `bits` bits: random, or 2^bits − 1.
fn modulus_of(bits: usize, saturated: bool, seed: &[u8]) -> MontgomeryModulus {
    let mut m = if saturated {
        (BigUint::from(1u32) << bits) - 1u32
    } else {
        BigUint::from_bytes_le(seed) % (BigUint::from(1u32) << bits)
    };
    m.set_bit(bits as u64 - 1, true);
    m.set_bit(0, true);
    MontgomeryModulus::new(&m).unwrap()
}

/// Residues below m: 0, 1, m − 1, then values from the seeds.
fn residues(m: &MontgomeryModulus, seeds: &[Vec<u8>]) -> LimbBatch {
    let modulus = m.modulus();
    let mut values = vec![BigUint::from(0u32), BigUint::from(1u32), &modulus - 1u32];
    values.extend(seeds.iter().map(|s| BigUint::from_bytes_le(s) % &modulus));
    let mut batch = LimbBatch::new(m.len());
    for v in values {
        batch.push(&m.limbs_of(&v).unwrap()).unwrap();
    }
    batch
}

proptest! {
    // Each case may be a new kernel shape: a few in the README's test command, the whole
    // sixteen with the whole matrix (`common::gpu::whole_matrix`).
    #![proptest_config(ProptestConfig {
        cases: if common::gpu::whole_matrix() { 16 } else { 4 },
        ..ProptestConfig::default()
    })]

    #[test]
    fn small_width_products_and_powers_match_the_cpu(
        key in key_strategy(),
        bits in prop_oneof![Just(128usize), Just(192), Just(256), Just(320), Just(512)],
        saturated in any::<bool>(),
        modulus_seed in prop::collection::vec(any::<u8>(), 64),
        seeds in prop::collection::vec(prop::collection::vec(any::<u8>(), 64), 6),
        exponent in any::<u64>(),
    ) {
        let Some(gpu) = gpu(key) else { return Ok(()) };
        let m = modulus_of(bits, saturated, &modulus_seed);
        let a = residues(&m, &seeds);
        let mut b = a.clone();
        // Reverse so that 0, 1, m − 1 meet other values too.
        let items: Vec<Vec<u64>> = a.iter().rev().map(|i| i.to_vec()).collect();
        b = LimbBatch::from_flat(b.limbs_per_item(), items.concat()).unwrap();
        prop_assert_eq!(
            gpu.modmul(&m, &a, &b).unwrap(),
            CpuBackend.modmul(&m, &a, &b).unwrap(),
            "{:?} {} bits", key, bits
        );
        let e = Exponents {
            values: LimbBatch::single(vec![exponent]),
            bits: 64,
            secrecy: Secrecy::Public,
        };
        prop_assert_eq!(
            gpu.modexp(&m, &a, &e).unwrap(),
            CpuBackend.modexp(&m, &a, &e).unwrap(),
            "{:?} {} bits", key, bits
        );
    }
}
