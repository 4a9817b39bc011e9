//! Fused encryption on the GPU against the CPU, bit for bit: both schemes (`1 + m·n` and a table
//! of `g`), modulo n² and modulo p² and q² with the recombination, on every limb path, with
//! batches of one item and of several chunks; key_len 512 with the adapter's exchange, or key_len
//! 512 to 2048 on both exchanges in the whole matrix (`common::gpu::whole_matrix`).
//!
//! The moduli here are random odd coprime numbers rather than primes: the arithmetic does not
//! need primality, and keys of 2048 bits would take longer to generate than to test.
//!
//! Without an adapter these tests print why and pass, unless `PAILLIER_GPU_REQUIRE_ADAPTER=1`.
#![cfg(feature = "gpu")]

use crate::common;

use common::gpu::backends;
use num_bigint::{BigUint, RandBigInt};
use paillier_gpu::hazmat::backend::cpu::CpuBackend;
use paillier_gpu::hazmat::backend::gpu::{Exchange, GpuOptions};
use paillier_gpu::hazmat::backend::message_form::spread_item;
use paillier_gpu::hazmat::backend::{
    Backend, EncryptionJob, Exponents, Garner, LimbBatch, MessageForm, ResidueTables, Residues,
    Secrecy,
};
use paillier_gpu::hazmat::bigint::{FixedBaseTable, MontgomeryModulus};
use rand::{rngs::StdRng, SeedableRng};

/// Noise exponent bits here (real ones are longer; the length only sets the number of rows).
const NOISE_BITS: usize = 72;
/// Message bits for the lookup scheme's `g^m` (the classic scheme takes any `m < n`).
const LOOKUP_MESSAGE_BITS: usize = 40;
const WINDOW: usize = 4;

/// A key-shaped set of moduli and tables: n = p·q, with tables of a noise base and of g modulo
/// n², p² and q².
struct Key {
    n: BigUint,
    n_squared: MontgomeryModulus,
    p_squared: MontgomeryModulus,
    q_squared: MontgomeryModulus,
    garner: Garner,
    /// n, p and q: the square roots of the three moduli (the GPU computes on their digits).
    roots: Vec<MontgomeryModulus>,
    /// Noise and g tables modulo n², p², q².
    tables: Vec<(FixedBaseTable, FixedBaseTable)>,
}

impl Key {
    fn new(rng: &mut StdRng, prime_bits: u64) -> Self {
        let (p, q) = common::odd_pair(rng, prime_bits);
        let n = &p * &q;
        let n_squared = MontgomeryModulus::new(&(&n * &n)).unwrap();
        let p_squared = MontgomeryModulus::new(&(&p * &p)).unwrap();
        let q_squared = MontgomeryModulus::new(&(&q * &q)).unwrap();
        let noise_base = rng.gen_biguint_below(&n_squared.modulus());
        let g = rng.gen_biguint_below(&n_squared.modulus());
        let table = |m: &MontgomeryModulus, base: &BigUint, bits: usize| {
            let limbs = m.limbs_of(&(base % m.modulus())).unwrap();
            FixedBaseTable::new(m, &m.to_montgomery(&limbs), bits, WINDOW)
        };
        let tables = [&n_squared, &p_squared, &q_squared]
            .iter()
            .map(|m| {
                (
                    table(m, &noise_base, NOISE_BITS),
                    table(m, &g, LOOKUP_MESSAGE_BITS),
                )
            })
            .collect();
        let roots = [&n, &p, &q]
            .iter()
            .map(|root| MontgomeryModulus::new(root).unwrap())
            .collect();
        Self {
            garner: Garner::new(&p_squared, &q_squared).unwrap(),
            roots,
            n,
            n_squared,
            p_squared,
            q_squared,
            tables,
        }
    }

    fn share(&self, which: usize, lookup: bool) -> ResidueTables<'_> {
        let modulus = [&self.n_squared, &self.p_squared, &self.q_squared][which];
        let (noise, g) = &self.tables[which];
        ResidueTables {
            modulus,
            root: Some(&self.roots[which]),
            noise,
            g: lookup.then_some(g),
        }
    }

    fn job<'a>(
        &'a self,
        owner: bool,
        lookup: bool,
        messages: &'a LimbBatch,
        noise: &'a Exponents,
    ) -> EncryptionJob<'a> {
        let residues = if owner {
            Residues::PrimeSquares {
                p: self.share(1, lookup),
                q: self.share(2, lookup),
                garner: &self.garner,
            }
        } else {
            Residues::NSquared(self.share(0, lookup))
        };
        EncryptionJob {
            n_squared: &self.n_squared,
            n: &self.n,
            residues,
            messages,
            message_form: MessageForm::Value,
            message_bits: if lookup {
                LOOKUP_MESSAGE_BITS
            } else {
                self.n.bits() as usize
            },
            noise_exponents: noise,
        }
    }

    /// The job of messages given as slot bits of `dims` bits.
    fn slot_job<'a>(
        &'a self,
        owner: bool,
        lookup: bool,
        bits: &'a LimbBatch,
        dims: usize,
        noise: &'a Exponents,
    ) -> EncryptionJob<'a> {
        EncryptionJob {
            message_form: MessageForm::SlotBits,
            message_bits: 2 * dims,
            ..self.job(owner, lookup, bits, noise)
        }
    }

    /// `count` messages: below n (classic) or of `LOOKUP_MESSAGE_BITS` bits (lookup), the first
    /// ones 0 and the largest allowed.
    fn messages(&self, rng: &mut StdRng, count: usize, lookup: bool) -> LimbBatch {
        let bound = if lookup {
            BigUint::from(1u32) << LOOKUP_MESSAGE_BITS
        } else {
            self.n.clone()
        };
        let mut batch = LimbBatch::new(self.n_squared.len());
        for i in 0..count {
            let m = match i {
                0 => BigUint::from(0u32),
                1 => &bound - 1u32,
                _ => rng.gen_biguint_below(&bound),
            };
            batch.push(&self.n_squared.limbs_of(&m).unwrap()).unwrap();
        }
        batch
    }
}

fn noise_exponents(rng: &mut StdRng, count: usize) -> Exponents {
    let limbs = NOISE_BITS.div_ceil(64);
    let mut values = LimbBatch::new(limbs);
    for _ in 0..count {
        let x = rng.gen_biguint(NOISE_BITS as u64);
        let mut digits = x.to_u64_digits();
        digits.resize(limbs, 0);
        values.push(&digits).unwrap();
    }
    Exponents {
        values,
        bits: NOISE_BITS,
        secrecy: Secrecy::Secret,
    }
}

#[test]
fn fused_encryption_matches_the_cpu_for_both_schemes_and_both_paths() {
    for (variant, gpu) in backends() {
        let mut rng = StdRng::seed_from_u64(11);
        for key_len in common::gpu::widths(&[512u64, 1024, 1536, 2048], &[512]) {
            let key = Key::new(&mut rng, key_len);
            // Several chunks at the small widths; one item and an odd few at the large ones,
            // where lavapipe is slow (the chunking is the same code at every width).
            let counts: &[usize] = match (key_len, variant.1) {
                (512 | 1024, Exchange::Subgroup) => &[1, 67],
                (512, Exchange::Workgroup) => &[1, 67],
                _ => &[1, 3],
            };
            for &count in counts {
                let noise = noise_exponents(&mut rng, count);
                for lookup in [false, true] {
                    let messages = key.messages(&mut rng, count, lookup);
                    let direct = CpuBackend
                        .encrypt(&key.job(false, lookup, &messages, &noise))
                        .unwrap();
                    for owner in [false, true] {
                        let job = key.job(owner, lookup, &messages, &noise);
                        let on_gpu = gpu.encrypt(&job).unwrap();
                        assert_eq!(
                            on_gpu, direct,
                            "{variant:?} key_len {key_len}, {count} items, lookup {lookup}, owner {owner}"
                        );
                        // The owner's CPU path agrees too (the recombination is right on both).
                        if count == 1 && owner {
                            assert_eq!(CpuBackend.encrypt(&job).unwrap(), direct);
                        }
                    }
                }
            }
        }
    }
}

/// Both arithmetics of the fixed-base passes give the CPU's ciphertexts: the wide numbers
/// modulo the squares (the option off, or no root given) and two digits modulo the roots with
/// few lanes, with the most the adapter allows, and with twice the usual where a call is too
/// small to fill (`two_digit_fill`: at n of 512 bits here, not 1024), for both schemes, both
/// paths, messages as values and as slot bits, across chunks.
#[test]
fn fused_encryption_matches_the_cpu_on_every_arithmetic() {
    let variants = [
        ("wide", Some(false), None, None),
        ("two digits, 2 lanes", Some(true), Some(2), None),
        ("two digits, most lanes", Some(true), Some(64), None),
        // Twice the usual lanes for calls of fewer than 100 invocations at the usual lanes:
        // the small calls here, not the larger ones.
        ("two digits, filling", Some(true), None, Some(100)),
    ];
    let mut rng = StdRng::seed_from_u64(14);
    // key_len 512 is where the two-lane digit kernels run (wider lanes fall back).
    let keys: Vec<Key> = common::gpu::widths(&[512u64, 1024], &[512])
        .into_iter()
        .map(|bits| Key::new(&mut rng, bits))
        .collect();
    for (label, two_digit, two_digit_lanes, two_digit_fill) in variants {
        let options = GpuOptions {
            two_digit,
            two_digit_lanes,
            two_digit_fill,
            ..GpuOptions::default()
        };
        let Some(gpu) = common::gpu::with_options(options) else {
            continue;
        };
        for key in &keys {
            let count = 67;
            let noise = noise_exponents(&mut rng, count);
            let dims = key.n.bits() as usize / 2 - 1;
            let (bits, values) = slot_bit_messages(&mut rng, key, count, dims);
            for lookup in [false, true] {
                let messages = key.messages(&mut rng, count, lookup);
                let expected = CpuBackend
                    .encrypt(&key.job(false, lookup, &messages, &noise))
                    .unwrap();
                for owner in [false, true] {
                    let context = format!(
                        "{label}: {} bits, lookup {lookup}, owner {owner}",
                        key.n.bits()
                    );
                    let job = key.job(owner, lookup, &messages, &noise);
                    assert_eq!(gpu.encrypt(&job).unwrap(), expected, "{context}");
                    // No root: the wide numbers whatever the option says.
                    let residues = match job.residues {
                        Residues::NSquared(share) => Residues::NSquared(rootless(share)),
                        Residues::PrimeSquares { p, q, garner } => Residues::PrimeSquares {
                            p: rootless(p),
                            q: rootless(q),
                            garner,
                        },
                    };
                    let job = EncryptionJob { residues, ..job };
                    assert_eq!(gpu.encrypt(&job).unwrap(), expected, "{context}, no root");
                }
            }
            // Slot bits, spread on the device (classic scheme).
            let expected = CpuBackend
                .encrypt(&key.job(false, false, &values, &noise))
                .unwrap();
            for owner in [false, true] {
                let job = key.slot_job(owner, false, &bits, dims, &noise);
                assert_eq!(
                    gpu.encrypt(&job).unwrap(),
                    expected,
                    "{label}: slot bits, {} bits, owner {owner}",
                    key.n.bits()
                );
            }
        }
    }
}

/// `share` without its root: computed on the wide numbers.
fn rootless(share: ResidueTables<'_>) -> ResidueTables<'_> {
    ResidueTables {
        root: None,
        ..share
    }
}

/// `count` messages as slot bits of `dims` bits (the first all zero, the second all one), and
/// their values in n²'s width.
fn slot_bit_messages(
    rng: &mut StdRng,
    key: &Key,
    count: usize,
    dims: usize,
) -> (LimbBatch, LimbBatch) {
    let limbs = dims.div_ceil(64);
    let mut bits = LimbBatch::new(limbs);
    let mut values = LimbBatch::new(key.n_squared.len());
    for i in 0..count {
        let x = match i {
            0 => BigUint::from(0u32),
            1 => (BigUint::from(1u32) << dims) - 1u32,
            _ => rng.gen_biguint(dims as u64),
        };
        let mut digits = x.to_u64_digits();
        digits.resize(limbs, 0);
        bits.push(&digits).unwrap();
        spread_item(&digits, values.push_zeroed());
    }
    (bits, values)
}

/// Messages given as slot bits (spread on the device for the classic scheme, on the host for
/// the lookup scheme) give the ciphertexts of their values, through `encrypt` and
/// `encrypt_into`, with the widest slot layout a key holds.
#[test]
fn slot_bit_messages_encrypt_like_their_values() {
    for (variant, gpu) in backends() {
        let mut rng = StdRng::seed_from_u64(13);
        for key_len in common::gpu::widths(&[512u64, 1024], &[512]) {
            let key = Key::new(&mut rng, key_len);
            for count in [1usize, 67] {
                let noise = noise_exponents(&mut rng, count);
                for lookup in [false, true] {
                    let dims = if lookup {
                        LOOKUP_MESSAGE_BITS / 2
                    } else {
                        key_len as usize - 1
                    };
                    let (bits, values) = slot_bit_messages(&mut rng, &key, count, dims);
                    let expected = CpuBackend
                        .encrypt(&key.job(false, lookup, &values, &noise))
                        .unwrap();
                    for owner in [false, true] {
                        let job = key.slot_job(owner, lookup, &bits, dims, &noise);
                        let context = format!(
                            "{variant:?} key_len {key_len}, {count} items, lookup {lookup}, owner {owner}"
                        );
                        assert_eq!(gpu.encrypt(&job).unwrap(), expected, "{context}");
                        let mut out = vec![0u64; expected.as_flat().len()];
                        gpu.encrypt_into(&job, &mut out).unwrap();
                        assert_eq!(out, expected.as_flat(), "{context}");
                        assert_eq!(CpuBackend.encrypt(&job).unwrap(), expected, "{context}");
                    }
                }
            }
        }
    }
}

#[test]
fn a_bad_encryption_job_is_an_error_on_the_gpu_too() {
    let mut rng = StdRng::seed_from_u64(12);
    let key = Key::new(&mut rng, 256);
    for (variant, gpu) in backends() {
        let messages = key.messages(&mut rng, 4, false);
        // One noise exponent short.
        let noise = noise_exponents(&mut rng, 3);
        let job = key.job(true, false, &messages, &noise);
        assert!(gpu.encrypt(&job).is_err(), "{variant:?}");
        // Messages of the wrong width.
        let narrow = LimbBatch::from_flat(1, vec![1; 4]).unwrap();
        let noise = noise_exponents(&mut rng, 4);
        assert!(gpu
            .encrypt(&key.job(false, false, &narrow, &noise))
            .is_err());
        // Slot bits wider than half of n².
        let wide =
            LimbBatch::from_flat(key.n_squared.len(), vec![1; 4 * key.n_squared.len()]).unwrap();
        let job = EncryptionJob {
            message_form: MessageForm::SlotBits,
            ..key.job(false, false, &wide, &noise)
        };
        assert!(gpu.encrypt(&job).is_err(), "{variant:?}");
    }
}
