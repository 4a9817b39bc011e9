//! The cryptosystem against textbook formulas computed with num-bigint, for both schemes.

use crate::common;

use common::{small_context, SCHEMES};
use num_bigint::{BigUint, RandBigInt};
use num_traits::One;
use paillier_gpu::hazmat::backend::cpu::CpuBackend;
use paillier_gpu::paillier::{generate_keypair, Ciphertext, KeyGenOptions, PublicKey};
use paillier_gpu::{Error, Scheme};
use proptest::prelude::*;
use rand::{rngs::StdRng, SeedableRng};

fn l(x: &BigUint, n: &BigUint) -> BigUint {
    (x - 1u32) / n
}

/// Decryption without CRT, from the SDK's stored secret key.
fn textbook_decrypt(ctx: &paillier_gpu::ExecutionContext, c: &Ciphertext) -> BigUint {
    let plain: serde_json::Value = serde_json::from_str(&ctx.to_plain_json()).unwrap();
    let sk: serde_json::Value = serde_json::from_str(plain["sk"].as_str().unwrap()).unwrap();
    let int = |v: &serde_json::Value| -> BigUint {
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        text.parse().unwrap()
    };
    let pk = ctx.public().public_key();
    let (n, n2) = (pk.n(), pk.n_squared());
    match ctx.scheme() {
        Scheme::Paillier => {
            (l(&c.as_biguint().modpow(&int(&sk["phi"]), n2), n) * int(&sk["inv"])) % n
        }
        Scheme::PaillierLookup => {
            (l(&c.as_biguint().modpow(&int(&sk["a"]), n2), n) * int(&sk["g_a_inv"])) % n
        }
    }
}

fn random_plaintext(pk: &PublicKey, seed: u64) -> BigUint {
    StdRng::seed_from_u64(seed).gen_biguint_below(pk.n())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn encryption_round_trips_and_matches_textbook_decryption(seed in any::<u64>(), s in 0usize..2) {
        let ctx = small_context(SCHEMES[s]);
        let (pk, sk, backend) = (ctx.public().public_key(), ctx.secret_key(), ctx.public().backend().unwrap().as_ref());
        let m = random_plaintext(pk, seed);
        let c = pk.encrypt(backend, &m).unwrap();
        prop_assert!(c.as_biguint() < pk.n_squared());
        prop_assert_eq!(sk.decrypt(backend, &c).unwrap(), m.clone());
        prop_assert_eq!(textbook_decrypt(ctx, &c), m);
    }

    #[test]
    fn homomorphic_identities_hold(seed in any::<u64>(), s in 0usize..2, k in any::<u32>()) {
        let ctx = small_context(SCHEMES[s]);
        let (pk, sk, backend) = (ctx.public().public_key(), ctx.secret_key(), ctx.public().backend().unwrap().as_ref());
        let n = pk.n();
        let a = random_plaintext(pk, seed);
        let b = random_plaintext(pk, seed ^ 0x5555);
        let k = BigUint::from(k);
        let (ca, cb) = (pk.encrypt(backend, &a).unwrap(), pk.encrypt(backend, &b).unwrap());
        prop_assert_eq!(sk.decrypt(backend, &pk.add(&ca, &cb).unwrap()).unwrap(), (&a + &b) % n);
        prop_assert_eq!(sk.decrypt(backend, &pk.add_plaintext(&ca, &k).unwrap()).unwrap(), (&a + &k) % n);
        prop_assert_eq!(sk.decrypt(backend, &pk.multiply_plaintext_vartime(&ca, &k).unwrap()).unwrap(), (&a * &k) % n);
    }
}

#[test]
fn batches_decrypt_in_order_with_fresh_randomness() {
    for scheme in SCHEMES {
        let ctx = small_context(scheme);
        let (pk, sk, backend) = (
            ctx.public().public_key(),
            ctx.secret_key(),
            ctx.public().backend().unwrap().as_ref(),
        );
        let plaintexts: Vec<BigUint> = (0..37u32).map(BigUint::from).collect();
        let ciphertexts = pk.encrypt_batch(backend, &plaintexts).unwrap();
        assert_eq!(sk.decrypt_batch(backend, &ciphertexts).unwrap(), plaintexts);
        // The same plaintext twice never gives the same ciphertext.
        let twice = pk
            .encrypt_batch(backend, &[BigUint::one(), BigUint::one()])
            .unwrap();
        assert_ne!(twice[0], twice[1], "{scheme:?}");
    }
}

#[test]
fn plaintexts_and_ciphertexts_out_of_range_are_rejected() {
    let backend = CpuBackend::shared();
    for scheme in SCHEMES {
        let ctx = small_context(scheme);
        let (pk, sk) = (ctx.public().public_key(), ctx.secret_key());
        assert!(matches!(
            pk.encrypt(backend.as_ref(), pk.n()),
            Err(Error::PlaintextOutOfRange(_))
        ));
        for bad in [
            BigUint::from(0u32),
            pk.n_squared().clone(),
            pk.n_squared() + 5u32,
        ] {
            let err = sk
                .decrypt(backend.as_ref(), &Ciphertext::from_biguint(bad))
                .unwrap_err();
            assert!(
                matches!(err, Error::InvalidCiphertext { index: 0, .. }),
                "{err}"
            );
        }
        // A multiple of a prime factor of n is not a unit mod n²: typed error, never garbage.
        let (p, q) = factor(pk.n(), ctx);
        let err = sk
            .decrypt(backend.as_ref(), &Ciphertext::from_biguint(p * 7u32))
            .unwrap_err();
        assert!(matches!(err, Error::InvalidCiphertext { .. }), "{err}");
        let with_a_multiple_of_q = vec![
            pk.encrypt(backend.as_ref(), &BigUint::one()).unwrap(),
            Ciphertext::from_biguint(&q * &q * 11u32),
        ];
        assert!(matches!(
            sk.decrypt_batch(backend.as_ref(), &with_a_multiple_of_q),
            Err(Error::InvalidCiphertext { index: 1, .. })
        ));
        let batch = vec![
            pk.encrypt(backend.as_ref(), &BigUint::one()).unwrap(),
            Ciphertext::from_biguint(BigUint::from(0u32)),
        ];
        assert!(matches!(
            sk.decrypt_batch(backend.as_ref(), &batch),
            Err(Error::InvalidCiphertext { index: 1, .. })
        ));
    }
}

/// p and q from the plaintext dict's phi.
fn factor(n: &BigUint, ctx: &paillier_gpu::ExecutionContext) -> (BigUint, BigUint) {
    let plain: serde_json::Value = serde_json::from_str(&ctx.to_plain_json()).unwrap();
    let sk: serde_json::Value = serde_json::from_str(plain["sk"].as_str().unwrap()).unwrap();
    let phi: BigUint = match &sk["phi"] {
        serde_json::Value::String(s) => s.parse().unwrap(),
        other => other.to_string().parse().unwrap(),
    };
    let s = n - &phi + 1u32;
    let d = (&s * &s - n * 4u32).sqrt();
    ((&s + &d) / 2u32, (&s - &d) / 2u32)
}

#[test]
fn key_generation_refuses_weak_parameters_without_the_switch() {
    let strict = KeyGenOptions::default();
    assert!(matches!(
        generate_keypair(Scheme::Paillier, 512, &strict),
        Err(Error::InsecureParameters(_))
    ));
    // 50 falls to baby-step giant-step; 256 to the subgroup attack in about 2^64 operations.
    for alpha_len in [50, 256, 511] {
        let weak_alpha = KeyGenOptions {
            alpha_len,
            allow_insecure: false,
        };
        assert!(matches!(
            generate_keypair(Scheme::PaillierLookup, 1024, &weak_alpha),
            Err(Error::InsecureParameters(_))
        ));
    }
    assert!(matches!(
        generate_keypair(Scheme::Paillier, 1_000_000_000, &strict),
        Err(Error::InvalidParameter(_))
    ));
}

#[test]
fn primality_rejects_pseudoprimes_and_carmichael_numbers() {
    use paillier_gpu::paillier::is_probable_prime;
    let composites = [
        "2047",                // strong pseudoprime to base 2 (23 · 89)
        "3215031751",          // strong pseudoprime to bases 2, 3, 5 and 7
        "3825123056546413051", // strong pseudoprime to every prime base up to 23
        "561",                 // Carmichael numbers: Fermat liars to every coprime base
        "41041",
        "825265",
        "321197185",
        // A 397-digit Carmichael number that is a strong pseudoprime to every prime base below
        // 307 (Arnault, 1995): the product of three primes below.
        &(arnault_prime(1) * arnault_prime(2) * arnault_prime(3)).to_string(),
    ];
    for c in composites {
        let n: BigUint = c.parse().unwrap();
        // Each is a liar for Fermat's test to base 2 (so the test must do better than Fermat)...
        let two = BigUint::from(2u32);
        assert!(
            two.modpow(&(&n - 1u32), &n).is_one(),
            "{c} should fool Fermat"
        );
        // ...and is rejected.
        assert!(!is_probable_prime(&n), "{c} is composite");
    }
    for p in [
        "2",
        "3",
        "65537",
        "2305843009213693951",
        "170141183460469231731687303715884105727",
    ] {
        assert!(is_probable_prime(&p.parse().unwrap()), "{p} is prime");
    }
    assert!(!is_probable_prime(&BigUint::from(1u32)));
}

/// The three factors of Arnault's Carmichael number: p₁ and p_k = k·(p₁ − 1) + 1 for k = 2, 3
/// (the k's of his construction are 1, 313 and 353; see below).
fn arnault_prime(k: u32) -> BigUint {
    let p1: BigUint = "29674495668685510550154174642905332730771991799853043350995075531276838753171770199594238596428121188033664754218345562493168782883".parse().unwrap();
    match k {
        1 => p1,
        2 => (&p1 - 1u32) * 313u32 + 1u32,
        _ => (&p1 - 1u32) * 353u32 + 1u32,
    }
}

#[test]
fn generated_keys_have_the_requested_sizes() {
    let (pk, _) = generate_keypair(
        Scheme::PaillierLookup,
        512,
        &KeyGenOptions {
            alpha_len: 256,
            allow_insecure: true,
        },
    )
    .unwrap();
    assert_eq!(pk.n().bits(), 1024);
    assert_eq!(pk.ciphertext_bytes(), 256);
}

/// Decryption reduces c modulo p² and q² in constant time where the primes fill their limbs
/// (256 and 192 bits here) and with num-bigint's division where they do not (200 bits in 4
/// limbs): both agree with the plaintext, and both refuse a multiple of p or q.
#[test]
fn decryption_at_prime_sizes_that_fill_their_limbs_and_that_do_not() {
    use paillier_gpu::paillier::{is_probable_prime, SecretKey};
    let mut rng = StdRng::seed_from_u64(31);
    let mut prime = |bits: u64| loop {
        let mut candidate = rng.gen_biguint(bits);
        candidate.set_bit(bits - 1, true);
        candidate.set_bit(0, true);
        if is_probable_prime(&candidate) {
            break candidate;
        }
    };
    let backend = CpuBackend::shared();
    for bits in [256u64, 192, 200] {
        let (p, q) = (prime(bits), prime(bits));
        let n = &p * &q;
        let phi = (&p - 1u32) * (&q - 1u32);
        let inv = phi.modinv(&n).unwrap();
        let pk = PublicKey::paillier(bits as usize, n.clone()).unwrap();
        let sk = SecretKey::paillier(&pk, phi, inv).unwrap();
        for seed in 0..4 {
            let m = random_plaintext(&pk, seed);
            let c = pk.encrypt(backend.as_ref(), &m).unwrap();
            assert_eq!(
                sk.decrypt(backend.as_ref(), &c).unwrap(),
                m,
                "{bits}-bit primes"
            );
        }
        for multiple in [&p * 7u32, &q * &q * 3u32] {
            let err = sk
                .decrypt(backend.as_ref(), &Ciphertext::from_biguint(multiple))
                .unwrap_err();
            assert!(
                matches!(err, Error::InvalidCiphertext { index: 0, .. }),
                "{err}"
            );
        }
    }
}
