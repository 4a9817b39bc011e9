//! The Montgomery engine against its references, single thread: modular exponentiation with a
//! public and with a secret exponent, and one modular multiplication, at the widths of key_len 1024
//! (`n²` of 4096 bits with a 2048-bit exponent, `p²` of 2048 bits with a 1024-bit exponent); and
//! modulo a square whose root is known, products modulo N² against two digits modulo N
//! (`two_digit`), for the owner's decryption and fixed-base encryption (N = p) and public-key
//! fixed-base encryption (N = n).
//!
//! ```text
//! cargo bench --features bench --bench engine  # our engine and num-bigint
//! cargo bench --bench engine --features gmp   # adds GMP (rug): mpz_powm, mpz_powm_sec, mpz_mul+mod
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use num_bigint::{BigUint, RandBigInt};
use paillier_gpu::hazmat::bigint::{FixedBaseTable, MontgomeryModulus, TwoDigit};

/// (modulus bits, exponent bits): classic encryption's `r^n mod n²` and CRT decryption's
/// `c^(p-1) mod p²` at key_len 1024.
const SHAPES: [(u64, u64); 2] = [(4096, 2048), (2048, 1024)];

fn random_odd_modulus(bits: u64) -> BigUint {
    let mut m = rand::thread_rng().gen_biguint(bits);
    m.set_bit(bits - 1, true);
    m.set_bit(0, true);
    m
}

fn modexp(c: &mut Criterion) {
    let mut rng = rand::thread_rng();
    for (modulus_bits, exponent_bits) in SHAPES {
        let m = random_odd_modulus(modulus_bits);
        let engine = MontgomeryModulus::new(&m).expect("odd modulus");
        let base = rng.gen_biguint_below(&m);
        let base_mont = engine.to_montgomery(&engine.limbs_of(&base).expect("reduced"));
        let mut exponent = rng.gen_biguint(exponent_bits);
        exponent.set_bit(exponent_bits - 1, true);
        let exponent_limbs = exponent.to_u64_digits();

        let mut group = c.benchmark_group(format!("modexp_{modulus_bits}_by_{exponent_bits}"));
        group.sample_size(20);
        group.bench_function("engine public (sliding window)", |b| {
            b.iter(|| engine.pow_vartime(&base_mont, &exponent_limbs))
        });
        group.bench_function("engine secret (constant time)", |b| {
            b.iter(|| engine.pow_secret(&base_mont, &exponent_limbs, exponent_bits as usize))
        });
        group.bench_function("num-bigint modpow", |b| {
            b.iter(|| base.modpow(&exponent, &m))
        });
        #[cfg(feature = "gmp")]
        {
            let (m, base, exponent) = (to_rug(&m), to_rug(&base), to_rug(&exponent));
            group.bench_function("gmp mpz_powm", |b| {
                b.iter(|| rug::Integer::from(base.pow_mod_ref(&exponent, &m).expect("powm")))
            });
            group.bench_function("gmp mpz_powm_sec", |b| {
                b.iter(|| rug::Integer::from(base.secure_pow_mod_ref(&exponent, &m)))
            });
        }
        group.finish();
    }
}

/// Exponentiations modulo N² for N of 1024 bits (p at key_len 1024) and 2048 bits (n), with
/// 1024-bit exponents (p − 1, and the noise exponents): on products modulo N², and on two digits
/// modulo N, in one run.
fn square_of_known_root(c: &mut Criterion) {
    const EXPONENT_BITS: usize = 1024;
    let mut rng = rand::thread_rng();
    for root_bits in [1024u64, 2048] {
        let root = random_odd_modulus(root_bits);
        let square = &root * &root;
        let square_mod = MontgomeryModulus::new(&square).expect("odd modulus");
        let root_mod = MontgomeryModulus::new(&root).expect("odd modulus");
        let digits = TwoDigit::new(&square_mod, &root_mod).expect("a square of its root");
        let base = square_mod
            .montgomery_of_vartime(&rng.gen_biguint_below(&square))
            .expect("reduced");
        let exponent = rng.gen_biguint(EXPONENT_BITS as u64).to_u64_digits();
        let table = FixedBaseTable::new(&square_mod, &base, EXPONENT_BITS, 5);
        let mut table_on_root = table.clone();
        let on_root = table_on_root.run_on_root(&square_mod, &root_mod);

        let mut group = c.benchmark_group(format!("square_of_a_{root_bits}_bit_root"));
        group.sample_size(20);
        group.bench_function("secret power, products mod N²", |b| {
            b.iter(|| square_mod.pow_secret(&base, &exponent, EXPONENT_BITS))
        });
        group.bench_function("secret power, two digits mod N", |b| {
            b.iter(|| digits.pow_secret(&square_mod, &base, &exponent, EXPONENT_BITS))
        });
        group.bench_function("fixed-base power, products mod N²", |b| {
            b.iter(|| table.pow(&square_mod, &exponent, EXPONENT_BITS))
        });
        // Where the IFMA engine runs N², the table stays on it (`on_root` is false).
        let name = if on_root {
            "fixed-base power, two digits mod N"
        } else {
            "fixed-base power, two digits mod N (not used: IFMA)"
        };
        group.bench_function(name, |b| {
            b.iter(|| table_on_root.pow(&square_mod, &exponent, EXPONENT_BITS))
        });
        group.finish();
    }
}

fn modmul(c: &mut Criterion) {
    let mut rng = rand::thread_rng();
    let mut group = c.benchmark_group("modmul");
    for (modulus_bits, _) in SHAPES {
        let m = random_odd_modulus(modulus_bits);
        let engine = MontgomeryModulus::new(&m).expect("odd modulus");
        let a = rng.gen_biguint_below(&m);
        let b = rng.gen_biguint_below(&m);
        let a_mont = engine.to_montgomery(&engine.limbs_of(&a).expect("reduced"));
        let b_mont = engine.to_montgomery(&engine.limbs_of(&b).expect("reduced"));
        let mut out = vec![0u64; engine.len()];
        group.bench_function(
            BenchmarkId::new("engine montgomery mul", modulus_bits),
            |bench| bench.iter(|| engine.mul_into(a_mont.as_limbs(), b_mont.as_limbs(), &mut out)),
        );
        // The aggregation's operation: x·q mod m with the query q prepared once.
        let prepared = engine.prepare_multiplier(&engine.limbs_of(&b).expect("reduced"));
        let a_plain = engine.limbs_of(&a).expect("reduced");
        group.bench_function(
            BenchmarkId::new(
                format!("engine prepared mul {:?}", engine.engine()),
                modulus_bits,
            ),
            |bench| bench.iter(|| engine.mul_prepared(&a_plain, &prepared, &mut out)),
        );
        group.bench_function(
            BenchmarkId::new("engine montgomery square", modulus_bits),
            |bench| bench.iter(|| engine.square_into(a_mont.as_limbs(), &mut out)),
        );
        group.bench_function(
            BenchmarkId::new("num-bigint (a*b)%m", modulus_bits),
            |bench| bench.iter(|| (&a * &b) % &m),
        );
        #[cfg(feature = "gmp")]
        {
            let (m, a, b) = (to_rug(&m), to_rug(&a), to_rug(&b));
            let mut product = rug::Integer::new();
            group.bench_function(BenchmarkId::new("gmp (a*b)%m", modulus_bits), |bench| {
                bench.iter(|| {
                    product.assign(&a * &b);
                    product %= &m;
                })
            });
        }
    }
    group.finish();
}

#[cfg(feature = "gmp")]
fn to_rug(value: &BigUint) -> rug::Integer {
    rug::Integer::from_digits(&value.to_u64_digits(), rug::integer::Order::Lsf)
}

#[cfg(feature = "gmp")]
use rug::Assign;

criterion_group!(benches, modexp, modmul, square_of_known_root);
criterion_main!(benches);
