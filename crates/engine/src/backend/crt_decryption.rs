//! CRT decryption to whole plaintexts ([`Backend::crt_decrypt`]), for numbers, whose plaintexts
//! span all of n: the checks every engine shares, and the CPU's constant-time recombination.

use rayon::prelude::*;

use super::crt_key::per_prime;
use super::{CrtKey, LimbBatch};
use crate::error::{Error, Result};

/// Checks the shapes of a [`Backend::crt_decrypt`] call: one base modulo p² and one modulo q²
/// per ciphertext (none modulo q² with `one_prime`), at the key's widths.
pub(crate) fn check_decrypt_operands(
    key: &CrtKey,
    bases_p: &LimbBatch,
    bases_q: &LimbBatch,
    one_prime: bool,
) -> Result<()> {
    let q_items = if one_prime { 0 } else { bases_p.len() };
    if bases_q.len() != q_items
        || bases_p.limbs_per_item() != key.p_squared.len()
        || bases_q.limbs_per_item() != key.q_squared.len()
    {
        return Err(Error::InvalidParameter(
            "CRT bases do not match the key".into(),
        ));
    }
    Ok(())
}

/// The plaintexts of `c^e_p mod p²` and `c^e_q mod q²` (item by item), recombined on every core
/// in constant time.
pub(crate) fn recombine_all(key: &CrtKey, x_p: &LimbBatch, x_q: &LimbBatch) -> Result<LimbBatch> {
    let width = key.plaintext_limbs();
    let mut plaintexts = vec![0u64; x_p.len() * width];
    plaintexts
        .par_chunks_mut(width)
        .enumerate()
        .for_each(|(i, m)| {
            key.recombine_into(x_p.item(i), x_q.item(i), m);
        });
    LimbBatch::from_flat(width, plaintexts)
}

/// The plaintexts modulo p of `c^e_p mod p²` (item by item, n's width, zero above p's), on
/// every core in constant time; 0 for a power that is not 1 modulo p, as [`recombine_all`]
/// takes such a share.
pub(crate) fn modulo_p_all(key: &CrtKey, x_p: &LimbBatch) -> Result<LimbBatch> {
    let width = key.plaintext_limbs();
    let s = key.p.len();
    let mut plaintexts = vec![0u64; x_p.len() * width];
    plaintexts
        .par_chunks_mut(width)
        .enumerate()
        .for_each(|(i, m)| {
            per_prime(&key.p, &key.p_inverse, &key.h_p, x_p.item(i), &mut m[..s]);
        });
    LimbBatch::from_flat(width, plaintexts)
}

#[cfg(test)]
mod tests {
    use num_bigint::{BigUint, RandBigInt};
    use rand::{rngs::StdRng, SeedableRng};
    use zeroize::Zeroizing;

    use super::*;
    use crate::backend::cpu::CpuBackend;
    use crate::backend::Backend;
    use crate::test_primes::random_prime_from;

    /// Decryption from `backend`'s plain exponentiations modulo p² and q², recombined: the
    /// reference the key's own engines are held to.
    fn decrypt_with_primitives(
        backend: &(impl Backend + ?Sized),
        key: &CrtKey,
        bases_p: &LimbBatch,
        bases_q: &LimbBatch,
    ) -> Result<LimbBatch> {
        check_decrypt_operands(key, bases_p, bases_q, false)?;
        let x_p = Zeroizing::new(backend.modexp(&key.p_squared, bases_p, &key.exponent_p)?);
        let x_q = Zeroizing::new(backend.modexp(&key.q_squared, bases_q, &key.exponent_q)?);
        recombine_all(key, &x_p, &x_q)
    }

    /// The backend's `modexp`, then the recombination, gives the CPU's own `crt_decrypt` (the
    /// key's engines): the plaintexts of real ciphertexts `(1 + n)^m · r^n`.
    #[test]
    fn the_default_decrypts_as_the_cpu_does() {
        let mut rng = StdRng::seed_from_u64(33);
        for bits in [128usize, 256, 512] {
            let (p, q) = (
                random_prime_from(&mut rng, bits),
                random_prime_from(&mut rng, bits),
            );
            let n = &p * &q;
            let n_squared = &n * &n;
            // λ-free CRT decryption: e = prime − 1, h = ((1 + n)^e mod prime² − 1)/prime)⁻¹.
            let h = |prime: &BigUint| {
                let square = prime * prime;
                let x = (BigUint::from(1u32) + &n).modpow(&(prime - 1u32), &square);
                ((x - 1u32) / prime).modinv(prime).unwrap()
            };
            let key = CrtKey::new(&p, &q, &(&p - 1u32), &(&q - 1u32), &h(&p), &h(&q)).unwrap();
            let (p, q) = if p > q { (p, q) } else { (q, p) };
            let messages: Vec<BigUint> = (0..5).map(|_| rng.gen_biguint_below(&n)).collect();
            let mut bases_p = LimbBatch::new(key.p_squared.len());
            let mut bases_q = LimbBatch::new(key.q_squared.len());
            for m in &messages {
                let r = rng.gen_biguint_below(&n);
                let c = (BigUint::from(1u32) + &n).modpow(m, &n_squared) * r.modpow(&n, &n_squared)
                    % &n_squared;
                let residue = |prime: &BigUint, square: &crate::bigint::MontgomeryModulus| {
                    square.limbs_of(&(&c % (prime * prime))).unwrap()
                };
                bases_p.push(&residue(&p, &key.p_squared)).unwrap();
                bases_q.push(&residue(&q, &key.q_squared)).unwrap();
            }
            let by_default =
                decrypt_with_primitives(&CpuBackend, &key, &bases_p, &bases_q).unwrap();
            assert_eq!(
                by_default,
                CpuBackend.crt_decrypt(&key, &bases_p, &bases_q).unwrap()
            );
            // Modulo the larger prime alone: m mod p, the whole of m where m < p.
            let modulo_p = CpuBackend.crt_decrypt_one_prime(&key, &bases_p).unwrap();
            assert_eq!(modulo_p.limbs_per_item(), key.plaintext_limbs());
            for (i, m) in messages.iter().enumerate() {
                assert_eq!(crate::bigint::biguint_from_limbs(by_default.item(i)), *m);
                assert_eq!(crate::bigint::biguint_from_limbs(modulo_p.item(i)), m % &p);
            }
            // Bases that do not match the key: refused.
            let short = LimbBatch::new(key.q_squared.len());
            assert!(matches!(
                decrypt_with_primitives(&CpuBackend, &key, &bases_p, &short),
                Err(Error::InvalidParameter(_))
            ));
        }
    }

    /// Every CPU engine this CPU runs (IFMA, the narrow lanes on AVX-512F and AVX2, portable)
    /// decrypts real ciphertexts to their plaintexts, in full groups of eight and ragged ones.
    /// (The preference is process-wide: tests beside this one may run on other engines
    /// meanwhile, which changes their speed, not their results.)
    #[test]
    fn every_cpu_engine_decrypts_the_same() {
        use crate::bigint::{set_engine_preference, CpuEngine, EnginePreference};
        let _only_this_test = crate::bigint::preference_lock();
        let mut rng = StdRng::seed_from_u64(34);
        let (p, q) = (
            random_prime_from(&mut rng, 512),
            random_prime_from(&mut rng, 512),
        );
        let n = &p * &q;
        let n_squared = &n * &n;
        let messages: Vec<BigUint> = (0..21).map(|_| rng.gen_biguint_below(&n)).collect();
        let ciphertexts: Vec<BigUint> = messages
            .iter()
            .map(|m| {
                let r = rng.gen_biguint_below(&n);
                (BigUint::from(1u32) + &n).modpow(m, &n_squared) * r.modpow(&n, &n_squared)
                    % &n_squared
            })
            .collect();
        let h = |prime: &BigUint| {
            let x = (BigUint::from(1u32) + &n).modpow(&(prime - 1u32), &(prime * prime));
            ((x - 1u32) / prime).modinv(prime).unwrap()
        };
        for engine in CpuEngine::ALL.into_iter().filter(|e| e.available()) {
            set_engine_preference(EnginePreference::Only(engine)).unwrap();
            let key = CrtKey::new(&p, &q, &(&p - 1u32), &(&q - 1u32), &h(&p), &h(&q)).unwrap();
            let (big, small) = if p > q { (&p, &q) } else { (&q, &p) };
            for size in [8usize, 13, 21] {
                let mut bases_p = LimbBatch::new(key.p_squared.len());
                let mut bases_q = LimbBatch::new(key.q_squared.len());
                for c in &ciphertexts[..size] {
                    bases_p
                        .push(&key.p_squared.limbs_of(&(c % (big * big))).unwrap())
                        .unwrap();
                    bases_q
                        .push(&key.q_squared.limbs_of(&(c % (small * small))).unwrap())
                        .unwrap();
                }
                let plain = CpuBackend.crt_decrypt(&key, &bases_p, &bases_q).unwrap();
                for (i, m) in messages[..size].iter().enumerate() {
                    let got = crate::bigint::biguint_from_limbs(plain.item(i));
                    assert_eq!(got, *m, "{engine:?}, item {i} of {size}");
                }
            }
        }
        set_engine_preference(EnginePreference::Fastest).unwrap();
    }
}
