//! This crate's `paillier` encryption and decoding next to the classic algorithm on GMP and a peer
//! Rust crate (fast-paillier, CRT on GMP), on the same primes and the same packed vectors.
//!
//! ```sh
//! RAYON_NUM_THREADS=1 cargo bench --bench peers --features gmp   # per core
//! ```
//!
//! Per element (one 512-dimension vector, one 1024-bit plaintext, key_len 1024):
//! * `ours encrypt (owner)` / `ours encrypt (public key)`: what `encrypt` does, constant-time
//!   fixed-base noise (DJN) modulo p² and q², or modulo n²;
//! * `ours decode`: CRT decryption with constant-time exponentiations, masked popcount, response checks;
//! * `gmp classic encrypt`: `(1 + m·n) · r^n mod n²` with `mpz_powm` (a random r per vector);
//! * `gmp classic decrypt`: `L(c^λ mod n²) · μ mod n` with `mpz_powm_sec` (constant-time);
//! * `fast-paillier encrypt (owner)` / `(public key)` / `decrypt`: its CRT paths (not
//!   constant-time: GMP's `mpz_powm`).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use num_bigint::BigUint;
use paillier_gpu::hamming::{decode_batch, encrypt_batch, VectorLayout};
use paillier_gpu::hazmat::backend::cpu::CpuBackend;
use paillier_gpu::paillier::{PublicKey, SecretKey};
use rand::{rngs::StdRng, Rng, SeedableRng};
use rug::integer::Order;
use rug::Integer;

const KEY_LEN: usize = 1024;
const EMBED_LEN: usize = 512;
const BATCH: usize = 32;

fn to_big(value: &Integer) -> BigUint {
    BigUint::from_slice(&value.to_digits::<u32>(Order::Lsf))
}

/// A random prime of `bits` bits, top two bits set (so that p·q has exactly 2·bits bits).
fn prime(rng: &mut StdRng, bits: u32) -> Integer {
    let mut candidate = Integer::from_digits(
        &(0..bits / 64).map(|_| rng.gen::<u64>()).collect::<Vec<_>>(),
        Order::Lsf,
    );
    candidate.set_bit(bits - 1, true);
    candidate.set_bit(bits - 2, true);
    candidate.next_prime()
}

fn peers(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let (p, q) = (
        prime(&mut rng, KEY_LEN as u32),
        prime(&mut rng, KEY_LEN as u32),
    );
    let n = Integer::from(&p * &q);
    let nn = Integer::from(&n * &n);
    let phi = Integer::from(&p - 1u32) * Integer::from(&q - 1u32);
    let lambda = Integer::from(&p - 1u32).lcm(&Integer::from(&q - 1u32));
    let mu = lambda.clone().invert(&n).expect("λ is invertible mod n");
    let inv = phi.clone().invert(&n).expect("φ is invertible mod n");

    let pk = PublicKey::paillier(KEY_LEN, to_big(&n)).expect("public key");
    let sk = SecretKey::paillier(&pk, to_big(&phi), to_big(&inv)).expect("secret key");
    let layout = VectorLayout::new(EMBED_LEN, KEY_LEN).expect("layout");
    let backend = CpuBackend;
    let vectors: Vec<Vec<u8>> = (0..BATCH)
        .map(|_| (0..EMBED_LEN).map(|_| rng.gen_range(0..2u8)).collect())
        .collect();
    // The same vectors as plaintext integers, for the peers.
    let plaintexts: Vec<Integer> = vectors
        .iter()
        .map(|v| {
            let mut m = Integer::new();
            for (i, &bit) in v.iter().enumerate() {
                m.set_bit((2 * (EMBED_LEN - 1 - i)) as u32, bit == 1);
            }
            m
        })
        .collect();
    let responses = encrypt_batch(&backend, &pk, Some(&sk), &layout, &vectors).expect("encrypt");
    // Every contender must compute the right thing before it is timed.
    let ones: Vec<u32> = vectors
        .iter()
        .map(|v| v.iter().map(|&b| u32::from(b)).sum())
        .collect();
    assert_eq!(
        decode_batch(&backend, &pk, &sk, &layout, &responses).expect("decode"),
        ones
    );

    let mut group = c.benchmark_group(format!("paillier_key{KEY_LEN}_embed{EMBED_LEN}"));
    group.sample_size(10);
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("ours encrypt (owner)", |b| {
        b.iter(|| encrypt_batch(&backend, &pk, Some(&sk), &layout, &vectors).expect("encrypt"))
    });
    group.bench_function("ours encrypt (public key)", |b| {
        b.iter(|| encrypt_batch(&backend, &pk, None, &layout, &vectors).expect("encrypt"))
    });
    group.bench_function("ours decode", |b| {
        b.iter(|| decode_batch(&backend, &pk, &sk, &layout, &responses).expect("decode"))
    });

    let mut gmp_rng = rug::rand::RandState::new();
    gmp_rng.seed(&Integer::from(7));
    group.bench_function("gmp classic encrypt", |b| {
        b.iter(|| {
            plaintexts
                .iter()
                .map(|m| {
                    let r = Integer::from(n.random_below_ref(&mut gmp_rng));
                    let noise = r.pow_mod(&n, &nn).expect("powm");
                    (Integer::from(m * &n) + 1u32) * noise % &nn
                })
                .collect::<Vec<_>>()
        })
    });
    let classic: Vec<Integer> = plaintexts
        .iter()
        .map(|m| {
            let r = Integer::from(n.random_below_ref(&mut gmp_rng));
            (Integer::from(m * &n) + 1u32) * r.pow_mod(&n, &nn).expect("powm") % &nn
        })
        .collect();
    let classic_decrypt = |c: &Integer| {
        let x = Integer::from(c.secure_pow_mod_ref(&lambda, &nn));
        ((x - 1u32) / &n) * &mu % &n
    };
    assert_eq!(classic_decrypt(&classic[0]), plaintexts[0]);
    group.bench_function("gmp classic decrypt (mpz_powm_sec)", |b| {
        b.iter(|| classic.iter().map(classic_decrypt).collect::<Vec<_>>())
    });

    use fast_paillier::backend::Integer as FastInteger;
    let key = fast_paillier::DecryptionKey::from_primes(
        FastInteger::from_rug(p.clone()),
        FastInteger::from_rug(q.clone()),
    )
    .expect("fast-paillier key");
    let fast_plaintexts: Vec<FastInteger> = plaintexts
        .iter()
        .map(|m| FastInteger::from_rug(m.clone()))
        .collect();
    let public = key.encryption_key().clone();
    let mut os = rand::rngs::OsRng;
    group.bench_function("fast-paillier encrypt (owner)", |b| {
        b.iter(|| {
            fast_plaintexts
                .iter()
                .map(|m| key.encrypt_with_random(&mut os, m).expect("encrypt"))
                .collect::<Vec<_>>()
        })
    });
    group.bench_function("fast-paillier encrypt (public key)", |b| {
        b.iter(|| {
            fast_plaintexts
                .iter()
                .map(|m| public.encrypt_with_random(&mut os, m).expect("encrypt"))
                .collect::<Vec<_>>()
        })
    });
    let theirs: Vec<FastInteger> = fast_plaintexts
        .iter()
        .map(|m| key.encrypt_with_random(&mut os, m).expect("encrypt").0)
        .collect();
    assert_eq!(
        key.decrypt(&theirs[0]).expect("decrypt").to_rug(),
        plaintexts[0]
    );
    group.bench_function("fast-paillier decrypt", |b| {
        b.iter(|| {
            theirs
                .iter()
                .map(|c| key.decrypt(c).expect("decrypt"))
                .collect::<Vec<_>>()
        })
    });
    group.finish();
}

criterion_group!(benches, peers);
criterion_main!(benches);
