//! Decryption in groups of eight (the multi-buffer engine, where the CPU has AVX-512 IFMA) against
//! the plaintexts, at every prime size from 256 to 2048 bits and with batches that fill their
//! last group, leave up to four items over (the one-number engine's), or leave five to seven (a
//! padded group).

use num_bigint::{BigUint, RandBigInt};
use paillier_gpu::hazmat::backend::cpu::CpuBackend;
use paillier_gpu::paillier::{is_probable_prime, PublicKey, SecretKey};
use rand::{rngs::StdRng, SeedableRng};

fn prime(bits: u64, rng: &mut StdRng) -> BigUint {
    loop {
        let mut candidate = rng.gen_biguint(bits);
        candidate.set_bit(bits - 1, true);
        candidate.set_bit(0, true);
        if is_probable_prime(&candidate) {
            return candidate;
        }
    }
}

#[test]
fn ragged_batches_decrypt_at_every_prime_size() {
    let mut rng = StdRng::seed_from_u64(4708);
    let backend = CpuBackend::shared();
    for bits in [256u64, 512, 768, 1024] {
        let (p, q) = (prime(bits, &mut rng), prime(bits, &mut rng));
        let n = &p * &q;
        let phi = (&p - 1u32) * (&q - 1u32);
        let pk = PublicKey::paillier(bits as usize, n.clone()).unwrap();
        let sk = SecretKey::paillier(&pk, phi.clone(), phi.modinv(&n).unwrap()).unwrap();
        for size in [1usize, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 17, 31] {
            let plaintexts: Vec<BigUint> = (0..size).map(|_| rng.gen_biguint_below(&n)).collect();
            let ciphertexts = pk.encrypt_batch(backend.as_ref(), &plaintexts).unwrap();
            let decrypted = sk.decrypt_batch(backend.as_ref(), &ciphertexts).unwrap();
            assert_eq!(decrypted, plaintexts, "{bits}-bit primes, batch of {size}");
        }
    }
}
