//! Constant-time evidence for the CPU arithmetic on secrets.
//!
//! Three tools in one binary (`tools/ct-check` runs them all):
//!
//! * `ct_check probe <engine> <operation> <exponent-class>` runs one secret-exponent operation
//!   once, inside `probe_target`, for `tools/ct-callgrind.sh`: callgrind counts the instructions
//!   and data reads/writes of `probe_target` for each exponent class. Equal counts across classes
//!   (all zeros, all ones, a single bit, random) mean that neither the control flow nor the
//!   number of memory accesses depends on the exponent. Valgrind does not run AVX-512, so this
//!   covers the portable engine.
//! * `ct_check memcheck <operation>` is the ctgrind technique (Langley, 2010) for valgrind's
//!   memcheck: the secret (the exponent; both operands of a product; for the two-digit
//!   operations N, standing for a prime, and the base modulo N²; a verifiable record's answer
//!   and the query; the data key and an embedding for the projection) is marked undefined through
//!   a client request, so memcheck reports every conditional jump and every memory address that
//!   depends on it. Run under `valgrind --tool=memcheck`; the portable engine. `pow_public` is the
//!   control: it must be reported.
//! * `ct_check dudect [samples] [operation...]` (every timed operation unless some are named)
//!   is a dudect-style statistical test (Reparaz, Balasch, Verbauwhede 2017) on the engine
//!   this CPU picks (IFMA where present): timings of a fixed exponent class and of random
//!   exponents, interleaved at random, compared with Welch's t-test. |t| above 4.5
//!   suggests a leak; below it, none was detected at that sample size. A tool, not a unit test:
//!   timings on a shared machine are noisy.
//!
//! ```text
//! tools/ct-check                       # every check; exit 0 only when all pass
//! valgrind --tool=memcheck target/release/examples/ct_check memcheck pow_secret
//! cargo run --release --example ct_check -- dudect 20000
//! tools/ct-callgrind.sh
//! ```

mod setup;

use std::hint::black_box;
use std::time::Instant;

use num_bigint::BigUint;
use paillier_gpu::hazmat::bigint::memcheck::{mark_public, mark_secret};
use paillier_gpu::hazmat::bigint::{Engine, FixedBaseTable, Montgomery, MontgomeryModulus, LANES};
use rand::{rngs::StdRng, Rng, SeedableRng};

use setup::{exponent, Setup, EXPONENT_BITS};

/// What `probe_target` runs, for the usage messages.
const OPERATIONS: &str =
    "pow_secret, pow_secret_pair, pow_secret_root, fixed_base, fixed_base_root, \
     fixed_base_public_root, root_table_build, reduce_wide, mont_mul, pow_public, \
     pow_secret_lanes, pow_secret_root_lanes, pow_secret_narrow_avx512f, pow_secret_narrow_avx2, \
     pow_secret_root_narrow_avx512f, pow_secret_root_narrow_avx2, \
     fixed_base_root_lanes, fixed_base_narrow_avx512f, record_check, record_check_one_bit, \
     projection (memcheck only)";

/// Eight copies of `base` through `pow` (a lane engine's `pow_secret` on normal-form bases);
/// the first lane's power comes back, in `m`'s Montgomery form.
fn in_lanes(
    m: &MontgomeryModulus,
    base: &Montgomery,
    pow: impl Fn(&[u64], &mut [u64]),
) -> Montgomery {
    let plain = m.from_montgomery(base);
    let bases: Vec<u64> = (0..LANES).flat_map(|_| plain.iter().copied()).collect();
    let mut out = vec![0u64; bases.len()];
    pow(&bases, &mut out);
    m.to_montgomery(&out[..m.len()])
}

/// What callgrind measures: one secret-exponent operation, not inlined so it can be found.
#[inline(never)]
fn probe_target(operation: &str, setup: &Setup, base: &Montgomery, e: &[u64]) -> Montgomery {
    let m = &setup.m;
    match operation {
        "pow_secret" => m.pow_secret(base, e, EXPONENT_BITS),
        // Eight exponentiations in the lanes (batched decryption): eight bases, one secret
        // exponent; the first lane's power comes back.
        "pow_secret_lanes" => match &setup.lanes {
            Some(lanes) => in_lanes(m, base, |b, o| {
                lanes.pow_secret(b, &[e; LANES], EXPONENT_BITS, o)
            }),
            None => m.pow_secret(base, e, EXPONENT_BITS),
        },
        // Eight exponentiations in the narrow lanes (batched decryption and decoding without
        // IFMA), on AVX-512F and on AVX2.
        "pow_secret_narrow_avx512f" | "pow_secret_narrow_avx2" => {
            let narrow = match operation.ends_with("avx2") {
                true => &setup.narrow_avx2,
                false => &setup.narrow_avx512f,
            };
            match narrow {
                Some(lanes) => in_lanes(m, base, |b, o| {
                    lanes.pow_secret(b, &[e; LANES], EXPONENT_BITS, o)
                }),
                None => m.pow_secret(base, e, EXPONENT_BITS),
            }
        }
        // Modulo N² on two digits in the narrow lanes (batched decryption and decoding modulo p²
        // without IFMA), on AVX-512F and on AVX2.
        "pow_secret_root_narrow_avx512f" | "pow_secret_root_narrow_avx2" => {
            let narrow = match operation.ends_with("avx2") {
                true => &setup.root_narrow_avx2,
                false => &setup.root_narrow_avx512f,
            };
            let (square, base) = (&setup.square, &setup.square_base);
            match narrow {
                Some(lanes) => in_lanes(square, base, |b, o| {
                    lanes.pow_secret(b, &[e; LANES], EXPONENT_BITS, o)
                }),
                None => square.pow_secret(base, e, EXPONENT_BITS),
            }
        }
        // The same modulo N² on two digits (what batched decoding runs modulo p²).
        "pow_secret_root_lanes" => {
            let (square, base) = (&setup.square, &setup.square_base);
            match &setup.root_lanes {
                Some(lanes) => in_lanes(square, base, |b, o| {
                    lanes.pow_secret(b, &[e; LANES], EXPONENT_BITS, o)
                }),
                None => square.pow_secret(base, e, EXPONENT_BITS),
            }
        }
        // Two exponentiations in lockstep (decryption and decoding run them in pairs): the
        // second is another base under the same secret exponent.
        "pow_secret_pair" => {
            let other = m.mul(base, base);
            m.pow_secret_pair(m, (base, e), (&other, e), EXPONENT_BITS)
                .0
        }
        // A product of two secrets: the reduction's final subtraction depends on them.
        "mont_mul" => m.mul(base, &m.to_montgomery(&e[..m.len().min(e.len())])),
        "fixed_base" => setup.table().pow(m, e, EXPONENT_BITS),
        "fixed_base_root" => setup.root_table().pow(&setup.square, e, EXPONENT_BITS),
        // A block of eight exponents in the lanes; the first lane's power comes back.
        "fixed_base_root_lanes" => {
            let square = &setup.square;
            let block: Vec<u64> = (0..LANES).flat_map(|_| e.iter().copied()).collect();
            let mut out = vec![0u64; LANES * square.len()];
            let table = setup.root_lanes_table();
            table.pow_block_into(square, &block, e.len(), EXPONENT_BITS, &mut out);
            square.to_montgomery(&out[..square.len()])
        }
        // The same block in the narrow lanes modulo N² (AVX-512F, no IFMA); one power on two
        // digits where the CPU lacks AVX-512F.
        "fixed_base_narrow_avx512f" => {
            let square = &setup.square;
            let Some(table) = setup.narrow_table() else {
                return setup.root_table().pow(square, e, EXPONENT_BITS);
            };
            let block: Vec<u64> = (0..LANES).flat_map(|_| e.iter().copied()).collect();
            let mut out = vec![0u64; LANES * square.len()];
            table.pow_block_into(square, &block, e.len(), EXPONENT_BITS, &mut out);
            square.to_montgomery(&out[..square.len()])
        }
        "fixed_base_public_root" => setup
            .public_root_table()
            .pow(&setup.square, e, EXPONENT_BITS),
        "pow_secret_root" => {
            setup
                .digits
                .pow_secret(&setup.square, &setup.square_base, e, EXPONENT_BITS)
        }
        // Building the owner's table modulo p² (from h mod p², which depends on p) and running
        // on its two digits (N⁻¹ mod R, then each entry split): memcheck only; far too slow for
        // the timing tools.
        "root_table_build" => {
            let mut table =
                FixedBaseTable::new(&setup.square, &setup.square_base, EXPONENT_BITS, 5);
            assert!(table.run_on_root(&setup.square, &setup.root));
            table.pow(&setup.square, e, EXPONENT_BITS)
        }
        // c mod p² at the start of decoding (`e` stands for c, of twice N²'s width).
        "reduce_wide" => {
            let mut residue = vec![0u64; setup.square.len()];
            (setup.square.reduce_wide(e, &mut residue)).expect("a value of twice N²'s width");
            setup.square.to_montgomery(&residue)
        }
        // The control: public exponents may branch; the check must see a difference here.
        "pow_public" => m.pow_vartime(base, e),
        other => panic!("unknown operation {other:?} ({OPERATIONS})"),
    }
}

/// The control of `tools/ct_disasm.py`: the table scan as it was before the selections went
/// through `subtle`, with a plain mask that LLVM compiles back into a branch on `index`. The
/// disassembly check must report it; if it does not, the check is blind.
#[inline(never)]
pub fn control_select_with_plain_mask(table: &[u64], stride: usize, index: usize, out: &mut [u64]) {
    out.fill(0);
    for (k, entry) in table.chunks_exact(stride).enumerate() {
        let diff = (k ^ index) as u64;
        let mask = ((diff | diff.wrapping_neg()) >> 63).wrapping_sub(1);
        for (o, &e) in out.iter_mut().zip(entry) {
            *o |= e & mask;
        }
    }
}

fn memcheck(args: &[String]) {
    let [operation] = args else {
        panic!("usage: ct_check memcheck <operation> (one of {OPERATIONS})");
    };
    if operation == "record_check" {
        return record_check();
    }
    if operation == "record_check_one_bit" {
        return record_check_one_bit();
    }
    if operation == "projection" {
        return projection();
    }
    // Valgrind does not run AVX-512: the portable engine, whose selections and subtraction are
    // the same compiled functions the IFMA engine calls.
    let setup = Setup::new(Engine::Portable);
    setup.prepare(operation);
    // Valgrind runs AVX2: the narrow lanes' AVX2 kernels themselves, never a fallback.
    assert!(
        operation != "pow_secret_narrow_avx2" || setup.narrow_avx2.is_some(),
        "the narrow lanes need AVX2, which this CPU (or valgrind's) lacks"
    );
    assert!(
        operation != "pow_secret_root_narrow_avx2" || setup.root_narrow_avx2.is_some(),
        "the narrow lanes need AVX2, which this CPU (or valgrind's) lacks"
    );
    let m = &setup.m;
    let mut rng = StdRng::seed_from_u64(5);
    let mut e = exponent("random", &mut rng);
    let operand = setup.base.clone();
    let on_root = operation.ends_with("_root")
        || operation == "root_table_build"
        || operation == "reduce_wide";
    if on_root {
        // N stands for a secret prime: nothing may branch on it or be addressed by it either,
        // nor on a base reduced modulo N² (c mod p² when decoding, h mod p² for the table).
        mark_secret(setup.root.modulus_limbs());
        mark_secret(setup.square.modulus_limbs());
        mark_secret(setup.square_base.as_limbs());
    }
    if operation == "reduce_wide" {
        // A value of twice N²'s width below N²·R (its high half below 2^(64·len − 2) ≤ N²).
        e = (0..2 * setup.square.len()).map(|_| rng.gen()).collect();
        *e.last_mut().expect("not empty") >>= 2;
    }
    if operation == "mont_mul" {
        // Two secret operands below the modulus (its top bit is set).
        e = (0..m.len()).map(|_| rng.gen()).collect();
        e[m.len() - 1] >>= 1;
        mark_secret(operand.as_limbs());
    }
    mark_secret(&e);
    let out = probe_target(operation, &setup, &operand, black_box(&e));
    mark_public(out.as_limbs());
    mark_public(setup.root.modulus_limbs());
    mark_public(setup.square.modulus_limbs());
    mark_public(setup.square_base.as_limbs());
    drop(operand); // wiped on drop
    println!("{}", out.as_limbs()[0] & 1);
}

/// A verifiable record's answer checked (`RecordKeys::check_record`: its slots read against the
/// query, its fields, its tag's HMAC and comparison) with the decrypted plaintext and the query
/// marked secret: nothing may branch on them or be addressed by them, only the verdict leaves.
/// Random limbs serve: every path is the same whatever they hold.
fn record_check() {
    use paillier_gpu::context::DataKey;
    use paillier_gpu::verifiable::{RecordKeys, TaggedLayout};
    let layout = TaggedLayout::new(512, 1024).expect("the SDK's layout fits");
    let keys = RecordKeys::derive(&DataKey::new([7; 32]));
    let mut rng = StdRng::seed_from_u64(13);
    let mut plaintext: Vec<u64> = (0..32).map(|_| rng.gen()).collect();
    // Nothing above the fields, as in an honest answer.
    plaintext[layout.plaintext_bits() / 64..].fill(0);
    let query: Vec<u8> = (0..512).map(|_| rng.gen_range(0..2u8)).collect();
    mark_secret(&plaintext);
    mark_secret(&query);
    let query_nonce = paillier_gpu::verifiable::QueryNonce::random();
    let check = keys.check_record(
        &layout,
        "kb-1",
        black_box(&query),
        query_nonce,
        black_box(&plaintext),
    );
    let mut verdict = [u64::from(check.valid), u64::from(check.distance)];
    mark_public(&verdict);
    mark_public(&plaintext);
    mark_public(&query);
    verdict[0] ^= verdict[1];
    println!("{}", verdict[0] & 1);
}

/// A one-bit record's answer checked (`RecordKeys::check_one_bit_answer`: the query subtracted
/// modulo p, the fields, the bits against the query, the tag's HMAC and comparison) with the
/// answer modulo p, p itself and the query marked secret; only the verdict leaves.
fn record_check_one_bit() {
    use paillier_gpu::context::DataKey;
    use paillier_gpu::verifiable::{OneBitLayout, QueryNonce, RecordKeys};
    let layout = OneBitLayout::new(512, 1024).expect("the SDK's dimension fits");
    let keys = RecordKeys::derive(&DataKey::new([7; 32]));
    let mut rng = StdRng::seed_from_u64(17);
    // p: 1024 bits, odd; the answer below it (n's width, zero above p's).
    let mut p: Vec<u64> = (0..16).map(|_| rng.gen()).collect();
    p[0] |= 1;
    p[15] |= 1 << 63;
    let mut answer: Vec<u64> = (0..32).map(|_| rng.gen()).collect();
    answer[15] >>= 1;
    answer[16..].fill(0);
    let query: Vec<u8> = (0..512).map(|_| rng.gen_range(0..2u8)).collect();
    let mut bits = vec![0u8; 512];
    mark_secret(&p);
    mark_secret(&answer);
    mark_secret(&query);
    let check = keys.check_one_bit_answer(
        &layout,
        "kb-1",
        black_box(&query),
        QueryNonce::random(),
        black_box(&answer),
        black_box(&p),
        &mut bits,
    );
    let mut verdict = [u64::from(check.valid), u64::from(check.distance)];
    mark_public(&verdict);
    mark_public(&answer);
    mark_public(&query);
    mark_public(&p);
    mark_public(&bits);
    verdict[0] ^= verdict[1];
    println!("{}", verdict[0] & 1);
}

/// An embedding's keyed projection (`Projection::from_data_key`, then `project`) with the data
/// key and the embedding marked secret: the hyperplanes' derivation (HKDF, AES-256-CTR), the dot
/// products and their signs may neither branch on them nor be addressed by them; only the bits
/// leave. Whether the embedding is finite is declassified by the library (its error says so).
fn projection() {
    use paillier_gpu::context::DataKey;
    use paillier_gpu::projection::Projection;
    let mut rng = StdRng::seed_from_u64(19);
    let key: [u8; 32] = rng.gen();
    let embedding: Vec<f64> = (0..24).map(|_| rng.gen_range(-1.0..1.0)).collect();
    mark_secret(&key);
    mark_secret(&embedding);
    let projection = Projection::from_data_key(&DataKey::new(key), "fingerprint", 24, 512)
        .expect("24 dimensions onto 512 bits");
    let bits = projection
        .project(black_box(&embedding))
        .expect("a finite embedding");
    mark_public(&bits);
    mark_public(&embedding);
    mark_public(&key);
    println!("{}", bits.iter().fold(0u8, |all, &b| all ^ b));
}

fn probe(args: &[String]) {
    let [engine, operation, class] = args else {
        panic!("usage: ct_check probe <portable|ifma> <pow_secret|fixed_base> <class>");
    };
    let engine = match engine.as_str() {
        "portable" => Engine::Portable,
        "ifma" => Engine::Ifma52,
        other => panic!("unknown engine {other:?}"),
    };
    let setup = Setup::new(engine);
    setup.prepare(operation);
    if operation == "control_select" {
        let mut out = vec![0u64; 4];
        let index = black_box(class.len() % 16);
        control_select_with_plain_mask(black_box(&[7u64; 64]), 4, index, &mut out);
        println!("{}", out[0]);
        return;
    }
    // The same random stream for every class, so only the exponent differs.
    let e = exponent(class, &mut StdRng::seed_from_u64(3));
    let out = probe_target(operation, &setup, &setup.base, black_box(&e));
    println!("{}", out.as_limbs()[0] & 1);
}

/// Welch's t statistic of two samples.
fn welch_t(a: &[f64], b: &[f64]) -> f64 {
    let stats = |x: &[f64]| {
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (n, mean, var)
    };
    let (na, ma, va) = stats(a);
    let (nb, mb, vb) = stats(b);
    (ma - mb) / (va / na + vb / nb).sqrt()
}

/// Drops the slowest `fraction` of a sample (interrupts, migrations), as dudect crops.
fn crop(mut x: Vec<f64>, fraction: f64) -> Vec<f64> {
    x.sort_by(|a, b| a.total_cmp(b));
    x.truncate(((x.len() as f64) * (1.0 - fraction)) as usize);
    x
}

fn dudect(args: &[String]) {
    let samples: usize = args.first().map_or(10_000, |s| s.parse().expect("samples"));
    let engine = MontgomeryModulus::new(&BigUint::from(3u32))
        .map(|m| m.engine())
        .unwrap_or(Engine::Portable);
    let setup = Setup::new(engine);
    setup.prepare_all();
    println!(
        "engine {}, {samples} measurements per operation and class pair",
        engine.describe()
    );
    println!(
        "{:<22} {:<8} {:>10} {:>10}",
        "operation", "class", "t", "verdict"
    );
    let chosen = &args[args.len().min(1)..];
    for operation in [
        "pow_secret",
        "pow_secret_pair",
        "pow_secret_lanes",
        "pow_secret_root_lanes",
        "pow_secret_narrow_avx512f",
        "pow_secret_narrow_avx2",
        "pow_secret_root_narrow_avx512f",
        "pow_secret_root_narrow_avx2",
        "pow_secret_root",
        "fixed_base",
        "fixed_base_root",
        "fixed_base_root_lanes",
        "fixed_base_narrow_avx512f",
        "fixed_base_public_root",
    ]
    .into_iter()
    .filter(|op| chosen.is_empty() || chosen.iter().any(|c| c == op))
    {
        for class in ["zero", "ones", "one-bit"] {
            // All inputs are drawn before any is timed, so that nothing but the operation
            // (drawing a random exponent, say) differs between the two classes' measurements.
            let mut rng = StdRng::seed_from_u64(4);
            let fixed = exponent(class, &mut rng);
            let inputs: Vec<(bool, Vec<u64>)> = (0..samples)
                .map(|_| {
                    let use_fixed = rng.gen::<bool>();
                    let e = if use_fixed {
                        fixed.clone()
                    } else {
                        exponent("random", &mut rng)
                    };
                    (use_fixed, e)
                })
                .collect();
            let (mut times_fixed, mut times_random) = (Vec::new(), Vec::new());
            for (use_fixed, e) in &inputs {
                let start = Instant::now();
                black_box(probe_target(operation, &setup, &setup.base, black_box(e)));
                let ns = start.elapsed().as_nanos() as f64;
                if *use_fixed {
                    times_fixed.push(ns);
                } else {
                    times_random.push(ns);
                }
            }
            let t = welch_t(&crop(times_fixed, 0.05), &crop(times_random, 0.05));
            let verdict = if t.abs() > 4.5 { "LEAK?" } else { "ok" };
            println!("{operation:<22} {class:<8} {t:>10.2} {verdict:>10}");
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("probe") => probe(&args[1..]),
        Some("memcheck") => memcheck(&args[1..]),
        Some("dudect") => dudect(&args[1..]),
        _ => eprintln!(
            "usage: ct_check probe <engine> <operation> <class> | ct_check memcheck <operation> \
             | ct_check dudect [samples] [operation...]"
        ),
    }
}
