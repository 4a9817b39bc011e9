//! Decoding with one prime: half the work of CRT decoding wherever the plaintext is known to be
//! below the larger prime.
//!
//! A response's plaintext is `x + q` packed into 2-bit slots, each slot at most 2: never more
//! than twice its mask (the mask holds a 1 at the low bit of every slot). `n` has exactly
//! `2·key_len` bits, so the larger prime is at least `2^(key_len − 1/2)`; at key_len 1024 with
//! the SDK's 512 dimensions per chunk, `2·mask < 2^1023.42 < p`. Where `2·mask < p` for every
//! mask of a call, `m = m_p`: `x_p = c^(p−1) mod p²` (or `c^a` in the lookup scheme), `L_p` and
//! `h_p` give the whole plaintext, and the exponentiation modulo `q²` is not needed. Elsewhere
//! (shorter keys, longer chunks) decoding keeps both primes.
//!
//! The response checks keep their strength: a forged plaintext above `p` is seen modulo `p`,
//! where it lands on a valid slot pattern with probability about `(3/4)^d` for `d` slots
//! (2^-212 at d = 512), and `x_p ≢ 1 (mod p)` still marks a ciphertext outside the subgroup.

use super::crt_key::{per_prime, sub_limbs};
use super::CrtKey;
use crate::backend::{chunk_count, ChunkCount};

impl CrtKey {
    /// True when every honest plaintext under `masks` is below `p` (the larger prime, see
    /// [`CrtKey::new`]): `2·mask < p` for each mask. Compared in constant time; the answer,
    /// one bit about p's size that the key's public length nearly fixes, is made public.
    pub fn one_prime_covers(&self, masks: &super::LimbBatch) -> bool {
        use zeroize::Zeroizing;
        let s = self.p.len();
        let p = self.p.modulus_limbs();
        let mut all_below = 1u64;
        for i in 0..masks.len() {
            let mask = masks.item(i);
            // 2·mask, one limb wider than the mask.
            let mut twice = Zeroizing::new(vec![0u64; mask.len() + 1]);
            for (k, &limb) in mask.iter().enumerate() {
                twice[k] |= limb << 1;
                twice[k + 1] = limb >> 63;
            }
            let beyond_p = twice.iter().skip(s).fold(0, |acc, &limb| acc | limb);
            let mut low = Zeroizing::new(vec![0u64; s]);
            for (dst, &src) in low.iter_mut().zip(twice.iter()) {
                *dst = src;
            }
            // A borrow out of 2·mask − p means 2·mask < p.
            let mut difference = Zeroizing::new(vec![0u64; s]);
            let below = sub_limbs(&low, p, &mut difference);
            all_below &= below & u64::from(beyond_p == 0);
        }
        crate::bigint::memcheck::declassify(all_below == 1)
    }

    /// The decoded chunk for `x_p = c^e_p mod p²` when [`one_prime_covers`] its mask: the
    /// plaintext is `m_p`, checked as [`chunk_count::count_or_defect`] checks it.
    ///
    /// [`one_prime_covers`]: Self::one_prime_covers
    pub(crate) fn decode_one_prime(&self, x_p: &[u64], mask: &[u64]) -> ChunkCount {
        use zeroize::Zeroizing;
        let s = self.p.len();
        let mut m_p = Zeroizing::new(vec![0u64; s.max(mask.len())]);
        let in_subgroup = per_prime(&self.p, &self.p_inverse, &self.h_p, x_p, &mut m_p[..s]);
        chunk_count::count_or_defect(&m_p, mask, in_subgroup)
    }
}

#[cfg(test)]
mod tests {
    use num_bigint::{BigUint, RandBigInt};
    use rand::{rngs::StdRng, Rng, SeedableRng};

    use super::super::cpu::CpuBackend;
    use super::super::{Backend, CrtKey, LimbBatch};
    use super::ChunkCount;
    use crate::bigint::limbs_from_biguint;
    use crate::test_primes::random_prime_from;

    /// A classic key's CRT constants and n, for primes of `bits` bits.
    fn classic_key(rng: &mut StdRng, bits: usize) -> (CrtKey, BigUint, BigUint, BigUint) {
        let (p, q) = loop {
            let (p, q) = (random_prime_from(rng, bits), random_prime_from(rng, bits));
            if p != q {
                break (p, q);
            }
        };
        let h = |a: &BigUint, b: &BigUint| a - (b % a).modinv(a).unwrap();
        let key = CrtKey::new(&p, &q, &(&p - 1u32), &(&q - 1u32), &h(&p, &q), &h(&q, &p)).unwrap();
        let n = &p * &q;
        (key, n, p, q)
    }

    fn mask_of(slots: usize, limbs: usize) -> LimbBatch {
        let mut mask = BigUint::default();
        for j in 0..slots {
            mask.set_bit(2 * j as u64, true);
        }
        LimbBatch::single(limbs_from_biguint(&mask, limbs).unwrap())
    }

    /// Ciphertexts `(1 + m·n)·r^n mod n²` of `plaintexts`, as CRT bases modulo p² and q².
    fn bases(
        rng: &mut StdRng,
        key: &CrtKey,
        n: &BigUint,
        plaintexts: &[BigUint],
    ) -> (LimbBatch, LimbBatch) {
        let n2 = n * n;
        let (mut bp, mut bq) = (
            LimbBatch::new(key.p_squared().len()),
            LimbBatch::new(key.q_squared().len()),
        );
        for m in plaintexts {
            let r = rng.gen_biguint_below(n);
            let c = ((1u32 + m * n) * r.modpow(n, &n2)) % &n2;
            bp.push(
                &key.p_squared()
                    .limbs_of(&(&c % key.p_squared().modulus()))
                    .unwrap(),
            )
            .unwrap();
            bq.push(
                &key.q_squared()
                    .limbs_of(&(&c % key.q_squared().modulus()))
                    .unwrap(),
            )
            .unwrap();
        }
        (bp, bq)
    }

    #[test]
    fn one_prime_gives_the_two_prime_answers_and_refuses_the_same_forgeries() {
        let mut rng = StdRng::seed_from_u64(11);
        for bits in [128usize, 256, 512] {
            let (key, n, _, _) = classic_key(&mut rng, bits);
            let limbs = 2 * bits / 64;
            // As many slots as fit below the smaller of two equal-length primes: one prime.
            let slots = bits / 2 - 1;
            let masks = mask_of(slots, limbs);
            assert!(key.one_prime_covers(&masks), "{bits}");
            let mut plaintexts: Vec<BigUint> = (0..24)
                .map(|_| {
                    let mut m = BigUint::default();
                    for j in 0..slots as u64 {
                        let slot = rng.gen_range(0u8..3);
                        m.set_bit(2 * j, slot & 1 == 1);
                        m.set_bit(2 * j + 1, slot & 2 == 2);
                    }
                    m
                })
                .collect();
            let honest = plaintexts.len();
            // Forgeries: plaintexts above p, a slot holding 3, bits above the slots.
            plaintexts.push(&n - 12345u32);
            plaintexts.push(rng.gen_biguint_below(&n));
            plaintexts.push(BigUint::from(3u32));
            plaintexts.push(BigUint::from(1u32) << (2 * slots as u64 + 1));
            let (bp, bq) = bases(&mut rng, &key, &n, &plaintexts);
            let one = CpuBackend.crt_decode(&key, &bp, &bq, &masks).unwrap();
            let two = crate::backend::cpu::crt_decode_two_primes(&key, &bp, &bq, &masks).unwrap();
            assert_eq!(one[..honest], two[..honest], "{bits}");
            for (i, m) in plaintexts[..honest].iter().enumerate() {
                let expected = (m & biguint_mask(slots)).count_ones() as u32;
                assert_eq!(one[i].count(), Ok(expected));
            }
            for (i, chunk) in one[honest..].iter().enumerate() {
                assert!(chunk.count().is_err(), "forgery {i}: {chunk:?}");
                assert!(two[honest + i].count().is_err());
            }
        }
    }

    fn biguint_mask(slots: usize) -> BigUint {
        let mut mask = BigUint::default();
        for j in 0..slots {
            mask.set_bit(2 * j as u64, true);
        }
        mask
    }

    #[test]
    fn the_bound_is_exact_and_both_primes_are_kept_where_it_fails() {
        let mut rng = StdRng::seed_from_u64(12);
        let (key, n, p, q) = classic_key(&mut rng, 256);
        let larger = p.clone().max(q.clone());
        let limbs = 8;
        let batch = |value: &BigUint| LimbBatch::single(limbs_from_biguint(value, limbs).unwrap());
        // 2·mask < p exactly: p is odd, so (p − 1)/2 is the largest mask that fits.
        let largest = (&larger - 1u32) >> 1;
        assert!(key.one_prime_covers(&batch(&largest)));
        assert!(!key.one_prime_covers(&batch(&(&largest + 1u32))));
        // A mask of every slot of n (chunks as long as the key allows) needs both primes, and
        // decoding then still gives the right count.
        let slots = 255;
        let masks = mask_of(slots, limbs);
        assert!(!key.one_prime_covers(&masks));
        let mut m = BigUint::default();
        for j in (0..slots as u64).step_by(3) {
            m.set_bit(2 * j + 1, true);
        }
        m.set_bit(2 * 254, true);
        let (bp, bq) = bases(&mut rng, &key, &n, std::slice::from_ref(&m));
        let chunks = CpuBackend.crt_decode(&key, &bp, &bq, &masks).unwrap();
        assert_eq!(chunks, vec![ChunkCount::counted(1)]);
        // The larger prime is the one kept.
        assert_eq!(key.p.modulus(), larger);
    }
}
